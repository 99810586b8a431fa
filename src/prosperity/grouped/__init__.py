"""Grouped data -> distributions: reconstruct an income distribution from a published table
(group shares and means, income shares, thresholds), then compute every measure from it.

Entry points: :func:`fit_grouped` (one method or ``"auto"``/``"all"``), :class:`GroupedTable`,
:func:`read_grouped_csv`, :class:`Mixture` (urban + rural -> national) and
:func:`calibrate_person_shares` (household-based quintiles -> person shares).
"""

from .distribution import DistributionMeasures, FittedDistribution, distribution_measures
from .fit import METHODS, GroupedFit, fit_grouped, fit_to_dict
from .gpinter import GeneralizedParetoInterpolation
from .histogram import MeanSplitHistogram
from .households import PersonShareCalibration, calibrate_person_shares
from .lorenz import BetaLorenz, GeneralQuadraticLorenz, select_lorenz
from .mixture import Mixture
from .parametric import GB2, LogNormal, fit_parametric
from .table import GroupedDataError, GroupedTable, read_grouped_csv

__all__ = [
    "METHODS", "BetaLorenz", "DistributionMeasures", "FittedDistribution", "GB2", "GeneralQuadraticLorenz",
    "GeneralizedParetoInterpolation", "GroupedDataError", "GroupedFit", "GroupedTable", "LogNormal",
    "MeanSplitHistogram", "Mixture", "PersonShareCalibration", "calibrate_person_shares",
    "distribution_measures", "fit_grouped", "fit_parametric", "fit_to_dict", "read_grouped_csv", "select_lorenz",
]
