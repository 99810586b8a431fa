"""Population-weighted mixtures of fitted distributions (urban + rural -> national; provinces -> nation).

With components F_i, means mu_i and population weights w_i (sum 1):

    F(x) = sum_i w_i F_i(x),   mu = sum_i w_i mu_i,
    L(p) = sum_i w_i mu_i L_i(F_i(Q(p))) / mu,

and Q(p) solves F(Q) = p by bisection in log income, bracketed by min_i Q_i(p) and max_i Q_i(p)
(the mixture quantile always lies between its components' quantiles). Every measure then follows
from :mod:`prosperity.grouped.distribution`, like for any other fit.
"""

from __future__ import annotations

import numpy as np

from .distribution import FittedDistribution


class Mixture(FittedDistribution):
    """A mixture of fitted distributions with population weights (normalised to sum to 1)."""

    method = "mixture"

    def __init__(self, components, weights, labels=None):
        components = list(components)
        w = np.asarray(weights, dtype=float)
        if len(components) < 1 or w.size != len(components):
            raise ValueError(f"give one weight per component ({len(components)} components, {w.size} weights)")
        if np.any(w < 0) or w.sum() <= 0:
            raise ValueError(f"mixture weights must be non-negative with a positive sum, got {w.tolist()}")
        self.components, self.weights = components, w / w.sum()
        self.labels = list(labels) if labels is not None else [c.method for c in components]
        self.means = np.array([c.mean for c in components])
        self.mean = float(np.dot(self.weights, self.means))
        self.parameters = {
            "components": {lab: {"method": c.method, "weight": float(wi), "mean": float(c.mean)}
                           for lab, c, wi in zip(self.labels, components, self.weights)}
        }
        self.diagnostics = {"income_shares": {lab: float(wi * c.mean / self.mean) for lab, c, wi in zip(self.labels, components, self.weights)}}

    def cdf(self, x) -> np.ndarray:
        x = np.atleast_1d(np.asarray(x, dtype=float))
        return sum(wi * c.cdf(x) for c, wi in zip(self.components, self.weights))

    def quantile(self, p) -> np.ndarray:
        p = np.atleast_1d(np.asarray(p, dtype=float))
        qs = np.vstack([c.quantile(p) for c in self.components])
        lo = np.log(np.maximum(np.nanmin(qs, axis=0), 1e-300))
        hi = np.log(np.maximum(np.nanmax(qs, axis=0), 1e-300))
        for _ in range(64):
            mid = (lo + hi) / 2
            below = self.cdf(np.exp(mid)) <= p
            lo = np.where(below, mid, lo)
            hi = np.where(below, hi, mid)
        out = np.exp((lo + hi) / 2)
        out[p >= 1] = np.inf
        return out

    def lorenz(self, p) -> np.ndarray:
        p = np.atleast_1d(np.clip(np.asarray(p, dtype=float), 0.0, 1.0))
        x = self.quantile(p)
        total = sum(wi * c.mean * c.lorenz(c.cdf(x)) for c, wi in zip(self.components, self.weights))
        out = total / self.mean
        out[p >= 1] = 1.0
        return np.clip(out, 0.0, 1.0)

    def between_theil(self) -> float:
        """Between-component Theil T: sum_i s_i log(mu_i / mu), s_i the income share of component i."""
        s = self.weights * self.means / self.mean
        return float(np.sum(s * np.log(self.means / self.mean)))
