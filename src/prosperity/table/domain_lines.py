"""Which sample a row's relative line comes from, with ``domain=`` and ``line_within_groups``, and how the
result says so -- one rule for every backend (the in-memory point pass and bootstrap,
:mod:`prosperity.table.kernels` / :mod:`.bootstrap`, and the streaming layers of
:mod:`prosperity.backends.streaming_domain`).

The rule: **one row, one reference sample, for every line of the row** -- the relative poverty line
z = c x median (or mean) of the line measures (``fgt``, ``headcount``, ``pgap``, ``watts``, ``sen``,
``sst``) and the thresholds a measure defines itself (``arpr``, ``rmpg``, ``poormed``, ``rich``: fraction
x median; ``middle_rel``: bands around the median), and the ``line`` column reports that line.

===========================  ==========================================  ==========================================
row                          ``line_within_groups=False`` (default)      ``line_within_groups=True``
===========================  ==========================================  ==========================================
whole sample (no domain)     the whole sample                            the whole sample
a group of ``by=``           the whole sample (Eurostat's national line) the group's own units
the domain (``domain=``)     the whole sample, outside units included    the domain's own units
                             (R convey's ``subset()``)
a group within the domain    the whole sample (convey's ``subset()``)    the group's units within the domain
===========================  ==========================================  ==========================================

So with ``line_within_groups=True`` every row's values and lines are those of its own units measured as a
sample in their own right (``measure(data[mask])`` gives the same points), only the variance is the
domain variance of the full design; with the default every row is measured against the whole sample's
line, as R convey's ``svyarpr`` / ``svyfgt(type_thresh="relq")`` on ``subset(design, ...)`` do (they
take the threshold of ``attr(design, "full_design")``) and as R laeken's ``arpr(breakdown=)`` does.

The line's own error follows the same reference: against the whole sample's line, the linearized
variable of a row is u_measure(z fixed) + (d value / d z) c u_median(whole sample), the last term on
every unit of the sample; against the row's own line, u_median is the row's own median's, on its units
(Osier 2009). ``arpt`` (the threshold itself) and ``median`` are always the row's own.
"""

from __future__ import annotations

__all__ = ["relative_line_rule", "domain_note", "domain_row_line"]


def relative_line_rule(relative_line: float, relative_to: str, whole_value: float, *, by_cols, line_within_groups: bool,
                       domain: bool, domain_line: float | None, default_note: str = "") -> str:
    """The result's ``line_rule`` text of a relative line (``describe()``, JSON ``line_rule``).

    ``whole_value``: c x the whole sample's median / mean; ``domain_line``: the line the domain's own row
    reports (``domain=`` with ``line_within_groups``; None when no line measure was asked)."""
    if domain and line_within_groups:
        value = "" if domain_line is None else f" = {domain_line:.6g}"
        return f"{relative_line:g} x {relative_to} of the domain{value} (each row's own: line_within_groups)" + default_note
    text = f"{relative_line:g} x {relative_to} of the whole sample = {whole_value:.6g}"
    if by_cols:
        text += " (each group's own: line_within_groups)" if line_within_groups else " (national line for every group)"
    return text + default_note


def domain_note(text: str, n_domain: int, n_units: int, line_within_groups: bool) -> str:
    """The result's note on a ``domain=`` (its size, where its design and lines come from)."""
    where = ("design from the whole sample, relative lines the domain's own: line_within_groups" if line_within_groups
             else "design and relative lines from the whole sample")
    return f"domain: {text} ({n_domain:,} of {n_units:,} units; {where})"


def domain_row_line(requested, lines, line_kind: str | None) -> float | None:
    """The relative line the domain's own row reports: the ``line`` of its first line measure (rows of
    the whole-sample breakdown come first, one per requested measure), or None."""
    if line_kind != "relative":
        return None
    for r, z in zip(requested, lines):
        if r.kind == "line" and z is not None and z == z:  # not NaN
            return float(z)
    return None
