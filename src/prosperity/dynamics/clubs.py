"""Club convergence: the Phillips-Sul (2007, 2009) log t test and clustering algorithm.

Transition paths. With X_it the (log, by default HP-filtered) value of region i at t = 1..T,
the relative transition path is h_it = X_it / mean_i X_it and the cross-section variance
H_t = (1/N) sum_i (h_it - 1)^2.

log t regression (Phillips & Sul 2007, eq. 27), for t = [rT] + 1, ..., T:
    log(H_1 / H_t) - 2 log(log t) = a + b log t + u_t.
Convergence (of all units in the group) is rejected at 5 % when t_b < -1.65 (one-sided). The
standard error of b uses a long-run variance of u with the quadratic spectral kernel and an AR(1)
plug-in bandwidth 1.3221 (alpha T)^(1/5), alpha = 4 rho^2 / (1 - rho)^4 (Andrews 1991), computed as
in Phillips & Sul's GAUSS code and R ``ConvergenceClubs`` (``hac="ps"``, with their normalisation
by T - 1 and autocovariances over the first T - 1 residuals). [rT] rounds half to even (R);
``trim`` default 1/3 (R ``ConvergenceClubs``; Phillips & Sul recommend 0.3).

Clustering (Phillips & Sul 2007, section 4):
1. order regions by the last-period value (decreasing);
2. core group: find the first adjacent pair (k, k+1) whose log t exceeds -1.65; grow the group
   k, k+1, k+2, ... while t_k > -1.65; the core is the group with the largest t_k
   (``core_rule="max_t"``, the paper and Stata ``psecta``) or largest |t_k| (``"max_abs_t"``, R
   ``ConvergenceClubs``); no such pair: the remaining regions diverge;
3. sieve: add each other region to the core when the log t of core + region exceeds c*
   (``cstar``, 0 by default); if the enlarged club fails the test, raise c* by ``cstar_step`` until
   it passes (``cstar_method="incremental"``) or keep it (``"fixed"``, R's default);
4. repeat on the regions left (they first form a club if they pass the test jointly).
Club merging (Phillips & Sul 2009): adjacent clubs merge when their union passes the test; the
merged club is then tested with the next one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.linalg import spsolve
from scipy.stats import norm

from .panel import RegionPanel, as_panel

CRITICAL_T = -1.65


def hp_filter(x, lamb: float = 400.0) -> np.ndarray:
    """Hodrick-Prescott trend of each row of ``x`` (or of a 1-D series):
    argmin_tau sum (x_t - tau_t)^2 + lamb sum (Delta^2 tau_t)^2, i.e. tau = (I + lamb D'D)^-1 x.
    ``lamb`` = 400 is the usual annual value in club-convergence work (R ``ConvergenceClubs`` data);
    100 (Backus-Kehoe) and 6.25 (Ravn-Uhlig) are other annual choices."""
    x = np.asarray(x, dtype=float)
    one = x.ndim == 1
    xs = x[None, :] if one else x
    t = xs.shape[1]
    if t < 3:
        return xs.copy()[0] if one else xs.copy()
    d = sparse.diags([np.ones(t - 2), -2 * np.ones(t - 2), np.ones(t - 2)], [0, 1, 2], shape=(t - 2, t))
    a = (sparse.eye(t) + lamb * (d.T @ d)).tocsc()
    trend = np.asarray(spsolve(a, xs.T)).reshape(t, -1).T
    return trend[0] if one else trend


def _qs_kernel(x: np.ndarray) -> np.ndarray:
    z = 1.2 * np.pi * x
    return 3.0 / z**2 * (np.sin(z) / z - np.cos(z))


def long_run_variance_ps(u: np.ndarray) -> float:
    """Long-run variance of residuals u: QS kernel, AR(1) plug-in bandwidth (Phillips-Sul / R
    ConvergenceClubs normalisation; see module docstring)."""
    u = np.asarray(u, dtype=float)
    n = u.size
    rho = float(u[:-1] @ u[1:]) / float(u[:-1] @ u[:-1])
    alpha = 4.0 * rho**2 / (1.0 - rho) ** 4
    bw = 1.3221 * (alpha * n) ** 0.2
    m = n - 1
    if not np.isfinite(bw) or bw <= 0:  # no serial correlation: kernel weights vanish
        return float(u @ u) / m
    v = u[:m]  # autocovariances over the first T - 1 residuals (the reference implementation's rule)
    lags = np.arange(1, m)
    autocov = np.array([float(v[: m - j] @ v[j:]) for j in lags])
    total = float(u @ u) + 2.0 * float(np.sum(_qs_kernel(lags / bw) * autocov))
    return total / m


@dataclass(frozen=True)
class LogTTest:
    """log t regression: slope b, its HAC standard error and t statistic (t > -1.65: convergence)."""

    b: float
    se: float
    a: float
    n_regions: int
    n_periods: int

    @property
    def t(self) -> float:
        return self.b / self.se

    @property
    def p_value(self) -> float:
        """Left-tail normal probability (small values reject convergence)."""
        return float(norm.cdf(self.t))

    @property
    def converges(self) -> bool:
        return self.t > CRITICAL_T

    def __repr__(self) -> str:
        verdict = "convergence not rejected" if self.converges else "convergence rejected"
        return f"LogTTest(b={self.b:.4f}, se={self.se:.4f}, t={self.t:.3f}: {verdict} at 5%; {self.n_regions} regions)"


def _trimmed_start(n_periods: int, trim: float) -> int:
    return int(round(n_periods * trim))  # Python rounds half to even, like R


def log_t_test(x, trim: float = 1 / 3) -> LogTTest:
    """Phillips-Sul log t test on a regions x periods array of (filtered, log) values."""
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError("the log t test needs a regions x periods array with at least two regions")
    n, t_len = x.shape
    h = x / x.mean(axis=0)
    big_h = np.mean((h - 1.0) ** 2, axis=0)
    start = _trimmed_start(t_len, trim)
    tt = np.arange(start + 1, t_len + 1)
    if np.any(tt < 2) or tt.size < 3:
        raise ValueError(f"trim={trim} leaves too few periods ({tt.size}) or includes t = 1 (log log 1 undefined)")
    if np.any(big_h <= 0):
        raise ValueError("the regions' transition paths are identical in some period (H_t = 0)")
    logt = np.log(tt)
    lhs = np.log(big_h[0] / big_h[tt - 1]) - 2.0 * np.log(logt)
    design = np.column_stack([np.ones_like(logt), logt])
    coef, *_ = np.linalg.lstsq(design, lhs, rcond=None)
    resid = lhs - design @ coef
    xtx_inv = np.linalg.inv(design.T @ design)
    se = float(np.sqrt(xtx_inv[1, 1] * long_run_variance_ps(resid)))
    return LogTTest(float(coef[1]), se, float(coef[0]), n, t_len)


@dataclass(frozen=True)
class Club:
    members: tuple
    test: LogTTest
    cstar: float = 0.0

    def __repr__(self) -> str:
        return f"Club({len(self.members)} regions, t={self.test.t:.3f}, b={self.test.b:.4f})"


@dataclass(frozen=True)
class ClubConvergence:
    """Clubs found by the Phillips-Sul algorithm (optionally after merging)."""

    overall: LogTTest
    clubs: tuple
    divergent: tuple
    initial_clubs: tuple = field(default=(), repr=False)
    settings: dict = field(default_factory=dict, repr=False)

    def to_frame(self) -> pd.DataFrame:
        """region, club (1 = highest; 0 = divergent), the club's b and t."""
        rows = []
        for c, club in enumerate(self.clubs, start=1):
            rows += [{"region": r, "club": c, "b": club.test.b, "t": club.test.t} for r in club.members]
        rows += [{"region": r, "club": 0, "b": np.nan, "t": np.nan} for r in self.divergent]
        return pd.DataFrame(rows)

    def clubs_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {"club": c, "n_regions": len(k.members), "b": k.test.b, "se": k.test.se, "t": k.test.t, "members": ", ".join(map(str, k.members))}
                for c, k in enumerate(self.clubs, start=1)
            ]
        )

    def __repr__(self) -> str:
        lines = [f"ClubConvergence(all regions: {self.overall!r})"]
        for c, club in enumerate(self.clubs, start=1):
            lines.append(f"  club {c}: t={club.test.t:.3f} b={club.test.b:.4f} [{', '.join(map(str, club.members))}]")
        if self.divergent:
            lines.append(f"  divergent: [{', '.join(map(str, self.divergent))}]")
        return "\n".join(lines)


