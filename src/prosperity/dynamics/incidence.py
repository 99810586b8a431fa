"""Growth incidence and the growth / redistribution decomposition of poverty changes.

Distributions. Each period is either a weighted sample ``(y, w)`` (a :class:`Sample`, or a tuple,
or an array of incomes) or any fitted distribution with a quantile function: an object with
``.quantile(p)`` or ``.ppf(p)`` (e.g. a scipy frozen distribution), or a plain callable p -> Q(p).
Quantiles of a fitted distribution are evaluated exactly; means, bottom-40 means and poverty measures
use its quantiles at the mid-points p_j = (j - 1/2)/G of a fine grid (G = ``grid_size``), each
with weight 1/G (midpoint-rule integration over p); the mean is the distribution's own ``.mean()``
when it has one.

Growth incidence curve (Ravallion & Chen 2003): g(p) = (Q_1(p) / Q_0(p))^(1/years) - 1 at the
percentiles p (quantiles of a sample under a named convention, default ``"interpolated"``, which
gives a smooth curve; see :mod:`prosperity.measures.quantiles`).

Summaries: growth of the mean, mean of the GIC over the percentiles, growth of the median, growth
of the mean income of the bottom 40 % (the World Bank's shared-prosperity indicator: the mean of the
poorest 40 % of each period, anonymous), and the pro-poor growth rate
  ``"percentiles"`` (Ravallion & Chen 2003, in practice): the mean of g(p) over p <= H_0;
  ``"watts"``: (W_0 - W_1) / H_0 annualised (W = Watts index), the exact continuous-time version
  (the mean growth rate of the poor's incomes in logs).

Poverty change decomposition for an FGT(alpha) measure P(mu, L) of a mean and a Lorenz curve:
  Datt & Ravallion (1992), reference period 0:
    growth = P(mu_1, L_0) - P(mu_0, L_0), redistribution = P(mu_0, L_1) - P(mu_0, L_0),
    residual = P_1 - P_0 - growth - redistribution;
  Shapley (Shorrocks 2013; Kakwani 1997), no residual:
    growth = [P(mu_1, L_0) - P(mu_0, L_0) + P(mu_1, L_1) - P(mu_0, L_1)] / 2,
    redistribution = [P(mu_0, L_1) - P(mu_0, L_0) + P(mu_1, L_1) - P(mu_1, L_0)] / 2.
P(mu_a, L_b) is the poverty of distribution b rescaled to mean mu_a. Incomes of both periods must be
in the same prices (deflate first).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..measures.quantiles import weighted_quantile


@dataclass(frozen=True)
class Sample:
    """A weighted income sample (or a fitted distribution's quantile grid)."""

    y: np.ndarray
    w: np.ndarray
    fitted: bool = False
    qfunc: object = None  # the fitted distribution's quantile function, evaluated exactly by quantile()
    exact_mean: float | None = None  # the fitted distribution's own mean, when it has one

    @property
    def mean(self) -> float:
        if self.exact_mean is not None:
            return self.exact_mean
        return float(self.w @ self.y / self.w.sum())

    def quantile(self, p, convention: str = "interpolated"):
        if self.qfunc is not None:
            q = np.asarray(self.qfunc(np.asarray(p, dtype=float)), dtype=float)
            return float(q.ravel()[0]) if np.ndim(p) == 0 else q.reshape(np.shape(p))
        if self.fitted:  # quantile grid of a fitted distribution: interpolate on the mid-points
            g = self.y.size
            mid = (np.arange(g) + 0.5) / g
            return np.interp(p, mid, self.y)
        return weighted_quantile(self.y, p, self.w, convention=convention)

    def scaled(self, factor: float) -> "Sample":
        q = None if self.qfunc is None else (lambda p, f=self.qfunc: f(p) * factor)
        m = None if self.exact_mean is None else self.exact_mean * factor
        return Sample(self.y * factor, self.w, self.fitted, q, m)

    def bottom_mean(self, share: float) -> float:
        """Mean income of the poorest ``share`` of the population (fractional weight at the cut)."""
        order = np.argsort(self.y, kind="stable")
        y, w = self.y[order], self.w[order]
        target = share * w.sum()
        cum = np.cumsum(w)
        take = np.clip(target - (cum - w), 0.0, w)
        return float(take @ y / target)


def as_sample(dist, weights=None, grid_size: int = 10_000, name: str = "distribution") -> Sample:
    """Accept a :class:`Sample`, ``(y, w)``, an income array (+ ``weights``), or a fitted distribution."""
    if isinstance(dist, Sample):
        return dist
    inner = getattr(dist, "distribution", None)  # e.g. prosperity.grouped fits wrap their distribution
    if inner is not None and (hasattr(inner, "quantile") or hasattr(inner, "ppf")):
        dist = inner
    quant = getattr(dist, "quantile", None) or getattr(dist, "ppf", None)
    if quant is None and callable(dist):
        quant = dist
    if quant is not None and not isinstance(dist, (np.ndarray, list, tuple, pd.Series)):
        p = (np.arange(grid_size) + 0.5) / grid_size
        q = np.asarray(quant(p), dtype=float)
        if q.shape != p.shape or not np.all(np.isfinite(q)):
            raise ValueError(f"{name}: the quantile function must return finite values for p in (0, 1)")
        if np.any(np.diff(q) < -1e-12 * np.abs(q).max()):
            raise ValueError(f"{name}: the quantile function is not increasing")
        mean = getattr(dist, "mean", None)
        mean = float(mean()) if callable(mean) else (float(mean) if isinstance(mean, (int, float)) else None)
        return Sample(q, np.full(grid_size, 1.0 / grid_size), fitted=True, qfunc=quant, exact_mean=mean)
    if isinstance(dist, tuple) and len(dist) == 2 and weights is None:
        dist, weights = dist
    y = np.asarray(dist, dtype=float)
    w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=float)
    if y.ndim != 1 or w.shape != y.shape or y.size == 0:
        raise ValueError(f"{name}: incomes and weights must be non-empty 1-D arrays of one length ({y.shape}, {w.shape})")
    bad = np.flatnonzero(~np.isfinite(y) | ~np.isfinite(w) | (w < 0))
    if bad.size:
        raise ValueError(f"{name}: row {bad[0]} has income {y[bad[0]]!r} and weight {w[bad[0]]!r}; incomes must be finite and weights >= 0")
    return Sample(y, w)


