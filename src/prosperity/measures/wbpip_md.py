"""World Bank wbpip's microdata conventions: its median, quantile (decile) shares and Wolfson index.

wbpip (R, PIP-Technical-Team) computes these on microdata through its Lorenz curve
``md_compute_lorenz(nbins = n)``: with p_i = C_i / N the cumulative population share of the sorted
units (C_i = sum_{j<=i} w_j, N = sum w) and L_i = Ycum_i / Y the cumulative income share, the n points
are the units

    i_k = min{ i : round(p_i, 10) >= round(k / n, 10) },   k = 1..n

(a unit holding several thresholds is repeated). Then, with no interpolation inside a unit:

- quantile shares (``md_compute_quantiles_share``): share_k = L_{i_k} - L_{i_{k-1}} (L_{i_0} = 0);
- quantiles (``md_compute_quantiles``): y_{i_k}; the median (``md_compute_median``): y_{i_5} of the
  decile points, the income of the unit holding the 50th percentile (an inverse-CDF median);
- Wolfson polarization (``md_compute_polarization``, Ravallion & Chen 1996):

      W = 2 ((1 - G) mu - mu_b) / m,   mu_b = m (1 - PG(m) / H(m)),

  G the Gini (``md_compute_gini``, the package's ``laeken`` convention), mu the mean, m wbpip's
  median, H and PG the headcount and poverty gap at the line m with the poor y < m, so mu_b is the
  mean income of the units strictly below the median.

The package's own conventions differ: its Wolfson index uses the Eurostat median and the mean of the
poorest half exactly (the Lorenz ordinate L(0.5) with the boundary unit split), and its shares split
the boundary unit (``convention="fractional"``); on 1, ..., 2000 wbpip gives a median of 1000 and
W = 0.3343335, the package's default W = 0.3331669 (median 1000.5).

Linearized variables (for design-based SEs): the share's is that of the income between two quantiles,
u = (y 1{q_{k-1} < y <= q_k} - q_k (1{y <= q_k} - k/n) + q_{k-1} (1{y <= q_{k-1}} - (k-1)/n) - s_k y) / Y,
the Wolfson's the delta method on G, mu, m and mu_b = A / B (A = sum_{y<m} w y, B = sum_{y<m} w, with
dA/dm = m N f(m), dB/dm = N f(m)), u_m = -(1{y <= m} - 1/2) / (N f(m)), f the kernel density at m.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .estimate import Estimate, SortedIncome, as_sorted, income_total, vdot
from .gini import gini_sorted
from .quantiles import kernel_density_at

QUANTILE_SHARE_CONVENTIONS = ("wbpip", "fractional")
_ROUND = 10  # wbpip rounds p and k/n to 10 decimals before comparing them


def lorenz_points(s: SortedIncome, n: int = 10) -> np.ndarray:
    """Sorted positions i_1..i_n of wbpip's n Lorenz points (module docstring)."""
    n = _check_n(n)
    p = np.round(s.cumw / s.total, _ROUND)
    targets = np.round(np.arange(1, n + 1) / n, _ROUND)
    return np.minimum(np.searchsorted(p, targets, side="left"), s.n - 1)


def median_sorted(s: SortedIncome) -> float:
    """wbpip's ``md_compute_median``: the income of the unit holding the 50th percentile."""
    return float(s.y[lorenz_points(s, 10)[4]])


def _check_n(n) -> int:
    if isinstance(n, bool) or not float(n).is_integer() or int(n) < 2:
        raise ValueError(f"the number of quantile groups must be a whole number >= 2, got {n!r}")
    return int(n)


@dataclass(frozen=True, eq=False)
class QuantileShares:
    """Income shares of n equal-population groups, poorest first, with their thresholds."""

    convention: str
    shares: np.ndarray  # share of total income of each group
    thresholds: np.ndarray  # upper income of each group (wbpip: y_{i_k}; fractional: the boundary unit's)
    influence: np.ndarray | None = None  # n_units x n linearized variables (input order), or None

    def to_frame(self) -> pd.DataFrame:
        n = self.shares.size
        return pd.DataFrame({"group": np.arange(1, n + 1), "lower_p": np.arange(n) / n,
                             "upper_p": np.arange(1, n + 1) / n, "share": self.shares, "threshold": self.thresholds})

    def __repr__(self) -> str:
        body = ", ".join(f"{v:.4f}" for v in self.shares)
        return f"QuantileShares[{self.convention}, n={self.shares.size}]({body})"


