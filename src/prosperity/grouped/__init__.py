"""Grouped data -> distributions: reconstruct an income distribution from a published table
(group shares and means, income shares, thresholds), then compute every measure from it.

Entry points: :func:`fit_grouped` (one method or ``"auto"``/``"all"``), :class:`GroupedTable`,
:func:`read_grouped_csv`, :class:`Mixture` (urban + rural -> national) and
:func:`calibrate_person_shares` (household-based quintiles -> person shares).
"""

from .distribution import DistributionMeasures, FittedDistribution, distribution_measures
from .fit import METHODS, GroupedFit, fit_grouped, fit_to_dict
from .bounds import GroupedBounds, grouped_bounds
from .gpinter import GeneralizedParetoInterpolation, GPInterTabulation, shares_fit, tabulation_fit, thresholds_fit
from .histogram import MeanSplitHistogram
from .households import PersonShareCalibration, calibrate_person_shares
from .lorenz import (BetaLorenz, GeneralQuadraticLorenz, LorenzRegression, lorenz_regression, mld_pip,
                     poverty_elasticities, select_lorenz, sse_pip, watts_pip)
from .mixture import Mixture
from .parametric import GB2, LogNormal, fit_parametric
from .table import GroupedDataError, GroupedTable, read_grouped_csv

__all__ = [
    "METHODS", "BetaLorenz", "GPInterTabulation", "GroupedBounds", "LorenzRegression", "grouped_bounds",
    "lorenz_regression", "mld_pip", "poverty_elasticities", "shares_fit", "sse_pip", "tabulation_fit",
    "thresholds_fit", "watts_pip", "DistributionMeasures", "FittedDistribution", "GB2", "GeneralQuadraticLorenz",
    "GeneralizedParetoInterpolation", "GroupedDataError", "GroupedFit", "GroupedTable", "LogNormal",
    "MeanSplitHistogram", "Mixture", "PersonShareCalibration", "calibrate_person_shares",
    "distribution_measures", "fit_grouped", "fit_parametric", "fit_to_dict", "read_grouped_csv", "select_lorenz",
]
