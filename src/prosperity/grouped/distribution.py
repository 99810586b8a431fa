"""The one interface every reconstructed distribution offers, and the measures computed from it.

A :class:`FittedDistribution` exposes its quantile function Q(p), cdf F(x), Lorenz curve L(p) and
mean mu. Every measure is computed from these four, identically for every method (GQ, Beta,
generalized Pareto interpolation, histogram, parametric, mixtures):

- Gini          G = 1 - 2 * int_0^1 L(p) dp
- Theil         T = int_0^1 (Q/mu) log(Q/mu) dp          MLD = int_0^1 log(mu/Q) dp
- FGT(a) at z   H = F(z);  FGT1 = H - mu L(H) / z;  FGT(a) = int_0^H (1 - Q(p)/z)^a dp
- Watts         W = int_0^H log(z / Q(p)) dp
- shares        top 10 % = 1 - L(0.9); bottom 40 % = L(0.4); Palma = top 10 % / bottom 40 %
- middle class  population share F(b) - F(a) and income share L(F(b)) - L(F(a)) of a band [a, b],
                absolute (e.g. the NBS 33,333-166,667 yuan per person) or relative to the median
- prosperity gap (Kraay et al. 2023)  PG = E[z_p / y] = z_p int_0^1 dp / Q(p)

Integrals over p use composite Gauss-Legendre rules on segments refined geometrically towards 0 and 1
(the tails), so heavy Pareto tails and zero-income floors are integrated accurately; the mass above
p = 1 - 1e-10 enters the Theil through the Lorenz curve (its income share) rather than by quadrature.
"""

from __future__ import annotations

import json
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

_GL_X, _GL_W = np.polynomial.legendre.leggauss(24)
_TOP = 1.0 - 1e-10


def _breaks(lo: float, hi: float) -> np.ndarray:
    """Segment ends on [lo, hi] refined geometrically towards both ends."""
    inner = np.linspace(lo, hi, 21)
    width = hi - lo
    near = width * np.array([1e-10, 1e-8, 1e-6, 1e-5, 1e-4, 1e-3, 3e-3, 1e-2, 2e-2])
    pts = np.concatenate([inner, lo + near, hi - near])
    return np.unique(np.clip(pts, lo, hi))


