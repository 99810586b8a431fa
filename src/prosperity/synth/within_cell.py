"""Calibrate the within-cell income distribution so that the synthetic urban and rural populations
reproduce the published quintile-group means (relative to the area mean).

Model for a household of size s in cell c (province x area a): per-capita income

    y = m_c * k_a(s) * X,   X ~ D_a with E[X] = 1,
    k_a(s) = exp(-gamma_a * s) / Z_a   (Z_a such that the person-weighted mean of k_a(s) is 1),

so every cell's person-weighted mean is m_c whatever the parameters. D_a is a generalised beta of the
second kind GB2(a, b, p, q) with b fixed by E[X] = 1 (McDonald 1984; the family nests Singh-Maddala
and Dagum) or a log-normal LN(-sigma^2/2, sigma). gamma_a > 0 makes large households poorer per
head, which is what makes NBS quintile groups (20% of households each) hold unequal numbers of persons
and what lets the mean of the five group means exceed the person-weighted mean, as published.

The area distribution is a finite mixture over (cell, size) components, so its household CDF and its
incomplete first moment are exact sums of GB2 (or log-normal) CDFs: for GB2, the first-moment
distribution is GB2(a, b, p + 1/a, q - 1/a). Quintile groups are cut at household quantiles found by
root-finding; the parameters minimise the squared log-ratio of modelled to published group means
(each divided by its area mean).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import optimize, special, stats

from .targets import AREAS, HOUSEHOLD_SIZE_SHARES, Targets, build_targets

DISTRIBUTIONS = ("gb2", "lognormal")


@dataclass(frozen=True)
class AreaFit:
    """Fitted within-cell distribution of one area: ``params`` (GB2: a, p, q; log-normal: sigma),
    ``gamma`` (household-size gradient), ``b`` (GB2 scale for unit mean), modelled and target quintile
    group means relative to the area mean, and the resulting person-weighted Gini of the area."""

    area: str
    distribution: str
    params: tuple[float, ...]
    gamma: float
    b: float
    modelled_relative_means: tuple[float, ...]
    target_relative_means: tuple[float, ...]

    def size_factors(self) -> np.ndarray:
        return size_factors(self.gamma)


def size_factors(gamma: float) -> np.ndarray:
    sizes = np.array(list(HOUSEHOLD_SIZE_SHARES), dtype=float)
    shares = np.array(list(HOUSEHOLD_SIZE_SHARES.values()))
    raw = np.exp(-gamma * (sizes - 2.6))
    return raw * np.sum(shares * sizes) / np.sum(shares * sizes * raw)


def gb2_scale(a: float, p: float, q: float) -> float:
    """b such that E[X] = 1 for X ~ GB2(a, b, p, q): b = B(p, q) / B(p + 1/a, q - 1/a)."""
    return float(np.exp(special.betaln(p, q) - special.betaln(p + 1 / a, q - 1 / a)))


def _cdfs(distribution: str, params, x):
    """(CDF, first-moment CDF) of the unit-mean distribution at x > 0."""
    if distribution == "gb2":
        a, p, q = params
        b = gb2_scale(a, p, q)
        u = special.expit(a * (np.log(x) - np.log(b)))  # (x/b)^a / (1 + (x/b)^a), overflow-free
        return special.betainc(p, q, u), special.betainc(p + 1 / a, q - 1 / a, u)
    (sigma,) = params
    lx = np.log(x)
    return special.ndtr((lx + sigma**2 / 2) / sigma), special.ndtr((lx - sigma**2 / 2) / sigma)


def group_means(distribution: str, params, gamma: float, means: np.ndarray, persons: np.ndarray,
                groups: int = 5) -> np.ndarray:
    """Person-weighted mean income of ``groups`` equal household groups ranked by per-capita income,
    for the mixture over cells (means, persons) and household sizes."""
    sizes = np.array(list(HOUSEHOLD_SIZE_SHARES), dtype=float)
    shares = np.array(list(HOUSEHOLD_SIZE_SHARES.values()))
    households = (persons / np.sum(shares * sizes))[:, None] * shares[None, :]  # cells x sizes
    scale = means[:, None] * size_factors(gamma)[None, :]
    h, s, sc = households.ravel(), np.broadcast_to(sizes, households.shape).ravel(), scale.ravel()
    total_h = h.sum()

    def household_cdf(t):
        return np.sum(h * _cdfs(distribution, params, t / sc)[0]) / total_h

    lo, hi = sc.min() * 1e-6, sc.max() * 1e6
    cuts = [0.0]
    for k in range(1, groups):
        target = k / groups
        cuts.append(np.exp(optimize.brentq(lambda lt: household_cdf(np.exp(lt)) - target,
                                           np.log(lo), np.log(hi), xtol=1e-12)))
    cuts.append(np.inf)
    out = np.empty(groups)
    previous_f = previous_f1 = np.zeros_like(sc)
    for k in range(groups):
        if np.isinf(cuts[k + 1]):
            f, f1 = np.ones_like(sc), np.ones_like(sc)
        else:
            f, f1 = _cdfs(distribution, params, cuts[k + 1] / sc)
        persons_k = np.sum(h * s * (f - previous_f))
        income_k = np.sum(h * s * sc * (f1 - previous_f1))
        out[k] = income_k / persons_k
        previous_f, previous_f1 = f, f1
    return out


def _unpack(distribution: str, theta: np.ndarray):
    if distribution == "gb2":
        a = 1.0 + np.exp(theta[0])
        p = np.exp(theta[1])
        q = 1.0 / a + np.exp(theta[2])  # a*q > 1 keeps the mean finite
        return (a, p, q), theta[3]
    return (np.exp(theta[0]),), theta[1]


def fit_area(targets: Targets, area: str, distribution: str = "gb2") -> AreaFit:
    """Fit one area's within-cell distribution to its published quintile-group means."""
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"distribution must be one of {DISTRIBUTIONS}, got {distribution!r}")
    cells = targets.cells[targets.cells["area"] == area]
    means = cells["mean_income_pc_yuan"].to_numpy(float)
    persons = cells["population"].to_numpy(float)
    person_mean = np.average(means, weights=persons)
    target = targets.quintile_means.loc[area].to_numpy(float) / targets.area_means[area]

    def residuals(theta):
        params, gamma = _unpack(distribution, theta)
        modelled = group_means(distribution, params, gamma, means, persons) / person_mean
        return np.log(modelled / target)

    if distribution == "gb2":
        starts = [np.array([np.log(2.0), 0.0, np.log(1.0), 0.1])]  # other starts reach the same optimum
    else:
        starts = [np.array([np.log(0.6), 0.1])]
    best = None
    for start in starts:
        result = optimize.least_squares(residuals, start, method="lm", xtol=1e-10, ftol=1e-10, max_nfev=500)
        if best is None or result.cost < best.cost:
            best = result
    params, gamma = _unpack(distribution, best.x)
    modelled = group_means(distribution, params, gamma, means, persons) / person_mean
    b = gb2_scale(*params) if distribution == "gb2" else 1.0
    return AreaFit(area, distribution, tuple(float(v) for v in params), float(gamma), b,
                   tuple(modelled.tolist()), tuple(target.tolist()))


@lru_cache(maxsize=32)
def calibrate(year: int = 2024, distribution: str = "gb2") -> dict[str, AreaFit]:
    """Fitted urban and rural within-cell distributions for ``year`` (cached)."""
    targets = build_targets(year)
    return {area: fit_area(targets, area, distribution) for area in AREAS}


def sample_unit_mean(fit: AreaFit, rng: np.random.Generator, n: int) -> np.ndarray:
    """n draws of X (E[X] = 1) from the fitted distribution."""
    if fit.distribution == "gb2":
        a, p, q = fit.params
        ratio = rng.standard_gamma(p, n) / rng.standard_gamma(q, n)  # beta-prime(p, q)
        return fit.b * ratio ** (1.0 / a)
    (sigma,) = fit.params
    return np.exp(rng.normal(-sigma**2 / 2, sigma, n))


def quantile_unit_mean(fit: AreaFit, u: np.ndarray) -> np.ndarray:
    """Quantile function of X (for tests and deterministic grids)."""
    if fit.distribution == "gb2":
        a, p, q = fit.params
        return fit.b * stats.betaprime.ppf(u, p, q) ** (1.0 / a)
    (sigma,) = fit.params
    return np.exp(stats.norm.ppf(u, -sigma**2 / 2, sigma))
