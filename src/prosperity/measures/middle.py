"""Middle-income group: population share and income share, for an absolute or a relative band.

Band membership is lower <= y < upper (the lower limit belongs to the middle, as a poverty line's
"y < z" leaves z itself non-poor).

Absolute band (e.g. China's NBS: household annual income 100,000-500,000 yuan for a household of 3).
The band of a household of size n is band x (n / reference_size)^elasticity (elasticity 1 scales in
proportion to size; 0.5 is the square-root equivalence scale). Equivalently a household is in the band
when its *reference-size income* y* = y (reference_size / n)^elasticity lies in the fixed band: use
:func:`reference_size_income` to build y*, then the kernels below on y*.

- population share  P = (1/N) sum w 1{lo <= y < hi};      u_k = (1{k in band} - P) / N
- income share      S = sum_band w y / sum w y;           u_k = (1{k in band} - S) y_k / Y

Relative band (default 75 %-200 % of the median m: lo = a m, hi = b m). The median is estimated, so its
linearized variable u_m is added through d value / d m:
  d P / d m = b f(b m) - a f(a m),     d S / d m = (b^2 f(b m) - a^2 f(a m)) m / mu,
f the kernel density of :func:`prosperity.measures.quantiles.kernel_density_at`. Pass ``median=`` to
take the median as given (e.g. the national median for regions): ``line_derivative`` is then d / d m.
Weights: population shares are shares of what the weights count (persons with person weights, or
households with household weights).
"""

from __future__ import annotations

import numpy as np

from .estimate import Estimate, SortedIncome, as_sorted, income_total, vdot
from .quantiles import kernel_density_at, quantile_influence, quantile_sorted

# China NBS middle-income band: household disposable income per year, yuan, for a 3-person household
NBS_BAND = (100_000.0, 500_000.0)
NBS_REFERENCE_SIZE = 3.0


def _check_band(lower, upper, what: str) -> tuple[float, float]:
    lo, hi = float(lower), float(upper)
    if not (np.isfinite(lo) and np.isfinite(hi)) or not 0 <= lo < hi:
        raise ValueError(f"the {what} band needs 0 <= lower < upper (finite), got lower={lower!r}, upper={upper!r}")
    return lo, hi


def reference_size_income(income, household_size, reference_size: float = NBS_REFERENCE_SIZE, elasticity: float = 1.0):
    """Income rescaled to a household of ``reference_size``: y (reference_size / size)^elasticity.

    A household lies in an absolute band scaled by size (band x (size / reference_size)^elasticity)
    exactly when this rescaled income lies in the unscaled band.
    """
    y = np.asarray(income, dtype=np.float64)
    n = np.asarray(household_size, dtype=np.float64)
    if n.shape != y.shape:
        raise ValueError(f"household sizes must have one value per income (got {n.shape} and {y.shape})")
    bad = np.flatnonzero(~(n > 0))
    if bad.size:
        raise ValueError(
            f"household size must be positive: {bad.size} row(s) are not (first at row {bad[0]}: {n[bad[0]]!r})"
        )
    if not (float(reference_size) > 0 and np.isfinite(elasticity) and 0 <= float(elasticity) <= 1):
        raise ValueError(f"need reference_size > 0 and elasticity in [0, 1], got {reference_size!r}, {elasticity!r}")
    return y * (float(reference_size) / n) ** float(elasticity)


def _band_slice(s: SortedIncome, lo: float, hi: float) -> slice:
    return slice(int(np.searchsorted(s.y, lo, side="left")), int(np.searchsorted(s.y, hi, side="left")))


def _share(s: SortedIncome, band: slice, income: bool, influence: bool) -> tuple[float, np.ndarray | None, float]:
    """(value, u at the fixed band, total income Y) for the population or income share of ``band``."""
    big_n = s.total
    if income:
        big_y = income_total(s)
        if big_y <= 0:
            raise ValueError("the income share is undefined when total income is <= 0")
        value = float(vdot(s.w[band], s.y[band])) / big_y
        if not influence:
            return value, None, big_y
        u = -value * s.y
        u[band] += s.y[band]
        return value, u / big_y, big_y
    value = float(s.w[band].sum()) / big_n
    if not influence:
        return value, None, 0.0
    u = np.full(s.n, -value)
    u[band] += 1.0
    return value, u / big_n, 0.0


