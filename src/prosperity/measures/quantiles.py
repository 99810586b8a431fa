"""Weighted quantiles under named conventions, and their linearized variables.

Conventions (``convention=``), with p in (0, 1), sorted incomes y_(1) <= ... <= y_(n), weights w and
cumulative weight share F_j = sum_{i<=j} w_i / sum w:

- ``"eurostat"`` (default; laeken's ``weightedMedian``/``incQuintile``, Eurostat EU-SILC, Stata
  ``_pctile`` with weights): take j = min{j : F_j >= p}; if F_j == p exactly, the average
  (y_(j) + y_(j+1)) / 2, else y_(j). Unweighted this is R's ``quantile(type = 2)``.
- ``"laeken"``: what R laeken's ``weightedQuantile`` actually computes: y_(j) with
  j = min{j : F_j > p} (strict; its averaging branch can never trigger). F_j within 1e-12 (relative)
  of p counts as equal to p, so the order of tied incomes cannot flip the result through rounding of
  the cumulative sum (laeken compares exactly, which can). It differs from
  ``"eurostat"`` only when some F_j equals p exactly (typical of unweighted or equal-weight data:
  the unweighted median of 1, 2, 3, 4 is 3 in laeken, 2.5 under Eurostat's rule).
- ``"inverse_cdf"``: y_(j) with j = min{j : F_j >= p} (no averaging; R ``type = 1``).
- ``"interpolated"``: linear interpolation of the points (F_j - w_j / (2 sum w), y_(j)), the
  mid-point weighted CDF (unweighted: Hazen, R ``type = 5``), clamped to [y_(1), y_(n)]. Tied
  incomes are taken lightest weight first, so their input order does not matter (with equal weights
  this is the plain rule).

Linearized variable of the p-quantile q (Deville 1999):  u_k = -(1{y_k <= q} - p) / (N f(q)),
with N = sum w and f the density at q, estimated with a Gaussian kernel. Bandwidth rules
(:data:`BANDWIDTH_RULES`, :func:`density_bandwidth`):

- ``"osier"`` (default): h = 0.79 * IQR * N^(-1/5) (Osier 2009, Silverman's robust rule with the IQR);
- ``"convey"``: h = sigma_w * N^(-1/5), sigma_w^2 = (sum w y^2 - (sum w y)^2 / N) / N (R convey's
  ``h_fun``, used by its ``densfun``).

A sample carries its rule in ``s.cache["bandwidth_rule"]`` (set by ``prosperity.measure(bandwidth=)``),
so every kernel density of that sample without an explicit bandwidth follows it.
"""

from __future__ import annotations

import numpy as np

from .estimate import Estimate, SortedIncome, as_sorted, vdot

QUANTILE_CONVENTIONS = ("eurostat", "laeken", "inverse_cdf", "interpolated")

# Relative tolerance when testing F_j == p: cumulative sums of float weights are not exact.
_TIE_RTOL = 1e-12


def _check_p(p: float) -> float:
    p = float(p)
    if not 0.0 <= p <= 1.0 or np.isnan(p):
        raise ValueError(f"quantile probability must lie in [0, 1], got {p}")
    return p


def quantile_sorted(s: SortedIncome, p: float, convention: str = "eurostat") -> float:
    """The weighted p-quantile of a sorted sample (see module docstring for conventions).

    Cached on ``s`` (keyed by p and convention): every measure of a suite reads the same quantiles."""
    key = ("quantile", float(p), convention)
    q = s.cache.get(key)
    if q is None:
        q = s.cache[key] = _quantile_sorted(s, _check_p(p), convention)
    return q


def _weighted_units(s: SortedIncome) -> np.ndarray | None:
    """Positions of the units with positive weight, or None when every weight is positive (the rule;
    ``prosperity.measure`` refuses zero weights, the kernels accept them). Cached on ``s``."""
    if "weighted_units" not in s.cache:
        s.cache["weighted_units"] = np.flatnonzero(s.w > 0) if s.w.size and s.w.min() <= 0 else None
    return s.cache["weighted_units"]


