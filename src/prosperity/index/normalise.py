"""Normalisation of indicator columns onto a common, "higher is better" scale.

Every function takes one indicator column ``x`` (1-D float array, NaN = missing, kept as NaN) and a
``direction`` (+1 more is better, -1 less is better) and returns the normalised column. Conventions
are named after the tool that uses them, so results can be matched:

=================  ============================================================  ======================
name               formula (d = +1; for d = -1 the roles of max and min swap)     peer
=================  ============================================================  ======================
``minmax``         a + (b - a) (x - min) / (max - min)                            Chinese papers, COINr
                                                                                  ``n_minmax`` (0-100)
``zscore``         m + s (x - mean) / sd, sd with ddof = 1                        COINr ``n_zscore``
``rank``           rank with ties = "min" (1 = worst)                             COINr ``n_rank``
``percentile``     (rank - 1) / (n - 1), ties = "min"                             COINr ``n_prank``
``borda``          rank - 1                                                       COINr ``n_borda``
``fraction_max``   x / max   (d = -1: min / x)                                    COINr ``n_fracmax``
``distance_max``   1 - (max - x) / (max - min)                                    COINr ``n_dist2max``
``distance_ref``   1 - (x_ref - x) / (x_ref - min), optional cap at 1             COINr ``n_dist2ref``
``distance_target`` 1 - (t - x) / (t - min), optional cap at 1; d = -1:            COINr ``n_dist2targ``
                   1 - (x - t) / (max - t)
``goalposts``      clamp((x - lo) / (hi - lo), 0, 1) * scale; d = -1:             COINr ``n_goalposts``
                   (hi - x) / (hi - lo)
``realisation``    min(x / t, 1) (d = -1: min(t / x, 1)); "实现程度"              Zhejiang monitoring
``vector``         x / sqrt(sum x^2)   (d = -1: 1 - x / sqrt(sum x^2))            classic TOPSIS, pymcdm
``sum``            x / sum x           (d = -1: (1/x) / sum(1/x))                 entropy's p, pymcdm
``moderate``       centred: 1 - |x - x*| / max|x - x*|; interval [a, b]:          mathmodels
                   1 inside, 1 - (a - x)/max(a - min, max - b) below,             ``rescale_middle``,
                   1 - (x - b)/max(a - min, max - b) above                        ``rescale_interval``
=================  ============================================================  ======================

Scope (which units define min, max, mean, ...) is decided by the caller: the whole panel
(``pooled``, comparable across years) or each year separately (``by_year``, relative within a year).
"""

from __future__ import annotations

import warnings

import numpy as np

METHODS = (
    "minmax",
    "zscore",
    "rank",
    "percentile",
    "borda",
    "fraction_max",
    "distance_max",
    "distance_ref",
    "distance_target",
    "goalposts",
    "realisation",
    "vector",
    "sum",
    "none",
)

# methods whose output is bounded in [0, 1] (or [a, b]) and therefore meaningful for entropy /
# geometric aggregation without a shift
BOUNDED = {"minmax", "percentile", "distance_max", "goalposts", "realisation", "moderate"}


def _finite(x: np.ndarray) -> np.ndarray:
    return x[~np.isnan(x)]


def _range(x: np.ndarray) -> tuple[float, float]:
    v = _finite(x)
    if v.size == 0:
        return np.nan, np.nan
    return float(v.min()), float(v.max())


def _check_direction(direction: int) -> None:
    if direction not in (1, -1):
        raise ValueError(f"direction must be +1 or -1, got {direction!r}")


def minmax(x: np.ndarray, direction: int = 1, *, low: float = 0.0, high: float = 1.0) -> np.ndarray:
    """Min-max with direction onto [low, high]. A constant column maps to ``high`` (every unit is
    as good as the best; pymcdm returns 1, COINr NaN), so it drops out of every comparison."""
    _check_direction(direction)
    x = np.asarray(x, dtype=float)
    lo, hi = _range(x)
    if not np.isfinite(lo):
        return np.full_like(x, np.nan)
    if hi == lo:
        out = np.where(np.isnan(x), np.nan, high)
        return out
    z = (x - lo) / (hi - lo) if direction == 1 else (hi - x) / (hi - lo)
    return low + (high - low) * z


def zscore(x: np.ndarray, direction: int = 1, *, mean: float = 0.0, sd: float = 1.0, ddof: int = 1) -> np.ndarray:
    _check_direction(direction)
    x = np.asarray(x, dtype=float) * direction
    v = _finite(x)
    s = v.std(ddof=ddof) if v.size > ddof else np.nan
    if not s or not np.isfinite(s):
        return np.where(np.isnan(x), np.nan, mean)
    return mean + sd * (x - v.mean()) / s


