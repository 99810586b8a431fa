"""Generalized Pareto interpolation (Blanchet, Fournier & Piketty 2017, "Generalized Pareto curves"),
following the choices of their R package gpinter (``tabulation_fit``, ``thresholds_fit``).

Write x = -log(1 - p) and phi(x) = -log( int_p^1 Q(u) du ), the log of the income held above rank p
(per head of the whole population). Then phi'(x) = (1 - p) Q(p) / int_p^1 Q = 1 / b(p), the inverse
of the inverted Pareto coefficient b(p) = E[X | X > Q(p)] / Q(p), and

    Q(p) = phi'(x) exp(x - phi(x)),     top share(p) = exp(-phi(x)) / mu,     L(p) = 1 - top share(p),
    f(Q(p)) = 1 / ( exp(2x - phi) (phi'' + phi' (1 - phi')) ).

A tabulation gives, at each bracket's lower rank p_k, y_k = phi(x_k) = -log m_k (m_k the income
above p_k) and, from the threshold q_k, s_k = phi'(x_k) = (1 - p_k) q_k / m_k. gpinter's choices,
reproduced here:

- **spline**: phi is a piecewise quintic Hermite spline through (x_k, y_k, s_k, a_k); the unknown
  second derivatives a_k make phi''' continuous at the interior knots, with phi'''(x_1) = 0 at the
  first knot and a_n = (s_n - s_{n-1}) / (x_n - x_{n-1}) clamped at the last (``clamped_quintic_spline``).
- **monotonicity**: a_k is raised to -s_k (1 - s_k) where it is lower (Q' >= 0 at the knots); a
  bracket where phi'' + phi'(1 - phi') still turns negative gets one extra knot at its middle,
  placed as close to the spline as the constraint allows, else a mean-split histogram.
  (gpinter also tries two extra knots before the histogram, and checks the constraint through
  Bernstein bounds; here the extra knot is found by SLSQP on a grid of the constraint.)
- **top**: above the last knot a generalized Pareto distribution with mu = q_n and sigma, xi that keep
  Q and Q' continuous and the mean above p_n: sigma = (1 - p_n) e^{2x_n - y_n} (a_n + s_n (1 - s_n)),
  xi = 1 - (1 - p_n) sigma / (m_n - (1 - p_n) q_n).
- **bottom** (tabulations that start above p = 0): ``"gpd"`` (gpinter's default): a generalized
  Pareto piece on [0, p_1] from ``lower_bound`` to q_1 with the bottom bracket's mean,
  xi = (B - q_1) / (B - lb), sigma = (B - q_1)(lb - q_1) / (B - lb); ``"hist"``: a mean-split
  histogram on [lb, q_1]; ``"dirac"``: everyone below p_1 at 0.

``thresholds_fit`` (thresholds only): log Q(x) is a cubic spline clamped at the last knot with the
slope of the last two thresholds, made monotone by the PCHIP rule; its bracket integrals (and the
total mean, when given) give the bracket averages, which go through ``tabulation_fit``.
``shares_fit`` (no thresholds): gpinter's own spline for this case is not in its stored sources, so
phi' at the knots is chosen by the paper's criterion (minimal int phi'''^2); the implied thresholds
are repaired by gpinter's rules (each strictly between the neighbouring bracket averages) and then
go through ``tabulation_fit``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .distribution import FittedDistribution
from .table import GroupedDataError, GroupedTable

# ------------------------------------------------------------------ quintic Hermite pieces


def _hermite(t, h, y0, y1, s0, s1, a0, a1, deriv: int = 0):
    """Quintic Hermite piece on [x0, x0 + h] at t = (x - x0) / h: value (deriv 0), phi', phi''."""
    t2, t3, t4, t5 = t * t, t**3, t**4, t**5
    if deriv == 0:
        return (y0 * (1 - 10 * t3 + 15 * t4 - 6 * t5) + y1 * (10 * t3 - 15 * t4 + 6 * t5)
                + s0 * h * (t - 6 * t3 + 8 * t4 - 3 * t5) + s1 * h * (-4 * t3 + 7 * t4 - 3 * t5)
                + a0 * h * h * (t2 / 2 - 1.5 * t3 + 1.5 * t4 - t5 / 2) + a1 * h * h * (t3 / 2 - t4 + t5 / 2))
    if deriv == 1:
        return ((y1 - y0) * (30 * t2 - 60 * t3 + 30 * t4) / h
                + s0 * (1 - 18 * t2 + 32 * t3 - 15 * t4) + s1 * (-12 * t2 + 28 * t3 - 15 * t4)
                + a0 * h * (t - 4.5 * t2 + 6 * t3 - 2.5 * t4) + a1 * h * (1.5 * t2 - 4 * t3 + 2.5 * t4))
    return ((y1 - y0) * (60 * t - 180 * t2 + 120 * t3) / (h * h)
            + s0 * (-36 * t + 96 * t2 - 60 * t3) / h + s1 * (-24 * t + 84 * t2 - 60 * t3) / h
            + a0 * (1 - 9 * t + 18 * t2 - 10 * t3) + a1 * (3 * t - 12 * t2 + 10 * t3))


def clamped_quintic_spline(xk, yk, sk, an: float) -> np.ndarray:
    """Second derivatives a_k of the quintic Hermite spline through (x_k, y_k, s_k) with a continuous
    third derivative at the interior knots, phi'''(x_1) = 0, and a_n = ``an`` (gpinter's
    ``clamped_quintic_spline``; a tridiagonal system)."""
    x, y, s = (np.asarray(v, float) for v in (xk, yk, sk))
    n = x.size
    d = np.diff(x)
    A = np.zeros((n, n))
    b = np.zeros(n)
    A[0, 0], A[0, 1] = 9 / d[0], -3 / d[0]
    b[0] = 60 * (y[1] - y[0]) / d[0] ** 3 - 36 * s[0] / d[0] ** 2 - 24 * s[1] / d[0] ** 2
    for k in range(1, n - 1):
        h0, h1 = d[k - 1], d[k]
        A[k, k - 1], A[k, k], A[k, k + 1] = -3 / h0, 9 / h0 + 9 / h1, -3 / h1
        b[k] = (60 * (y[k - 1] - y[k]) / h0**3 + 60 * (y[k + 1] - y[k]) / h1**3
                + (24 * s[k - 1] + 36 * s[k]) / h0**2 - (36 * s[k] + 24 * s[k + 1]) / h1**2)
    A[n - 1, n - 1] = 1.0
    b[n - 1] = an
    return np.linalg.solve(A, b)


