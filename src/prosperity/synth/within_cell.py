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

from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
from scipy import optimize, special, stats

from .targets import AREAS, DEFAULT_HOUSEHOLD_SIZES, HouseholdSizes, Targets, build_targets, household_size_distribution

DISTRIBUTIONS = ("gb2", "lognormal")


@dataclass(frozen=True)
class AreaFit:
    """Fitted within-cell distribution of one area: ``params`` (GB2: a, p, q; log-normal: sigma),
    ``gamma`` (household-size gradient), ``b`` (GB2 scale for unit mean), modelled and target quintile
    group means relative to the area mean and, when the official Gini is a target, ``tail`` = (u0, alpha):
    above its u0-quantile the body is replaced by a Pareto(alpha) tail (see :func:`spliced_terms`).
    ``household_sizes``: the household-size distribution the fit was calibrated with."""

    area: str
    distribution: str
    params: tuple[float, ...]
    gamma: float
    b: float
    modelled_relative_means: tuple[float, ...]
    target_relative_means: tuple[float, ...]
    tail: tuple[float, float] | None = None  # (u0, alpha): Pareto above the body's u0-quantile
    household_sizes: HouseholdSizes = DEFAULT_HOUSEHOLD_SIZES

    def size_factors(self, at=None) -> np.ndarray:
        return size_factors(self.gamma, self.household_sizes, at)


def _size_arrays(household_sizes: HouseholdSizes) -> tuple[np.ndarray, np.ndarray]:
    """(sizes as floats, shares) of a household-size distribution."""
    return np.array(household_sizes.sizes, dtype=float), np.array(household_sizes.shares)


def size_factors(gamma: float, household_sizes=None, at=None) -> np.ndarray:
    """k(s) = exp(-gamma s) / Z at the distribution's sizes (or at the sizes ``at``), with Z such that
    the person-weighted mean of k over ``household_sizes`` (None: the bundled census shares) is 1."""
    sizes, shares = _size_arrays(household_size_distribution(household_sizes))
    raw = np.exp(-gamma * (sizes - 2.6))
    raw_at = raw if at is None else np.exp(-gamma * (np.asarray(at, dtype=float) - 2.6))
    return raw_at * np.sum(shares * sizes) / np.sum(shares * sizes * raw)


def gb2_scale(a: float, p: float, q: float) -> float:
    """b such that E[X] = 1 for X ~ GB2(a, b, p, q): b = B(p, q) / B(p + 1/a, q - 1/a)."""
    return float(np.exp(special.betaln(p, q) - special.betaln(p + 1 / a, q - 1 / a)))


def _body_cdfs(distribution: str, params, x):
    """(CDF, first-moment CDF) of the unit-mean body distribution at x > 0."""
    if distribution == "gb2":
        a, p, q = params
        b = gb2_scale(a, p, q)
        u = special.expit(a * (np.log(x) - np.log(b)))  # (x/b)^a / (1 + (x/b)^a), overflow-free
        return special.betainc(p, q, u), special.betainc(p + 1 / a, q - 1 / a, u)
    (sigma,) = params
    lx = np.log(x)
    return special.ndtr((lx + sigma**2 / 2) / sigma), special.ndtr((lx - sigma**2 / 2) / sigma)


def _body_quantile(distribution: str, params, u: float) -> float:
    if distribution == "gb2":
        a, p, q = params
        z = special.betaincinv(p, q, u)
        return float(gb2_scale(a, p, q) * (z / (1 - z)) ** (1 / a))
    (sigma,) = params
    return float(np.exp(-sigma**2 / 2 + sigma * special.ndtri(u)))


@lru_cache(maxsize=4096)
def spliced_terms(distribution: str, params, tail) -> tuple[float, float, float]:
    """(x0, F1_body(x0), mu) of the spliced distribution: the unit-mean body up to its quantile
    x0 = Q(u0), a Pareto(x0, alpha) above it with mass 1 - u0, divided by its mean
    mu = F1_body(x0) + (1 - u0) x0 alpha / (alpha - 1) so that the result has mean one again."""
    u0, alpha = tail
    x0 = _body_quantile(distribution, params, u0)
    f1_x0 = float(_body_cdfs(distribution, params, np.array([x0]))[1][0])
    return x0, f1_x0, f1_x0 + (1 - u0) * x0 * alpha / (alpha - 1)