def _core(x, rows, trim, core_rule):
    n = len(rows)
    for i in range(1, n):
        t = log_t_test(x[[rows[i - 1], rows[i]]], trim).t
        if t > CRITICAL_T:
            break
    else:
        return None
    groups, ts = [[i - 1, i]], [t]
    for k in range(i + 1, n):
        group = groups[-1] + [k]
        t = log_t_test(x[[rows[j] for j in group]], trim).t
        if not t > CRITICAL_T:
            break
        groups.append(group)
        ts.append(t)
    ts = np.asarray(ts)
    if core_rule == "max_t":
        best = int(np.flatnonzero(ts == ts.max())[-1])
    else:
        best = int(np.argmax(np.abs(ts)))
    return groups[best]


def _sieve(x, rows, core, trim, cstar, method, step, cap):
    others = [k for k in range(len(rows)) if k not in core]
    t_with = np.array([log_t_test(x[[rows[j] for j in core + [k]]], trim).t for k in others])
    while True:
        members = core + [k for k, t in zip(others, t_with) if t > cstar]
        test = log_t_test(x[[rows[j] for j in members]], trim)
        if test.converges or method == "fixed":
            return members, test, cstar
        if cstar > cap:
            return core, log_t_test(x[[rows[j] for j in core]], trim), cstar
        cstar += step


