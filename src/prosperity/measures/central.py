"""Mean, quantiles (median, any p) and quantile ratios (P90/P10, P90/P50, P50/P10), weighted,
with their linearized variables.

- Mean mu = sum w y / N;  u = (y - mu) / N.
- p-quantile q_p under a named convention (see :mod:`prosperity.measures.quantiles`; default
  ``"eurostat"``); u = -(1{y <= q_p} - p) / (N f(q_p)) with a Gaussian kernel density f
  (Deville 1999; Osier 2009).
- Quantile ratio R = q_a / q_b;  u = (u_a - R u_b) / q_b (quotient rule on the two linearized
  variables).
"""

from __future__ import annotations

import numpy as np

from . import blockwise
from .estimate import Estimate, SortedIncome, as_sorted, vdot
from .income_domain import incomes_and_weights
from .quantiles import _check_p, quantile_estimate, quantile_sorted


def mean_estimate(y, w=None, influence: bool = True) -> Estimate:
    """Weighted mean sum w y / N with its linearized variable (y - mu) / N."""
    y, w, big_n, _ = incomes_and_weights(y, w, "any", "the mean")
    mu = float(vdot(w, y)) / big_n
    if not influence:
        return Estimate(mu)
    return Estimate(mu, blockwise.new(lambda yb: (yb - mu) / big_n, y))


def quantile_ratio_estimate(
    s: SortedIncome, p_top: float, p_bottom: float, convention: str = "eurostat", influence: bool = True
) -> Estimate:
    """q_{p_top} / q_{p_bottom} with its linearized variable (u_top - R u_bottom) / q_bottom."""
    p_top, p_bottom = _check_p(p_top), _check_p(p_bottom)
    if influence and not (0 < p_top < 1 and 0 < p_bottom < 1):
        raise ValueError("the linearized variable of the minimum or maximum (p = 0 or 1) is not defined; use 0 < p < 1")
    top = quantile_estimate(s, p_top, convention, influence)
    bottom = quantile_estimate(s, p_bottom, convention, influence)
    if bottom.value == 0:
        raise ValueError(f"the quantile ratio P{_pct(p_top)}/P{_pct(p_bottom)} is undefined: the {p_bottom:g}-quantile is 0")
    ratio = top.value / bottom.value
    if not influence:
        return Estimate(ratio)
    u = top.influence
    u -= ratio * bottom.influence
    u /= bottom.value
    return Estimate(ratio, u)


def _pct(p: float) -> str:
    return f"{100 * p:g}"


def weighted_mean(y, w=None) -> float:
    """Weighted mean sum w y / sum w.

    >>> weighted_mean([1, 2, 3], [1, 1, 2])   # (1 + 2 + 6) / 4
    2.25
    """
    return mean_estimate(y, w, influence=False).value


def median(y, w=None, convention: str = "eurostat") -> float:
    """Weighted median under a named quantile convention (default Eurostat/laeken, see
    :mod:`prosperity.measures.quantiles`).

    >>> median([1, 2, 3, 4])   # F_2 = 0.5 exactly: Eurostat averages y_2 and y_3
    2.5
    """
    return quantile_sorted(as_sorted(y, w), 0.5, convention)


def quantile_ratio(y, p_top: float = 0.9, p_bottom: float = 0.1, w=None, convention: str = "eurostat") -> float:
    """Ratio of two weighted quantiles q_{p_top} / q_{p_bottom}, e.g. P90/P10 (the defaults).

    >>> quantile_ratio(range(1, 11), 0.9, 0.1)   # Eurostat: F_9 = .9 -> (9 + 10)/2; F_1 = .1 -> (1 + 2)/2
    6.333333333333333
    """
    return quantile_ratio_estimate(as_sorted(y, w), p_top, p_bottom, convention, influence=False).value
