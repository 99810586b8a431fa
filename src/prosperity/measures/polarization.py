"""Income polarization: Wolfson, Foster-Wolfson and Esteban-Ray, weighted, with linearized variables.

Wolfson (1994) and Foster-Wolfson. With mu the mean, m the median (eurostat convention), G the Gini
(laeken convention) and L(0.5) the Lorenz ordinate at half the population (linear interpolation of
the weighted Lorenz curve, exact for a discrete distribution), T = 0.5 - L(0.5):

    Wolfson          W  = 2 (2T - G) mu / m    (Wolfson 1994; World Bank PIP: 2 (mu (1-G) - mu_b50) / m)
    Foster-Wolfson   FW = (2T - G) mu / m = W / 2   (Foster & Wolfson 1992/2010 as estimated by
                                                    Kovacevic & Binder 1997 and R convey ``svyfwp``)

PySAL ``inequality.wolfson`` computes FW (no factor 2): ``wolfson(..., convention="pysal")`` gives it.
Since (2T - G) mu = mu - 2 GL(0.5) - G mu (GL the generalized Lorenz ordinate),
u_W = c (u_mu - 2 u_GL - mu u_G - G u_mu) / m - W u_m / m, with u_GL = (y 1{before q} +
q (p - 1{before q}) - GL) / N at p = 0.5, q the income of the unit holding the p-th weight.

Esteban-Ray. For microdata we use the Duclos-Esteban-Ray (2004) form of the Esteban-Ray (1994)
measure (identity f^alpha times alienation |x - y|):

    P_alpha = integral f(x)^alpha a(x) dF(x),  a(x) = integral |x - y| dF(y),   ER_alpha = P_alpha / mu^(1 - alpha)

estimated by (1/N) sum_i w_i f_i^alpha a_i, f_i the kernel density at y_i. Normalisation: division by
mu^(1-alpha) makes it scale invariant (P_alpha is homogeneous of degree 1 - alpha); ER_0 = 2 G exactly.
Kernel: Epanechnikov, so that every f_i and a_i is computed exactly in O(n log n) from cumulative sums
over the sorted incomes (no O(n^2) pairs). Default bandwidth: DER's rule for a Gaussian kernel
h = 4.7 n^(-1/2) sigma alpha^0.1, times 2.2138 (ratio of the canonical bandwidths of the Epanechnikov
and Gaussian kernels, 15^(1/5) / (4 pi)^(-1/10)) for the same amount of smoothing.
The linearized variable is the exact gradient of the estimator in the weights at a fixed bandwidth:
u_k = (f_k^alpha a_k + alpha g_k + c_k - (2 + alpha) P) / N, g_k = (1/N) sum_i w_i f_i^(alpha-1) a_i
K_h(y_i - y_k), c_k = (1/N) sum_i w_i f_i^alpha |y_i - y_k|, then the mu^(alpha - 1) factor's term.
For a few given groups (regions, classes) :func:`esteban_ray_groups` computes the original 1994 form.
"""

from __future__ import annotations

import numpy as np

from .estimate import Estimate, SortedIncome, as_sorted
from .gini import gini_sorted
from .quantiles import quantile_influence, quantile_sorted

WOLFSON_CONVENTIONS = ("wolfson1994", "pysal")
_EPANECHNIKOV_FROM_GAUSSIAN = 15 ** 0.2 / (4 * np.pi) ** -0.1


# ------------------------------------------------------------------------------------ Wolfson
def generalized_lorenz_at(s: SortedIncome, p: float, influence: bool = True) -> Estimate:
    """GL(p) = (1/N) x income of the poorest p of the population (boundary unit split), with u."""
    big_n = s.total
    target = p * big_n
    k = min(int(np.searchsorted(s.cumw, target, side="left")), s.n - 1)
    q = float(s.y[k])
    before = float(s.cumw[k - 1]) if k else 0.0
    ycum_before = float(np.dot(s.w[:k], s.y[:k]))
    gl = (ycum_before + q * (target - before)) / big_n
    if not influence:
        return Estimate(gl)
    u = np.full(s.n, q * p - gl)
    u[:k] += s.y[:k] - q
    return Estimate(gl, u / big_n)


def _wolfson_core(s: SortedIncome, factor: float, influence: bool) -> Estimate:
    big_n = s.total
    mu = float(np.dot(s.w, s.y)) / big_n
    m = quantile_sorted(s, 0.5, "eurostat")
    if not m > 0:
        raise ValueError(f"the Wolfson index needs a positive median, got {m:g}")
    g = gini_sorted(s, influence)
    gl = generalized_lorenz_at(s, 0.5, influence)
    value = factor * (mu - 2.0 * gl.value - g.value * mu) / m
    if not influence:
        return Estimate(value)
    u_mu = (s.y - mu) / big_n
    u = factor * ((1.0 - g.value) * u_mu - 2.0 * gl.influence - mu * g.influence) / m
    u -= value / m * quantile_influence(s, 0.5, m)
    return Estimate(value, u)