def _annual(ratio, years: float):
    return np.power(ratio, 1.0 / years) - 1.0


def fgt(s: Sample, line: float, alpha: float = 0.0) -> float:
    """Foster-Greer-Thorbecke index (1/N) sum_{y<z} w (1 - y/z)^alpha."""
    poor = s.y < line
    gap = np.where(poor, 1.0 - s.y / line, 0.0)
    val = np.where(poor, 1.0, 0.0) if alpha == 0 else gap**alpha
    return float(s.w @ val / s.w.sum())


def watts(s: Sample, line: float) -> float:
    """Watts index (1/N) sum_{y<z} w ln(z / y)."""
    poor = s.y < line
    if np.any(poor & (s.y <= 0)):
        raise ValueError("the Watts index needs positive incomes below the line")
    val = np.where(poor, np.log(line / np.where(poor, s.y, 1.0)), 0.0)
    return float(s.w @ val / s.w.sum())


@dataclass(frozen=True)
class GrowthIncidence:
    """Growth incidence curve and its summaries."""

    curve: pd.DataFrame  # p, quantile_0, quantile_1, growth
    mean_growth: float  # growth of the mean
    mean_of_growth_rates: float
    median_growth: float
    bottom40_growth: float
    pro_poor_growth: float | None
    headcount_0: float | None
    years: float

    def to_frame(self) -> pd.DataFrame:
        return self.curve.copy()

    def summary(self) -> pd.Series:
        return pd.Series(
            {
                "growth_of_mean": self.mean_growth,
                "mean_of_growth_rates": self.mean_of_growth_rates,
                "growth_of_median": self.median_growth,
                "growth_bottom40": self.bottom40_growth,
                "premium_bottom40": self.bottom40_growth - self.mean_growth,
                "pro_poor_growth_rate": self.pro_poor_growth,
                "headcount_0": self.headcount_0,
                "years": self.years,
            }
        )

    def __repr__(self) -> str:
        s = self.summary()
        body = ", ".join(f"{k}={v:.4f}" for k, v in s.items() if pd.notna(v) and k != "years")
        return f"GrowthIncidence({len(self.curve)} points, per {'year' if self.years != 1 else 'period'}: {body})"


