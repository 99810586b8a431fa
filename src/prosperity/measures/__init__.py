"""Array-level measure kernels: small pure functions over NumPy arrays, each with its linearized
variable for design-based standard errors."""

from .estimate import Estimate, SortedIncome
from .gini import gini
from .quantiles import weighted_quantile
from .central import median, quantile_ratio, weighted_mean
from .dispersion import coefficient_of_variation, variance_of_logs
from .entropy import atkinson, ge, mld, theil
from .gini import sgini
from .shares import LorenzCurve, income_share, lorenz_curve, lorenz_ordinate, palma, quintile_share_ratio
from .middle import middle_class_share, reference_size_income
from .polarization import esteban_ray, esteban_ray_groups, foster_wolfson, wolfson
from .poverty import (
    arpr, fgt, headcount, poverty_gap, relative_line, rmpg, sen, squared_poverty_gap, sst,
    sst_decomposition, watts,
)
from .prosperity import bottom_mean, prosperity_gap, shared_prosperity

__all__ = ["Estimate", "SortedIncome", "gini", "weighted_quantile"]

__all__ += [
    "LorenzCurve", "atkinson", "coefficient_of_variation", "ge", "income_share", "lorenz_curve", "lorenz_ordinate",
    "median", "mld", "palma", "quantile_ratio", "quintile_share_ratio", "sgini", "theil", "variance_of_logs",
    "weighted_mean",
]

__all__ += [
    "arpr", "bottom_mean", "esteban_ray", "esteban_ray_groups", "fgt", "foster_wolfson", "headcount",
    "middle_class_share", "poverty_gap", "prosperity_gap", "reference_size_income", "relative_line", "rmpg",
    "sen", "shared_prosperity", "squared_poverty_gap", "sst", "sst_decomposition", "watts", "wolfson",
]