def _cdfs(distribution: str, params, x, tail=None):
    """(CDF, first-moment CDF) of the unit-mean distribution at x > 0 (body, or spliced with a
    Pareto tail when ``tail`` = (u0, alpha))."""
    if tail is None:
        return _body_cdfs(distribution, params, x)
    u0, alpha = tail
    x0, f1_x0, mu = spliced_terms(distribution, params, tail)
    xs = np.asarray(x, float) * mu
    f, f1 = _body_cdfs(distribution, params, np.minimum(xs, x0))
    ratio = x0 / np.maximum(xs, x0)
    above = xs > x0
    f = np.where(above, u0 + (1 - u0) * (1 - ratio**alpha), f)
    f1 = np.where(above, f1_x0 + (1 - u0) * x0 * alpha / (alpha - 1) * (1 - ratio ** (alpha - 1)), f1)
    return f, f1 / mu


def group_means(distribution: str, params, gamma: float, means: np.ndarray, persons: np.ndarray,
                groups: int = 5, tail=None, household_sizes=None) -> np.ndarray:
    """Person-weighted mean income of ``groups`` equal household groups ranked by per-capita income,
    for the mixture over cells (means, persons) and household sizes (None: the bundled census shares)."""
    household_sizes = household_size_distribution(household_sizes)
    sizes, shares = _size_arrays(household_sizes)
    households = (persons / np.sum(shares * sizes))[:, None] * shares[None, :]  # cells x sizes
    scale = means[:, None] * size_factors(gamma, household_sizes)[None, :]
    h, s, sc = households.ravel(), np.broadcast_to(sizes, households.shape).ravel(), scale.ravel()
    total_h = h.sum()

    def household_cdf(t):
        return np.sum(h * _cdfs(distribution, params, t / sc, tail)[0]) / total_h

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
            f, f1 = _cdfs(distribution, params, cuts[k + 1] / sc, tail)
        persons_k = np.sum(h * s * (f - previous_f))
        income_k = np.sum(h * s * sc * (f1 - previous_f1))
        out[k] = income_k / persons_k
        previous_f, previous_f1 = f, f1
    return out


def _unpack(distribution: str, theta: np.ndarray):
    if distribution == "gb2":
        a = 1.0 + np.exp(np.clip(theta[0], -10.0, 6.0))
        p = np.exp(np.clip(theta[1], -10.0, 10.0))
        q = 1.0 / a + np.exp(min(theta[2], 30.0))  # a*q > 1 keeps the mean finite; q <= e^30 (~ generalised gamma)
        return (a, p, q), theta[3]
    return (np.exp(theta[0]),), theta[1]


def _pack(distribution: str, params, gamma: float) -> np.ndarray:
    if distribution == "gb2":
        a, p, q = params
        return np.array([np.log(a - 1.0), np.log(p), np.log(q - 1.0 / a), gamma])
    return np.array([np.log(params[0]), gamma])


def fit_area(targets: Targets, area: str, distribution: str = "gb2", *, tail=None,
             start: AreaFit | None = None, household_sizes=None) -> AreaFit:
    """Fit one area's within-cell distribution to its published quintile-group means (with the
    Pareto ``tail`` = (u0, alpha) held fixed when given; ``start``: a previous fit to start from;
    ``household_sizes``: the household-size distribution, None = the bundled census shares)."""
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"distribution must be one of {DISTRIBUTIONS}, got {distribution!r}")
    household_sizes = household_size_distribution(household_sizes)
    cells = targets.cells[targets.cells["area"] == area]
    means = cells["mean_income_pc_yuan"].to_numpy(float)
    persons = cells["population"].to_numpy(float)
    person_mean = np.average(means, weights=persons)
    target = targets.quintile_means.loc[area].to_numpy(float) / targets.area_means[area]

    def residuals(theta):
        params, gamma = _unpack(distribution, theta)
        with np.errstate(all="ignore"):
            try:
                modelled = group_means(distribution, params, gamma, means, persons, tail=tail,
                                       household_sizes=household_sizes) / person_mean
            except ValueError:  # root-finding on an invalid parameter set: steer the optimiser away
                return np.full(len(target), 10.0)
            out = np.log(modelled / target)
        return out if np.all(np.isfinite(out)) else np.full(len(target), 10.0)

    if start is not None:
        starts = [_pack(distribution, start.params, start.gamma)]
    elif distribution == "gb2":
        starts = [np.array([np.log(2.0), 0.0, np.log(1.0), 0.1])]  # other starts reach the same optimum
    else:
        starts = [np.array([np.log(0.6), 0.1])]
    best = None
    for x0 in starts:
        result = optimize.least_squares(residuals, x0, method="lm", xtol=1e-10, ftol=1e-10, max_nfev=500)
        if best is None or result.cost < best.cost:
            best = result
    params, gamma = _unpack(distribution, best.x)
    modelled = group_means(distribution, params, gamma, means, persons, tail=tail,
                           household_sizes=household_sizes) / person_mean
    b = gb2_scale(*params) if distribution == "gb2" else 1.0
    return AreaFit(area, distribution, tuple(float(v) for v in params), float(gamma), b,
                   tuple(modelled.tolist()), tuple(target.tolist()),
                   None if tail is None else (float(tail[0]), float(tail[1])), household_sizes)