def rank(x: np.ndarray, direction: int = 1) -> np.ndarray:
    """Ranks 1..n with ties = "min" (R ``rank(ties.method = "min")``); the best unit gets n."""
    from scipy.stats import rankdata

    _check_direction(direction)
    x = np.asarray(x, dtype=float) * direction
    out = np.full_like(x, np.nan)
    ok = ~np.isnan(x)
    out[ok] = rankdata(x[ok], method="min")
    return out


def percentile(x: np.ndarray, direction: int = 1) -> np.ndarray:
    r = rank(x, direction)
    n = int((~np.isnan(r)).sum())
    if n < 2:
        return np.where(np.isnan(r), np.nan, 1.0)
    return (r - 1.0) / (n - 1.0)


def borda(x: np.ndarray, direction: int = 1) -> np.ndarray:
    return rank(x, direction) - 1.0


def fraction_max(x: np.ndarray, direction: int = 1) -> np.ndarray:
    _check_direction(direction)
    x = np.asarray(x, dtype=float)
    lo, hi = _range(x)
    if direction == 1:
        return x / hi
    with np.errstate(divide="ignore"):
        return lo / x


def distance_max(x: np.ndarray, direction: int = 1) -> np.ndarray:
    return minmax(x, direction)


def distance_ref(x: np.ndarray, direction: int = 1, *, ref: int, cap: bool = False) -> np.ndarray:
    """Distance to a reference unit (row index ``ref``): 1 - (x_ref - x) / (x_ref - min)."""
    _check_direction(direction)
    x = np.asarray(x, dtype=float) * direction
    xref = x[ref]
    if np.isnan(xref):
        raise ValueError(f"the reference unit (row {ref}) has no value for this indicator")
    lo = np.nanmin(x)
    y = 1.0 - (xref - x) / (xref - lo)
    return np.minimum(y, 1.0) if cap else y


def distance_target(x: np.ndarray, direction: int = 1, *, target, cap: bool = True) -> np.ndarray:
    """Distance to target (COINr ``n_dist2targ``): 1 - (t - x)/(t - min) for d = +1,
    1 - (x - t)/(max - t) for d = -1; capped at 1 when the target is passed (``cap``).
    ``target`` may be one number or one number per row (region/year-specific targets)."""
    _check_direction(direction)
    x = np.asarray(x, dtype=float)
    t = np.broadcast_to(np.asarray(target, dtype=float), x.shape)
    lo, hi = _range(x)
    if direction == 1:
        y = 1.0 - (t - x) / (t - lo)
    else:
        y = 1.0 - (x - t) / (hi - t)
    return np.minimum(y, 1.0) if cap else y


def goalposts(
    x: np.ndarray, direction: int = 1, *, low: float, high: float, scale: float = 1.0, clamp: bool = True
) -> np.ndarray:
    """Goalposts ``(low, high)`` given in the indicator's own units with low < high (COINr
    ``n_goalposts``): d = +1 scores (x - low)/(high - low), d = -1 scores (high - x)/(high - low),
    clamped to [0, 1] and multiplied by ``scale``. Comparable across years and samples."""
    _check_direction(direction)
    if not high > low:
        raise ValueError(f"goalposts need low < high, got low={low}, high={high}")
    x = np.asarray(x, dtype=float)
    y = (x - low) / (high - low) if direction == 1 else (high - x) / (high - low)
    if clamp:
        y = np.clip(y, 0.0, 1.0)
    return y * scale


def realisation(x: np.ndarray, direction: int = 1, *, target, cap: bool = True) -> np.ndarray:
    """Realisation degree against a target (实现程度): x/t for d = +1, t/x for d = -1, capped at 1.
    ``target`` may be one number or one per row. Needs x > 0 and t > 0."""
    _check_direction(direction)
    x = np.asarray(x, dtype=float)
    t = np.broadcast_to(np.asarray(target, dtype=float), x.shape)
    if np.any(t[~np.isnan(t)] <= 0):
        raise ValueError("realisation degree needs positive targets")
    if np.any(x[~np.isnan(x)] <= 0):
        raise ValueError("realisation degree needs positive indicator values (x/t or t/x)")
    y = x / t if direction == 1 else t / x
    return np.minimum(y, 1.0) if cap else y


def vector(x: np.ndarray, direction: int = 1) -> np.ndarray:
    """Vector (L2) normalisation; for d = -1 the pymcdm convention 1 - x/||x|| is used."""
    _check_direction(direction)
    x = np.asarray(x, dtype=float)
    norm = np.sqrt(np.nansum(x**2))
    return x / norm if direction == 1 else 1.0 - x / norm


