"""beta-convergence: do poorer regions grow faster? (Barro & Sala-i-Martin 1992; Islam 1995)

Cross-section (absolute; conditional with controls):
    g_i = ln(y_iT / y_i0) / D = a + b ln y_i0 (+ c'x_i) + e_i,   D = T - 0 in time units.
Implied speed of convergence lambda = -ln(1 + b D) / D and half-life ln 2 / lambda
(b < 0: convergence; lambda is undefined when 1 + b D <= 0).

Panel, over non-overlapping spans of ``span`` periods (D time units each):
    ln(y_i,t+D / y_it) / D = a + b ln y_it (+ mu_i) (+ eta_t) + e_it,
``effects``: ``"none"`` (pooled), ``"time"`` (period dummies; absolute convergence net of common
shocks and inflation), ``"region"`` (region fixed effects: conditional convergence, each region to its
own steady state), ``"twoway"``. Fixed effects are swept out by demeaning (within estimator; the
slope, residuals, R^2 and degrees of freedom equal those of the dummy-variable (LSDV) regression). lambda = -ln(1 + b D) / D.

Standard errors are named (see :mod:`prosperity.dynamics.regression`): cross-section default
``"robust"`` (HC1), panel default ``"cluster"`` by region.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .panel import RegionPanel, as_panel
from .regression import OLSFit, ols


def speed_and_half_life(beta: float, span: float) -> tuple[float, float]:
    """lambda = -ln(1 + beta span) / span and ln 2 / lambda (NaN when undefined)."""
    base = 1.0 + beta * span
    if base <= 0:
        return float("nan"), float("nan")
    lam = -np.log(base) / span
    half = np.log(2.0) / lam if lam > 0 else float("nan")
    return float(lam), float(half)


@dataclass(frozen=True)
class BetaConvergence:
    """Result of a beta-convergence regression."""

    kind: str  # "cross-section" or "panel"
    effects: str
    beta: float
    se: float
    t: float
    p_value: float
    speed: float
    half_life: float
    r2: float
    n: int
    span: float
    se_type: str
    coefficients: pd.DataFrame
    start: object = None
    end: object = None

    def to_frame(self) -> pd.DataFrame:
        """One row: the slope, its inference and the implied speed and half-life."""
        return pd.DataFrame(
            [
                {
                    "kind": self.kind,
                    "effects": self.effects,
                    "start": self.start,
                    "end": self.end,
                    "span": self.span,
                    "beta": self.beta,
                    "se": self.se,
                    "t": self.t,
                    "p_value": self.p_value,
                    "speed": self.speed,
                    "half_life": self.half_life,
                    "r2": self.r2,
                    "n": self.n,
                    "se_type": self.se_type,
                }
            ]
        )

    def __repr__(self) -> str:
        return (
            f"BetaConvergence({self.kind}, effects={self.effects}, {self.start}..{self.end}, span={self.span:g}, n={self.n})\n"
            f"  beta = {self.beta:.6g} (se {self.se:.4g}, {self.se_type}; t = {self.t:.3f}, p = {self.p_value:.3g}), R2 = {self.r2:.4f}\n"
            f"  speed = {self.speed:.6g} per period, half-life = {self.half_life:.4g}"
        )


def _with_leading_constant(fit: OLSFit) -> OLSFit:
    """Pad a fixed-effects fit (slope only) with an undefined constant so the slope sits at index 1."""
    k = fit.coef.size + 1
    coef = np.concatenate([[np.nan], fit.coef])
    cov = np.full((k, k), np.nan)
    cov[1:, 1:] = fit.cov
    return OLSFit(coef, cov, fit.resid, fit.dof, fit.r2, fit.n, fit.se_type)


def _result(kind, effects, fit: OLSFit, names, span, start, end) -> BetaConvergence:
    b = float(fit.coef[1])
    lam, half = speed_and_half_life(b, span)
    k = len(names)
    coefs = pd.DataFrame(
        {"coef": fit.coef[:k], "se": fit.se[:k], "t": fit.t[:k], "p_value": fit.p[:k]}, index=pd.Index(names, name="term")
    )
    return BetaConvergence(
        kind, effects, b, float(fit.se[1]), float(fit.t[1]), float(fit.p[1]), lam, half, fit.r2, fit.n, float(span),
        fit.se_type, coefs, start, end,
    )


def _controls_matrix(controls, regions) -> tuple[np.ndarray, list]:
    if controls is None:
        return np.empty((len(regions), 0)), []
    frame = controls if isinstance(controls, pd.DataFrame) else pd.DataFrame(controls)
    missing = [r for r in regions if r not in frame.index]
    if missing:
        raise KeyError(
            f"controls have no row for region(s) {missing[:8]}; index the controls frame by region id "
            f"(its index looks like {list(frame.index)[:5]})"
        )
    sub = frame.loc[list(regions)]
    bad = sub.columns[~sub.apply(lambda c: pd.api.types.is_numeric_dtype(c))].tolist()
    if bad:
        raise TypeError(f"control column(s) {bad} are not numeric")
    if sub.isna().any().any():
        col = sub.columns[sub.isna().any()][0]
        raise ValueError(f"control {col!r} is missing for region {sub.index[sub[col].isna()][0]!r}")
    return sub.to_numpy(dtype=float), [str(c) for c in sub.columns]


def beta_convergence(
    data,
    *,
    start=None,
    end=None,
    controls: pd.DataFrame | None = None,
    se: str = "robust",
    region=None,
    time=None,
    value=None,
    weight=None,
) -> BetaConvergence:
    """Cross-section beta-convergence between ``start`` and ``end`` (default: first and last period).

    ``controls``: a frame indexed by region id (conditional beta-convergence)."""
    panel: RegionPanel = as_panel(data, region=region, time=time, value=value, weight=weight)
    panel.require_positive("beta-convergence")
    t0 = panel.times[0] if start is None else start
    t1 = panel.times[-1] if end is None else end
    i0, i1 = panel._time_index(t0), panel._time_index(t1)
    span = float(panel.times[i1] - panel.times[i0])
    if span <= 0:
        raise ValueError(f"end ({t1}) must come after start ({t0})")
    y0, y1 = panel.values[:, i0], panel.values[:, i1]
    g = np.log(y1 / y0) / span
    xc, cnames = _controls_matrix(controls, panel.regions)
    x = np.column_stack([np.ones_like(y0), np.log(y0), xc])
    fit = ols(g, x, se=se, clusters=None)
    return _result("cross-section", "conditional" if cnames else "none", fit, ["const", "log_initial"] + cnames, span, t0, t1)


def panel_beta_convergence(
    data,
    *,
    span: int = 1,
    effects: str = "region",
    se: str = "cluster",
    region=None,
    time=None,
    value=None,
    weight=None,
) -> BetaConvergence:
    """Panel beta-convergence over non-overlapping spans of ``span`` periods (see module docstring)."""
    if effects not in ("none", "time", "region", "twoway"):
        raise ValueError(f"effects must be 'none', 'time', 'region' or 'twoway', got {effects!r}")
    panel: RegionPanel = as_panel(data, region=region, time=time, value=value, weight=weight)
    panel.require_positive("beta-convergence")
    if span < 1 or span >= panel.n_times:
        raise ValueError(f"span must be between 1 and {panel.n_times - 1} periods, got {span}")
    starts = np.arange(0, panel.n_times - span, span)
    tt = np.asarray(panel.times, dtype=float)
    length = tt[starts + span] - tt[starts]
    if not np.allclose(length, length[0]):
        raise ValueError(f"spans of {span} periods cover unequal time lengths {sorted(set(length))}; use equally spaced periods")
    d = float(length[0])
    n = panel.n_regions
    ly = np.log(panel.values)
    g = ((ly[:, starts + span] - ly[:, starts]) / d).ravel()  # region-major
    x0 = ly[:, starts].ravel()
    m = starts.size
    reg = np.repeat(np.arange(n), m)
    if effects == "none":
        fit = ols(g, np.column_stack([np.ones_like(g), x0]), se=se, clusters=reg)
        names = ["const", "log_initial"]
    else:
        # fixed effects swept out by demeaning (balanced panel: two-way = double demeaning); the slope,
        # residuals and LSDV degrees of freedom are those of the dummy regression (Frisch-Waugh-Lovell)
        def sweep(v):
            v = v.reshape(n, m)
            if effects == "region":
                return (v - v.mean(axis=1, keepdims=True)).ravel()
            if effects == "time":
                return (v - v.mean(axis=0, keepdims=True)).ravel()
            return (v - v.mean(axis=1, keepdims=True) - v.mean(axis=0, keepdims=True) + v.mean()).ravel()

        absorbed = {"region": n, "time": m, "twoway": n + m - 1}[effects]
        tss = float(np.sum((g - g.mean()) ** 2))
        fit = ols(sweep(g), sweep(x0)[:, None], se=se, clusters=reg, absorbed=absorbed, tss=tss)
        fit = _with_leading_constant(fit)
        names = ["const", "log_initial"]
    return _result("panel", effects, fit, names, d, panel.times[0], panel.times[starts[-1] + span])