def model_gini(targets: Targets, fits: dict[str, AreaFit], tail=None, points: int = 599) -> float:
    """Person-weighted Gini of the modelled national distribution (mixture over areas, cells and
    household sizes), from its Lorenz curve: at thresholds t on a log grid, p(t) = sum_i n_i F_i(t)
    and L(t) = sum_i n_i m_i F1_i(t) / sum_i n_i m_i (exact mixture CDF and incomplete first
    moment), G = 1 - sum (p_k - p_k-1)(L_k + L_k-1) with one Richardson step (grids of ``points``
    and every second point; 599 points agree with 6,000 to 1e-5). ``tail`` overrides each fit's tail;
    each fit's household sizes are those it was calibrated with."""
    parts = []
    for area, fit in fits.items():
        sizes, shares = _size_arrays(fit.household_sizes)
        cells = targets.cells[targets.cells["area"] == area]
        persons = cells["population"].to_numpy(float)[:, None] * (shares * sizes / np.sum(shares * sizes))[None, :]
        scale = cells["mean_income_pc_yuan"].to_numpy(float)[:, None] * fit.size_factors()[None, :]
        parts.append((fit, persons.ravel(), scale.ravel()))
    low = min(sc.min() for _, _, sc in parts) * 1e-5
    high = max(sc.max() for _, _, sc in parts) * 1e7
    grid = np.exp(np.linspace(np.log(low), np.log(high), points))
    p = np.zeros(points)
    income = np.zeros(points)
    total_persons = total_income = 0.0
    for fit, persons, scale in parts:
        f, f1 = _cdfs(fit.distribution, fit.params, grid[None, :] / scale[:, None], fit.tail if tail is None else tail)
        p += persons @ f
        income += (persons * scale) @ f1
        total_persons += persons.sum()
        total_income += np.sum(persons * scale)
    p = np.concatenate(([0.0], p / total_persons, [1.0]))
    lorenz = np.concatenate(([0.0], income / total_income, [1.0]))

    def trapezoid(step: int) -> float:
        pp, ll = p[::step], lorenz[::step]
        return float(1.0 - np.sum(np.diff(pp) * (ll[1:] + ll[:-1])))

    fine, coarse = trapezoid(1), trapezoid(2)
    return fine + (fine - coarse) / 3.0  # Richardson: the trapezoid error is O(h^2) on the log grid


TAIL_QUANTILE = 0.9


def calibrate(year: int = 2024, distribution: str = "gb2", calibrate_gini: bool = False,
              tail_quantile: float = TAIL_QUANTILE, *, household_sizes=None) -> dict[str, AreaFit]:
    """Fitted urban and rural within-cell distributions for ``year`` (cached per year, distribution,
    Gini option, tail quantile and household-size distribution).

    ``household_sizes``: shares of households by size, {size: share} or a Series (None: the bundled
    census 2020 shares; see :func:`prosperity.synth.targets.household_size_distribution`). The size
    gradient gamma and the distribution's parameters are fitted with it, and every fit carries it.

    ``calibrate_gini=True`` adds the official national Gini of the year as a target: the bodies fitted
    to the quintile groups are kept and, above their ``tail_quantile`` (u0, in every cell x size
    component), replaced by a Pareto tail with one shape alpha common to urban and rural; alpha is
    solved (Brent) so that the modelled national Gini (:func:`model_gini`) equals the official one.
    The quintile-group means then move (all four lower groups down by about the same proportion,
    the top one up): the published groups bound the Gini at about 0.42, so both cannot hold.
    """
    return _calibrate(year, distribution, calibrate_gini, tail_quantile, household_size_distribution(household_sizes))


