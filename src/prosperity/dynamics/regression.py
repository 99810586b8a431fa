"""Least squares with named standard-error conventions, for the convergence regressions.

``se``:
- ``"classical"``: s^2 (X'X)^-1, s^2 = e'e / (n - K).
- ``"HC0"``..``"HC3"`` (White 1980; MacKinnon & White 1985); ``"robust"`` = ``"HC1"`` (Stata ``, robust``):
  (X'X)^-1 X' diag(e_i^2 c_i) X (X'X)^-1 with c = 1, n/(n-K), 1/(1-h_i), 1/(1-h_i)^2.
- ``"cluster"`` (Stata ``vce(cluster)``, statsmodels ``cov_type="cluster"``, CR1):
  G/(G-1) (n-1)/(n-K) (X'X)^-1 sum_g X_g'e_g e_g'X_g (X'X)^-1, with K all estimated coefficients
  (including absorbed dummies, as Stata ``areg``/``regress`` with dummies).
- ``"hac"`` (Newey-West 1987, Bartlett kernel, ``lags`` default floor(4 (n/100)^(2/9))), for time series.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

SE_TYPES = ("classical", "robust", "HC0", "HC1", "HC2", "HC3", "cluster", "hac")


@dataclass(frozen=True)
class OLSFit:
    coef: np.ndarray
    cov: np.ndarray
    resid: np.ndarray
    dof: int  # residual degrees of freedom for t tests (G - 1 with clusters)
    r2: float
    n: int
    se_type: str

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov))

    @property
    def t(self) -> np.ndarray:
        return self.coef / self.se

    @property
    def p(self) -> np.ndarray:
        return 2.0 * stats.t.sf(np.abs(self.t), self.dof)


def ols(
    y, x, *, se: str = "classical", clusters=None, lags: int | None = None, absorbed: int = 0, tss: float | None = None
) -> OLSFit:
    """OLS of y on the columns of x (include the constant yourself).

    ``absorbed``: number of parameters already swept out of y and x (fixed effects removed by
    demeaning, Frisch-Waugh-Lovell); they count in the degrees of freedom exactly as the dummies
    of the equivalent LSDV regression. ``tss``: total sum of squares of the original y, for R^2."""
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    if se == "robust":
        se = "HC1"
    if se not in SE_TYPES:
        raise ValueError(f"unknown standard-error type {se!r}; choose one of {SE_TYPES}")
    n, k_x = x.shape
    k = k_x + int(absorbed)
    if absorbed and se in ("HC2", "HC3"):
        raise ValueError(f"se={se!r} needs the leverage of the full dummy regression; use 'HC1' or 'cluster' with fixed effects")
    if n <= k:
        raise ValueError(f"need more observations ({n}) than coefficients ({k})")
    q, r = np.linalg.qr(x)
    if np.min(np.abs(np.diag(r))) < 1e-10 * np.max(np.abs(np.diag(r))):
        raise ValueError("regressors are collinear (e.g. a control constant over regions, or a fixed effect that absorbs it)")
    coef = np.linalg.solve(r, q.T @ y)
    e = y - x @ coef
    bread = np.linalg.inv(r.T @ r)
    tss = np.sum((y - y.mean()) ** 2) if tss is None else tss
    r2 = 1.0 - float(e @ e) / tss if tss > 0 else float("nan")
    dof = n - k
    if se == "classical":
        cov = bread * float(e @ e) / (n - k)
    elif se.startswith("HC"):
        h = np.sum(q * q, axis=1)
        scale = {"HC0": 1.0, "HC1": n / (n - k), "HC2": 1.0 / (1.0 - h), "HC3": 1.0 / (1.0 - h) ** 2}[se]
        meat = (x * (e * e * scale)[:, None]).T @ x
        cov = bread @ meat @ bread
    elif se == "cluster":
        if clusters is None:
            raise ValueError("se='cluster' needs cluster ids (e.g. the region of each observation)")
        codes, inv = np.unique(np.asarray(clusters), return_inverse=True)
        g = codes.size
        if g < 2:
            raise ValueError("se='cluster' needs at least two clusters")
        scores = np.zeros((g, k_x))
        np.add.at(scores, inv, x * e[:, None])
        cov = bread @ (scores.T @ scores) @ bread * (g / (g - 1)) * ((n - 1) / (n - k))
        dof = g - 1
    else:  # hac
        lags = int(np.floor(4 * (n / 100.0) ** (2.0 / 9.0))) if lags is None else int(lags)
        u = x * e[:, None]
        meat = u.T @ u
        for lag in range(1, lags + 1):
            gamma = u[lag:].T @ u[:-lag]
            meat += (1.0 - lag / (lags + 1.0)) * (gamma + gamma.T)
        cov = bread @ meat @ bread
    return OLSFit(coef, cov, e, dof, r2, n, se)