def _interpolation_knots(s: SortedIncome, positive: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Knots (mid-point CDF, income) of the ``"interpolated"`` convention, cached on ``s``.

    A run of tied incomes is ordered lightest unit first, heaviest last, whatever the input order: only
    its first and last mid-points matter (the others share its income). Equal weights (e.g. the members
    of one household) keep the plain mid-points, so unweighted data stay R type 5."""
    cached = s.cache.get("interpolation_knots")
    if cached is not None:
        return cached
    y, cw, w = (s.y, s.cumw, s.w) if positive is None else (s.y[positive], s.cumw[positive], s.w[positive])
    last = np.flatnonzero(np.append(y[1:] != y[:-1], True))  # last unit of each run of equal incomes
    if last.size == y.size:
        knots = ((cw - 0.5 * w) / s.total, y)
    else:
        first = np.concatenate(([0], last[:-1] + 1))
        lightest, heaviest = np.minimum.reduceat(w, first), np.maximum.reduceat(w, first)
        start = (cw[first] - w[first] + 0.5 * lightest) / s.total
        end = (cw[last] - 0.5 * heaviest) / s.total
        knots = (np.column_stack((start, end)).ravel(), np.repeat(y[last], 2))
    s.cache["interpolation_knots"] = knots
    return knots


def _quantile_sorted(s: SortedIncome, p: float, convention: str) -> float:
    y, cumw, total = s.y, s.cumw, s.total
    if convention not in QUANTILE_CONVENTIONS:
        raise ValueError(f"unknown quantile convention {convention!r}; choose one of {QUANTILE_CONVENTIONS}")
    # Units with weight 0 carry no population: they must never be a quantile or an interpolation point.
    positive = _weighted_units(s)
    if p == 0.0:
        return float(y[0] if positive is None else y[positive[0]])
    if p == 1.0:
        return float(y[-1] if positive is None else y[positive[-1]])
    target = p * total
    if convention == "laeken":  # j = min{j : F_j > p}, strictly, as laeken does
        # F_j within rounding of p counts as equal (not above): a cumulative sum's last bits depend on the
        # order of tied incomes, and the quantile must not (laeken's exact comparison can flip there)
        j = int(np.searchsorted(cumw, target * (1 + _TIE_RTOL), side="right"))
        return float(y[min(j, y.size - 1)])
    if convention == "interpolated":
        knots, values = _interpolation_knots(s, positive)
        return float(np.interp(p, knots, values))
    j = int(np.searchsorted(cumw, target * (1 - _TIE_RTOL), side="left"))
    j = min(j, y.size - 1)
    if convention == "eurostat" and abs(cumw[j] - target) <= _TIE_RTOL * total:
        if positive is None:
            following = j + 1
        else:  # the next unit that carries weight
            k = int(np.searchsorted(positive, j, side="right"))
            following = int(positive[k]) if k < positive.size else y.size
        if following < y.size:
            return float(0.5 * (y[j] + y[following]))
    return float(y[j])


def weighted_quantile(y, p, w=None, convention: str = "eurostat"):
    """Weighted quantile(s) of ``y`` at probability ``p`` (scalar or sequence).

    >>> weighted_quantile([1, 2, 3, 4], 0.5)          # eurostat: F_2 == 0.5 -> average
    2.5
    """
    s = as_sorted(y, w)
    if np.ndim(p) == 0:
        return quantile_sorted(s, p, convention)
    return np.array([quantile_sorted(s, pi, convention) for pi in np.asarray(p, dtype=float)])


# Gaussian kernel truncated at |z| <= 8: the neglected mass is below 1.3e-15 relative.
_KERNEL_REACH = 8.0


def kernel_density_at(s: SortedIncome, x: float, bandwidth: float | None = None) -> float:
    """Weighted Gaussian kernel density of the sample at ``x``.

    f(x) = sum_k w_k phi((x - y_k) / h) / (N h), N = sum of weights. Without ``bandwidth``, h is the
    sample's rule (:func:`density_bandwidth`: Osier's 0.79 IQR N^(-1/5) unless the sample is marked
    with convey's sigma_w N^(-1/5)). Only units within 8 h of x are visited (the sample is sorted), so
    the cost is that of the window, not of n.
    """
    if bandwidth is None:  # the sample's rule (Osier's unless marked)
        rule = s.cache.get("bandwidth_rule", "osier")
        key = ("density", float(x), None if rule == "osier" else rule)
    else:
        key = ("density", float(x), float(bandwidth))
    f = s.cache.get(key)
    if f is None:
        f = s.cache[key] = _kernel_density_at(s, float(x), bandwidth)
    return f


BANDWIDTH_RULES = ("osier", "convey")


def density_bandwidth(s: SortedIncome, rule: str | None = None) -> float:
    """The kernel bandwidth of the quantile-based SEs under a named rule.

    ``rule=None``: the sample's own (``s.cache["bandwidth_rule"]``, default ``"osier"``).
    ``"osier"``: h = 0.79 (q_0.75 - q_0.25) N^(-1/5) (Osier 2009, eq. 3.9; Eurostat quantiles).
    ``"convey"``: h = sigma_w N^(-1/5), sigma_w^2 = (sum w y^2 - (sum w y)^2 / N) / N (R convey
    ``h_fun``). N is the sum of the weights as given: weights held as w 2^-m by the table layer
    (extreme values) are accounted for with the factor 2^(-m/5).
    """
    if rule is None:
        rule = s.cache.get("bandwidth_rule", "osier")
    if rule == "osier":
        return osier_bandwidth(s)
    if rule == "convey":
        return convey_bandwidth(s)
    raise ValueError(f"unknown bandwidth rule {rule!r}; choose one of {BANDWIDTH_RULES}")


def osier_bandwidth(s: SortedIncome) -> float:
    """Osier's rule h = 0.79 IQR N^(-1/5) (Eurostat quantiles, N the sum of the weights as given)."""
    key = ("bandwidth", "osier")
    h = s.cache.get(key)
    if h is None:
        iqr = quantile_sorted(s, 0.75) - quantile_sorted(s, 0.25)
        h = 0.79 * iqr * s.total ** (-0.2)
        m = s.cache.get("weight_exponent", 0)  # weights held as w * 2^-m (table layer, extreme values):
        if m:  # the rule's N is the sum of the weights as given
            h *= 2.0 ** (-m / 5.0)
        if not h > 0:
            raise ValueError(
                "cannot estimate the density for a quantile's standard error: the interquartile range is 0 "
                "(too many identical incomes); pass an explicit bandwidth, use bandwidth='convey' or the bootstrap"
            )
        s.cache[key] = h = float(h)
    return h


SD_NOISE = 1e-13  # a weighted SD at most this times |mean|: equal incomes up to the rounding of the mean


def convey_bandwidth(s: SortedIncome) -> float:
    """R convey's ``h_fun``: h = sigma_w N^(-1/5), sigma_w^2 = (sum w y^2 - (sum w y)^2 / N) / N, N = sum w
    (the sum of the weights as given: weights held as w 2^-m by the table layer are accounted for).
    sigma_w <= ``SD_NOISE`` |mean| is no spread (refused): equal incomes give sigma_w ~ 1e-16 |mean| or
    exactly 0 depending on the order their weights are summed in, and a density from that would be noise."""
    key = ("bandwidth", "convey")
    h = s.cache.get(key)
    if h is None:
        big_n = s.total
        mean = float(vdot(s.w, s.y)) / big_n
        d = s.y - mean
        sd = np.sqrt(float(vdot(s.w, d * d)) / big_n)
        if sd <= SD_NOISE * abs(mean):
            sd = 0.0
        h = sd * big_n ** (-0.2)
        m = s.cache.get("weight_exponent", 0)
        if m:
            h *= 2.0 ** (-m / 5.0)
        if not h > 0:
            raise ValueError("cannot estimate the density for a quantile's standard error: the incomes have no "
                             "spread (weighted standard deviation 0); use se=False or the bootstrap")
        s.cache[key] = h = float(h)
    return h


def _kernel_density_at(s: SortedIncome, x: float, bandwidth: float | None) -> float:
    if bandwidth is None:
        bandwidth = density_bandwidth(s)
    if not bandwidth > 0:
        raise ValueError(
            "cannot estimate the density for a quantile's standard error: the bandwidth is not positive "
            f"({bandwidth!r}); pass a positive bandwidth or use the bootstrap"
        )
    lo, hi = np.searchsorted(s.y, [x - _KERNEL_REACH * bandwidth, x + _KERNEL_REACH * bandwidth], side="left")
    z = (x - s.y[lo:hi]) / bandwidth
    z *= z
    z *= -0.5
    # einsum, not np.dot: a multithreaded BLAS can be very slow on 1-D products on a loaded machine
    return float(np.einsum("i,i->", s.w[lo:hi], np.exp(z, out=z)) / (s.total * bandwidth * np.sqrt(2 * np.pi)))


def quantile_influence(s: SortedIncome, p: float, q: float, density: float | None = None) -> np.ndarray:
    """Linearized variable of the p-quantile ``q`` in sorted order: -(1{y<=q} - p) / (N f(q))."""
    f = kernel_density_at(s, q) if density is None else density
    scale = s.total * f
    k = int(np.searchsorted(s.y, q, side="right"))
    u = np.empty(s.n, dtype=np.float64)
    u[:k] = (p - 1.0) / scale
    u[k:] = p / scale
    return u


def quantile_estimate(s: SortedIncome, p: float, convention: str = "eurostat", influence: bool = True) -> Estimate:
    q = quantile_sorted(s, p, convention)
    return Estimate(q, quantile_influence(s, p, q) if influence else None)
