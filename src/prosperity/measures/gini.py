"""Gini coefficient (weighted, under named conventions), the S-Gini family, and their linearized
variables.

Notation: incomes sorted ascending y_1 <= ... <= y_n, weights w, C_i = sum_{j<=i} w_j,
N = sum w, Y = sum w y, mu = Y / N, Ycum_i = sum_{j<=i} w_j y_j, n the number of observations.

Conventions (``convention=``); all give sum_ij |y_i - y_j| / (2 n^2 mu) -- or that times
n/(n-1) -- on unweighted data, and differ only in how they treat weights:

- ``"laeken"`` (default; laeken, dineq, IC2, wbpip, PySAL ``Gini`` unweighted, ineq
  ``Gini(corr=FALSE)``): the weighted pairwise mean difference over twice the mean, each unit's
  own pair counted as half:

      G = (2 sum_i w_i y_i C_i - sum_i w_i^2 y_i) / (N Y) - 1.

  Invariant to the scale of the weights and consistent with frequency weights (replicating a unit
  k times equals weight k).
- ``"convey"`` (R convey ``svygini``): G = sum_i (2 C_i - 1) w_i y_i / (N Y) - 1. The "- 1" is
  in units of weight, so the value depends on the scale of the weights (it equals ``"laeken"``
  plus (sum w^2 y - Y) / (N Y)).
- ``"ineqpy"`` (Python ineqpy ``gini``): twice the weighted covariance of y and F_i = C_i / N over
  the mean, with numpy's reliability-weight normalisation 1 - sum f_i^2 (f = w / N):

      G = 2 sum_i f_i (y_i - mu)(F_i - Fbar) / (mu (1 - sum f^2))
        = (2 sum w y C / (N Y) - 1 - S2) / (1 - S2),  S2 = sum w^2 / N^2.

  Not consistent with frequency weights; unweighted it equals ``"unbiased"``.
- ``"unbiased"`` (ineq ``Gini(corr=TRUE)``): ``"laeken"`` times n / (n - 1), n the number of
  observations (not the sum of weights).

The S-Gini or extended Gini (Donaldson & Weymark 1980; Yitzhaki 1983), parameter nu > 1:

    G(nu) = 1 - sum_i y_i [d_{i-1}^nu - d_i^nu] / mu,   d_i = (N - C_i) / N,

the discrete form in which each unit gets the exact mass of the rank weight nu (1 - F)^(nu - 1)
over its population slice (as Stata ``sgini``, DASP). nu = 2 gives the ``"laeken"`` Gini exactly;
larger nu weighs the bottom of the distribution more.

Linearized variables (Deville 1999; Osier 2009; Langel & Tille 2013): every ``u`` below is the exact
derivative of the estimator with respect to the weight w_k (so sum_k w_k u_k is its first-order
change), which for ``"laeken"`` is Osier's formula

    u_k = 2 / (N Y) * (y_k C_k + Y - Ycum_k) - (G + 1) * (1 / N + y_k / Y).
"""

from __future__ import annotations

import numpy as np

from .estimate import Estimate, SortedIncome, as_sorted

GINI_CONVENTIONS = ("laeken", "convey", "ineqpy", "unbiased")


def gini_sorted(s: SortedIncome, influence: bool = True, convention: str = "laeken") -> Estimate:
    """Weighted Gini of a sorted sample under ``convention`` (see module docstring)."""
    if convention not in GINI_CONVENTIONS:
        raise ValueError(f"unknown Gini convention {convention!r}; choose one of {GINI_CONVENTIONS}")
    y, w, cumw = s.y, s.w, s.cumw
    wy = w * y
    big_n = s.total
    big_y = float(wy.sum())
    if big_y == 0:
        raise ValueError("the Gini coefficient is undefined when total income is 0")
    ny = big_n * big_y
    b = 2.0 * float(np.dot(wy, cumw)) / ny  # 2 sum w y C / (N Y)
    q = float(np.dot(wy, w)) / ny  # sum w^2 y / (N Y)
    if convention == "laeken":
        g = b - q - 1.0
    elif convention == "convey":
        g = b - 1.0 / big_n - 1.0
    elif convention == "ineqpy":
        s2 = float(np.dot(w, w)) / (big_n * big_n)
        if s2 >= 1.0:
            raise ValueError("the ineqpy Gini is undefined for a single unit with positive weight")
        g = (b - 1.0 - s2) / (1.0 - s2)
    else:  # unbiased
        if s.n < 2:
            raise ValueError("the unbiased (n/(n-1)) Gini needs at least 2 observations")
        g = (b - q - 1.0) * s.n / (s.n - 1.0)
    if not influence:
        return Estimate(float(g))
    # u of the "laeken" form, built in place: 2/(NY) (y C + Y - Ycum) - (b - q)(1/N + y/Y)
    u = np.cumsum(wy)  # Ycum
    np.subtract(big_y, u, out=u)
    u += y * cumw
    u *= 2.0 / ny
    bq = b - q
    u -= bq / big_n
    u -= (bq / big_y) * y
    if convention == "laeken":
        pass
    elif convention == "unbiased":
        u *= s.n / (s.n - 1.0)
    else:
        # d b = u_laeken + d q, with d q_k = 2 w_k y_k / (N Y) - q (1/N + y_k/Y)
        u += (2.0 / ny) * wy
        u -= q / big_n
        u -= (q / big_y) * y
        if convention == "convey":
            u += 1.0 / (big_n * big_n)
        else:  # ineqpy: dG = (db - (1 - G) dS2) / (1 - S2),  dS2_k = 2 w_k / N^2 - 2 S2 / N
            u -= (1.0 - g) * (2.0 / (big_n * big_n)) * w
            u += (1.0 - g) * 2.0 * s2 / big_n
            u /= 1.0 - s2
    return Estimate(float(g), u)


