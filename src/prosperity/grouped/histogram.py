"""Mean-split histogram: the simple, always-valid reconstruction the gpinter author now recommends.

Each bracket [t_k, t_{k+1}) with population share s_k and mean m_k is split at its mean into two
uniform pieces [t_k, m_k) and [m_k, t_{k+1}) with masses

    s_k (t_{k+1} - m_k) / (t_{k+1} - t_k)    and    s_k (m_k - t_k) / (t_{k+1} - t_k),

which reproduces both the share and the mean of every bracket exactly. The open top bracket
[t_K, inf) is a Pareto tail with index alpha = m_K / (m_K - t_K) (so its mean is m_K).

Without thresholds, interior thresholds are imputed as midpoints of adjacent group means,
t_k = (m_{k-1} + m_k) / 2, and t_0 = max(0, 2 m_0 - t_1); this is reported in the diagnostics.
"""

from __future__ import annotations

import numpy as np

from .distribution import FittedDistribution
from .table import GroupedDataError, GroupedTable


class MeanSplitHistogram(FittedDistribution):
    """Piecewise-uniform density with a Pareto top bracket. Build with :meth:`fit`."""

    method = "histogram"

    def __init__(self, thresholds, shares, means, diagnostics=None):
        t, s, m = (np.asarray(a, float) for a in (thresholds, shares, means))
        lo, hi, w = [], [], []
        for k in range(t.size - 1):
            width = t[k + 1] - t[k]
            lo += [t[k], m[k]]
            hi += [m[k], t[k + 1]]
            w += [s[k] * (t[k + 1] - m[k]) / width, s[k] * (m[k] - t[k]) / width]
        self.lo, self.hi, self.w = np.array(lo), np.array(hi), np.array(w)
        self.start = np.concatenate([[0.0], np.cumsum(self.w)])[:-1]
        self.income_start = np.concatenate([[0.0], np.cumsum(self.w * (self.lo + self.hi) / 2)])[:-1]
        self.p_top = float(np.sum(self.w))
        self.t_top, self.m_top, self.s_top = float(t[-1]), float(m[-1]), float(s[-1])
        self.alpha = self.m_top / (self.m_top - self.t_top)
        self.mean = float(np.dot(s, m))
        self.parameters = {"thresholds": t.tolist(), "top_pareto_alpha": self.alpha}
        self.diagnostics = diagnostics or {}

    @classmethod
    def fit(cls, table: GroupedTable) -> "MeanSplitHistogram":
        if table.mean is None:
            raise GroupedDataError("method 'histogram' needs group 'mean' values (or income shares and --mean)")
        m, s = table.mean, table.population_share
        notes = []
        if table.threshold is not None:
            t = table.threshold.copy()
        else:
            t = np.empty_like(m)
            t[1:] = (m[:-1] + m[1:]) / 2
            t[0] = max(0.0, 2 * m[0] - t[1])
            notes.append("no thresholds: imputed as midpoints of adjacent group means")
        if m[-1] <= t[-1]:
            raise GroupedDataError(f"data row {m.size}: the top group mean {m[-1]:g} must exceed its threshold {t[-1]:g}")
        return cls(t, s, m, {"notes": notes, "thresholds_used": table.threshold is not None})

    def quantile(self, p) -> np.ndarray:
        p = np.atleast_1d(np.asarray(p, dtype=float))
        out = np.empty_like(p)
        body = p < self.p_top
        if body.any():
            k = np.clip(np.searchsorted(self.start, p[body], side="right") - 1, 0, self.w.size - 1)
            frac = (p[body] - self.start[k]) / self.w[k]
            out[body] = self.lo[k] + (self.hi[k] - self.lo[k]) * frac
        if (~body).any():
            with np.errstate(divide="ignore"):
                out[~body] = self.t_top * (self.s_top / np.maximum(1 - p[~body], 0.0)) ** (1 / self.alpha)
        return out

    def cdf(self, x) -> np.ndarray:
        x = np.atleast_1d(np.asarray(x, dtype=float))
        out = np.zeros_like(x)
        for k in range(self.w.size):
            inside = (x >= self.lo[k]) & (x < self.hi[k])
            out[inside] = self.start[k] + self.w[k] * (x[inside] - self.lo[k]) / (self.hi[k] - self.lo[k])
        top = x >= self.t_top
        out[top] = 1 - self.s_top * (self.t_top / x[top]) ** self.alpha
        return out

    def lorenz(self, p) -> np.ndarray:
        p = np.atleast_1d(np.clip(np.asarray(p, dtype=float), 0.0, 1.0))
        out = np.empty_like(p)
        body = p < self.p_top
        if body.any():
            k = np.clip(np.searchsorted(self.start, p[body], side="right") - 1, 0, self.w.size - 1)
            dp = p[body] - self.start[k]
            x = self.lo[k] + (self.hi[k] - self.lo[k]) * dp / self.w[k]
            out[body] = (self.income_start[k] + dp * (self.lo[k] + x) / 2) / self.mean
        if (~body).any():
            q = self.quantile(p[~body])
            above = np.where(p[~body] < 1, (1 - p[~body]) * q * self.alpha / (self.alpha - 1), 0.0)
            out[~body] = 1 - above / self.mean
        return np.clip(out, 0.0, 1.0)