def quantile_shares_sorted(s: SortedIncome, n: int = 10, convention: str = "wbpip",
                           influence: bool = False) -> QuantileShares:
    """Income shares of n equal-population groups under ``convention``: ``"wbpip"`` (no interpolation
    inside a unit, wbpip ``md_compute_quantiles_share``) or ``"fractional"`` (the boundary unit split,
    the exact Lorenz curve of the weighted sample)."""
    if convention not in QUANTILE_SHARE_CONVENTIONS:
        raise ValueError(f"unknown quantile-share convention {convention!r}; choose one of {QUANTILE_SHARE_CONVENTIONS}")
    n = _check_n(n)
    big_y = income_total(s)
    if big_y == 0:
        raise ValueError("income shares are undefined when total income is 0")
    ycum = np.cumsum(s.w * s.y)
    if convention == "wbpip":
        idx = lorenz_points(s, n)
        cum = ycum[idx] / big_y
        q = s.y[idx]
    else:
        targets = np.arange(1, n + 1) / n * s.total
        idx = np.minimum(np.searchsorted(s.cumw, targets * (1 - 1e-12), side="left"), s.n - 1)
        before_w = np.where(idx > 0, s.cumw[idx - 1], 0.0)
        before_y = np.where(idx > 0, ycum[idx - 1], 0.0)
        cum = (before_y + (targets - before_w) * s.y[idx]) / big_y
        cum[-1] = 1.0
        q = s.y[idx]
    shares = np.diff(np.concatenate(([0.0], cum)))
    infl = None
    if influence:
        infl = np.empty((s.n, n))
        below_prev = np.zeros(s.n)
        term_prev = np.zeros(s.n)
        for k in range(n):
            qk, pk = float(q[k]), (k + 1) / n
            below = (s.y <= qk).astype(np.float64)
            term = s.y * below - qk * (below - pk) if k < n - 1 else s.y.copy()  # the top group ends at Y
            infl[:, k] = s.unsort((term - term_prev - shares[k] * s.y) / big_y)
            below_prev, term_prev = below, term
    return QuantileShares(convention, shares, q.astype(np.float64), infl)


def quantile_shares(y, w=None, n: int = 10, convention: str = "wbpip") -> QuantileShares:
    """Decile (n = 10) or other quantile-group income shares; see :func:`quantile_shares_sorted`.

    >>> [round(float(v), 8) for v in quantile_shares(range(1, 2001)).shares[:2]]   # wbpip's example output
    [0.01004498, 0.03003498]
    """
    return quantile_shares_sorted(as_sorted(y, w), n, convention)


def wolfson_index(gini: float, mean: float, median: float, mean_below: float) -> float:
    """W = 2 ((1 - G) mu - mu_b) / m from its parts (wbpip's formula; mu_b the mean below the median).

    >>> round(wolfson_index(0.4, 950, 1000, 500), 12)   # wbpip's md_compute_polarization example
    0.14
    """
    return 2.0 * ((1.0 - gini) * mean - mean_below) / median


def wolfson_sorted(s: SortedIncome, *, influence: bool = True) -> Estimate:
    """wbpip's Wolfson index 2 ((1 - G) mu - mu_b) / m (``md_compute_polarization``; module docstring)."""
    big_n = s.total
    mu = income_total(s) / big_n
    m = median_sorted(s)
    if not m > 0:
        raise ValueError(f"the Wolfson index needs a positive median, got {m:g}")
    k = int(np.searchsorted(s.y, m, side="left"))  # units strictly below the median
    if k == 0:
        raise ValueError("wbpip's Wolfson index needs units strictly below the median (mu_b is their mean)")
    a = float(vdot(s.w[:k], s.y[:k]))
    b = float(s.cumw[k - 1])
    mu_b = a / b
    g = gini_sorted(s, influence, "laeken")
    value = wolfson_index(g.value, mu, m, mu_b)
    if not influence:
        return Estimate(value)
    nf = big_n * kernel_density_at(s, m)
    km = int(np.searchsorted(s.y, m, side="right"))
    u_m = np.full(s.n, 0.5 / nf)
    u_m[:km] -= 1.0 / nf
    u_mu = (s.y - mu) / big_n
    u_a = m * nf * u_m
    u_a[:k] += s.y[:k]
    u_b = nf * u_m
    u_b[:k] += 1.0
    u_mub = (u_a - mu_b * u_b) / b
    u = 2.0 * ((1.0 - g.value) * u_mu - mu * g.influence - u_mub) / m - value / m * u_m
    return Estimate(value, u)


def wolfson(y, w=None) -> float:
    """wbpip's Wolfson polarization index (``md_compute_polarization``).

    >>> round(wolfson(range(1, 2001)), 7)   # wbpip's md_compute_dist_stats(1:2000) example
    0.3343335
    """
    return wolfson_sorted(as_sorted(y, w), influence=False).value
