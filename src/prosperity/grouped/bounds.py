"""How far a grouped table pins a measure: the interval over every distribution the table allows.

Gastwirth (1972, "The estimation of the Lorenz curve and Gini index", REStat 54: 306-316); Mehran
(1975). Let (P_k, L_k) be the table's Lorenz points (k = 0..K, from (0, 0) to (1, 1)).

- **Lower bound** (no inequality inside the groups): everyone at the group mean, the Lorenz curve
  is the chord through the points, G_low = 1 - sum_k (P_k - P_{k-1}) (L_k + L_{k-1}).
- **Upper bound, means only**: the lowest convex curve through the points. Inside group k it is
  the chord's two neighbours extended (their slopes are group means over the overall mean), which
  meet at a point under the chord: a triangle per group. At the ends the slope can reach 0
  (people at income 0) and infinity (one person holding the top group's excess).
- **Upper bound with thresholds** (group k within [t_k, t_{k+1}]): the most unequal split of
  group k with mean m_k inside its bracket is the two-point one at t_k and t_{k+1}
  (Gastwirth 1972, Theorem 2); the open top bracket stays unbounded above (the
  means-only triangle is used there).

Shares (L at a given p) and quantiles are bounded by the same two curves: the chord is the upper,
the envelope the lower Lorenz curve; a quantile Q(p) with p inside group k lies in the group's
bracket [t_k, t_{k+1}] (thresholds) or, from the envelope slopes, between the neighbouring group
means times mu.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .table import GroupedDataError, GroupedTable


def _lorenz_vertices(table: GroupedTable, thresholds: bool):
    """Vertices of the lowest convex Lorenz curve the table allows (piecewise linear)."""
    P = np.concatenate([[0.0], table.cum_population])
    L = np.concatenate([[0.0], table.cum_income])
    K = table.n_groups
    mu = table.overall_mean
    slope = np.diff(L) / np.diff(P)  # group mean / mu
    vx, vy = [0.0], [0.0]
    for k in range(K):
        p0, p1, l0, l1 = P[k], P[k + 1], L[k], L[k + 1]
        if thresholds and table.threshold is not None and mu is not None and k < K - 1:
            lo, hi = table.threshold[k] / mu, table.threshold[k + 1] / mu
            m = slope[k]
            w = (hi - m) / (hi - lo) if hi > lo else 1.0  # share of the group at the lower end
            pm = p0 + w * (p1 - p0)
            vx.append(pm)
            vy.append(l0 + lo * (pm - p0))
        else:
            s_left = slope[k - 1] if k > 0 else 0.0
            if thresholds and table.threshold is not None and mu is not None:
                s_left = table.threshold[k] / mu  # nobody in the group below its threshold
            s_right = slope[k + 1] if k < K - 1 else np.inf
            if np.isinf(s_right):
                # left line through (p0, l0) with slope s_left, up to p = 1, then vertical
                vx.append(p1)
                vy.append(l0 + s_left * (p1 - p0))
            elif s_right > s_left:
                # intersection of y = l0 + s_left (p - p0) and y = l1 + s_right (p - p1)
                pm = (l1 - l0 + s_left * p0 - s_right * p1) / (s_left - s_right)
                pm = float(np.clip(pm, p0, p1))
                vx.append(pm)
                vy.append(l0 + s_left * (pm - p0))
        vx.append(p1)
        vy.append(l1)
    return np.array(vx), np.array(vy)


def _gini_of_polyline(x, y) -> float:
    return float(1.0 - np.sum(np.diff(x) * (y[1:] + y[:-1])))


@dataclass(frozen=True)
class GroupedBounds:
    """Bounds on the Gini (and the Lorenz curve) that a grouped table allows."""

    gini_low: float
    gini_high: float
    gini_high_means_only: float
    thresholds_used: bool
    _chord: tuple
    _envelope: tuple

    def lorenz_bounds(self, p) -> tuple[np.ndarray, np.ndarray]:
        """(lowest, highest) L(p) over the allowed distributions."""
        p = np.atleast_1d(np.asarray(p, float))
        return np.interp(p, *self._envelope), np.interp(p, *self._chord)

    def share_bounds(self, p) -> dict:
        """Bounds on the bottom share L(p) and the top share 1 - L(p)."""
        lo, hi = self.lorenz_bounds(p)
        return {"bottom_low": lo, "bottom_high": hi, "top_low": 1 - hi, "top_high": 1 - lo}

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"measure": ["gini"], "low": [self.gini_low], "high": [self.gini_high],
                             "high_means_only": [self.gini_high_means_only]})


def grouped_bounds(table: GroupedTable) -> GroupedBounds:
    """Gastwirth bounds of the Gini from ``table`` (thresholds sharpen the upper bound when given)."""
    if not table.has_shares:
        raise GroupedDataError("bounds need the income of each group: give 'mean' or 'income_share'")
    P = np.concatenate([[0.0], table.cum_population])
    L = np.concatenate([[0.0], table.cum_income])
    g_low = _gini_of_polyline(P, L)
    ex, ey = _lorenz_vertices(table, thresholds=False)
    g_high_m = _gini_of_polyline(ex, ey)
    use_t = table.threshold is not None and table.overall_mean is not None
    if use_t:
        tx, ty = _lorenz_vertices(table, thresholds=True)
        g_high = _gini_of_polyline(tx, ty)
        env = (tx, ty)
    else:
        g_high, env = g_high_m, (ex, ey)
    return GroupedBounds(g_low, g_high, g_high_m, use_t, (P, L), env)