def sum_(x: np.ndarray, direction: int = 1) -> np.ndarray:
    """Sum normalisation x/sum(x); for d = -1 (1/x)/sum(1/x) (pymcdm). Needs x > 0."""
    _check_direction(direction)
    x = np.asarray(x, dtype=float)
    if np.any(x[~np.isnan(x)] <= 0):
        raise ValueError("sum normalisation needs positive values")
    if direction == 1:
        return x / np.nansum(x)
    return (1.0 / x) / np.nansum(1.0 / x)


def moderate(
    x: np.ndarray, *, optimum: float | None = None, interval: tuple[float, float] | None = None
) -> np.ndarray:
    """Moderate (适度) indicators, best at ``optimum`` or anywhere inside ``interval = (a, b)``.

    centred:  z = 1 - |x - x*| / max|x - x*|
    interval: z = 1 inside [a, b]; 1 - (a - x)/M below a; 1 - (x - b)/M above b,
              M = max(a - min, max - b)
    """
    x = np.asarray(x, dtype=float)
    if (optimum is None) == (interval is None):
        raise ValueError("a moderate indicator needs exactly one of optimum or interval")
    if optimum is not None:
        d = np.abs(x - optimum)
        m = np.nanmax(d)
        if m == 0:
            return np.where(np.isnan(x), np.nan, 1.0)
        return 1.0 - d / m
    a, b = interval
    if not a <= b:
        raise ValueError(f"moderate interval needs a <= b, got [{a}, {b}]")
    lo, hi = _range(x)
    m = max(a - lo, hi - b)
    if m <= 0:
        return np.where(np.isnan(x), np.nan, 1.0)
    z = np.ones_like(x)
    z = np.where(x < a, 1.0 - (a - x) / m, z)
    z = np.where(x > b, 1.0 - (x - b) / m, z)
    return np.where(np.isnan(x), np.nan, z)


def normalise_column(
    x: np.ndarray,
    method: str,
    direction: int = 1,
    *,
    low: float = 0.0,
    high: float = 1.0,
    goalposts_: tuple[float, float] | None = None,
    target=None,
    ref: int | None = None,
    optimum: float | None = None,
    interval: tuple[float, float] | None = None,
    cap: bool = True,
    name: str = "",
) -> np.ndarray:
    """Dispatch by method name. Moderate indicators (``optimum``/``interval`` given) are first
    turned into a "closeness to the optimum" in [0, 1] and then scaled with the chosen method
    (a min-max of an already-[0,1] closeness keeps the optimum at 1)."""
    where = f" (indicator {name!r})" if name else ""
    if optimum is not None or interval is not None:
        x = moderate(x, optimum=optimum, interval=interval)
        direction = 1
        if method in ("realisation", "distance_target", "goalposts"):
            # closeness is already an absolute score against the optimum
            return x * (high - low) + low if method != "realisation" else x
    if method == "minmax":
        return minmax(x, direction, low=low, high=high)
    if method == "zscore":
        return zscore(x, direction)
    if method == "rank":
        return rank(x, direction)
    if method == "percentile":
        return percentile(x, direction)
    if method == "borda":
        return borda(x, direction)
    if method == "fraction_max":
        return fraction_max(x, direction)
    if method == "distance_max":
        return distance_max(x, direction)
    if method == "distance_ref":
        if ref is None:
            raise ValueError(f"distance_ref needs a reference unit{where}")
        return distance_ref(x, direction, ref=ref, cap=cap)
    if method in ("distance_target", "realisation"):
        if target is None:
            raise ValueError(
                f"{method} normalisation needs a target{where}: add `target:` to the indicator in the "
                "framework, or choose another normalisation"
            )
        f = distance_target if method == "distance_target" else realisation
        return f(x, direction, target=target, cap=cap)
    if method == "goalposts":
        if goalposts_ is None:
            raise ValueError(
                f"goalposts normalisation needs goalposts{where}: add `goalposts: [low, high]` to the indicator"
            )
        return goalposts(x, direction, low=goalposts_[0], high=goalposts_[1], scale=high)
    if method == "vector":
        return vector(x, direction)
    if method == "sum":
        return sum_(x, direction)
    if method == "none":
        return np.asarray(x, dtype=float) * direction
    raise ValueError(f"unknown normalisation {method!r}; choose one of {', '.join(METHODS)}")


def warn_constant(name: str) -> None:
    warnings.warn(f"indicator {name!r} is constant over the units being compared; it carries no information",
                  stacklevel=3)
