"""Parametric Lorenz curves fitted to grouped data: General Quadratic and Beta (Datt 1998; PIP).

General Quadratic (Villasenor & Arnold 1989), estimated by OLS without intercept on the Lorenz
points (P_k, L_k), the last point (1, 1) left out:

    L(1 - L) = a (P^2 - L) + b L (P - 1) + c (P - L)
    L(p)  = -(b p + e + sqrt(m p^2 + n p + e^2)) / 2,    e = -(a + b + c + 1), m = b^2 - 4a,
    n = 2be - 4c,  r = sqrt(n^2 - 4 m e^2)
    L'(p) = -b/2 - (2mp + n) / (4 sqrt(m p^2 + n p + e^2))
    H(z)  = -(n + r u / sqrt(u^2 - m)) / (2m),  u = b + 2 z / mu            (Datt 1998, Table 2)

Beta (Kakwani 1980), OLS of log(P - L) on log P and log(1 - P):

    L(p)  = p - theta p^gamma (1 - p)^delta
    L'(p) = 1 - theta p^gamma (1 - p)^delta (gamma / p - delta / (1 - p))

The quantile function is Q(p) = mu L'(p). Validity (Datt 1998, section 4): the fitted curve must be
a Lorenz curve over the range used, L(0) = 0, L'(0+) >= 0 and L'' >= 0 on (0, 1), checked both by
the paper's parameter conditions (GQ) and numerically on a grid of p in [0.001, 0.999]; for poverty
statistics the curve must be valid up to the headcount and the line must fall inside (0 < H < 1).

Choice between them (:func:`select_lorenz`, PIP's rule, worldbank/pip#28): for distributional
statistics use the valid curve, the one with the smaller sum of squared errors (SSE) of L over all
points if both are valid; for poverty statistics use the curve valid up to H, the one with the
smaller SSE over the points up to H if both are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .distribution import FittedDistribution
from .table import GroupedDataError, GroupedTable

_GRID = np.linspace(0.001, 0.999, 999)


def _lorenz_points(table: GroupedTable, method: str) -> tuple[np.ndarray, np.ndarray]:
    if not table.has_shares:
        raise GroupedDataError(f"method {method!r} fits the Lorenz curve: the table needs 'mean' or 'income_share'")
    if table.n_groups < 4:
        raise GroupedDataError(
            f"method {method!r} estimates 3 parameters from the Lorenz points: it needs at least 4 groups "
            f"(3 interior points), the table has {table.n_groups}"
        )
    return table.cum_population, table.cum_income


class _LorenzCurveFit(FittedDistribution):
    """Shared machinery: Q = mu L', SSE, validity report."""

    def __init__(self, mean: float, P: np.ndarray, L: np.ndarray):
        self.mean = float(mean)
        self._P, self._L = P, L

    def dlorenz(self, p) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def ddlorenz(self, p) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def quantile(self, p) -> np.ndarray:
        return self.mean * self.dlorenz(np.asarray(p, dtype=float))

    def sse(self, upto: float | None = None) -> float:
        P, L = self._P[:-1], self._L[:-1]
        if upto is not None:
            keep = P <= upto
            if not keep.any():
                keep[0] = True
            P, L = P[keep], L[keep]
        return float(np.sum((self.lorenz(P) - L) ** 2))

    def _valid_on(self, hi: float) -> bool:
        grid = _GRID[_GRID <= hi] if hi < 0.999 else _GRID
        if grid.size == 0:
            grid = np.array([min(hi, 0.001)])
        d1, d2 = self.dlorenz(grid), self.ddlorenz(grid)
        return bool(np.all(np.isfinite(d1)) and np.all(d1 >= 0) and np.all(np.nan_to_num(d2, nan=-1.0) >= -1e-12))

    def poverty_validity(self, line: float) -> dict:
        """Is the line inside the fitted distribution and the curve a Lorenz curve up to H?"""
        h = float(self.cdf(np.array([line]))[0])
        inside = bool(np.isfinite(h) and 0.0 < h < 1.0)
        return {
            "headcount": h if np.isfinite(h) else None,
            "line_inside": inside,
            "valid_up_to_headcount": bool(inside and self._valid_on(h)),
            "sse_up_to_headcount": self.sse(h) if inside else None,
        }