def _increasing_on(x0, x1, y0, y1, s0, s1, a0, a1, m: int = 10_000) -> bool:
    """Q increasing on the piece: phi'' + phi'(1 - phi') > 0 on an m-point grid (gpinter's check)."""
    t = np.linspace(0.0, 1.0, m)
    h = x1 - x0
    d1 = _hermite(t, h, y0, y1, s0, s1, a0, a1, 1)
    d2 = _hermite(t, h, y0, y1, s0, s1, a0, a1, 2)
    return bool(np.all(d2 + d1 * (1 - d1) > 0))


def _add_one_point(x0, x1, y0, y1, s0, s1, a0, a1):
    """An extra knot at the middle of a non-monotone piece, as close (int of the squared
    difference) to the piece as the monotonicity constraint allows; None if SLSQP fails."""
    from scipy import optimize

    xm = (x0 + x1) / 2
    h = x1 - x0
    ini = np.array([_hermite(0.5, h, y0, y1, s0, s1, a0, a1, k) for k in (0, 1, 2)])
    gx, gw = np.polynomial.legendre.leggauss(8)
    tq = (gx + 1) / 2
    grid = np.linspace(0.0, 1.0, 200)
    old_left = _hermite(tq / 2, h, y0, y1, s0, s1, a0, a1)
    old_right = _hermite(0.5 + tq / 2, h, y0, y1, s0, s1, a0, a1)
    hh = h / 2

    def dist(th):
        yn, sn, an = th
        left = _hermite(tq, hh, y0, yn, s0, sn, a0, an)
        right = _hermite(tq, hh, yn, y1, sn, s1, an, a1)
        return float(hh / 2 * (np.dot(gw, (left - old_left) ** 2) + np.dot(gw, (right - old_right) ** 2))) * 1e6

    def cons(th):
        yn, sn, an = th
        out = []
        for (ya, yb, sa, sb, aa, ab) in ((y0, yn, s0, sn, a0, an), (yn, y1, sn, s1, an, a1)):
            d1 = _hermite(grid, hh, ya, yb, sa, sb, aa, ab, 1)
            d2 = _hermite(grid, hh, ya, yb, sa, sb, aa, ab, 2)
            out.append(d2 + d1 * (1 - d1) - 1e-9)
        return np.concatenate(out)

    res = optimize.minimize(dist, ini, method="SLSQP", constraints=[{"type": "ineq", "fun": cons}],
                            options={"maxiter": 500, "ftol": 1e-14})
    if not res.success:
        return None
    yn, sn, an = res.x
    return xm, float(yn), float(sn), float(an)


# ------------------------------------------------------------------ the fitted distribution


