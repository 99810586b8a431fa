"""Gini coefficient (weighted) and its linearized variable.

Default convention ``"laeken"`` (= laeken, dineq, IC2, wbpip; the weighted pairwise mean difference
over twice the mean, with each unit's own pair counted as half):

    G = (2 * sum_i w_i y_i C_i - sum_i w_i^2 y_i) / (N * Y) - 1,

y sorted ascending, C_i = sum_{j<=i} w_j, N = sum w, Y = sum w y. Unweighted this is
sum_ij |y_i - y_j| / (2 n^2 mean). It is invariant to the scale of the weights and consistent with
frequency weights (replicating a unit k times = weight k).

Linearized variable (Deville 1999; Osier 2009, eq. for the Gini):

    u_k = 2 / (N Y) * (y_k C_k + Y - Ycum_k) - (G + 1) * (1 / N + y_k / Y),

Ycum_k = sum_{j<=k} w_j y_j.
"""

from __future__ import annotations

import numpy as np

from .estimate import Estimate, SortedIncome, as_sorted


def gini_sorted(s: SortedIncome, influence: bool = True) -> Estimate:
    y, w, cumw = s.y, s.w, s.cumw
    wy = w * y
    big_n = s.total
    big_y = float(wy.sum())
    if big_y == 0:
        raise ValueError("the Gini coefficient is undefined when total income is 0")
    g = (2.0 * np.dot(wy, cumw) - np.dot(wy, w)) / (big_n * big_y) - 1.0
    if not influence:
        return Estimate(float(g))
    ycum = np.cumsum(wy)
    u = (2.0 / (big_n * big_y)) * (y * cumw + big_y - ycum) - (g + 1.0) * (1.0 / big_n + y / big_y)
    return Estimate(float(g), u)


def gini(y, w=None) -> float:
    """Weighted Gini coefficient (laeken/Eurostat convention), as a fraction.

    >>> round(gini([1, 2, 3, 4]), 6)
    0.25
    """
    return gini_sorted(as_sorted(y, w), influence=False).value
