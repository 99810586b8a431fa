"""sigma-convergence: is the cross-region dispersion of incomes falling over time?

Dispersion measures per period, across regions i with values y_i (and optional sizes p_i, e.g.
population, shares s_i = p_i / sum p):

  sd_log        standard deviation of ln y (ddof named; Barro & Sala-i-Martin's sigma)
  cv            sd(y) / mean(y)
  cv_weighted   Williamson (1965): sqrt(sum s_i (y_i - mu)^2) / mu, mu = sum s_i y_i
  gini          Gini of regional values (regions count equally; laeken convention, prosperity.measures)
  gini_weighted the same with weights p_i (each region stands for its population)
  theil         Theil T = (1/n) sum (y_i/mu) ln(y_i/mu)
  theil_weighted sum s_i (y_i/mu) ln(y_i/mu), mu = sum s_i y_i

Trend test: OLS of each series on time, d_t = a + b t + e; sigma-convergence when b < 0 and
significant. ``se="hac"`` gives Newey-West standard errors for autocorrelated series.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..measures import gini as _gini
from .panel import RegionPanel, as_panel
from .regression import ols

SIGMA_MEASURES = ("sd_log", "cv", "cv_weighted", "gini", "gini_weighted", "theil", "theil_weighted")


def dispersion(y, measure: str, weights=None, ddof: int = 0) -> float:
    """One cross-region dispersion measure (see module docstring)."""
    y = np.asarray(y, dtype=float)
    if measure in ("sd_log", "theil", "theil_weighted") and np.any(y <= 0):
        raise ValueError(f"{measure} needs positive values")
    if measure.endswith("_weighted"):
        if weights is None:
            raise ValueError(f"{measure} needs weights (e.g. population): give the panel a weight column")
        s = np.asarray(weights, dtype=float)
        s = s / s.sum()
        mu = float(s @ y)
    if measure == "sd_log":
        return float(np.std(np.log(y), ddof=ddof))
    if measure == "cv":
        return float(np.std(y, ddof=ddof) / y.mean())
    if measure == "cv_weighted":
        return float(np.sqrt(s @ (y - mu) ** 2) / mu)
    if measure == "gini":
        return _gini(y)
    if measure == "gini_weighted":
        return _gini(y, weights)
    if measure == "theil":
        r = y / y.mean()
        return float(np.mean(r * np.log(r)))
    if measure == "theil_weighted":
        r = y / mu
        return float(s @ (r * np.log(r)))
    raise ValueError(f"unknown dispersion measure {measure!r}; choose from {SIGMA_MEASURES}")


@dataclass(frozen=True)
class SigmaConvergence:
    """Dispersion series (rows = periods) and their linear time trends."""

    series: pd.DataFrame
    trend: pd.DataFrame
    se: str

    def to_frame(self) -> pd.DataFrame:
        """Tidy: time, measure, value."""
        return self.series.reset_index().melt(id_vars="time", var_name="measure", value_name="value")

    def __repr__(self) -> str:
        s = self.series
        first, last = s.iloc[0], s.iloc[-1]
        lines = [f"SigmaConvergence({s.index[0]}..{s.index[-1]}, trend se={self.se})"]
        lines.append(f"{'measure':<16}{'first':>10}{'last':>10}{'slope':>12}{'se':>11}{'p':>9}")
        for m, row in self.trend.iterrows():
            lines.append(
                f"{m:<16}{first[m]:>10.4f}{last[m]:>10.4f}{row['slope']:>12.3g}{row['se']:>11.3g}{row['p_value']:>9.3g}"
            )
        return "\n".join(lines)


def sigma_convergence(
    data,
    measures=None,
    *,
    ddof: int = 0,
    se: str = "classical",
    lags: int | None = None,
    region=None,
    time=None,
    value=None,
    weight=None,
) -> SigmaConvergence:
    """Cross-region dispersion per period and its time trend.

    Default measures: sd_log, cv, gini, theil, plus cv_weighted, gini_weighted, theil_weighted when
    the panel carries weights.
    """
    panel: RegionPanel = as_panel(data, region=region, time=time, value=value, weight=weight)
    if measures is None:
        measures = ["sd_log", "cv", "gini", "theil"]
        if panel.weights is not None:
            measures += ["cv_weighted", "gini_weighted", "theil_weighted"]
    measures = list(measures)
    rows = []
    for t in range(panel.n_times):
        w = None if panel.weights is None else panel.weights[:, t]
        rows.append([dispersion(panel.values[:, t], m, w, ddof) for m in measures])
    series = pd.DataFrame(rows, index=pd.Index(panel.times, name="time"), columns=measures)
    tt = np.asarray(panel.times, dtype=float)
    x = np.column_stack([np.ones_like(tt), tt - tt.mean()])
    trend = []
    for m in measures:
        fit = ols(series[m].to_numpy(), x, se=se, lags=lags)
        trend.append(
            {
                "measure": m,
                "slope": fit.coef[1],
                "se": fit.se[1],
                "t": fit.t[1],
                "p_value": fit.p[1],
                "change": series[m].iloc[-1] - series[m].iloc[0],
                "converging": bool(fit.coef[1] < 0 and fit.p[1] < 0.05),
            }
        )
    return SigmaConvergence(series, pd.DataFrame(trend).set_index("measure"), se)