def wolfson_sorted(s: SortedIncome, *, influence: bool = True, convention: str = "wolfson1994") -> Estimate:
    """Wolfson polarization index 2 (2T - G) mu / m (``convention="pysal"``: without the factor 2)."""
    if convention not in WOLFSON_CONVENTIONS:
        raise ValueError(f"Wolfson convention must be one of {WOLFSON_CONVENTIONS}, got {convention!r}")
    return _wolfson_core(s, 2.0 if convention == "wolfson1994" else 1.0, influence)


def foster_wolfson_sorted(s: SortedIncome, *, influence: bool = True) -> Estimate:
    """Foster-Wolfson polarization (2T - G) mu / m (Kovacevic-Binder 1997, convey ``svyfwp``)."""
    return _wolfson_core(s, 1.0, influence)


def wolfson(y, w=None, *, convention: str = "wolfson1994") -> float:
    """Wolfson bipolarization index W = 2 (2T - G) mu / m, T = 0.5 - L(0.5).

    >>> round(wolfson([6, 6, 8, 8, 10, 10, 12, 12]), 6)   # PySAL doc example 0.0833 x 2
    0.166667
    """
    return wolfson_sorted(as_sorted(y, w), influence=False, convention=convention).value


def foster_wolfson(y, w=None) -> float:
    """Foster-Wolfson polarization (2T - G) mu / m (equals PySAL ``inequality.wolfson``)."""
    return foster_wolfson_sorted(as_sorted(y, w), influence=False).value


# ------------------------------------------------------------------------------- Esteban-Ray
def _check_er_alpha(alpha) -> float:
    a = float(alpha)
    if not np.isfinite(a) or not 0 <= a <= 1.6:
        raise ValueError(f"the Esteban-Ray parameter alpha must lie in [0, 1.6] (DER use 0.25-1), got {alpha!r}")
    return a


class _EpanechnikovWindows:
    """Windows |y_i - y_j| < h over sorted incomes, prepared once and reused for several weight vectors.

    Incomes are cut into blocks of width h; every window meets at most three blocks, whose partial sums
    of v, v d, v d^2 (d the offset inside the block, in [0, 1)) come from cumulative sums, so no
    quantity far larger than the result is ever subtracted. Evaluation runs in chunks to bound memory.
    """

    _CHUNK = 1 << 20

    def __init__(self, y: np.ndarray, h: float):
        self.h = float(h)
        t = (y - y[0]) / self.h
        blk = np.floor(t).astype(np.int64)
        self.d = t - blk
        self.blk = blk
        step = np.diff(blk) != 0
        change = np.flatnonzero(step) + 1
        self.starts = np.concatenate(([0], change))
        self.ends = np.concatenate((change, [y.size]))
        self.ublk = blk[self.starts]
        self.k = np.concatenate(([0], np.cumsum(step)))  # block index of each unit
        self.lo = np.searchsorted(t, t - 1.0, side="right")
        self.hi = np.searchsorted(t, t + 1.0, side="left")

    def sums(self, v: np.ndarray) -> np.ndarray:
        """sum_j v_j K((y_i - y_j)/h) / h for every i, K(u) = 0.75 (1 - u^2) on |u| < 1."""
        d = self.d
        pref = [np.concatenate(([0.0], np.cumsum(v * d**p))) for p in (0, 1, 2)]
        out = np.empty(d.size)
        last = self.ublk.size - 1
        for c0 in range(0, d.size, self._CHUNK):
            sl = slice(c0, min(c0 + self._CHUNK, d.size))
            k, blk, dc, lo, hi = self.k[sl], self.blk[sl], d[sl], self.lo[sl], self.hi[sl]
            total0 = np.zeros(dc.size)
            quad = np.zeros(dc.size)
            for off in (-1, 0, 1):
                kk = np.clip(k + off, 0, last)
                a0 = np.maximum(lo, self.starts[kk])
                a1 = np.maximum(np.minimum(hi, self.ends[kk]), a0)
                a1 = np.where(self.ublk[kk] == blk + off, a1, a0)
                s0, s1, s2 = (pr[a1] - pr[a0] for pr in pref)
                e = dc - off  # t_i - (start of block blk_i + off)
                total0 += s0
                quad += e * e * s0 - 2.0 * e * s1 + s2
            out[sl] = 0.75 * (total0 - quad) / self.h
        return out