def gini(y, w=None, convention: str = "laeken") -> float:
    """Weighted Gini coefficient as a fraction, under a named convention.

    ``"laeken"`` (default) is the pairwise mean difference over twice the mean:
    G = (2 sum w y C - sum w^2 y) / (N Y) - 1 with y sorted, C the cumulative weights, N = sum w,
    Y = sum w y. ``"convey"``, ``"ineqpy"`` and ``"unbiased"`` (n/(n-1), ineq ``corr=TRUE``)
    reproduce those tools; see :mod:`prosperity.measures.gini` and ``docs/conventions.md``.

    >>> round(gini([1, 2, 3, 4]), 6)   # sum |yi - yj| = 20; 20 / (2 * 16 * 2.5)
    0.25
    >>> round(gini([1, 2, 3, 4], convention="unbiased"), 6)   # 0.25 * 4/3
    0.333333
    """
    return gini_sorted(as_sorted(y, w), influence=False, convention=convention).value


def _check_nu(nu: float) -> float:
    nu = float(nu)
    if not nu > 1.0 or not np.isfinite(nu):
        raise ValueError(
            f"the S-Gini parameter nu must be a finite number > 1 (nu = 2 is the Gini; nu = 1 gives 0 "
            f"for every distribution), got {nu}"
        )
    return nu


def sgini_sorted(s: SortedIncome, nu: float = 2.0, influence: bool = True) -> Estimate:
    """S-Gini / extended Gini G(nu) of a sorted sample, with its linearized variable.

    G(nu) = 1 - sum_i y_i [d_{i-1}^nu - d_i^nu] / mu, d_i = (N - C_i) / N (Donaldson & Weymark
    1980; Yitzhaki 1983). nu = 2 is the Gini (computed by the Gini kernel, same value).
    """
    nu = _check_nu(nu)
    if nu == 2.0:
        return gini_sorted(s, influence)
    return _sgini_general(s, nu, influence)


def _sgini_general(s: SortedIncome, nu: float, influence: bool) -> Estimate:
    y, w = s.y, s.w
    big_n = s.total
    big_y = float(np.dot(w, y))
    if big_y == 0:
        raise ValueError("the S-Gini is undefined when total income is 0")
    mu = big_y / big_n
    d = np.subtract(big_n, s.cumw) / big_n  # d_i, share of the population above unit i
    np.maximum(d, 0.0, out=d)  # rounding in the cumulative sum can leave -1e-16 at the top
    d_prev = np.empty_like(d)  # d_{i-1}, d_0 = 1
    d_prev[0] = 1.0
    d_prev[1:] = d[:-1]
    dn = d**nu
    omega = d_prev**nu - dn  # rank weight of each unit, sums to 1
    sbar = float(np.dot(omega, y))  # sum y omega = the "equally distributed" rank-weighted mean
    g = 1.0 - sbar / mu
    if not influence:
        return Estimate(float(g))
    # dS/dw_k = (nu/N) [ sum_{i<k} y_i (d_{i-1}^(nu-1) - d_i^(nu-1)) + y_k d_{k-1}^(nu-1) - S ]
    dm1 = dn / np.where(d > 0, d, 1.0)  # d^(nu-1) without a second power (0 where d == 0)
    dpm1 = np.empty_like(dm1)
    dpm1[0] = 1.0
    dpm1[1:] = dm1[:-1]
    term = y * (dpm1 - dm1)
    acc = np.cumsum(term)
    acc -= term  # sum over i < k
    acc += y * dpm1
    acc -= sbar
    acc *= nu / big_n  # dS/dw
    # dG = (1/mu) [ -dS + (1 - G)(y - mu)/N ]
    u = (1.0 - g) / big_n * (y - mu)
    u -= acc
    u /= mu
    return Estimate(float(g), u)


def sgini(y, nu: float = 2.0, w=None) -> float:
    """S-Gini (extended/generalized Gini) with inequality-aversion parameter ``nu`` > 1.

    G(nu) = 1 - sum_i y_i [d_{i-1}^nu - d_i^nu] / mu with y sorted and d_i = (N - C_i) / N the
    population share above unit i (Donaldson & Weymark 1980, Yitzhaki 1983). nu = 2 is the Gini.

    >>> round(sgini([1, 2, 3, 4], 2), 6)
    0.25
    >>> # omega = (1 - .75^3, .75^3 - .5^3, .5^3 - .25^3, .25^3) = (.578125, .296875, .109375, .015625)
    >>> round(sgini([1, 2, 3, 4], 3), 6)   # 1 - (1 * .578125 + 2 * .296875 + 3 * .109375 + 4 * .015625) / 2.5
    0.375
    """
    return sgini_sorted(as_sorted(y, w), nu, influence=False).value
