"""Parametric income distributions fitted to grouped data: log-normal, Singh-Maddala, Dagum, GB2.

The generalized beta of the second kind GB2(a, b, p, q) (McDonald 1984) nests Singh-Maddala
(p = 1) and Dagum (q = 1). With z(x) = (x/b)^a / (1 + (x/b)^a) and I the regularized incomplete
beta function:

    F(x) = I_{z(x)}(p, q),    Q(u) = b (z / (1 - z))^(1/a) with z = I^{-1}_u(p, q),
    mu   = b B(p + 1/a, q - 1/a) / B(p, q)   (needs a q > 1),
    L(u) = I_{z(Q(u))}(p + 1/a, q - 1/a).

Log-normal: Q(u) = exp(m + s Phi^{-1}(u)), L(u) = Phi(Phi^{-1}(u) - s), mu = exp(m + s^2/2).

Estimation, stated in ``diagnostics["estimator"]``:

- thresholds known: maximum likelihood on the class counts (multinomial likelihood
  sum_k s_k log(F(t_{k+1}) - F(t_k)), McDonald 1984), which uses the thresholds and population shares;
- otherwise: nonlinear least squares of the Lorenz curve on the Lorenz points (shape parameters),
  with the scale set so the mean equals the table's overall mean.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, special, stats

from .distribution import FittedDistribution
from .table import GroupedDataError, GroupedTable


class GB2(FittedDistribution):
    """Generalized beta of the second kind; Singh-Maddala and Dagum are its p = 1 and q = 1 cases."""

    method = "gb2"

    def __init__(self, a: float, b: float, p: float, q: float, method: str | None = None, diagnostics=None):
        self.a, self.b, self.p, self.q = float(a), float(b), float(p), float(q)
        if method:
            self.method = method
        if self.a * self.q <= 1:
            self.mean = float("inf")
        else:
            self.mean = float(self.b * np.exp(special.betaln(self.p + 1 / self.a, self.q - 1 / self.a) - special.betaln(self.p, self.q)))
        names = {"singh_maddala": ("a", "b", "q"), "dagum": ("a", "b", "p")}.get(self.method, ("a", "b", "p", "q"))
        self.parameters = {k: getattr(self, k) for k in names}
        self.diagnostics = diagnostics or {}

    def _z(self, x):
        x = np.maximum(np.asarray(x, dtype=float), 0.0)
        with np.errstate(over="ignore", divide="ignore"):
            # z = t / (1 + t), t = (x/b)^a, computed stably as a logistic of a log(x/b)
            return special.expit(self.a * (np.log(np.where(x > 0, x, 1.0)) - np.log(self.b))) * (x > 0)

    def cdf(self, x) -> np.ndarray:
        return special.betainc(self.p, self.q, self._z(np.atleast_1d(x)))

    def quantile(self, u) -> np.ndarray:
        z = special.betaincinv(self.p, self.q, np.clip(np.asarray(u, dtype=float), 0.0, 1.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.b * np.exp((np.log(z) - np.log1p(-z)) / self.a)

    def lorenz(self, u) -> np.ndarray:
        u = np.clip(np.asarray(u, dtype=float), 0.0, 1.0)
        z = special.betaincinv(self.p, self.q, u)
        return special.betainc(self.p + 1 / self.a, self.q - 1 / self.a, z)


class LogNormal(FittedDistribution):
    """Log-normal income distribution LN(m, s^2)."""

    method = "lognormal"

    def __init__(self, m: float, s: float, diagnostics=None):
        self.m, self.s = float(m), float(s)
        self.mean = float(np.exp(self.m + self.s**2 / 2))
        self.parameters = {"mu_log": self.m, "sigma_log": self.s}
        self.diagnostics = diagnostics or {}

    def cdf(self, x) -> np.ndarray:
        x = np.atleast_1d(np.asarray(x, dtype=float))
        with np.errstate(divide="ignore"):
            return stats.norm.cdf((np.log(np.maximum(x, 0.0)) - self.m) / self.s)

    def quantile(self, u) -> np.ndarray:
        return np.exp(self.m + self.s * stats.norm.ppf(np.asarray(u, dtype=float)))

    def lorenz(self, u) -> np.ndarray:
        return stats.norm.cdf(stats.norm.ppf(np.asarray(u, dtype=float)) - self.s)


# ----------------------------------------------------------------------------- fitting
_FAMILIES = {
    # name: (free shape parameter names, start values)
    "lognormal": (("s",), (0.8,)),
    "singh_maddala": (("a", "q"), (2.5, 1.5)),
    "dagum": (("a", "p"), (3.0, 0.8)),
    "gb2": (("a", "p", "q"), (2.5, 1.0, 1.2)),
}


def _build(family: str, shape: dict, scale: float):
    if family == "lognormal":
        return LogNormal(np.log(scale), shape["s"])
    a = shape["a"]
    p = shape.get("p", 1.0)
    q = shape.get("q", 1.0)
    return GB2(a, scale, p, q, method=family)


def _scale_for_mean(family: str, shape: dict, mean: float) -> float:
    unit = _build(family, shape, 1.0)
    if family == "lognormal":  # unit has m = 0: mean = exp(s^2/2)
        return mean / unit.mean
    return mean / unit.mean


def _start_from_gini(table: GroupedTable) -> float:
    P = np.concatenate([[0.0], table.cum_population])
    L = np.concatenate([[0.0], table.cum_income])
    g = 1 - np.sum((P[1:] - P[:-1]) * (L[1:] + L[:-1]))
    return float(np.sqrt(2) * stats.norm.ppf((min(max(g, 0.01), 0.95) + 1) / 2))


def fit_parametric(table: GroupedTable, family: str, *, mean: float | None = None, estimator: str = "auto") -> FittedDistribution:
    """Fit ``family`` (lognormal, singh_maddala, dagum, gb2) to a grouped table.

    ``estimator``: ``"mle"`` (multinomial likelihood on class counts; needs thresholds),
    ``"lorenz"`` (least squares on the Lorenz points; needs shares and a mean) or ``"auto"``
    (MLE when thresholds are known, else Lorenz).
    """
    if family not in _FAMILIES:
        raise ValueError(f"unknown family {family!r}; choose one of {sorted(_FAMILIES)}")
    names, start = _FAMILIES[family]
    if estimator == "auto":
        estimator = "mle" if table.threshold is not None else "lorenz"
    if table.n_groups < len(names) + 2:
        raise GroupedDataError(
            f"method {family!r} has {len(names) + 1} parameters: it needs at least {len(names) + 2} groups, "
            f"the table has {table.n_groups}"
        )
    x0 = np.log(np.array(start, dtype=float))
    if family == "lognormal" and table.has_shares:
        x0 = np.log([_start_from_gini(table)])

    if estimator == "lorenz":
        mu = table.require_mean(family) if mean is None else float(mean)
        P, L = table.cum_population[:-1], table.cum_income[:-1]

        def loss(theta):
            if np.any(np.abs(theta) > 7):  # keep shape parameters in exp(-7) .. exp(7)
                return 1e3
            shape = dict(zip(names, np.exp(theta)))
            if family != "lognormal" and shape["a"] * shape.get("q", 1.0) <= 1.0 + 1e-9:
                return 1e3
            with np.errstate(all="ignore"):
                unit = _build(family, shape, 1.0)
                if not (0 < unit.mean < np.inf):
                    return 1e3
                fitted = unit.lorenz(P)
            if not np.all(np.isfinite(fitted)):
                return 1e3
            return float(np.sum((fitted - L) ** 2))

        res = optimize.minimize(loss, x0, method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-16, "maxiter": 20000, "maxfev": 40000})
        shape = dict(zip(names, np.exp(res.x)))
        dist = _build(family, shape, _scale_for_mean(family, shape, mu))
        dist.diagnostics = {
            "estimator": "nonlinear least squares on the Lorenz points; scale set to match the mean",
            "sse": float(res.fun), "converged": bool(res.success),
        }
        return dist

    if estimator != "mle":
        raise ValueError(f"estimator must be 'mle', 'lorenz' or 'auto', got {estimator!r}")
    if table.threshold is None:
        raise GroupedDataError(f"the multinomial likelihood for {family!r} needs the 'threshold' column")
    cuts = table.threshold[1:]
    counts = table.population_share
    median_guess = float(np.interp(0.5, table.cum_population, np.append(cuts, cuts[-1] * 2)))
    x0 = np.concatenate([x0, [np.log(max(median_guess, 1e-9))]])
    if table.has_shares and table.overall_mean is not None:  # start from the Lorenz fit
        start = fit_parametric(table, family, estimator="lorenz")
        x0 = np.log([start.s] if family == "lognormal" else [getattr(start, k) for k in names])
        x0 = np.concatenate([x0, [start.m if family == "lognormal" else np.log(start.b)]])

    def nll(theta):
        if np.any(np.abs(theta[:-1]) > 7):
            return 1e6
        shape = dict(zip(names, np.exp(theta[:-1])))
        dist = _build(family, shape, np.exp(theta[-1]))
        with np.errstate(all="ignore"):
            F = np.concatenate([[0.0], dist.cdf(cuts), [1.0]])
        probs = np.diff(F)
        if not np.all(np.isfinite(probs)) or np.any(probs <= 0):
            return 1e6
        return float(-np.dot(counts, np.log(probs)))

    res = optimize.minimize(nll, x0, method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 40000, "maxfev": 80000})
    res = optimize.minimize(nll, res.x, method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 40000, "maxfev": 80000})
    shape = dict(zip(names, np.exp(res.x[:-1])))
    dist = _build(family, shape, np.exp(res.x[-1]))
    kl = float(res.fun + np.dot(counts, np.log(counts)))
    dist.diagnostics = {
        "estimator": "maximum likelihood on class counts (multinomial; thresholds and population shares)",
        "kl_divergence": kl, "converged": bool(res.success),
    }
    if table.overall_mean is not None:
        dist.diagnostics["mean_ratio_fitted_to_table"] = dist.mean / table.overall_mean
    if table.has_shares:
        dist.diagnostics["sse"] = float(np.sum((dist.lorenz(table.cum_population[:-1]) - table.cum_income[:-1]) ** 2))
    return dist
