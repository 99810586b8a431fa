"""Data preparation before normalisation: screening, imputation, outlier treatment.

Each step works on a units x indicators float matrix (NaN = missing) and returns the new matrix
plus a small report, so the pipeline can say exactly what it changed.

Imputation never alters an observed value (checked, COINr issue #40): only NaN cells are filled.

* ``mean`` / ``median``   column mean/median, over all units or within ``groups`` (e.g. by year or
                          by region group; COINr ``i_mean``, ``i_mean_grp``)
* ``linear``              linear interpolation over time within each region; values before the first /
                          after the last observation stay missing (``ends="none"``) or take the nearest
                          observed value (``ends="nearest"``)
* ``latest``              last observation carried forward within each region (COINr
                          ``impute_panel`` "latest year")
* ``em``                  expectation-maximisation under a multivariate normal model (Dempster, Laird &
                          Rubin 1977): missing cells get their conditional expectation given the
                          observed cells of the same unit

Outlier treatment (COINr ``Treat`` defaults): an indicator fails when |skew| > 2 AND kurtosis > 3.5
(sample skewness and excess kurtosis "type 2", as Excel / e1071 / COINr). A failing indicator is
winsorised one extreme at a time (the side given by the sign of the skew; ties together) up to
``winmax`` points; if it still fails, the *original* column is transformed instead: ``log`` =
COINr ``log_CT`` ln(x - min + 0.01 (max - min)), or ``boxcox`` on x - min + 1 (lambda given, or
its maximum-likelihood value).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

IMPUTATION = ("none", "mean", "median", "linear", "latest", "em")
TREATMENT = ("none", "winsorise", "log", "boxcox", "coinr")


# --------------------------------------------------------------------------------- screening
@dataclass(frozen=True)
class ScreenReport:
    kept_units: np.ndarray
    kept_indicators: np.ndarray
    unit_availability: np.ndarray
    indicator_availability: np.ndarray


def screen(X: np.ndarray, *, min_unit: float = 0.0, min_indicator: float = 0.0) -> ScreenReport:
    """Data availability per unit and per indicator (share of non-missing cells) and which pass the
    thresholds (COINr ``Screen(dat_thresh=)``). Indicators are screened first, then units."""
    ok = ~np.isnan(np.asarray(X, dtype=float))
    ind_av = ok.mean(axis=0)
    keep_ind = ind_av >= min_indicator
    unit_av = ok[:, keep_ind].mean(axis=1) if keep_ind.any() else np.zeros(ok.shape[0])
    keep_unit = unit_av >= min_unit
    return ScreenReport(keep_unit, keep_ind, unit_av, ind_av)


# --------------------------------------------------------------------------------- imputation
def _by_group(X, groups, fn):
    out = X.copy()
    if groups is None:
        groups = np.zeros(X.shape[0], dtype=int)
    # codes, not values: a missing group label (e.g. the year of a cross-section) is one group of its
    # own (np.unique would give NaN != NaN and fill nothing)
    codes, _ = pd.factorize(pd.Series(np.asarray(groups, dtype=object)), use_na_sentinel=False)
    for g in np.unique(codes):
        rows = codes == g
        block = out[rows]
        with np.errstate(all="ignore"):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                fill = fn(block, axis=0)
        block = np.where(np.isnan(block), fill, block)
        out[rows] = block
    return out


def _linear(X, units, times, ends):
    out = X.copy()
    for u in np.unique(units):
        rows = np.where(units == u)[0]
        rows = rows[np.argsort(times[rows])]
        t = times[rows].astype(float)
        for j in range(X.shape[1]):
            y = out[rows, j]
            ok = ~np.isnan(y)
            if ok.sum() == 0 or ok.all():
                continue
            if ok.sum() == 1:
                filled = np.where(ok, y, y[ok][0]) if ends == "nearest" else y
            else:
                filled = np.interp(t, t[ok], y[ok])
                if ends == "none":
                    filled = np.where((t < t[ok].min()) | (t > t[ok].max()), np.nan, filled)
            out[rows, j] = np.where(ok, y, filled)
    return out


def _latest(X, units, times):
    out = X.copy()
    for u in np.unique(units):
        rows = np.where(units == u)[0]
        rows = rows[np.argsort(times[rows])]
        for j in range(X.shape[1]):
            last = np.nan
            for r in rows:
                if np.isnan(out[r, j]):
                    out[r, j] = last
                else:
                    last = out[r, j]
    return out


def _em(X, max_iter=500, tol=1e-8):
    X = X.copy()
    n, m = X.shape
    miss = np.isnan(X)
    if miss.all(axis=0).any():
        raise ValueError("EM imputation needs at least one observed value per indicator")
    mu = np.nanmean(X, axis=0)
    Xf = np.where(miss, mu, X)
    sigma = np.cov(Xf, rowvar=False, bias=True) + 1e-9 * np.eye(m)
    for _ in range(max_iter):
        C = np.zeros((m, m))
        for i in np.where(miss.any(axis=1))[0]:
            mi, oi = miss[i], ~miss[i]
            if oi.any():
                S_oo = sigma[np.ix_(oi, oi)]
                S_mo = sigma[np.ix_(mi, oi)]
                B = np.linalg.solve(S_oo, S_mo.T).T
                Xf[i, mi] = mu[mi] + B @ (X[i, oi] - mu[oi])
                C[np.ix_(mi, mi)] += sigma[np.ix_(mi, mi)] - B @ S_mo.T
            else:
                Xf[i, mi] = mu[mi]
                C[np.ix_(mi, mi)] += sigma[np.ix_(mi, mi)]
        mu_new = Xf.mean(axis=0)
        D = Xf - mu_new
        sigma_new = (D.T @ D + C) / n + 1e-9 * np.eye(m)
        delta = np.max(np.abs(mu_new - mu)) + np.max(np.abs(sigma_new - sigma))
        mu, sigma = mu_new, sigma_new
        if delta < tol * (1 + np.max(np.abs(sigma))):
            break
    return np.where(miss, Xf, X)


@dataclass(frozen=True)
class ImputeReport:
    method: str
    imputed: np.ndarray  # boolean mask of cells filled
    still_missing: int

    @property
    def n_imputed(self) -> int:
        return int(self.imputed.sum())


def impute(
    X: np.ndarray, method: str = "mean", *, groups=None, units=None, times=None, ends: str = "none",
) -> tuple[np.ndarray, ImputeReport]:
    X = np.asarray(X, dtype=float)
    if method not in IMPUTATION:
        raise ValueError(f"unknown imputation {method!r}; choose one of {', '.join(IMPUTATION)}")
    if method in ("linear", "latest") and (units is None or times is None):
        raise ValueError(f"{method} imputation needs the region and year of every row")
    if method == "none":
        out = X.copy()
    elif method == "mean":
        out = _by_group(X, groups, np.nanmean)
    elif method == "median":
        out = _by_group(X, groups, np.nanmedian)
    elif method == "linear":
        out = _linear(X, np.asarray(units), np.asarray(times), ends)
    elif method == "latest":
        out = _latest(X, np.asarray(units), np.asarray(times))
    else:
        out = _em(X)
    observed = ~np.isnan(X)
    if not np.array_equal(out[observed], X[observed]):  # pragma: no cover - a guard, never expected
        raise AssertionError(f"{method} imputation changed an observed value; this is a bug")
    filled = np.isnan(X) & ~np.isnan(out)
    return out, ImputeReport(method, filled, int(np.isnan(out).sum()))


# --------------------------------------------------------------------------------- outliers
def skewness(x: np.ndarray) -> float:
    """Sample skewness, type 2 (Excel SKEW, e1071 type 2, COINr ``skew``)."""
    x = np.asarray(x, dtype=float)
    x = x[~np.isnan(x)]
    n = x.size
    if n < 3:
        return np.nan
    d = x - x.mean()
    m2 = np.sum(d**2)
    if m2 == 0:
        return 0.0
    g1 = np.sqrt(n) * np.sum(d**3) / m2**1.5
    return float(g1 * np.sqrt(n * (n - 1)) / (n - 2))


def kurtosis(x: np.ndarray) -> float:
    """Sample excess kurtosis, type 2 (Excel KURT, e1071 type 2, COINr ``kurt``)."""
    x = np.asarray(x, dtype=float)
    x = x[~np.isnan(x)]
    n = x.size
    if n < 4:
        return np.nan
    d = x - x.mean()
    m2 = np.sum(d**2)
    if m2 == 0:
        return 0.0
    r = n * np.sum(d**4) / m2**2
    return float(((n + 1) * (r - 3) + 6) * (n - 1) / ((n - 2) * (n - 3)))


def passes_skew_kurt(x, skew_max: float = 2.0, kurt_max: float = 3.5) -> bool:
    s, k = skewness(x), kurtosis(x)
    if np.isnan(s) or np.isnan(k):
        return True
    return bool(abs(s) < skew_max or k < kurt_max)


@dataclass
class TreatReport:
    indicator: str
    skew_before: float
    kurt_before: float
    action: str  # "none", "winsorised", "log", "boxcox"
    n_winsorised: int = 0
    skew_after: float = np.nan
    kurt_after: float = np.nan
    points: list = field(default_factory=list)  # rows changed by winsorisation
    boxcox_lambda: float | None = None


def winsorise(x: np.ndarray, *, winmax: int | None = 5, skew_max: float = 2.0, kurt_max: float = 3.5,
              force: bool = False) -> tuple[np.ndarray, int, list[int]]:
    """COINr-style winsorisation: while the column fails, replace the most extreme value(s) on the
    side of the skew by the next value inwards; stop at ``winmax`` treated points."""
    x = np.asarray(x, dtype=float).copy()
    treated: list[int] = []
    passing = passes_skew_kurt(x, skew_max, kurt_max)
    while (not passing or force) and (winmax is None or len(treated) < winmax):
        ok = ~np.isnan(x)
        vals = x[ok]
        if np.unique(vals).size < 3:
            break
        if skewness(x) >= 0:
            ext = np.nanmax(x)
            idx = np.where(x == ext)[0]
            x[idx] = np.max(vals[vals < ext])
        else:
            ext = np.nanmin(x)
            idx = np.where(x == ext)[0]
            x[idx] = np.min(vals[vals > ext])
        treated.extend(int(i) for i in idx if int(i) not in treated)
        passing = passes_skew_kurt(x, skew_max, kurt_max)
    return x, len(treated), treated


def log_ct(x: np.ndarray) -> np.ndarray:
    """COINr ``log_CT``: ln(x - min + 0.01 (max - min))."""
    x = np.asarray(x, dtype=float)
    lo, hi = np.nanmin(x), np.nanmax(x)
    return np.log(x - lo + 0.01 * (hi - lo))


def boxcox(x: np.ndarray, lam: float | None = None) -> tuple[np.ndarray, float]:
    """Box-Cox of x - min + 1 (COINr ``boxcox(makepos = TRUE)``); lambda by maximum likelihood
    (scipy) when not given."""
    from scipy import stats

    x = np.asarray(x, dtype=float)
    y = x - np.nanmin(x) + 1.0
    ok = ~np.isnan(y)
    if lam is None:
        lam = float(stats.boxcox_normmax(y[ok], method="mle"))
    out = np.full_like(y, np.nan)
    out[ok] = np.log(y[ok]) if lam == 0 else (y[ok] ** lam - 1.0) / lam
    return out, lam


def treat_column(x: np.ndarray, method: str = "coinr", *, name: str = "", winmax: int | None = 5,
                 skew_max: float = 2.0, kurt_max: float = 3.5, transform: str = "log",
                 boxcox_lambda: float | None = None) -> tuple[np.ndarray, TreatReport]:
    """``coinr``: winsorise, then (if still failing) ``transform`` the original column.
    ``winsorise``: winsorisation only. ``log`` / ``boxcox``: transform when failing."""
    if method not in TREATMENT:
        raise ValueError(f"unknown outlier treatment {method!r}; choose one of {', '.join(TREATMENT)}")
    x = np.asarray(x, dtype=float)
    rep = TreatReport(name, skewness(x), kurtosis(x), "none")
    if method == "none" or passes_skew_kurt(x, skew_max, kurt_max):
        rep.skew_after, rep.kurt_after = rep.skew_before, rep.kurt_before
        return x.copy(), rep
    out = x
    if method in ("coinr", "winsorise"):
        out, nwin, pts = winsorise(x, winmax=winmax, skew_max=skew_max, kurt_max=kurt_max)
        rep.action, rep.n_winsorised, rep.points = "winsorised", nwin, pts
        if method == "coinr" and not passes_skew_kurt(out, skew_max, kurt_max):
            method = transform
            out = x
            rep.n_winsorised, rep.points = 0, []
    if method in ("log", "boxcox"):
        if method == "log":
            out = log_ct(x)
        else:
            out, rep.boxcox_lambda = boxcox(x, boxcox_lambda)
        rep.action = method
    rep.skew_after, rep.kurt_after = skewness(out), kurtosis(out)
    return out, rep
