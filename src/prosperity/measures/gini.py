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
- ``"unbiased_frequency"``: ``"laeken"`` times N / (N - 1), N = sum w, for frequency-weighted data
  (weight k = k identical persons): it equals ``"unbiased"`` (ineq ``Gini(corr=TRUE)``) on the data
  with every row repeated w times. Weights must be whole numbers with N >= 2; the value depends on
  the scale of the weights (by design: N counts persons).

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

from . import blockwise
from .estimate import Estimate, SortedIncome, as_sorted, income_total, vdot

GINI_CONVENTIONS = ("laeken", "convey", "ineqpy", "unbiased", "unbiased_frequency")

# Frequency weights: whole numbers within this relative tolerance (stored counts may carry float noise)
_WHOLE_RTOL = 1e-9


def gini_sorted(s: SortedIncome, influence: bool = True, convention: str = "laeken") -> Estimate:
    """Weighted Gini of a sorted sample under ``convention`` (see module docstring)."""
    if convention not in GINI_CONVENTIONS:
        raise ValueError(f"unknown Gini convention {convention!r}; choose one of {GINI_CONVENTIONS}")
    y, w, cumw = s.y, s.w, s.cumw
    big_n = s.total
    big_y = income_total(s)
    if big_y == 0:
        raise ValueError("the Gini coefficient is undefined when total income is 0")
    ny = big_n * big_y
    # laeken's G = sum w y (2 C - w - N) / (N Y): summing the centred terms keeps the rounding
    # error relative to G (not to 1); blockwise, so without a full-length temporary
    g_laeken = blockwise.weighted_sum(w, lambda yb, cb, wb: yb * (2.0 * cb - wb - big_n), y, cumw, w) / ny
    q = float(np.einsum("i,i,i->", w, w, y)) / ny  # sum w^2 y / (N Y)
    b = g_laeken + q + 1.0  # 2 sum w y C / (N Y)
    s2 = 0.0
    if convention == "laeken":
        g = g_laeken
    elif convention == "convey":
        g = g_laeken + q - 1.0 / big_n
    elif convention == "ineqpy":
        s2 = float(vdot(w, w)) / (big_n * big_n)
        if s2 >= 1.0:
            raise ValueError("the ineqpy Gini is undefined for a single unit with positive weight")
        g = (g_laeken + q - s2) / (1.0 - s2)
    elif convention == "unbiased":
        if s.n < 2:
            raise ValueError("the unbiased (n/(n-1)) Gini needs at least 2 observations")
        g = g_laeken * s.n / (s.n - 1.0)
    else:  # unbiased_frequency: N/(N-1), N = sum of the frequency weights
        _check_frequency_weights(w, big_n)
        g = g_laeken * big_n / (big_n - 1.0)
    if not influence:
        return Estimate(float(g))
    # Every convention's u has the form  a [k - Ycum + y (C + d w - c0)] + e w + f:
    #   laeken:  2/(NY) [Y (1 - (b-q)/2) - Ycum + y (C - (b-q) N/2)]            (Osier's formula)
    #   convey:  2/(NY) [Y (1 - b/2) - Ycum + y (C + w - b N/2)] + 1/N^2         (d of its formula)
    #   ineqpy:  (convey's without 1/N^2 - (1 - G)(2 w/N^2 - 2 S2/N)) / (1 - S2)
    #   unbiased: laeken's times n/(n-1)
    #   unbiased_frequency: laeken's times N/(N-1), plus d[N/(N-1)]/dw G_laeken = -G_laeken/(N-1)^2
    a, e, f = 2.0 / ny, 0.0, 0.0
    shift = 0.0
    if convention in ("laeken", "unbiased", "unbiased_frequency"):
        k, d, c0 = big_y * (1.0 - (b - q) / 2.0), 0.0, (b - q) * big_n / 2.0
        if convention == "unbiased":
            a *= s.n / (s.n - 1.0)
        elif convention == "unbiased_frequency":
            a *= big_n / (big_n - 1.0)
            shift = -g_laeken / ((big_n - 1.0) * (big_n - 1.0))
    else:
        k, d, c0 = big_y * (1.0 - b / 2.0), 1.0, b * big_n / 2.0
        if convention == "convey":
            f = 1.0 / (big_n * big_n)
        else:
            a /= 1.0 - s2
            e = -(1.0 - g) * 2.0 / (big_n * big_n) / (1.0 - s2)
            f = (1.0 - g) * 2.0 * s2 / big_n / (1.0 - s2)
    u = np.multiply(w, y)
    np.cumsum(u, out=u)  # Ycum
    if d == 0.0:
        blockwise.fill(u, lambda yc, yb, cb: (k - yc + yb * (cb - c0)) * a, u, y, cumw)
        if shift:
            u += shift
    else:
        blockwise.fill(u, lambda yc, yb, cb, wb: (k - yc + yb * (cb + wb - c0)) * a + wb * e + f, u, y, cumw, w)
    return Estimate(float(g), u)