def _find_clubs(x, regions, order, trim, cstar, core_rule, method, step, cap):
    clubs, remaining = [], list(order)
    divergent: tuple = ()
    while remaining:
        if len(remaining) == 1:
            divergent = (regions[remaining[0]],)
            break
        joint = log_t_test(x[remaining], trim)
        if joint.converges:
            clubs.append(Club(tuple(regions[i] for i in remaining), joint, cstar))
            break
        core = _core(x, remaining, trim, core_rule)
        if core is None:
            divergent = tuple(regions[i] for i in remaining)
            break
        members, test, used = _sieve(x, remaining, core, trim, cstar, method, step, cap)
        chosen = [remaining[j] for j in members]
        clubs.append(Club(tuple(regions[i] for i in chosen), test, used))
        remaining = [i for i in remaining if i not in set(chosen)]
    return clubs, divergent


def _merge(x, regions, clubs, trim):
    index = {r: i for i, r in enumerate(regions)}
    merged = [clubs[0]] if clubs else []
    for club in clubs[1:]:
        union = merged[-1].members + club.members
        test = log_t_test(x[[index[r] for r in union]], trim)
        if test.converges:
            merged[-1] = Club(union, test, merged[-1].cstar)
        else:
            merged.append(club)
    return merged


def convergence_clubs(
    data,
    *,
    log: bool = True,
    filter: str | None = "hp",
    lamb: float = 400.0,
    trim: float = 1 / 3,
    cstar: float = 0.0,
    cstar_method: str = "fixed",
    cstar_step: float = 0.1,
    cstar_cap: float = 3.0,
    core_rule: str = "max_t",
    merge: bool = True,
    region=None,
    time=None,
    value=None,
    weight=None,
) -> ClubConvergence:
    """Phillips-Sul club convergence on a region panel (see module docstring).

    ``log``: take logs first; ``filter``: ``"hp"`` (Hodrick-Prescott with ``lamb``) or None (values
    already filtered). Regions are ordered by their last-period (filtered) value.
    """
    if core_rule not in ("max_t", "max_abs_t"):
        raise ValueError(f"core_rule must be 'max_t' or 'max_abs_t', got {core_rule!r}")
    if cstar_method not in ("fixed", "incremental"):
        raise ValueError(f"cstar_method must be 'fixed' or 'incremental', got {cstar_method!r}")
    if filter not in ("hp", None):
        raise ValueError(f"filter must be 'hp' or None, got {filter!r}")
    panel: RegionPanel = as_panel(data, region=region, time=time, value=value, weight=weight)
    x = panel.values
    if log:
        panel.require_positive("club convergence with log=True")
        x = np.log(x)
    if filter == "hp":
        x = hp_filter(x, lamb)
    if np.any(x <= 0):
        i, t = np.argwhere(x <= 0)[0]
        raise ValueError(
            f"relative transition paths need positive (log) values; region {panel.regions[i]!r} at "
            f"{panel.times[t].item() if hasattr(panel.times[t], 'item') else panel.times[t]!r} has {x[i, t]:.4g} (rescale the variable, e.g. to yuan rather than 10k yuan)"
        )
    regions = list(panel.regions)
    order = list(np.argsort(-x[:, -1], kind="stable"))
    overall = log_t_test(x, trim)
    clubs, divergent = _find_clubs(x, regions, order, trim, cstar, core_rule, cstar_method, cstar_step, cstar_cap)
    final = _merge(x, regions, clubs, trim) if merge else clubs
    settings = dict(log=log, filter=filter, lamb=lamb, trim=trim, cstar=cstar, cstar_method=cstar_method, core_rule=core_rule, merge=merge)
    return ClubConvergence(overall, tuple(final), divergent, tuple(clubs), settings)
