"""Array-level measure kernels: small pure functions over NumPy arrays, each with its linearized
variable for design-based standard errors."""

from .estimate import Estimate, SortedIncome
from .gini import gini
from .quantiles import weighted_quantile

__all__ = ["Estimate", "SortedIncome", "gini", "weighted_quantile"]