def _check_frequency_weights(w: np.ndarray, big_n: float) -> None:
    """Frequency weights are counts of persons: whole numbers, at least two persons in all."""
    frac = np.abs(w - np.rint(w))
    bad = np.flatnonzero(frac > _WHOLE_RTOL * np.maximum(np.abs(w), 1.0))
    if bad.size:
        raise ValueError(
            f"the unbiased_frequency Gini needs frequency weights (whole numbers of persons); {bad.size:,} weight(s) "
            f"are not, e.g. {float(w[bad[0]])!r} (in sorted order). Use convention='unbiased' (n/(n-1) with n the "
            "number of rows) for sampling weights")
    if not big_n >= 2.0:
        raise ValueError(f"the unbiased_frequency Gini needs at least 2 persons (sum of weights {big_n:g})")


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
    big_y = income_total(s)
    if big_y == 0:
        raise ValueError("the S-Gini is undefined when total income is 0")
    mu = big_y / big_n
    d = np.subtract(big_n, s.cumw)
    d *= 1.0 / big_n  # d_i, share of the population above unit i
    np.maximum(d, 0.0, out=d)  # rounding in the cumulative sum can leave -1e-16 at the top
    dm1 = np.power(d, nu - 1.0)  # d_i^(nu-1)
    # omega_i = d_{i-1}^nu - d_i^nu (d_0 = 1): each unit's rank weight; they sum to 1
    sbar = float(y[0] * (1.0 - dm1[0] * d[0]))
    sbar += blockwise.weighted_sum(y[1:], lambda dp, mp, dc, mc: dp * mp - dc * mc, d[:-1], dm1[:-1], d[1:], dm1[1:])
    g = 1.0 - sbar / mu
    if not influence:
        return Estimate(float(g))
    # dS/dw_k = (nu/N) [ sum_{i<k} y_i (d_{i-1}^(nu-1) - d_i^(nu-1)) + y_k d_{k-1}^(nu-1) - S ]
    # dG/dw_k = (1/mu) [ -dS/dw_k + (1 - G)(y_k - mu)/N ]
    u = np.empty_like(d)  # term_i = y_i (d_{i-1}^(nu-1) - d_i^(nu-1)), then its cumulative sum
    u[0] = y[0] * (1.0 - dm1[0])
    blockwise.fill(u[1:], lambda yb, mp, mc: yb * (mp - mc), y[1:], dm1[:-1], dm1[1:])
    np.cumsum(u, out=u)
    c1, c2, c3 = -nu / (big_n * mu), (1.0 - g) / (big_n * mu), nu * sbar / (big_n * mu)
    # sum_{i<k} term_i = cumsum_k - term_k, and y_k d_{k-1}^(nu-1) - term_k = y_k d_k^(nu-1)
    blockwise.fill(u, lambda ub, yb, mb: (ub + yb * mb) * c1 + (yb - mu) * c2 + c3, u, y, dm1)
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