def epanechnikov_sums(y: np.ndarray, v: np.ndarray, h: float) -> np.ndarray:
    """For sorted y: sum_j v_j K((y_i - y_j)/h) / h, K(u) = 0.75 (1 - u^2) on |u| < 1, for every i.

    Exact in O(n log n) (see :class:`_EpanechnikovWindows`).
    """
    return _EpanechnikovWindows(y, h).sums(v)


def _mean_abs_diff(s: SortedIncome, v: np.ndarray) -> np.ndarray:
    """sum_j v_j |y_i - y_j| for every sorted unit i (weights v in sorted order), via cumulative sums."""
    cv = np.cumsum(v)
    cvy = np.cumsum(v * s.y)
    return s.y * (2.0 * cv - v - cv[-1]) - 2.0 * cvy + v * s.y + cvy[-1]


def esteban_ray_bandwidth(s: SortedIncome, alpha: float) -> float:
    """DER (2004) rule h = 4.7 n^(-1/2) sigma alpha^0.1, converted to the Epanechnikov kernel."""
    mu = float(np.dot(s.w, s.y)) / s.total
    sigma = float(np.sqrt(np.dot(s.w, (s.y - mu) ** 2) / s.total))
    return _EPANECHNIKOV_FROM_GAUSSIAN * 4.7 * s.n**-0.5 * sigma * max(alpha, 1e-300) ** 0.1


def esteban_ray_sorted(
    s: SortedIncome, alpha: float = 1.0, *, influence: bool = True, bandwidth: float | None = None
) -> Estimate:
    """Esteban-Ray polarization (Duclos-Esteban-Ray microdata form), normalised by mu^(1-alpha)."""
    a = _check_er_alpha(alpha)
    big_n = s.total
    mu = float(np.dot(s.w, s.y)) / big_n
    if not mu > 0:
        raise ValueError("Esteban-Ray polarization needs a positive mean income")
    abs_diff = _mean_abs_diff(s, s.w) / big_n  # a_i
    if a == 0:
        f_a = np.ones(s.n)
        f = None
    else:
        h = esteban_ray_bandwidth(s, a) if bandwidth is None else float(bandwidth)
        if not h > 0:
            raise ValueError("Esteban-Ray needs a positive bandwidth (are all incomes equal?)")
        windows = _EpanechnikovWindows(s.y, h)
        f = windows.sums(s.w) / big_n
        f_a = f**a
    p = float(np.dot(s.w, f_a * abs_diff)) / big_n
    scale = mu ** (a - 1.0)
    value = p * scale
    if not influence:
        return Estimate(value)
    c = _mean_abs_diff(s, s.w * f_a) / big_n
    u_p = f_a * abs_diff + c - (2.0 + a) * p
    if a > 0:
        u_p += a * windows.sums(s.w * f ** (a - 1.0) * abs_diff) / big_n
    u = scale * u_p / big_n + (a - 1.0) * value * (s.y - mu) / (big_n * mu)
    return Estimate(value, u)


def esteban_ray(y, w=None, alpha: float = 1.0, *, bandwidth: float | None = None) -> float:
    """Esteban-Ray polarization of microdata (DER form, see module docstring); alpha = 0 gives 2 x Gini."""
    return esteban_ray_sorted(as_sorted(y, w), alpha, influence=False, bandwidth=bandwidth).value


def esteban_ray_groups(means, shares, alpha: float = 1.0, *, normalize: bool = True) -> float:
    """Esteban-Ray (1994) polarization of given groups: sum_ij pi_i^(1+alpha) pi_j |mu_i - mu_j|
    (divided by the overall mean when ``normalize``), pi the population shares (rescaled to sum to 1).

    >>> esteban_ray_groups([1, 3], [0.5, 0.5], alpha=1)   # 2 x .5^2 x .5 x 2 / 2
    0.25
    """
    a = _check_er_alpha(alpha)
    mu_g = np.asarray(means, dtype=np.float64)
    pi = np.asarray(shares, dtype=np.float64)
    if mu_g.shape != pi.shape or mu_g.ndim != 1 or mu_g.size == 0:
        raise ValueError("group means and shares must be 1-D arrays of the same, non-zero length")
    if np.any(pi < 0) or not pi.sum() > 0:
        raise ValueError("group population shares must be >= 0 with a positive sum")
    pi = pi / pi.sum()
    s = as_sorted(mu_g, pi)
    value = float(np.dot(s.w ** (1.0 + a), _mean_abs_diff(s, s.w)))
    if normalize:
        value /= float(np.dot(pi, mu_g))
    return value
