"""Grouped data -> distributions: reconstruct an income distribution from a published table
(group shares and means, income shares, thresholds), then compute every measure from it.

Entry points: :func:`fit_grouped` (one method or ``"auto"``/``"all"``), :class:`GroupedTable`,
:func:`read_grouped_csv`, :class:`Mixture` (urban + rural -> national) and
:func:`calibrate_person_shares` (household-based quintiles -> person shares).
"""
