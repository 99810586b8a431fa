"""Income shares of quantile groups, Lorenz and generalized Lorenz ordinates, the quintile share
ratio S80/S20 and the Palma ratio, weighted, with their linearized variables.

All of them are built from T(p), the total income of the poorest fraction p of the population.
Notation: incomes sorted ascending, weights w, C_j = sum_{i<=j} w_i, N = sum w, Y = sum w y.
How units at the boundary are counted is a named convention (``convention=``):

- ``"eurostat"`` (default for shares, S80/S20 and Palma; = R laeken ``qsr`` and Eurostat's
  EU-SILC S80/S20): take the p-quantile q_p (Eurostat rule, see
  :mod:`prosperity.measures.quantiles`) and count whole units: T(p) = sum w y 1{y <= q_p}. The
  top group of S80/S20 is {y > q_0.8}, the bottom {y <= q_0.2}. Units tied at q_p all fall in the
  lower group.
- ``"laeken"``: the same with laeken's own quantile rule (first F_j > p, strictly). It differs from
  ``"eurostat"`` only when a cumulative weight share equals p exactly (unweighted or equal-weight
  data), and then reproduces laeken ``qsr`` digit for digit.
- ``"fractional"`` (default for Lorenz ordinates; R convey ``svylorenz``, ineq ``Lc``, the exact
  empirical Lorenz curve): the boundary unit j (C_{j-1} < pN <= C_j) is split:
  T(p) = sum_{i<j} w_i y_i + (pN - C_{j-1}) y_j. Piecewise linear in p, continuous.

Measures: share(p1, p2) = (T(p2) - T(p1)) / Y; Lorenz L(p) = T(p) / Y; generalized Lorenz
GL(p) = T(p) / N = mu L(p); S80/S20 = (Y - T(0.8)) / T(0.2); Palma = (Y - T(0.9)) / T(0.4).

Linearized variable of T(p) (Osier 2009 sec. 3.4; Langel & Tille 2011): with q the boundary income,

    u_T = y 1{y <= q} - q (1{y <= q} - p)

(the kernel density cancels: moving the quantile moves T by N q f(q) dq, and dq has 1/(N f)). For
``"fractional"`` this is the exact derivative of T with respect to each weight (q = y_j). Ratios
follow by the quotient rule, e.g. u_L = (u_T - L y) / Y, u_QSR = ((y - u_T(.8)) - QSR u_T(.2)) / T(.2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import blockwise
from .estimate import Estimate, SortedIncome, as_sorted, income_total, vdot
from .quantiles import _check_p, quantile_sorted

SHARE_CONVENTIONS = ("eurostat", "laeken", "fractional")


@dataclass(frozen=True, slots=True)
class LowerTotal:
    """T(p), the income of the poorest fraction p, with what its linearized variable needs:
    u_T = y - q (1 - p) for the first ``j`` sorted units, p q for the others."""

    p: float
    total: float
    q: float  # boundary income
    j: int  # number of sorted units counted as "y <= q" in u_T

    def add_influence(self, u: np.ndarray, y: np.ndarray, scale: float = 1.0) -> None:
        """u += scale * u_T, in place (sorted order)."""
        if self.p > 0:
            u += scale * self.p * self.q
        if self.j:
            q = self.q
            blockwise.fill(u[: self.j], lambda ub, yb: ub + (yb - q) * scale, u[: self.j], y[: self.j])


def lower_total(s: SortedIncome, p: float, convention: str = "eurostat") -> LowerTotal:
    """Total income T(p) of the poorest fraction ``p`` under ``convention`` (module docstring).

    Cached on ``s``: the shares, QSR, Palma and Lorenz ordinates of a suite share their T(p)."""
    key = ("lower_total", float(p), convention)
    t = s.cache.get(key)
    if t is None:
        t = s.cache[key] = _lower_total(s, p, convention)
    return t


def _lower_total(s: SortedIncome, p: float, convention: str) -> LowerTotal:
    p = _check_p(p)
    if convention not in SHARE_CONVENTIONS:
        raise ValueError(f"unknown share convention {convention!r}; choose one of {SHARE_CONVENTIONS}")
    y, w, cumw = s.y, s.w, s.cumw
    if p == 0.0:
        return LowerTotal(0.0, 0.0, 0.0, 0)
    if p == 1.0:
        return LowerTotal(1.0, float(vdot(w, y)), 0.0, s.n)
    if convention == "fractional":
        m = p * s.total
        j = min(int(np.searchsorted(cumw, m, side="left")), s.n - 1)
        c_prev = float(cumw[j - 1]) if j else 0.0
        total = float(vdot(w[:j], y[:j])) + (m - c_prev) * float(y[j])
        return LowerTotal(p, total, float(y[j]), j)
    q = quantile_sorted(s, p, convention)
    j = int(np.searchsorted(y, q, side="right"))
    return LowerTotal(p, float(vdot(w[:j], y[:j])), q, j)


def _total(s: SortedIncome) -> float:
    big_y = income_total(s)
    if big_y == 0:
        raise ValueError("income shares are undefined when total income is 0")
    return big_y


# ----------------------------------------------------------------------------------- kernels
def income_share_estimate(
    s: SortedIncome, p1: float, p2: float, convention: str = "eurostat", influence: bool = True
) -> Estimate:
    """Share of total income held by the population between fractiles p1 < p2."""
    p1, p2 = _check_p(p1), _check_p(p2)
    if not p1 < p2:
        raise ValueError(f"an income share needs p1 < p2 (the group between the p1 and p2 fractiles), got {p1:g} and {p2:g}")
    big_y = _total(s)
    low, high = lower_total(s, p1, convention), lower_total(s, p2, convention)
    share = (high.total - low.total) / big_y
    if not influence:
        return Estimate(share)
    u = s.y * (-share / big_y)
    high.add_influence(u, s.y, 1.0 / big_y)
    low.add_influence(u, s.y, -1.0 / big_y)
    return Estimate(share, u)


def lorenz_estimate(s: SortedIncome, p: float, convention: str = "fractional", influence: bool = True) -> Estimate:
    """Lorenz ordinate L(p) = T(p) / Y with its linearized variable (u_T - L y) / Y."""
    big_y = _total(s)
    t = lower_total(s, p, convention)
    value = t.total / big_y
    if not influence:
        return Estimate(value)
    u = s.y * (-value / big_y)
    t.add_influence(u, s.y, 1.0 / big_y)
    return Estimate(value, u)


def generalized_lorenz_estimate(
    s: SortedIncome, p: float, convention: str = "fractional", influence: bool = True
) -> Estimate:
    """Generalized Lorenz ordinate GL(p) = T(p) / N = mu L(p), linearized (u_T - GL) / N."""
    t = lower_total(s, p, convention)
    big_n = s.total
    value = t.total / big_n
    if not influence:
        return Estimate(value)
    u = np.full(s.n, -value / big_n)
    t.add_influence(u, s.y, 1.0 / big_n)
    return Estimate(value, u)


def share_ratio_estimate(
    s: SortedIncome, p_top: float, p_bottom: float, convention: str = "eurostat", influence: bool = True
) -> Estimate:
    """(Y - T(p_top)) / T(p_bottom): income of the richest 1 - p_top over that of the poorest
    p_bottom. S80/S20 is (0.8, 0.2); Palma (0.9, 0.4)."""
    big_y = _total(s)
    top, bottom = lower_total(s, p_top, convention), lower_total(s, p_bottom, convention)
    if bottom.total == 0:
        raise ValueError(f"the share ratio is undefined: the poorest {100 * p_bottom:g} % have zero total income")
    ratio = (big_y - top.total) / bottom.total
    if not influence:
        return Estimate(ratio)
    u = s.y / bottom.total
    top.add_influence(u, s.y, -1.0 / bottom.total)
    bottom.add_influence(u, s.y, -ratio / bottom.total)
    return Estimate(ratio, u)


def qsr_estimate(s: SortedIncome, convention: str = "eurostat", influence: bool = True) -> Estimate:
    """Quintile share ratio S80/S20 (laeken/Eurostat), a fraction (laeken prints it unchanged)."""
    return share_ratio_estimate(s, 0.8, 0.2, convention, influence)


def palma_estimate(s: SortedIncome, convention: str = "eurostat", influence: bool = True) -> Estimate:
    """Palma ratio: income share of the top 10 % over that of the bottom 40 % (Palma 2011)."""
    return share_ratio_estimate(s, 0.9, 0.4, convention, influence)


# ------------------------------------------------------------------------------ public functions
def income_share(y, p1: float, p2: float, w=None, convention: str = "eurostat") -> float:
    """Share of total income held by the population between the p1 and p2 fractiles (0 <= p1 < p2 <= 1).

    ``income_share(y, 0.9, 1)`` is the top 10 % share; ``income_share(y, 0, 0.4)`` the bottom 40 %.
    Conventions (module docstring): ``"eurostat"`` counts whole units up to the Eurostat quantile,
    ``"fractional"`` splits the boundary unit (exact Lorenz curve).

    >>> income_share([1, 2, 3, 4], 0.5, 1)        # q_.5 = 2.5: units 3 and 4 -> 7 / 10
    0.7
    >>> round(income_share([1, 2, 3, 4], 0, 0.3, convention="fractional"), 12)   # (1 + 0.2 * 2) / 10
    0.14
    """
    return income_share_estimate(as_sorted(y, w), p1, p2, convention, influence=False).value


def quintile_share_ratio(y, w=None, convention: str = "eurostat") -> float:
    """S80/S20: total income of the richest 20 % (y > q_0.8) over that of the poorest 20 %
    (y <= q_0.2), Eurostat/laeken definition (laeken ``qsr``).

    >>> quintile_share_ratio(range(1, 11))   # q_.2 = 2.5, q_.8 = 8.5: (9 + 10) / (1 + 2)
    6.333333333333333
    """
    return qsr_estimate(as_sorted(y, w), convention, influence=False).value


def palma(y, w=None, convention: str = "eurostat") -> float:
    """Palma ratio: income of the richest 10 % (y > q_0.9) over that of the poorest 40 % (y <= q_0.4).

    >>> palma(range(1, 11))   # q_.4 = 4.5, q_.9 = 9.5: 10 / (1 + 2 + 3 + 4)
    1.0
    """
    return palma_estimate(as_sorted(y, w), convention, influence=False).value


def lorenz_ordinate(y, p: float, w=None, convention: str = "fractional", generalized: bool = False) -> float:
    """Lorenz ordinate L(p) (or generalized Lorenz GL(p) = mu L(p)) at one p.

    >>> lorenz_ordinate([1, 2, 3, 4], 0.5)    # (1 + 2) / 10
    0.3
    """
    s = as_sorted(y, w)
    est = generalized_lorenz_estimate if generalized else lorenz_estimate
    return est(s, p, convention, influence=False).value


@dataclass(frozen=True)
class LorenzCurve:
    """Lorenz ordinates ``lorenz`` (and generalized ordinates ``generalized`` = mean * lorenz) at
    population shares ``p``."""

    p: np.ndarray
    lorenz: np.ndarray
    generalized: np.ndarray
    mean: float
    convention: str

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"p": self.p, "lorenz": self.lorenz, "generalized_lorenz": self.generalized})

    def __repr__(self) -> str:
        mid = np.interp(0.5, self.p, self.lorenz)
        return (
            f"LorenzCurve({self.p.size} points, convention={self.convention!r}, mean={self.mean:.6g}, "
            f"L(0.5)={mid:.6g})"
        )


def lorenz_curve(y, w=None, p=None, convention: str = "fractional") -> LorenzCurve:
    """The Lorenz and generalized Lorenz curves at population shares ``p`` (one sort, one cumulative sum).

    ``p=None`` returns the vertices of the empirical curve, (0, 0) then (C_i / N, Ycum_i / Y) for
    every unit; otherwise the ordinates at each p under ``convention`` (``"fractional"`` = the
    exact piecewise-linear curve, ``"eurostat"``/``"laeken"`` = whole units up to the quantile).

    >>> lorenz_curve([1, 2, 3, 4], p=[0, 0.25, 0.5, 1]).lorenz
    array([0. , 0.1, 0.3, 1. ])
    """
    s = as_sorted(y, w)
    ycum = np.cumsum(s.w * s.y)
    big_y, big_n = float(ycum[-1]), s.total
    if big_y == 0:
        raise ValueError("the Lorenz curve is undefined when total income is 0")
    if p is None:
        ps = np.concatenate(([0.0], s.cumw / big_n))
        totals = np.concatenate(([0.0], ycum))
        convention = "vertices"
    else:
        ps = np.atleast_1d(np.asarray(p, dtype=np.float64))
        if np.any(~((ps >= 0) & (ps <= 1))):
            raise ValueError(f"population shares p must lie in [0, 1], got {ps[~((ps >= 0) & (ps <= 1))][:5]}")
        if convention not in SHARE_CONVENTIONS:
            raise ValueError(f"unknown share convention {convention!r}; choose one of {SHARE_CONVENTIONS}")
        ycum0 = np.concatenate(([0.0], ycum))
        if convention == "fractional":
            m = ps * big_n
            j = np.minimum(np.searchsorted(s.cumw, m, side="left"), s.n - 1)
            c_prev = np.where(j > 0, s.cumw[j - 1], 0.0)
            totals = ycum0[j] + (m - c_prev) * s.y[j]
        else:
            q = np.array([quantile_sorted(s, pi, convention) for pi in ps])
            totals = ycum0[np.searchsorted(s.y, q, side="right")]
        totals = np.where(ps == 0, 0.0, np.where(ps == 1, big_y, totals))
    lorenz = totals / big_y
    return LorenzCurve(ps, lorenz, totals / big_n, big_y / big_n, convention)