class GeneralizedParetoInterpolation(FittedDistribution):
    """Distribution reconstructed by generalized Pareto interpolation. Build with :meth:`fit`
    (from a :class:`GroupedTable`) or :func:`tabulation_fit` / :func:`thresholds_fit` /
    :func:`shares_fit` (gpinter's arguments)."""

    cdf_halvings = 64  # F(x) by bisection on the quantile function: 64 halvings (2^-64 in p)

    method = "gpinter"

    def __init__(self, *, pk, qk, xk, yk, sk, ak, fk, mk, use_hist, average, top: dict, bottom: dict,
                 input_table: dict, diagnostics: dict):
        self.pk, self.qk, self.xk, self.yk, self.sk, self.ak, self.fk, self.mk = (
            np.asarray(v, float) for v in (pk, qk, xk, yk, sk, ak, fk, mk))
        self.use_hist = np.asarray(use_hist, bool)
        self.mean = float(average)
        self.average = self.mean
        self.top = dict(top)
        self.bottom = dict(bottom)
        self.input_table = input_table
        self.parameters = {
            "knots_p": self.pk.tolist(),
            "b_at_knots": [float(v) for v in input_table["b"]],
            "second_derivatives": [None if not np.isfinite(v) else float(v) for v in self.ak],
            "histogram_pieces": int(self.use_hist.sum()),
            "tail_threshold": self.top["mu"], "tail_sigma": self.top["sigma"], "tail_xi": self.top["xi"],
            "tail_pareto_index": (1 / self.top["xi"]) if self.top["xi"] > 0 else None,
            "bottom_model": self.bottom["model"],
        }
        self.diagnostics = dict(diagnostics)
        self.diagnostics.update(self.support_check())

    # ------------------------------------------------------------------ fitting from a table
    @classmethod
    def fit(cls, table: GroupedTable, quantiles: dict | None = None, *, bottom: str | None = None,
            lower_bound: float | None = None) -> "GeneralizedParetoInterpolation":
        """Interpolate ``table`` as gpinter does.

        The table's rows are gpinter's tabulation rows (p = each group's lower rank, threshold = its
        lower bound, bracket average = its mean). ``bottom``: ``"gpd"`` (default when the table has
        thresholds and at least 4 groups: the first group is gpinter's bottom bracket below the first
        knot p_1, modelled from ``lower_bound`` (default: the first threshold) to q_1 - the vignette's
        way of not starting at p = 0), ``"hist"``, ``"dirac"``, or ``"knot"`` (p = 0 is a spline
        knot, as gpinter does for a tabulation that starts at 0). Without thresholds the table goes
        through :func:`shares_fit`; with thresholds and no means, through :func:`thresholds_fit`
        (needs the overall mean). ``quantiles`` adds known quantiles {p: Q(p)} (e.g. a published
        median) as extra knots of :func:`shares_fit`.
        """
        s = table.population_share
        p = np.concatenate([[0.0], np.cumsum(s)[:-1]])
        if table.mean is None and table.threshold is None:
            raise GroupedDataError(
                "method 'gpinter' needs the income above each bracket: give group 'mean' values, or "
                "'income_share' with the overall mean (--mean)")
        if table.mean is None:
            if table.overall_mean is None:
                raise GroupedDataError(
                    "method 'gpinter' with thresholds only needs the overall mean (--mean): without it the "
                    "tabulation does not say how much income the top bracket holds")
            if bottom in (None, "gpd", "hist"):
                return thresholds_fit(p[1:], table.threshold[1:], table.overall_mean,
                                      lower_bound=float(table.threshold[0]) if lower_bound is None else lower_bound)
            return thresholds_fit(p, table.threshold, table.overall_mean)
        if table.threshold is None or quantiles:
            if table.n_groups < 3:
                raise GroupedDataError(f"method 'gpinter' needs at least 3 groups, the table has {table.n_groups}")
            first = None if table.threshold is None else float(table.threshold[0])
            return shares_fit(p, bracketavg=table.mean, average=table.overall_mean, quantiles=quantiles,
                              first_threshold=first)
        if bottom is None:
            bottom = "knot"
        if bottom == "knot":
            if table.n_groups < 3:
                raise GroupedDataError(f"method 'gpinter' needs at least 3 groups, the table has {table.n_groups}")
            return tabulation_fit(p, table.threshold, table.overall_mean, bracketavg=table.mean)
        if bottom not in ("gpd", "hist", "dirac"):
            raise GroupedDataError(f"bottom must be 'gpd', 'hist', 'dirac' or 'knot', got {bottom!r}")
        if table.n_groups < 4:
            raise GroupedDataError(
                f"method 'gpinter' with bottom={bottom!r} needs at least 4 groups (3 knots above the bottom "
                f"group), the table has {table.n_groups}; use bottom='knot'")
        lb = float(table.threshold[0]) if lower_bound is None else float(lower_bound)
        return tabulation_fit(p[1:], table.threshold[1:], table.overall_mean, bracketavg=table.mean[1:],
                              bottom_model=bottom, lower_bound=lb)

    # ------------------------------------------------------------------ phi and its derivatives
    def _segments(self, x):
        return np.clip(np.searchsorted(self.xk, x, side="right") - 1, 0, self.xk.size - 2)

    def _spline(self, x, k, deriv):
        h = self.xk[k + 1] - self.xk[k]
        t = (x - self.xk[k]) / h
        return _hermite(t, h, self.yk[k], self.yk[k + 1], self.sk[k], self.sk[k + 1], self.ak[k], self.ak[k + 1], deriv)

    def _hist_m(self, p, k):
        """Income above p inside histogram piece k: m_{k+1} + q_k (p_{k+1} - p) + (p_{k+1} - p)(p + p_{k+1} - 2 p_k) / (2 f_k)."""
        p0, p1, q0, f = self.pk[k], self.pk[k + 1], self.qk[k], self.fk[k]
        return self.mk[k + 1] + q0 * (p1 - p) + 0.5 * (p1 - p) * (p - p0 + p1 - p0) / f

    def _top_mean(self, p):
        mu, sg, xi, pn = self.top["mu"], self.top["sigma"], self.top["xi"], self.top["p"]
        return (1 - p) * (mu - sg / xi + sg / (xi * (1 - xi)) * ((1 - pn) / (1 - p)) ** xi)

    def _top_quantile(self, p):
        mu, sg, xi, pn = self.top["mu"], self.top["sigma"], self.top["xi"], self.top["p"]
        return mu + sg / xi * (((1 - pn) / (1 - p)) ** xi - 1)

    def _bottom_mean(self, p):
        b = self.bottom
        mu, sg, xi, p1 = b["mu"], b["sigma"], b["xi"], self.pk[0]
        with np.errstate(divide="ignore", invalid="ignore"):
            return mu * (p1 - p) + sg / xi * (p1 - p) + sg / (xi * (1 - xi)) * (p * (p1 / p) ** xi - p1) + np.exp(-self.yk[0])

    def _bottom_quantile(self, p):
        b = self.bottom
        with np.errstate(divide="ignore"):
            return b["mu"] + b["sigma"] / b["xi"] * (1 - (self.pk[0] / p) ** b["xi"])

    def _income_above_and_quantile(self, p):
        """(income above p per head of the population, Q(p)) for p in [0, 1)."""
        p = np.asarray(p, float)
        m = np.empty_like(p)
        q = np.empty_like(p)
        top = p > self.top["p"]
        low = p < self.pk[0]
        mid = ~top & ~low
        if top.any():
            m[top] = self._top_mean(p[top])
            q[top] = self._top_quantile(p[top])
        if low.any():
            if self.bottom["model"] == "dirac":
                m[low] = np.exp(-self.yk[0])
                q[low] = 0.0
            else:
                m[low] = self._bottom_mean(p[low])
                q[low] = self._bottom_quantile(p[low])
        if mid.any():
            pm = p[mid]
            x = -np.log1p(-pm)
            k = self._segments(x)
            hist = self.use_hist[k]
            mm = np.empty_like(pm)
            qq = np.empty_like(pm)
            if hist.any():
                kh = k[hist]
                mm[hist] = self._hist_m(pm[hist], kh)
                qq[hist] = self.qk[kh] + (pm[hist] - self.pk[kh]) / self.fk[kh]
            sp = ~hist
            if sp.any():
                ks = k[sp]
                y = self._spline(x[sp], ks, 0)
                d1 = self._spline(x[sp], ks, 1)
                mm[sp] = np.exp(-y)
                qq[sp] = d1 * np.exp(x[sp] - y)
            m[mid], q[mid] = mm, qq
        return m, q

    def phi(self, x) -> np.ndarray:
        """gpinter's interpolation function phi(x) = -log int_{1 - e^-x}^1 Q."""
        m, _ = self._income_above_and_quantile(-np.expm1(-np.atleast_1d(np.asarray(x, float))))
        return -np.log(m)

    def invpareto(self, p) -> np.ndarray:
        """Inverted Pareto coefficient b(p) = E[X | X > Q(p)] / Q(p) = 1 / phi'(x)."""
        p = np.atleast_1d(np.asarray(p, float))
        m, q = self._income_above_and_quantile(p)
        with np.errstate(divide="ignore", invalid="ignore"):
            return m / ((1 - p) * q)

    # ------------------------------------------------------------------ FittedDistribution interface
    def quantile(self, p) -> np.ndarray:
        p = np.atleast_1d(np.asarray(p, float))
        out = np.full(p.shape, np.inf)
        inner = p < 1
        _, out[inner] = self._income_above_and_quantile(p[inner])
        if self.top["xi"] < 0:
            out[~inner] = self.top["mu"] - self.top["sigma"] / self.top["xi"]
        return out

    def top_share(self, p) -> np.ndarray:
        """Share of income held above rank p: exp(-phi(x)) / mu (1 at p = 0, 0 at p = 1)."""
        p = np.atleast_1d(np.asarray(p, float))
        out = np.zeros(p.shape)
        inner = p < 1
        m, _ = self._income_above_and_quantile(p[inner])
        out[inner] = m / self.mean
        out[p <= 0] = 1.0
        return out

    def lorenz(self, p) -> np.ndarray:
        return 1.0 - self.top_share(p)

    def density(self, x) -> np.ndarray:
        """f(x) = 1 / Q'(F(x)): from phi'' in spline pieces, constant in histogram pieces, closed
        form in the generalized Pareto top (and bottom)."""
        x = np.atleast_1d(np.asarray(x, float))
        out = np.zeros_like(x)
        lower, upper = self.support()
        inside = (x > lower) & (x < upper)
        p = self.cdf(x)
        for i in np.flatnonzero(inside):
            out[i] = self._density_at(float(x[i]), float(p[i]))
        return out

    def _density_at(self, q, p):
        if q >= self.top["mu"]:
            mu, sg, xi, pn = self.top["mu"], self.top["sigma"], self.top["xi"], self.top["p"]
            return (1 - pn) / sg * (1 + xi * (q - mu) / sg) ** (-(1 + 1 / xi))
        if q <= self.qk[0]:
            if self.bottom["model"] == "dirac":
                return 0.0
            mu, sg, xi, p1 = self.bottom["mu"], self.bottom["sigma"], self.bottom["xi"], self.pk[0]
            return p1 / sg * (1 - xi * (q - mu) / sg) ** (-(1 + 1 / xi))
        j = int(np.clip(np.searchsorted(self.qk, q, side="left") - 1, 0, self.qk.size - 2))
        if self.use_hist[j]:
            return float(self.fk[j])
        z = -np.log1p(-p)
        k = np.array([j])
        zz = np.array([z])
        y = self._spline(zz, k, 0)[0]
        d1 = self._spline(zz, k, 1)[0]
        d2 = self._spline(zz, k, 2)[0]
        return float(1.0 / (np.exp(2 * z - y) * (d2 + d1 * (1 - d1))))

    def support(self) -> tuple[float, float]:
        """(lower, upper) bounds of the incomes (gpinter's ``support``)."""
        if self.pk[0] == 0:
            lower = float(self.qk[0])
        elif self.bottom["model"] == "dirac":
            lower = 0.0
        elif self.bottom["xi"] < 0:
            lower = self.bottom["mu"] + self.bottom["sigma"] / self.bottom["xi"]
        else:
            lower = -np.inf
        upper = self.top["mu"] - self.top["sigma"] / self.top["xi"] if self.top["xi"] < 0 else np.inf
        return float(lower), float(upper)

    def gini_gpinter(self) -> float:
        """The Gini as gpinter's ``gini()`` computes it: 2 int_0^1 (p - L(p)) dp by QUADPACK's
        adaptive rule (R ``integrate``, abs.tol = 1e-4, rel.tol = eps^0.25, 100 subdivisions);
        accurate to about 1e-6. ``measures()["gini"]`` is the accurate integral."""
        from scipy import integrate

        val, _ = integrate.quad(lambda u: u - float(self.lorenz(np.array([u]))[0]), 0.0, 1.0,
                                epsabs=1e-4, epsrel=np.finfo(float).eps ** 0.25, limit=100)
        return 2 * val

    # ------------------------------------------------------------------ gpinter's detailed output
    def tabulation(self, fractiles=None) -> "GPInterTabulation":
        """gpinter's ``generate_tabulation``: thresholds, top/bottom/bracket shares and averages and
        b(p) at ``fractiles`` (default: gpinter's app grid 0, 0.01, ..., 0.99, 0.991, ..., 0.999,
        0.9991, ..., 0.9999, 0.99991, ..., 0.99999)."""
        if fractiles is None:
            fractiles = default_fractiles()
        f = np.asarray(fractiles, float)
        if f.ndim != 1 or f.size < 1 or np.any(np.diff(f) <= 0) or f[0] < 0 or f[-1] >= 1:
            raise GroupedDataError("fractiles must increase strictly inside [0, 1)")
        thr = self.quantile(f)
        top = self.top_share(f)
        bottom = 1 - top
        bracket = np.diff(np.append(bottom, 1.0))
        width = np.diff(np.append(f, 1.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            top_avg = self.mean * top / (1 - f)
            bottom_avg = np.where(f > 0, self.mean * bottom / np.where(f > 0, f, 1.0), np.nan)
            frame = pd.DataFrame({
                "fractile": f, "threshold": thr, "top_share": top, "bottom_share": bottom,
                "bracket_share": bracket, "top_average": top_avg, "bottom_average": bottom_avg,
                "bracket_average": self.mean * bracket / width, "invpareto": top_avg / thr,
            })
        return GPInterTabulation(frame, self.mean)


def default_fractiles() -> np.ndarray:
    """gpinter's output grid: 0-0.99 by 0.01, then 0.991-0.999, 0.9991-0.9999, 0.99991-0.99999."""
    return np.round(np.concatenate([np.arange(100) / 100, 0.99 + np.arange(1, 10) / 1000,
                                    0.999 + np.arange(1, 10) / 10_000, 0.9999 + np.arange(1, 10) / 100_000]), 12)


@dataclass(frozen=True)
class GPInterTabulation:
    """gpinter's detailed tabulation of a fitted distribution (one row per fractile)."""

    frame: pd.DataFrame
    average: float

    def to_frame(self) -> pd.DataFrame:
        return self.frame.copy()

    def summary(self) -> dict:
        """gpinter's extra cells: P10, P50, P90, P99 over the average and b(p) there."""
        fr = self.frame.set_index("fractile")
        out = {}
        for p, name in ((0.1, "10"), (0.5, "50"), (0.9, "90"), (0.99, "99")):
            if np.any(np.isclose(fr.index, p)):
                row = fr.iloc[int(np.argmin(np.abs(fr.index - p)))]
                out[f"p{name}_average"] = float(row["threshold"] / self.average)
                out[f"b{name}"] = float(row["invpareto"])
        return out


# ------------------------------------------------------------------ gpinter's entry points


def _as_vector(v, name, n=None):
    arr = np.asarray(v, float).ravel()
    if n is not None and arr.size != n:
        raise GroupedDataError(f"'p' and {name!r} must have the same length ({n} and {arr.size})")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise GroupedDataError(f"{name!r}: row {bad[0] + 1} is not a finite number")
    return arr


def _income_above(p, average, bracketshare, topshare, bracketavg, topavg, invpareto, threshold):
    n = p.size
    if bracketshare is not None:
        if average is None:
            raise GroupedDataError("you must give the overall average with 'bracketshare'")
        return np.cumsum((_as_vector(bracketshare, "bracketshare", n) * average)[::-1])[::-1], average
    if topshare is not None:
        if average is None:
            raise GroupedDataError("you must give the overall average with 'topshare'")
        return average * _as_vector(topshare, "topshare", n), average
    if bracketavg is not None:
        ba = _as_vector(bracketavg, "bracketavg", n)
        if p[0] > 0 and average is None:
            raise GroupedDataError("the tabulation starts above p = 0: give the overall average")
        if average is None:
            average = float(np.dot(np.diff(np.append(p, 1.0)), ba))
        return np.cumsum((np.diff(np.append(p, 1.0)) * ba)[::-1])[::-1], average
    if topavg is not None:
        ta = _as_vector(topavg, "topavg", n)
        if p[0] > 0 and average is None:
            raise GroupedDataError("the tabulation starts above p = 0: give the overall average")
        if average is None:
            average = float(ta[0])
        return (1 - p) * ta, average
    if invpareto is not None:
        b = _as_vector(invpareto, "invpareto", n)
        if p[0] > 0 and average is None:
            raise GroupedDataError("the tabulation starts above p = 0: give the overall average")
        return (1 - p) * threshold * b, average
    raise GroupedDataError("give one of 'bracketshare', 'topshare', 'bracketavg', 'topavg' or 'invpareto'")


def tabulation_fit(p, threshold, average=None, *, bracketshare=None, topshare=None, bracketavg=None,
                   topavg=None, invpareto=None, bottom_model: str | None = None, lower_bound: float = 0.0,
                   binf: float | None = None, fast: bool = False) -> GeneralizedParetoInterpolation:
    """gpinter's ``tabulation_fit``: fractiles ``p`` (each bracket's lower rank), their thresholds,
    and the income in the brackets (one of ``bracketshare``, ``topshare``, ``bracketavg``,
    ``topavg``, ``invpareto``), with the overall ``average`` (needed when p starts above 0).
    ``binf`` fixes the asymptotic inverted Pareto coefficient of the top; ``fast`` uses mean-split
    histograms in every bracket. Errors name the rows (1-based) as gpinter's checks do."""
    p = _as_vector(p, "p")
    n = p.size
    if n < 3:
        raise GroupedDataError("the method requires at least three interpolation points (rows of 'p')")
    q = _as_vector(threshold, "threshold", n)
    if average is not None:
        average = float(average)
    order = np.argsort(p, kind="stable")
    if np.any(order != np.arange(n)):
        raise GroupedDataError("'p' must be sorted increasingly (lowest bracket first)")
    if p[0] > 0 and bottom_model is None:
        bottom_model = "gpd" if q[0] != 0 else "dirac"
    if bottom_model is not None and bottom_model not in ("hist", "gpd", "dirac"):
        raise GroupedDataError(f"bottom_model must be one of 'hist', 'gpd', 'dirac' or None, got {bottom_model!r}")
    if bottom_model == "hist" and lower_bound > q[0]:
        raise GroupedDataError(f"lower_bound ({lower_bound:g}) must be below the first threshold ({q[0]:g})")
    m, average = _income_above(p, average, bracketshare, topshare, bracketavg, topavg, invpareto, q)
    for name, arr in (("p", p), ("threshold", q)):
        bad = np.flatnonzero(np.diff(arr) <= 0)
        if bad.size:
            k = bad[0]
            raise GroupedDataError(f"{name} must be strictly increasing: rows {k + 1} and {k + 2} hold "
                                   f"{arr[k]:g} and {arr[k + 1]:g}")
    if np.any(p >= 1) or np.any(p < 0):
        raise GroupedDataError("the elements of 'p' must lie in [0, 1)")
    ba = -np.diff(np.append(m, 0.0)) / np.diff(np.append(p, 1.0))
    for i in range(n - 1):
        if not (q[i] < ba[i] < q[i + 1]):
            raise GroupedDataError(
                f"input data is inconsistent between p={p[i]:.4f} and p={p[i + 1]:.4f} (rows {i + 1}-{i + 2}): "
                f"the bracket average ({ba[i]:.2f}) is not strictly within the bracket thresholds "
                f"({q[i]:.2f} and {q[i + 1]:.2f})")
    if ba[-1] <= q[-1]:
        raise GroupedDataError(f"input data is inconsistent after p={p[-1]:.4f} (row {n}): the bracket average "
                               f"({ba[-1]:.2f}) is not strictly above the bracket threshold ({q[-1]:.2f})")
    notes = []
    if p[0] == 0:
        if average is not None and abs((average - m[0]) / average) > 1e-2:
            raise GroupedDataError(f"the average you gave ({average:.2f}) is inconsistent with the average implied "
                                   f"by the brackets ({m[0]:.2f})")
        average = float(m[0])
    xk = -np.log1p(-p)
    yk = -np.log(m)
    sk = (1 - p) * q / m
    if binf is None:
        an = (sk[-1] - sk[-2]) / (xk[-1] - xk[-2])
    else:
        if binf <= 1:
            raise GroupedDataError("the asymptotic inverted Pareto coefficient binf must be above one")
        xi = (binf - 1) / binf
        e = np.exp(2 * xk[-1] - yk[-1])
        sigma = (np.exp(-yk[-1]) - q[-1] + q[-1] * p[-1]) * (xi - 1) / (p[-1] - 1)
        an = (-sigma + (p[-1] - 1) * (sk[-1] - 1) * sk[-1] * e) / ((p[-1] - 1) * e)
    pk_c, qk_c, mk_c, xk_c, yk_c, sk_c, ak_c, fk_c, use_hist = [p[0]], [q[0]], [m[0]], [xk[0]], [yk[0]], [sk[0]], [], [], []

    def add_hist(i):
        p0, p1, q0, q1, avg = p[i], p[i + 1], q[i], q[i + 1], ba[i]
        pstar = p0 + (p1 - p0) * (q1 - avg) / (q1 - q0)
        f0 = (p1 - p0) / (q1 - q0) * (q1 - avg) / (avg - q0)
        f1 = (p1 - p0) / (q1 - q0) * (avg - q0) / (q1 - avg)
        mstar = m[i + 1] + avg * (p1 - pstar) + 0.5 * (p1 - pstar) * (p1 - pstar) / f1
        use_hist.extend([True, True])
        fk_c.extend([f0, f1])
        pk_c.extend([pstar, p1])
        qk_c.extend([avg, q1])
        mk_c.extend([mstar, m[i + 1]])
        xk_c.extend([-np.log1p(-pstar), xk[i + 1]])
        yk_c.extend([np.nan, yk[i + 1]])
        sk_c.extend([np.nan, sk[i + 1]])

    if fast:
        ak = np.concatenate([[(sk[1] - sk[0]) / (xk[1] - xk[0])], np.full(n - 2, np.nan), [an]])
        ak_c = [np.nan]
        for i in range(n - 1):
            add_hist(i)
            ak_c.extend([np.nan, np.nan])
        notes.append("fast: mean-split histogram in every bracket")
    else:
        ak = clamped_quintic_spline(xk, yk, sk, an)
        ak = np.where(ak + sk * (1 - sk) < 0, -sk * (1 - sk), ak)
        ak_c = [ak[0]]
        for i in range(n - 1):
            args = (xk[i], xk[i + 1], yk[i], yk[i + 1], sk[i], sk[i + 1], ak[i], ak[i + 1])
            if _increasing_on(*args):
                use_hist.append(False)
                fk_c.append(np.nan)
                pk_c.append(p[i + 1]); qk_c.append(q[i + 1]); mk_c.append(m[i + 1])
                xk_c.append(xk[i + 1]); yk_c.append(yk[i + 1]); sk_c.append(sk[i + 1]); ak_c.append(ak[i + 1])
                continue
            new = _add_one_point(*args)
            if new is not None:
                xm, ym, sm, am = new
                if (_increasing_on(xk[i], xm, yk[i], ym, sk[i], sm, ak[i], am)
                        and _increasing_on(xm, xk[i + 1], ym, yk[i + 1], sm, sk[i + 1], am, ak[i + 1])):
                    use_hist.extend([False, False])
                    fk_c.extend([np.nan, np.nan])
                    pm = -np.expm1(-xm)
                    pk_c.extend([pm, p[i + 1]]); qk_c.extend([sm * np.exp(xm - ym), q[i + 1]])
                    mk_c.extend([np.exp(-ym), m[i + 1]]); xk_c.extend([xm, xk[i + 1]])
                    yk_c.extend([ym, yk[i + 1]]); sk_c.extend([sm, sk[i + 1]]); ak_c.extend([am, ak[i + 1]])
                    notes.append(f"bracket {i + 1} (p {p[i]:g}-{p[i + 1]:g}): one extra knot keeps Q increasing")
                    continue
            add_hist(i)
            ak_c.extend([np.nan, ak[i + 1]])
            notes.append(f"bracket {i + 1} (p {p[i]:g}-{p[i + 1]:g}): mean-split histogram (the spline would "
                         "make Q decrease)")
    # generalized Pareto top
    pn, xn, yn, sn_, an_ = p[-1], xk[-1], yk[-1], sk[-1], ak[-1]
    mu = np.exp(xn - yn) * sn_
    sigma = (1 - pn) * np.exp(2 * xn - yn) * (an_ + sn_ * (1 - sn_))
    xi = 1 - (1 - pn) * sigma / (np.exp(-yn) - (1 - pn) * mu)
    if sigma == 0 or xi == 1:
        mu, xi = q[-1], 1 - sn_
        sigma = mu * xi
    if xi >= 1:
        raise GroupedDataError(f"the top tail above p={pn:g} has xi = {xi:.3g} >= 1 (infinite mean); "
                               "give binf (the asymptotic inverted Pareto coefficient) to fix it")
    top = {"p": float(pn), "mu": float(mu), "sigma": float(sigma), "xi": float(xi)}
    bottom = {"model": "knot" if p[0] == 0 else bottom_model, "mu": np.nan, "sigma": np.nan, "xi": np.nan}
    if p[0] > 0:
        avg0 = (average - m[0]) / p[0]
        if avg0 >= q[0] and bottom_model != "dirac":
            raise GroupedDataError(f"the average below the first bracket ({avg0:.0f}) is above the first threshold "
                                   f"({q[0]:.0f}): check the overall average and the first row")
        if bottom_model == "gpd" and avg0 > lower_bound:
            bottom.update(mu=float(q[0]), sigma=float((avg0 - q[0]) * (lower_bound - q[0]) / (avg0 - lower_bound)),
                          xi=float((avg0 - q[0]) / (avg0 - lower_bound)), lower_bound=float(lower_bound), average=float(avg0))
        elif bottom_model == "gpd":
            raise GroupedDataError(f"the average below the first bracket ({avg0:.4g}) is not above lower_bound "
                                   f"({lower_bound:g})")
        elif bottom_model == "hist":
            p1, q1 = pk_c[0], qk_c[0]
            pstar = p1 * (q1 - avg0) / (q1 - lower_bound)
            f0 = p1 / (q1 - lower_bound) * (q1 - avg0) / (avg0 - lower_bound)
            f1 = p1 / (q1 - lower_bound) * (avg0 - lower_bound) / (q1 - avg0)
            mstar = mk_c[0] + avg0 * (p1 - pstar) + 0.5 * (p1 - pstar) ** 2 / f1
            use_hist = [True, True] + use_hist
            fk_c = [f0, f1] + fk_c
            pk_c = [0.0, pstar] + pk_c
            qk_c = [lower_bound, avg0] + qk_c
            mk_c = [average, mstar] + mk_c
            xk_c = [0.0, -np.log1p(-pstar)] + xk_c
            yk_c = [-np.log(average), np.nan] + yk_c
            sk_c = [lower_bound / average, np.nan] + sk_c
            ak_c = [np.nan, np.nan] + ak_c
            bottom.update(lower_bound=float(lower_bound), average=float(avg0))
        else:
            bottom.update(share=float(p[0]))
    with np.errstate(divide="ignore"):
        b_knots = m / ((1 - p) * q)
    input_table = {"p": p.tolist(), "threshold": q.tolist(), "m": m.tolist(), "b": b_knots.tolist(),
                   "second_derivatives_unconstrained": None if fast else clamped_quintic_spline(xk, yk, sk, an).tolist()}
    return GeneralizedParetoInterpolation(
        pk=pk_c, qk=qk_c, xk=xk_c, yk=yk_c, sk=sk_c, ak=ak_c, fk=fk_c, mk=mk_c, use_hist=use_hist,
        average=average, top=top, bottom=bottom, input_table=input_table,
        diagnostics={"notes": notes, "thresholds_used": True, "gpinter_function": "tabulation_fit"})


def _clamped_cubic_spline(xk, yk, sn):
    """Slopes of the cubic spline through (x_k, y_k) with y''(x_1) = 0 and y'(x_n) = sn
    (gpinter's ``clamped_cubic_spline``)."""
    x, y = np.asarray(xk, float), np.asarray(yk, float)
    n = x.size
    d = np.diff(x)
    A = np.zeros((n, n))
    b = np.zeros(n)
    A[0, 0], A[0, 1] = -4 / d[0], -2 / d[0]
    b[0] = -6 * (y[1] - y[0]) / d[0] ** 2
    for k in range(1, n - 1):
        A[k, k - 1], A[k, k], A[k, k + 1] = 2 / d[k - 1], 4 / d[k - 1] + 4 / d[k], 2 / d[k]
        b[k] = 6 * (y[k] - y[k - 1]) / d[k - 1] ** 2 + 6 * (y[k + 1] - y[k]) / d[k] ** 2
    A[n - 1, n - 1] = 1.0
    b[n - 1] = sn
    return np.linalg.solve(A, b)


def thresholds_fit(p, threshold, average=None, *, bottom_model: str | None = None, lower_bound: float = 0.0,
                   binf: float | None = None) -> GeneralizedParetoInterpolation:
    """gpinter's ``thresholds_fit``: a tabulation of thresholds only. log Q is a cubic spline in
    x = -log(1 - p) (clamped at the last knot with the slope of the last two thresholds, or
    (binf - 1) / binf; PCHIP-limited so Q increases); its integral over each bracket gives the
    bracket averages, the top bracket a Pareto mean q_n / (1 - s_n). With ``average`` the
    difference between it and the implied mean goes to the top bracket (gpinter's rule); the
    bottom bracket [0, p_1) (when p_1 > 0) holds (lower_bound + q_1) / 2 on average."""
    from scipy import integrate

    p = _as_vector(p, "p")
    q = _as_vector(threshold, "threshold", p.size)
    n = p.size
    if n < 3:
        raise GroupedDataError("the method requires at least three interpolation points (rows of 'p')")
    bad = np.flatnonzero(np.diff(q) <= 0)
    if bad.size:
        k = bad[0]
        raise GroupedDataError(f"thresholds must be strictly increasing: rows {k + 1} and {k + 2} hold {q[k]:g} and {q[k + 1]:g}")
    if np.any(q <= 0):
        raise GroupedDataError(f"thresholds_fit needs positive thresholds: row {int(np.flatnonzero(q <= 0)[0]) + 1} is not")
    if p[0] > 0 and bottom_model is None:
        bottom_model = "hist"
    xk = -np.log1p(-p)
    yk = np.log(q)
    notes = []
    if binf is None:
        sn = (yk[-1] - yk[-2]) / (xk[-1] - xk[-2])
    else:
        if binf <= 1:
            raise GroupedDataError("the asymptotic inverted Pareto coefficient binf must be above one")
        sn = (binf - 1) / binf
    if sn >= 1:
        sn = 1 / 1.5
        notes.append("the asymptotic b(p) implied by the last two thresholds is infinite: b = 3 used (set binf)")
    sk = _clamped_cubic_spline(xk, yk, sn)
    delta = np.diff(yk) / np.diff(sk)
    alpha, beta = sk[:-1] / delta, sk[1:] / delta
    tau = 3 / np.sqrt(alpha**2 + beta**2)
    for i in range(n - 1):
        if alpha[i] ** 2 + beta[i] ** 2 > 9:
            sk[i] = tau[i] * alpha[i] * delta[i]
            sk[i + 1] = tau[i] * beta[i] * delta[i]

    def logq(u, i):
        h = xk[i + 1] - xk[i]
        t = (-np.log1p(-u) - xk[i]) / h
        return (yk[i] * (1 - 3 * t**2 + 2 * t**3) + yk[i + 1] * (3 * t**2 - 2 * t**3)
                + sk[i] * h * (t - 2 * t**2 + t**3) + sk[i + 1] * h * (-(t**2) + t**3))

    mk = [integrate.quad(lambda u, i=i: np.exp(logq(u, i)), p[i], p[i + 1], epsrel=1.22e-4)[0] for i in range(n - 1)]
    mk.append((1 - p[-1]) * q[-1] / (1 - sn))
    mk = np.array(mk)
    m0 = p[0] * (lower_bound + q[0]) / 2 if p[0] > 0 else 0.0
    if average is not None:
        mk[-1] += float(average) - mk.sum() - m0
    else:
        average = float(mk.sum() + m0)
        notes.append("no overall average: the mean implied by the thresholds is used")
    bracketavg = mk / np.diff(np.append(p, 1.0))
    fit = tabulation_fit(p, q, average, bracketavg=bracketavg, bottom_model=bottom_model, lower_bound=lower_bound)
    fit.diagnostics["notes"] = notes + fit.diagnostics["notes"]
    fit.diagnostics.update(thresholds_used=True, means_used=False, gpinter_function="thresholds_fit",
                           estimated_bracket_averages=bracketavg.tolist())
    return fit


# ------------------------------------------------------------------ shares only


def _quintic_energy(h: float):
    """6x6 matrix E with int_0^h P'''(x)^2 dx = v' E v for v = (y0, d0, s0, y1, d1, s1)."""
    M = np.zeros((6, 6))
    for j in range(6):
        M[0, j] = 1.0 if j == 0 else 0.0
        M[1, j] = 1.0 if j == 1 else 0.0
        M[2, j] = 2.0 if j == 2 else 0.0
        M[3, j] = h**j
        M[4, j] = j * h ** (j - 1) if j >= 1 else 0.0
        M[5, j] = j * (j - 1) * h ** (j - 2) if j >= 2 else 0.0
    G = np.zeros((6, 6))
    for i in range(3, 6):
        for j in range(3, 6):
            power = (i - 3) + (j - 3) + 1
            G[i, j] = i * (i - 1) * (i - 2) * j * (j - 1) * (j - 2) * h**power / power
    Minv = np.linalg.inv(M)
    return Minv.T @ G @ Minv


def _min_energy_slopes(x, phi, known_d):
    """phi' (and phi'') at the knots minimising int phi'''^2 with phi fixed (and phi' where known)."""
    K = x.size
    E = np.zeros((3 * K, 3 * K))
    for k in range(K - 1):
        idx = np.r_[3 * k: 3 * k + 6]
        E[np.ix_(idx, idx)] += _quintic_energy(x[k + 1] - x[k])
    v = np.full(3 * K, np.nan)
    v[0::3] = phi
    v[1::3] = known_d
    fixed = ~np.isnan(v)
    free = ~fixed
    sol, *_ = np.linalg.lstsq(E[np.ix_(free, free)], -E[np.ix_(free, fixed)] @ v[fixed], rcond=None)
    v[free] = sol
    return v, float(v @ E @ v)


def shares_fit(p, *, average=None, bracketshare=None, topshare=None, bracketavg=None, topavg=None,
               first_threshold: float | None = None, quantiles: dict | None = None,
               bottom_model: str | None = None, lower_bound: float = 0.0) -> GeneralizedParetoInterpolation:
    """Shares (or averages) without thresholds, as gpinter's ``shares_fit`` proceeds: estimate the
    thresholds from a quintic spline of phi, repair them (each strictly between the neighbouring
    bracket averages; the first below the first bracket average), then :func:`tabulation_fit`.
    The spline step uses the paper's criterion (minimal int phi'''^2, phi'(x_1) from
    ``first_threshold`` when given, else free: gpinter forces 0 there, which bends this criterion's spline too much). ``quantiles`` {p: Q(p)} adds known quantiles (e.g. a published median) as extra
    knots: there phi' = Q e^{phi - x} and phi is chosen, with the free slopes, by the same criterion."""
    p = _as_vector(p, "p")
    n = p.size
    if n < 3:
        raise GroupedDataError("the method requires at least three interpolation points (rows of 'p')")
    m, average = _income_above(p, average, bracketshare, topshare, bracketavg, topavg, None, None)
    ba = -np.diff(np.append(m, 0.0)) / np.diff(np.append(p, 1.0))
    bad = np.flatnonzero(np.diff(ba) <= 0)
    if bad.size:
        k = bad[0]
        raise GroupedDataError(f"bracket averages must be strictly increasing: rows {k + 1} and {k + 2} hold "
                               f"{ba[k]:g} and {ba[k + 1]:g}")
    x = -np.log1p(-p)
    phi = -np.log(m)
    known_d = np.full(n, np.nan)
    notes = ["no thresholds: phi' at the knots chosen by minimal int phi'''^2 (gpinter's shares_fit spline is "
             "not in its stored sources), thresholds repaired by gpinter's rules"]
    if first_threshold is not None:
        known_d[0] = (1 - p[0]) * first_threshold / m[0]
    extra = {}
    for pq, val in (quantiles or {}).items():
        pq, val = float(pq), float(val)
        if not (p[0] < pq < p[-1]) or np.any(np.isclose(pq, p)):
            raise GroupedDataError(f"extra quantile at p={pq:g} must lie strictly inside the table's brackets "
                                   f"({p[0]:g}, {p[-1]:g}) and not on a bracket boundary")
        if val <= 0:
            raise GroupedDataError(f"extra quantile Q({pq:g}) = {val:g} must be positive")
        extra[pq] = val
    if extra:
        from scipy import optimize

        ex_p = np.array(sorted(extra))
        p_all = np.concatenate([p, ex_p])
        order = np.argsort(p_all, kind="stable")
        p_all = p_all[order]
        x_all = -np.log1p(-p_all)
        phi_all = np.concatenate([phi, np.full(ex_p.size, np.nan)])[order]
        d_all = np.concatenate([known_d, np.full(ex_p.size, np.nan)])[order]
        q_extra = np.concatenate([np.full(n, np.nan), [extra[e] for e in ex_p]])[order]
        idx = np.flatnonzero(np.isnan(phi_all))

        def complete(z):
            ph = phi_all.copy()
            ph[idx] = z
            d = d_all.copy()
            d[idx] = (1 - p_all[idx]) * q_extra[idx] * np.exp(ph[idx])
            return ph, d

        lo, hi = phi_all[idx - 1], phi_all[idx + 1]
        res = optimize.minimize(lambda z: _min_energy_slopes(x_all, *complete(z))[1], (lo + hi) / 2,
                                method="L-BFGS-B", bounds=list(zip(lo + 1e-9, hi - 1e-9)))
        v, _ = _min_energy_slopes(x_all, *complete(res.x))
        notes.append(f"extra quantile knots at p = {', '.join(f'{e:g}' for e in ex_p)}")
        p, x, m = p_all, x_all, np.exp(-v[0::3])
        ba = -np.diff(np.append(m, 0.0)) / np.diff(np.append(p, 1.0))
    else:
        v, _ = _min_energy_slopes(x, phi, known_d)
    s = v[1::3]
    thr = s * m / (1 - p)  # phi' = (1 - p) q / m
    if thr[0] >= ba[0]:
        thr[0] = 0.0 if p[0] == 0 else 0.5 * ((average - m[0]) / p[0] + ba[0])
        notes.append("first threshold repaired (was not below the first bracket average)")
    for i in range(1, p.size):
        if not (ba[i - 1] < thr[i] < ba[i]):
            thr[i] = 0.5 * (ba[i - 1] + ba[i])
            notes.append(f"threshold at p={p[i]:g} repaired to the midpoint of the neighbouring bracket averages")
    if extra:
        for i in np.flatnonzero(~np.isnan(q_extra)):
            thr[i] = q_extra[i]
            lo_ok = thr[i] > (thr[i - 1] if i > 0 else -np.inf) and thr[i] > ba[i - 1]
            hi_ok = i + 1 >= thr.size or (thr[i] < thr[i + 1] and thr[i] < ba[i])
            if not (lo_ok and hi_ok):
                raise GroupedDataError(
                    f"the known quantile Q({p[i]:g}) = {thr[i]:g} does not fit the group means: it must lie above "
                    f"the average of the bracket below ({ba[i - 1]:.6g}) and below the average of the bracket above "
                    f"({ba[i]:.6g}) and the next estimated threshold ({thr[i + 1] if i + 1 < thr.size else np.inf:.6g}); "
                    "the means leave no room for it (drop the quantile or check the table)")
    fit = tabulation_fit(p, thr, average, bracketavg=ba, bottom_model=bottom_model, lower_bound=lower_bound)
    fit.diagnostics["notes"] = notes + fit.diagnostics["notes"]
    fit.diagnostics.update(thresholds_used=False, gpinter_function="shares_fit", estimated_thresholds=thr.tolist())
    return fit