@lru_cache(maxsize=32)
def _calibrate(year: int, distribution: str, calibrate_gini: bool, tail_quantile: float,
               household_sizes: HouseholdSizes) -> dict[str, AreaFit]:
    targets = build_targets(year)
    if not calibrate_gini:
        return {area: fit_area(targets, area, distribution, household_sizes=household_sizes) for area in AREAS}
    fits = _calibrate(year, distribution, False, TAIL_QUANTILE, household_sizes)  # the quintile-calibrated bodies (cached)
    from prosperity import datasets

    official = datasets.nbs_official_gini().set_index("year")["gini"]
    if year not in official.index:
        raise ValueError(f"no official Gini for {year}; calibrate_gini needs one of {sorted(official.index)}")
    goal = float(official[year])

    def gap(alpha):
        return model_gini(targets, fits, tail=(tail_quantile, alpha)) - goal

    lo, hi = 1.01, 50.0
    if gap(lo) < 0:
        raise ValueError(f"a Pareto tail above the {tail_quantile} quantile cannot raise the modelled Gini to "
                         f"{goal} (it reaches {gap(lo) + goal:.4f}); lower tail_quantile")
    if gap(hi) > 0:
        raise ValueError(f"the modelled Gini exceeds the official {goal} even with a thin tail; calibrate_gini is not needed")
    tail = (float(tail_quantile), float(optimize.brentq(gap, lo, hi, xtol=1e-7)))
    out = {}
    for area, fit in fits.items():
        cells = targets.cells[targets.cells["area"] == area]
        means, persons = cells["mean_income_pc_yuan"].to_numpy(float), cells["population"].to_numpy(float)
        modelled = group_means(distribution, fit.params, fit.gamma, means, persons, tail=tail,
                               household_sizes=household_sizes) / np.average(means, weights=persons)
        out[area] = replace(fit, modelled_relative_means=tuple(modelled.tolist()), tail=tail)
    return out


def _tail_transform(fit: AreaFit, x: np.ndarray, survival: np.ndarray) -> np.ndarray:
    """Map body draws x (with body survival S(x)) to the spliced unit-mean distribution: rank-preserving
    Pareto above x0, x0 (S / (1 - u0))^(-1/alpha); everything divided by the spliced mean."""
    u0, alpha = fit.tail
    x0, _, mu = spliced_terms(fit.distribution, fit.params, fit.tail)
    above = survival < 1 - u0
    out = x.copy()
    out[above] = x0 * (np.maximum(survival[above], 1e-300) / (1 - u0)) ** (-1.0 / alpha)
    return out / mu


def sample_unit_mean(fit: AreaFit, rng: np.random.Generator, n: int) -> np.ndarray:
    """n draws of X (E[X] = 1) from the fitted distribution."""
    if fit.distribution == "gb2":
        a, p, q = fit.params
        ratio = rng.standard_gamma(p, n) / rng.standard_gamma(q, n)  # beta-prime(p, q)
        x = fit.b * ratio ** (1.0 / a)
        if fit.tail is None:
            return x
        return _tail_transform(fit, x, special.betainc(q, p, 1.0 / (1.0 + ratio)))  # S = I_{1/(1+r)}(q, p)
    (sigma,) = fit.params
    z = rng.normal(0.0, 1.0, n)
    x = np.exp(-sigma**2 / 2 + sigma * z)
    if fit.tail is None:
        return x
    return _tail_transform(fit, x, special.ndtr(-z))


def quantile_unit_mean(fit: AreaFit, u: np.ndarray) -> np.ndarray:
    """Quantile function of X (for tests and deterministic grids)."""
    u = np.asarray(u, float)
    if fit.distribution == "gb2":
        a, p, q = fit.params
        x = fit.b * stats.betaprime.ppf(u, p, q) ** (1.0 / a)
    else:
        (sigma,) = fit.params
        x = np.exp(stats.norm.ppf(u, -sigma**2 / 2, sigma))
    return x if fit.tail is None else _tail_transform(fit, x, 1.0 - u)