def gauss_nodes(lo: float, hi: float, extra=()) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of a composite Gauss-Legendre rule on [lo, hi] (break also at ``extra``)."""
    b = _breaks(lo, hi)
    if len(extra):
        ex = np.asarray([e for e in extra if lo < e < hi], dtype=float)
        b = np.unique(np.concatenate([b, ex]))
    a, c = b[:-1], b[1:]
    half = (c - a)[:, None] / 2
    x = (a[:, None] + c[:, None]) / 2 + half * _GL_X[None, :]
    w = half * _GL_W[None, :]
    return x.ravel(), w.ravel()


_P_NODES, _P_WEIGHTS = gauss_nodes(0.0, _TOP)


class FittedDistribution(ABC):
    """A continuous income distribution reconstructed from grouped data.

    Subclasses implement :meth:`quantile` and :meth:`lorenz` and set ``mean``; :meth:`cdf` defaults
    to inverting the quantile function by bisection. ``parameters`` and ``diagnostics`` are plain
    dicts (JSON-ready) describing the fit.
    """

    method: str = "distribution"
    mean: float
    parameters: dict
    diagnostics: dict

    @abstractmethod
    def quantile(self, p) -> np.ndarray:
        """Q(p): the income below which a share p of the population lies."""

    @abstractmethod
    def lorenz(self, p) -> np.ndarray:
        """L(p): the share of total income held by the poorest share p of the population."""

    # halvings of [0, 1] in the bisection of ``cdf`` (2^-60 ~ 1e-18 in p)
    cdf_halvings = 60

    def cdf(self, x) -> np.ndarray:
        """F(x) by bisection on Q (monotone), ``cdf_halvings`` halvings of [0, 1]; subclasses with a closed
        form override this."""
        x = np.atleast_1d(np.asarray(x, dtype=float))
        lo = np.zeros_like(x)
        hi = np.ones_like(x)
        for _ in range(self.cdf_halvings):
            mid = (lo + hi) / 2
            below = self.quantile(mid) <= x
            lo = np.where(below, mid, lo)
            hi = np.where(below, hi, mid)
        return (lo + hi) / 2

    # ---------------------------------------------------------------- conveniences
    def median(self) -> float:
        return float(self.quantile(np.array([0.5]))[0])

    def support_check(self, n: int = 2001) -> dict:
        """Is Q increasing and positive on (0, 1)? (a valid income distribution)"""
        p = np.linspace(0.0005, 0.9995, n)
        q = self.quantile(p)
        finite = bool(np.all(np.isfinite(q)))
        return {
            "quantile_increasing": bool(finite and np.all(np.diff(q) >= -1e-9 * np.abs(q[1:]))),
            "quantile_positive": bool(finite and np.all(q > 0)),
        }

    def sample(self, n: int, seed=None) -> np.ndarray:
        """Draw n incomes by inverse-cdf sampling (for simulation and round-trip checks)."""
        rng = np.random.default_rng(seed)
        return self.quantile(rng.uniform(size=n))

    def measures(self, poverty_line=None, **kwargs) -> "DistributionMeasures":
        """Every measure of the foundation from this distribution (see :func:`distribution_measures`)."""
        return distribution_measures(self, poverty_line=poverty_line, **kwargs)

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}" for k, v in self.parameters.items())
        return f"{type(self).__name__}(mean={self.mean:.6g}, {params})"


# ------------------------------------------------------------------------ measures
@dataclass(frozen=True)
class DistributionMeasures:
    """Measures of one fitted distribution; ``values`` is an ordered name -> float mapping; ``notes``
    explains, per measure, a value that is not finite (None in JSON)."""

    method: str
    values: dict
    settings: dict = field(default_factory=dict)
    notes: dict = field(default_factory=dict)

    def __getitem__(self, key: str) -> float:
        return self.values[key]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"measure": list(self.values), "value": list(self.values.values()), "method": self.method})

    def to_dict(self) -> dict:
        return dict(self.values)

    def __repr__(self) -> str:
        body = ", ".join(f"{k}={v:.6g}" for k, v in self.values.items() if v is not None)
        return f"DistributionMeasures({self.method}: {body})"


def _integrate(f, lo=0.0, hi=_TOP, extra=()) -> float:
    if hi <= lo:
        return 0.0
    x, w = gauss_nodes(lo, hi, extra) if (lo, hi) != (0.0, _TOP) or len(extra) else (_P_NODES, _P_WEIGHTS)
    return float(np.dot(w, f(x)))


def gini(dist: FittedDistribution) -> float:
    """G = 1 - 2 int L(p) dp."""
    return 1.0 - 2.0 * _integrate(dist.lorenz, 0.0, 1.0)


def theil(dist: FittedDistribution) -> float:
    """Theil T = int (Q/mu) log(Q/mu) dp; the top 1e-10 of the population via its income share."""
    mu = dist.mean

    def f(p):
        r = dist.quantile(p) / mu
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(r > 0, r * np.log(np.where(r > 0, r, 1.0)), 0.0)

    body = _integrate(f)
    top_share = 1.0 - float(dist.lorenz(np.array([_TOP]))[0])
    if top_share > 0:
        body += top_share * math.log(top_share / (1.0 - _TOP))
    return body


def mld(dist: FittedDistribution) -> float:
    """Mean log deviation int log(mu/Q) dp (infinite when incomes reach 0 with positive mass)."""
    mu = dist.mean

    def f(p):
        q = dist.quantile(p)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(mu / q)

    return _integrate(f, 0.0, 1.0)


def fgt(dist: FittedDistribution, line: float, alpha: float, headcount: float | None = None) -> float:
    """Foster-Greer-Thorbecke index FGT(alpha) at the line z."""
    h = float(dist.cdf(np.array([line]))[0]) if headcount is None else headcount
    if h <= 0:
        return 0.0
    if alpha == 0:
        return h
    if alpha == 1:
        return max(h - dist.mean * float(dist.lorenz(np.array([h]))[0]) / line, 0.0)
    return _integrate(lambda p: np.clip(1.0 - dist.quantile(p) / line, 0.0, None) ** alpha, 0.0, h)


def watts(dist: FittedDistribution, line: float, headcount: float | None = None) -> float:
    h = float(dist.cdf(np.array([line]))[0]) if headcount is None else headcount
    if h <= 0:
        return 0.0
    with np.errstate(divide="ignore"):
        return _integrate(lambda p: np.log(line / np.maximum(dist.quantile(p), 0.0)).clip(0.0), 0.0, h)


def band_shares(dist: FittedDistribution, low: float, high: float) -> tuple[float, float]:
    """(population share, income share) of incomes in [low, high]."""
    f = dist.cdf(np.array([low, high]))
    lz = dist.lorenz(f)
    return float(f[1] - f[0]), float(lz[1] - lz[0])


def prosperity_gap(dist: FittedDistribution, standard: float) -> float:
    """Kraay et al. (2023): average factor by which incomes must be multiplied to reach ``standard``,
    E[standard / y] (uncapped, so the standard only scales the index)."""
    with np.errstate(divide="ignore"):
        return standard * _integrate(lambda p: 1.0 / dist.quantile(p), 0.0, 1.0)


def distribution_measures(
    dist: FittedDistribution,
    poverty_line: float | None = None,
    *,
    middle_band: tuple[float, float] | None = None,
    relative_band: tuple[float, float] = (0.75, 2.0),
    prosperity_standard: float | None = None,
    poverty_dist: FittedDistribution | None = None,
    check_line: bool = True,
) -> DistributionMeasures:
    """Gini, Theil, MLD, quantiles, shares, Palma, middle-income shares and (with a line) FGT 0/1/2,
    Watts; with ``prosperity_standard`` the prosperity gap. ``poverty_dist`` (default ``dist``)
    computes the poverty measures, so PIP's rule (one fit for distribution, one for poverty) fits here.
    """
    v: dict = {}
    mu = float(dist.mean)
    v["mean"] = mu
    q = dist.quantile(np.array([0.1, 0.5, 0.9]))
    v["median"] = float(q[1])
    v["p10"] = float(q[0])
    v["p90"] = float(q[2])
    v["gini"] = gini(dist)
    v["theil"] = theil(dist)
    v["mld"] = mld(dist)
    lz = dist.lorenz(np.array([0.2, 0.4, 0.8, 0.9]))
    v["bottom40_share"] = float(lz[1])
    v["top10_share"] = float(1 - lz[3])
    v["palma"] = v["top10_share"] / v["bottom40_share"] if lz[1] > 0 else float("inf")
    v["s80_s20"] = float((1 - lz[2]) / lz[0]) if lz[0] > 0 else float("inf")
    lo, hi = relative_band
    pop, inc = band_shares(dist, lo * v["median"], hi * v["median"])
    v["middle_population_share_relative"] = pop
    v["middle_income_share_relative"] = inc
    if middle_band is not None:
        pop, inc = band_shares(dist, *middle_band)
        v["middle_population_share_absolute"] = pop
        v["middle_income_share_absolute"] = inc
    if poverty_line is not None:
        pdist = poverty_dist or dist
        z = float(poverty_line)
        if z <= 0:
            raise ValueError(f"the poverty line must be positive, got {z}")
        if check_line:
            low, high = (float(x) for x in pdist.quantile(np.array([1e-6, 1 - 1e-6])))
            if low > high:  # an invalid Lorenz fit: Q decreases, so Q(1e-6) > Q(1 - 1e-6)
                raise ValueError(
                    f"the fitted {pdist.method} curve is not a valid Lorenz curve: its quantile function "
                    f"decreases (Q(0.000001) = {low:.6g} > Q(0.999999) = {high:.6g}), so it has no income range "
                    f"for the poverty line {z:g}; use method auto (PIP's choice) or gpinter/histogram"
                )
            if not (low < z < high):
                raise ValueError(
                    f"poverty line {z:g} lies outside the support of the fitted distribution "
                    f"[{low:.6g}, {high:.6g}] (0.0001 % to 99.9999 % of the population); "
                    "choose a line inside the income range the table covers"
                )
        h = float(pdist.cdf(np.array([z]))[0])
        v["headcount"] = h
        v["poverty_gap"] = fgt(pdist, z, 1, h)
        v["fgt2"] = fgt(pdist, z, 2, h)
        v["watts"] = watts(pdist, z, h)
    if prosperity_standard is not None:
        v["prosperity_gap"] = prosperity_gap(dist, float(prosperity_standard))
    settings = {"poverty_line": poverty_line, "middle_band": middle_band, "relative_band": relative_band,
                "prosperity_standard": prosperity_standard}
    notes = _nonfinite_notes(v, dist, poverty_dist or dist)
    return DistributionMeasures(dist.method, v, settings, notes)


_NEEDS_POSITIVE = ("mld", "watts", "prosperity_gap")


def nonpositive_share(dist: FittedDistribution) -> float:
    """Population share whose fitted income is <= 0 (a Beta Lorenz curve can have L'(p) < 0 near p = 0)."""
    if float(dist.quantile(np.array([1e-12]))[0]) > 0:
        return 0.0
    return float(dist.cdf(np.array([0.0]))[0])


def _nonfinite_notes(values: dict, dist: FittedDistribution, poverty_dist: FittedDistribution) -> dict:
    """Why a measure came out infinite or NaN: say which population share the fit gives incomes <= 0."""
    notes = {}
    for name in _NEEDS_POSITIVE:
        value = values.get(name)
        if value is None or math.isfinite(value):
            continue
        source = poverty_dist if name == "watts" else dist
        share = nonpositive_share(source)
        if share > 0:
            notes[name] = (f"not defined: the fitted {source.method} curve gives incomes <= 0 to the lowest "
                           f"{100 * share:.4g} % of the population (its Lorenz curve has L'(p) <= 0 for "
                           f"p < {share:.3g}, which a Lorenz curve cannot); {name} needs positive incomes. "
                           "Use gq, gpinter or a parametric method for it.")
        else:
            notes[name] = (f"not finite for the fitted {source.method} distribution (incomes reach 0 with "
                           "enough mass at the bottom for the integral to diverge)")
    return notes


def jsonable(x):
    """Turn numpy scalars / arrays / nan into JSON-ready Python values."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return [jsonable(v) for v in x.tolist()]
    if isinstance(x, (np.bool_, bool)):
        return bool(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        x = float(x)
        return x if math.isfinite(x) else None
    return x


def dumps(obj) -> str:
    return json.dumps(jsonable(obj), indent=2, ensure_ascii=False)