def middle_absolute_sorted(
    s: SortedIncome,
    *,
    influence: bool = True,
    lower: float = NBS_BAND[0],
    upper: float = NBS_BAND[1],
    income_share: bool = False,
) -> Estimate:
    """Population (or income) share of units with lower <= y < upper; y in reference-size terms."""
    lo, hi = _check_band(lower, upper, "absolute")
    value, u, _ = _share(s, _band_slice(s, lo, hi), income_share, influence)
    return Estimate(value, u)


def middle_relative_sorted(
    s: SortedIncome,
    *,
    influence: bool = True,
    lower: float = 0.75,
    upper: float = 2.0,
    income_share: bool = False,
    median: float | None = None,
    convention: str = "eurostat",
) -> Estimate:
    """Population (or income) share of units with lower m <= y < upper m, m the median (estimated here
    with its error in ``influence`` unless ``median=`` is given). ``line_derivative`` = d value / d m
    (computed with the influence only: it needs two kernel densities)."""
    a, b = _check_band(lower, upper, "relative")
    own = median is None
    m = quantile_sorted(s, 0.5, convention) if own else float(median)
    if not m > 0:
        raise ValueError(f"a relative middle-class band needs a positive median, got {m:g}")
    value, u, big_y = _share(s, _band_slice(s, a * m, b * m), income_share, influence)
    if not influence:
        return Estimate(value)
    f_lo = kernel_density_at(s, a * m) if a > 0 else 0.0
    f_hi = kernel_density_at(s, b * m)
    if income_share:
        deriv = (b * b * f_hi - a * a * f_lo) * m * s.total / big_y
    else:
        deriv = b * f_hi - a * f_lo
    if own:
        u = u + deriv * quantile_influence(s, 0.5, m)
    return Estimate(value, u, deriv)


def middle_class_share(
    income,
    w=None,
    *,
    band: str = "relative",
    lower: float | None = None,
    upper: float | None = None,
    household_size=None,
    reference_size: float = NBS_REFERENCE_SIZE,
    elasticity: float = 1.0,
    income_share: bool = False,
) -> float:
    """Share of the middle-income group, population (default) or income.

    ``band="absolute"``: lower <= income (rescaled to ``reference_size`` when ``household_size`` is given)
    < upper, defaults the NBS 100,000-500,000 yuan band. ``band="relative"``: lower x median <= income <
    upper x median, defaults 0.75 and 2. With household sizes the income share is the share of the
    households' actual incomes.

    >>> middle_class_share([1, 2, 3, 4, 10], band="relative")   # median 3: band [2.25, 6) holds 3, 4
    0.4
    """
    if band == "absolute":
        lo = NBS_BAND[0] if lower is None else lower
        hi = NBS_BAND[1] if upper is None else upper
        y = np.asarray(income, dtype=np.float64)
        ystar = y if household_size is None else reference_size_income(y, household_size, reference_size, elasticity)
        if household_size is not None and income_share:
            lo, hi = _check_band(lo, hi, "absolute")
            ww = np.ones_like(y) if w is None else np.asarray(w, dtype=np.float64)
            inside = (ystar >= lo) & (ystar < hi)
            return float(vdot(ww[inside], y[inside]) / vdot(ww, y))
        s = as_sorted(ystar, w)
        return middle_absolute_sorted(s, influence=False, lower=lo, upper=hi, income_share=income_share).value
    if band == "relative":
        if household_size is not None:
            raise ValueError("household_size applies to the absolute band; equivalise incomes before a relative band")
        s = as_sorted(income, w)
        return middle_relative_sorted(
            s,
            influence=False,
            lower=0.75 if lower is None else lower,
            upper=2.0 if upper is None else upper,
            income_share=income_share,
        ).value
    raise ValueError(f"band must be 'absolute' or 'relative', got {band!r}")