class GeneralQuadraticLorenz(_LorenzCurveFit):
    """General Quadratic Lorenz curve (Villasenor-Arnold; Datt 1998). Build with :meth:`fit`."""

    method = "gq"

    def __init__(self, a: float, b: float, c: float, mean: float, P=None, L=None):
        super().__init__(mean, P, L)
        self.a, self.b, self.c = float(a), float(b), float(c)
        self.e = -(self.a + self.b + self.c + 1.0)
        self.m = self.b**2 - 4.0 * self.a
        self.n = 2.0 * self.b * self.e - 4.0 * self.c
        r2 = self.n**2 - 4.0 * self.m * self.e**2
        self.r = float(np.sqrt(r2)) if r2 >= 0 else float("nan")
        self.parameters = {"a": self.a, "b": self.b, "c": self.c}
        self.diagnostics = self._diagnostics() if P is not None else {}

    @classmethod
    def fit(cls, table: GroupedTable, mean: float | None = None) -> "GeneralQuadraticLorenz":
        P, L = _lorenz_points(table, "gq")
        mu = table.require_mean("gq") if mean is None else float(mean)
        p, l = P[:-1], L[:-1]
        X = np.column_stack([p**2 - l, l * (p - 1.0), p - l])
        y = l * (1.0 - l)
        coef, *_ = np.linalg.lstsq(X, y, rcond=None)
        return cls(*coef, mean=mu, P=P, L=L)

    def _root(self, p):
        return np.sqrt(np.clip(self.m * p**2 + self.n * p + self.e**2, 0.0, None))

    def lorenz(self, p) -> np.ndarray:
        p = np.asarray(p, dtype=float)
        return np.clip(-0.5 * (self.b * p + self.e + self._root(p)), 0.0, 1.0)

    def dlorenz(self, p) -> np.ndarray:
        p = np.asarray(p, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            return -self.b / 2.0 - (2.0 * self.m * p + self.n) / (4.0 * self._root(p))

    def ddlorenz(self, p) -> np.ndarray:
        p = np.asarray(p, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.r**2 / (8.0 * self._root(p) ** 3)

    def cdf(self, x) -> np.ndarray:
        """Datt (1998) closed form H(z) = -(n + r u (u^2 - m)^(-1/2)) / (2m), u = b + 2 z/mu, clipped to [0, 1]."""
        x = np.atleast_1d(np.asarray(x, dtype=float))
        u = self.b + 2.0 * x / self.mean
        with np.errstate(divide="ignore", invalid="ignore"):
            h = -(self.n + self.r * u / np.sqrt(u**2 - self.m)) / (2.0 * self.m)
        bad = ~np.isfinite(h)
        if bad.any():  # outside the range where the closed form applies: fall back to bisection
            h[bad] = super().cdf(x[bad])
        return np.clip(h, 0.0, 1.0)

    def _diagnostics(self) -> dict:
        e, m, n = self.e, self.m, self.n
        convex = bool(m < 0 or (0 < m < n**2 / (4 * e**2) and n >= 0) or (0 < m < -n / 2 and m < n**2 / (4 * e**2)))
        cond = {
            "e_negative (L(0)=0)": bool(e < 0),
            "c_nonnegative (L'(0+)>=0)": bool(self.c >= 0),
            "a_plus_c_at_least_1 (L'(1)>=1)": bool(self.a + self.c >= 1),
            "convex (m, n, e conditions)": convex,
        }
        return {
            "conditions": cond,
            "valid_by_conditions": all(cond.values()),
            "valid_on_grid": self._valid_on(0.999),
            "is_valid": all(cond.values()) and self._valid_on(0.999),
            "sse": self.sse(),
            "e": e, "m": m, "n": n, "r": self.r,
        }


class BetaLorenz(_LorenzCurveFit):
    """Beta Lorenz curve (Kakwani 1980; Datt 1998). Build with :meth:`fit`."""

    method = "beta"

    def __init__(self, theta: float, gamma: float, delta: float, mean: float, P=None, L=None):
        super().__init__(mean, P, L)
        self.theta, self.gamma, self.delta = float(theta), float(gamma), float(delta)
        self.parameters = {"theta": self.theta, "gamma": self.gamma, "delta": self.delta}
        self.diagnostics = self._diagnostics() if P is not None else {}

    @classmethod
    def fit(cls, table: GroupedTable, mean: float | None = None) -> "BetaLorenz":
        P, L = _lorenz_points(table, "beta")
        mu = table.require_mean("beta") if mean is None else float(mean)
        p, l = P[:-1], L[:-1]
        keep = (p - l) > 0
        if keep.sum() < 3:
            raise GroupedDataError("method 'beta' needs at least 3 Lorenz points strictly below the diagonal")
        p, l = p[keep], l[keep]
        X = np.column_stack([np.ones_like(p), np.log(p), np.log(1.0 - p)])
        coef, *_ = np.linalg.lstsq(X, np.log(p - l), rcond=None)
        return cls(np.exp(coef[0]), coef[1], coef[2], mean=mu, P=P, L=L)

    def _core(self, p):
        return self.theta * p**self.gamma * (1.0 - p) ** self.delta

    def lorenz(self, p) -> np.ndarray:
        p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
        return np.clip(p - self._core(p), 0.0, 1.0)

    def dlorenz(self, p) -> np.ndarray:
        p = np.clip(np.asarray(p, dtype=float), 1e-300, 1 - 1e-16)
        return 1.0 - self._core(p) * (self.gamma / p - self.delta / (1.0 - p))

    def ddlorenz(self, p) -> np.ndarray:
        p = np.clip(np.asarray(p, dtype=float), 1e-300, 1 - 1e-16)
        g, d = self.gamma, self.delta
        return self._core(p) * (g * (1 - g) / p**2 + 2 * g * d / (p * (1 - p)) + d * (1 - d) / (1 - p) ** 2)

    def cdf(self, x) -> np.ndarray:
        """Solve mu L'(H) = x by bisection on the range where L' increases."""
        x = np.atleast_1d(np.asarray(x, dtype=float))
        lo = np.full_like(x, 1e-12)
        hi = np.full_like(x, 1 - 1e-12)
        for _ in range(80):
            mid = (lo + hi) / 2
            below = self.quantile(mid) <= x
            lo = np.where(below, mid, lo)
            hi = np.where(below, hi, mid)
        h = (lo + hi) / 2
        return np.where(x <= self.quantile(np.array([1e-12]))[0], 0.0, h)

    def _diagnostics(self) -> dict:
        cond = {
            "theta_positive": bool(self.theta > 0),
            "slope_nonnegative_at_0.001 (L'(0.001)>=0)": bool(self.dlorenz(np.array([0.001]))[0] >= 0),
            "convex_on_grid (L''>=0 on [0.001, 0.999])": bool(np.all(self.ddlorenz(_GRID) >= -1e-12)),
        }
        return {
            "conditions": cond,
            "is_valid": all(cond.values()) and self._valid_on(0.999),
            "sse": self.sse(),
        }


def select_lorenz(gq: GeneralQuadraticLorenz, beta: BetaLorenz, poverty_line: float | None = None) -> dict:
    """PIP's choice: which curve for distributional and which for poverty statistics, and why."""
    gv, bv = gq.diagnostics["is_valid"], beta.diagnostics["is_valid"]
    if gv and bv:
        dist, why = (gq, "both valid; GQ has the smaller SSE") if gq.sse() <= beta.sse() else (beta, "both valid; Beta has the smaller SSE")
    elif gv:
        dist, why = gq, "only GQ is a valid Lorenz curve"
    elif bv:
        dist, why = beta, "only Beta is a valid Lorenz curve"
    else:
        dist, why = None, "neither GQ nor Beta is a valid Lorenz curve over [0.001, 0.999]"
    out = {"distributional": dist, "distributional_reason": why}
    if poverty_line is not None:
        gp, bp = gq.poverty_validity(poverty_line), beta.poverty_validity(poverty_line)
        gok, bok = gp["valid_up_to_headcount"], bp["valid_up_to_headcount"]
        if gok and bok:
            pov, pwhy = ((gq, "both valid up to H; GQ has the smaller SSE up to H")
                         if gp["sse_up_to_headcount"] <= bp["sse_up_to_headcount"]
                         else (beta, "both valid up to H; Beta has the smaller SSE up to H"))
        elif gok:
            pov, pwhy = gq, "only GQ is valid up to the headcount"
        elif bok:
            pov, pwhy = beta, "only Beta is valid up to the headcount"
        else:
            pov, pwhy = None, "neither curve is valid up to the headcount (or the line is outside both)"
        out.update(poverty=pov, poverty_reason=pwhy, gq_poverty=gp, beta_poverty=bp)
    return out


# ------------------------------------------------------------------ PIP / wbpip conventions


@dataclass(frozen=True)
class LorenzRegression:
    """OLS without intercept behind a GQ or Beta fit, as wbpip reports it (``create_functional_form_lq``
    + ``lm``): coefficients, standard errors sqrt(diag(s^2 (X'X)^-1)) with s^2 = SSE / (n - 3), and
    two R^2: wbpip's ``r2`` = 1 - SSE / sum (y - ybar)^2 and lm's ``r_squared`` = 1 - SSE / sum y^2
    (no intercept)."""

    form: str
    terms: tuple
    coef: np.ndarray
    se: np.ndarray
    sse: float
    sst: float
    r2: float
    r_squared: float
    mse: float
    nobs: int

    def to_frame(self) -> pd.DataFrame:
        t = self.coef / self.se
        return pd.DataFrame({"term": list(self.terms), "estimate": self.coef, "std_error": self.se, "t": t})


def lorenz_regression(population, welfare, form: str = "gq") -> LorenzRegression:
    """Regression of the Lorenz points (last point (1, 1) dropped). ``form="gq"``: L(1 - L) on
    (P^2 - L), L(P - 1), (P - L) (Villasenor-Arnold); ``"beta"``: log(P - L) on 1, log P, log(1 - P)."""
    P = np.asarray(population, float)[:-1]
    L = np.asarray(welfare, float)[:-1]
    if form == "gq":
        y = L * (1 - L)
        X = np.column_stack([P**2 - L, L * (P - 1), P - L])
        terms = ("A", "B", "C")
    elif form == "beta":
        keep = (P - L) > 0
        P, L = P[keep], L[keep]
        y = np.log(P - L)
        X = np.column_stack([np.ones_like(P), np.log(P), np.log(1 - P)])
        terms = ("log_theta", "gamma", "delta")
    else:
        raise GroupedDataError(f"form must be 'gq' or 'beta', got {form!r}")
    n = y.size
    if n <= 3:
        raise GroupedDataError(f"the {form} regression needs more than 3 Lorenz points below (1, 1), got {n}")
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ coef
    sse = float(resid @ resid)
    mse = sse / (n - 3)
    se = np.sqrt(np.diag(mse * np.linalg.inv(X.T @ X)))
    sst = float(np.sum((y - y.mean()) ** 2))
    return LorenzRegression(form, terms, coef, se, sse, sst, 1 - sse / sst, 1 - sse / float(y @ y), mse, n)


def sse_pip(dist: "_LorenzCurveFit", headcount: float) -> dict:
    """PIP's fit measures (wbpip ``gd_compute_fit_lq``/``_lb``): SSE over all Lorenz points but the
    last, and SSE up to the headcount: the points with P < H plus the next point (which can be
    (1, 1))."""
    P, L = dist._P, dist._L
    resid2 = (L - dist.lorenz(P)) ** 2
    sse = float(np.sum(resid2[:-1]))
    below = np.flatnonzero(P[:-1] < headcount)
    nxt = (below[-1] + 1) if below.size else 0
    ssez = float(np.sum(resid2[below]) + resid2[nxt])
    return {"sse": sse, "sse_up_to_headcount": ssez}


PIP_LINE_BOUND_P = (0.001, 0.980)  # wbpip: the population shares whose income bounds the line
PIP_LINE_BOUND_OFFSET = 4.0  # wbpip's "+ 4" / "- 4" (its comment: "Why 4?"), in the income's unit


def pip_line_bounds(dist: "_LorenzCurveFit", line: float | None = None) -> dict:
    """PIP's validity range of the poverty line for a GQ or Beta fit (wbpip ``gd_compute_pip_stats_lq``
    and ``_lb``, "boundary conditions"):

        z_min = max(0, mu L'(0.001) + 4),   z_max = mu L'(0.980) - 4,

    mu L'(p) the income at population share p implied by the fitted curve (its quantile function);
    the constants 4 are wbpip's, in the income's unit (monthly local currency in PIP's tables), so the
    range can be empty for incomes of a small scale. wbpip reports the range next to the poverty
    statistics without refusing a line outside it; ``line`` adds ``line_within`` (z_min <= line <=
    z_max) to the result."""
    lo, hi = PIP_LINE_BOUND_P
    d = dist.dlorenz(np.array([lo, hi], dtype=np.float64))
    z_min = dist.mean * float(d[0]) + PIP_LINE_BOUND_OFFSET
    z_max = dist.mean * float(d[1]) - PIP_LINE_BOUND_OFFSET
    out = {"z_min": 0.0 if z_min < 0 else z_min, "z_max": z_max}  # as R ifelse: a NaN stays NaN
    if line is not None:
        z = float(line)
        out["line_within"] = bool(out["z_min"] <= z <= out["z_max"])
    return out


def mld_pip(dist: "_LorenzCurveFit") -> float:
    """MLD as PIP computes it from a Lorenz curve (wbpip ``gd_compute_mld_lq``): -[log L'(0.0005)
    x 0.001 + trapezoids of log L' on the 0.001 grid over [0, 0.999]]; the top 0.1 % left out;
    stretches with L' <= 0 skipped (NaN past a gap of 0.5)."""
    x1 = float(dist.dlorenz(np.array([0.0005]))[0])
    gap, total = 0.0, 0.0
    if x1 == 0:
        gap = 0.0005
    else:
        total = np.log(x1) * 0.001 if x1 > 0 else np.nan
    grid = np.arange(0, 1000) * 0.001  # 0, 0.001, ..., 0.999
    d = dist.dlorenz(np.clip(grid, 0, None))
    for k in range(999):
        a, b = d[k], d[k + 1]
        if a <= 0 or b <= 0:
            gap += 0.001
            if gap > 0.5:
                return float("nan")
        else:
            gap = 0.0
            total += (np.log(a) + np.log(b)) * 0.0005
    return float(-total)


def watts_pip(dist: "_LorenzCurveFit", line: float, headcount: float | None = None, dd: float = 0.01) -> float:
    """Watts as PIP computes it (wbpip ``gd_compute_watts_lq``): W = H log(z / mu) - int_0^H log L',
    the integral by log L'(s/2) s plus trapezoids on the grid of step s = H dd."""
    h = float(dist.cdf(np.array([line]))[0]) if headcount is None else float(headcount)
    if h <= 0:
        return 0.0
    snw = h * dd
    gap, w = 0.0, 0.0
    x1 = float(dist.dlorenz(np.array([snw / 2]))[0])
    if x1 <= 0:
        gap = snw / 2
    else:
        w = np.log(x1) * snw
    xend = h - snw
    nstep = int(xend / snw + 1e-10)  # R seq(0, xend, by = snw)
    steps = np.arange(nstep + 1) * snw
    d = dist.dlorenz(np.concatenate([[0.0], steps + snw]))
    for k in range(steps.size):
        a, b = d[k], d[k + 1]
        if a <= 0 or b <= 0:
            gap += snw
            if gap > 0.05:
                return float("nan")
        else:
            gap = 0.0
            w += (np.log(a) + np.log(b)) * snw * 0.5
    if w != 0 and line / dist.mean > 0:
        w = np.log(line / dist.mean) * h - w
        if w > 0:
            return float(w)
    return float("nan")


def poverty_elasticities(dist: "_LorenzCurveFit", line: float) -> dict:
    """Growth (mean) and Gini elasticities of H, PG and SPG (FGT2) for a Lorenz-curve fit (Datt 1998;
    wbpip ``gd_compute_poverty_stats_lq``/``_lb``):

        eh = -z / (mu H L''(H)),   epg = 1 - H / PG,   ep = 2 (1 - PG / P2),
        gh = (1 - z / mu) / (H L''(H)),   gpg = 1 + (mu / z - 1) H / PG,   gp = 2 (1 + (mu / z - 1) PG / P2).
    """
    from .distribution import fgt

    z, mu = float(line), dist.mean
    h = float(dist.cdf(np.array([z]))[0])
    pg, p2 = fgt(dist, z, 1, h), fgt(dist, z, 2, h)
    ddl = float(dist.ddlorenz(np.array([h]))[0])
    return {"headcount": h, "poverty_gap": pg, "fgt2": p2, "dl": float(dist.dlorenz(np.array([h]))[0]), "ddl": ddl,
            "eh": -z / (mu * h * ddl), "epg": 1 - h / pg, "ep": 2 * (1 - pg / p2),
            "gh": (1 - z / mu) / (h * ddl), "gpg": 1 + (mu / z - 1) * h / pg, "gp": 2 * (1 + (mu / z - 1) * pg / p2)}