def growth_incidence(
    before,
    after,
    *,
    weights_before=None,
    weights_after=None,
    percentiles=None,
    years: float = 1.0,
    line: float | None = None,
    pro_poor: str = "percentiles",
    convention: str = "interpolated",
    grid_size: int = 10_000,
) -> GrowthIncidence:
    """Growth incidence curve between two distributions (samples or fitted; see module docstring).

    ``years``: annualise growth over this many years. ``line``: poverty line (same prices in both
    periods) for the pro-poor growth rate; ``pro_poor``: ``"percentiles"`` or ``"watts"``."""
    if years <= 0:
        raise ValueError(f"years must be positive, got {years}")
    s0 = as_sample(before, weights_before, grid_size, "before")
    s1 = as_sample(after, weights_after, grid_size, "after")
    p = np.arange(1, 100) / 100.0 if percentiles is None else np.asarray(percentiles, dtype=float)
    if np.any((p <= 0) | (p >= 1)):
        raise ValueError("percentiles must lie strictly between 0 and 1 (e.g. 0.01 .. 0.99)")
    q0 = np.asarray(s0.quantile(p, convention), dtype=float)
    q1 = np.asarray(s1.quantile(p, convention), dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = _annual(q1 / q0, years)
    curve = pd.DataFrame({"p": p, "quantile_0": q0, "quantile_1": q1, "growth": g})
    ppg, h0 = None, None
    if line is not None:
        h0 = fgt(s0, line, 0)
        if h0 == 0:
            raise ValueError(f"nobody is poor at line {line} in the first period: the pro-poor growth rate is undefined")
        if pro_poor == "percentiles":
            below = p <= h0 + 1e-12
            if not below.any():
                raise ValueError(f"the headcount {h0:.4f} is below the first percentile {p[0]}; pass a finer percentiles grid")
            ppg = float(np.mean(g[below]))
        elif pro_poor == "watts":
            ppg = float(np.expm1((watts(s0, line) - watts(s1, line)) / h0 / years))
        else:
            raise ValueError(f"pro_poor must be 'percentiles' or 'watts', got {pro_poor!r}")
    med = float(_annual(s1.quantile(0.5, convention) / s0.quantile(0.5, convention), years))
    return GrowthIncidence(
        curve,
        float(_annual(s1.mean / s0.mean, years)),
        float(np.nanmean(g)),
        med,
        float(_annual(s1.bottom_mean(0.4) / s0.bottom_mean(0.4), years)),
        ppg,
        h0,
        float(years),
    )


@dataclass(frozen=True)
class PovertyChangeDecomposition:
    """Growth / redistribution decomposition of the change in an FGT poverty measure."""

    method: str
    poverty_0: float
    poverty_1: float
    growth: float
    redistribution: float
    residual: float
    alpha: float
    line: float

    @property
    def change(self) -> float:
        return self.poverty_1 - self.poverty_0

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "component": ["poverty_0", "poverty_1", "change", "growth", "redistribution", "residual"],
                "value": [self.poverty_0, self.poverty_1, self.change, self.growth, self.redistribution, self.residual],
            }
        )

    def __repr__(self) -> str:
        return (
            f"PovertyChangeDecomposition({self.method}, FGT({self.alpha:g}) at line {self.line:g}: "
            f"{self.poverty_0:.4f} -> {self.poverty_1:.4f}, change {self.change:+.4f} = growth {self.growth:+.4f} "
            f"+ redistribution {self.redistribution:+.4f} + residual {self.residual:+.4f})"
        )


def poverty_change_decomposition(
    before,
    after,
    line: float,
    *,
    alpha: float = 0.0,
    method: str = "shapley",
    reference: int = 0,
    weights_before=None,
    weights_after=None,
    grid_size: int = 10_000,
) -> PovertyChangeDecomposition:
    """Decompose P_1 - P_0 into growth and redistribution (``method="datt-ravallion"`` with a
    residual and ``reference`` period 0 or 1, or ``"shapley"`` without residual)."""
    s0 = as_sample(before, weights_before, grid_size, "before")
    s1 = as_sample(after, weights_after, grid_size, "after")
    mu0, mu1 = s0.mean, s1.mean

    def pov(mu, s, mu_s):  # poverty of distribution s rescaled to mean mu
        return fgt(s.scaled(mu / mu_s), line, alpha)

    p00, p11 = fgt(s0, line, alpha), fgt(s1, line, alpha)
    p10 = pov(mu1, s0, mu0)  # mean 1, Lorenz 0
    p01 = pov(mu0, s1, mu1)  # mean 0, Lorenz 1
    if method == "shapley":
        growth = 0.5 * ((p10 - p00) + (p11 - p01))
        redis = 0.5 * ((p01 - p00) + (p11 - p10))
        resid = 0.0
    elif method == "datt-ravallion":
        if reference == 0:
            growth, redis = p10 - p00, p01 - p00
        elif reference == 1:
            growth, redis = p11 - p01, p11 - p10
        else:
            raise ValueError(f"reference must be 0 or 1, got {reference}")
        resid = (p11 - p00) - growth - redis
    else:
        raise ValueError(f"method must be 'shapley' or 'datt-ravallion', got {method!r}")
    name = method if method == "shapley" else f"datt-ravallion (reference {reference})"
    return PovertyChangeDecomposition(name, p00, p11, growth, redis, resid, float(alpha), float(line))
