"""Income polarization: Wolfson, Foster-Wolfson and Esteban-Ray, weighted, with linearized variables.

Wolfson (1994) and Foster-Wolfson. With mu the mean, m the median (eurostat convention), G the Gini
(laeken convention) and L(0.5) the Lorenz ordinate at half the population (linear interpolation of
the weighted Lorenz curve, exact for a discrete distribution), T = 0.5 - L(0.5):

    Wolfson          W  = 2 (2T - G) mu / m    (Wolfson 1994; World Bank PIP: 2 (mu (1-G) - mu_b50) / m)
    Foster-Wolfson   FW = (2T - G) mu / m = W / 2   (Foster & Wolfson 1992/2010 as estimated by
                                                    Kovacevic & Binder 1997 and R convey ``svyfwp``)

PySAL ``inequality.wolfson`` computes FW (no factor 2): ``wolfson(..., convention="pysal")`` gives it.
World Bank wbpip (PIP) uses the same formula with its own median (the unit holding the 50th
percentile) and mean of the poorer half (the units strictly below that median):
``convention="wbpip"`` (:mod:`prosperity.measures.wbpip_md`; 0.3343335 on 1..2000 where the default
gives 0.3331669).
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

from functools import lru_cache

import numpy as np

from . import blockwise
from .estimate import Estimate, SortedIncome, as_sorted, income_total, vdot
from .gini import gini_sorted
from .quantiles import kernel_density_at, quantile_sorted
from ..compiled import njit

WOLFSON_CONVENTIONS = ("wolfson1994", "pysal", "wbpip")
_EPANECHNIKOV_FROM_GAUSSIAN = 15 ** 0.2 / (4 * np.pi) ** -0.1


# ------------------------------------------------------------------------------------ Wolfson
def generalized_lorenz_at(s: SortedIncome, p: float, influence: bool = True) -> Estimate:
    """GL(p) = (1/N) x income of the poorest p of the population (boundary unit split), with u."""
    big_n = s.total
    target = p * big_n
    k = min(int(np.searchsorted(s.cumw, target, side="left")), s.n - 1)
    q = float(s.y[k])
    before = float(s.cumw[k - 1]) if k else 0.0
    ycum_before = float(vdot(s.w[:k], s.y[:k]))
    gl = (ycum_before + q * (target - before)) / big_n
    if not influence:
        return Estimate(gl)
    u = np.full(s.n, q * p - gl)
    u[:k] += s.y[:k] - q
    return Estimate(gl, u / big_n)


def _wolfson_core(s: SortedIncome, factor: float, influence: bool) -> Estimate:
    big_n = s.total
    mu = income_total(s) / big_n
    m = quantile_sorted(s, 0.5, "eurostat")
    if not m > 0:
        raise ValueError(f"the Wolfson index needs a positive median, got {m:g}")
    g = gini_sorted(s, influence)
    gl = generalized_lorenz_at(s, 0.5, influence=False)
    value = factor * (mu - 2.0 * gl.value - g.value * mu) / m
    if not influence:
        return Estimate(value)
    # u = factor ((1 - G) u_mu - 2 u_GL - mu u_G) / m - (value / m) u_m, written into u_G's array block
    # by block: u_mu = (y - mu) / N, u_GL = (y 1{i < k} + q (p - 1{i < k}) - GL) / N (k, q: the unit
    # holding the p-th weight), u_m = -(1{y <= m} - 1/2) / (N f(m)): both are piecewise in i.
    p = 0.5
    k = min(int(np.searchsorted(s.cumw, p * big_n, side="left")), s.n - 1)
    q = float(s.y[k])
    km = int(np.searchsorted(s.y, m, side="right"))
    scale_m = big_n * kernel_density_at(s, m)
    c_mu, c_gl, c_g, c_m = factor * (1.0 - g.value) / (m * big_n), 2.0 * factor / (m * big_n), factor * mu / m, value / m
    u = g.influence
    for lo, hi in _pieces(s.n, k, km):
        below_k = hi <= k
        gl_const = q * p - gl.value - (q if below_k else 0.0)  # u_GL N = gl_const + y 1{i < k}
        um = ((p - 1.0) if hi <= km else p) / scale_m
        off = c_mu * mu + c_gl * gl_const + c_m * um  # the constant part
        c_y = c_mu - (c_gl if below_k else 0.0)  # the coefficient of y
        blockwise.fill(u[lo:hi], lambda ug, yb: yb * c_y - off - ug * c_g, u[lo:hi], s.y[lo:hi])
    return Estimate(value, u)


def _pieces(n: int, *cuts: int):
    """Consecutive non-empty ranges [lo, hi) of range(n) split at every cut."""
    edges = sorted({0, n, *(min(max(c, 0), n) for c in cuts)})
    return [(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def wolfson_sorted(s: SortedIncome, *, influence: bool = True, convention: str = "wolfson1994") -> Estimate:
    """Wolfson polarization index 2 (2T - G) mu / m (``convention="pysal"``: without the factor 2;
    ``"wbpip"``: World Bank wbpip's 2 ((1 - G) mu - mu_b) / m with its median and mu_b the mean below it,
    see :mod:`prosperity.measures.wbpip_md`)."""
    if convention not in WOLFSON_CONVENTIONS:
        raise ValueError(f"Wolfson convention must be one of {WOLFSON_CONVENTIONS}, got {convention!r}")
    if convention == "wbpip":
        from .wbpip_md import wolfson_sorted as _wbpip_wolfson

        return _wbpip_wolfson(s, influence=influence)
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


def epanechnikov_sums(y: np.ndarray, v: np.ndarray, h: float, *, engine: str = "auto") -> np.ndarray:
    """For sorted y: sum_j v_j K((y_i - y_j)/h) / h, K(u) = 0.75 (1 - u^2) on |u| < 1, for every i.

    Exact in O(n log n) (see :class:`_EpanechnikovWindows`); with numba (``engine="auto"`` from
    ``NUMBA_MIN_ROWS`` units, or ``"numba"``) one O(n) pass over the same blocks (see :func:`_numba_kernels`).
    """
    y = np.asarray(y, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    kernels = _kernels_for(y.size, engine)
    if kernels is not None:
        out = np.empty(y.size)
        kernels[0](y, float(h), v, np.ones(1), _NONE, out, _NONE)
        return out
    return _EpanechnikovWindows(y, h).sums(v)


def _mean_abs_diff(s: SortedIncome, v: np.ndarray) -> np.ndarray:
    """sum_j v_j |y_i - y_j| for every sorted unit i (weights v in sorted order), via cumulative sums."""
    cv = np.cumsum(v)
    cvy = np.cumsum(v * s.y)
    return s.y * (2.0 * cv - v - cv[-1]) - 2.0 * cvy + v * s.y + cvy[-1]


# ---------------------------------------------------------------------- compiled kernels (numba)
# From this many units the compiled kernels replace the NumPy ones when numba is installed (compiling
# takes ~1 s once per process). PROSPERITY_NO_NUMBA=1 disables them. No on-disk cache (see decompose).
NUMBA_MIN_ROWS = 1 << 16
_NONE = np.empty(0)
ER_ENGINES = ("auto", "numba", "numpy")


def _kernels_for(n: int, engine: str):
    if engine not in ER_ENGINES:
        raise ValueError(f"engine must be one of {ER_ENGINES}, got {engine!r}")
    if engine == "numpy" or (engine == "auto" and n < NUMBA_MIN_ROWS):
        return None
    kernels = _numba_kernels()
    if kernels is None and engine == "numba":
        raise RuntimeError("engine='numba' but numba is not installed (pip install numba) or PROSPERITY_NO_NUMBA is set")
    return kernels


@lru_cache(maxsize=1)
def _numba_kernels():
    """(window_sums, abs_diff_sums) compiled with numba, or None without numba.

    ``window_sums(y, h, a, b, c, out, out2)``: out_i = sum_j a_j b_j K((y_i - y_j)/h) / h over sorted y
    (``b`` of length 1: the constant b_0), in one pass; with a non-empty ``c`` also
    out2_i = sum_j a_j b_j c_j K((y_i - y_j)/h) / h in the same pass. Incomes are cut into blocks of width h (t = (y - y_1)/h, block floor(t), offset d = t - block
    in [0, 1)); the window of a unit in block B is all of B, the units of block B - 1 with larger
    offset and those of block B + 1 with smaller offset. Block totals of v, v d, v d^2 come first;
    two pointers then walk the neighbour blocks, whose partial sums are running sums inside one block,
    so every sum is of terms of one block only (more accurate than global prefix sums).

    ``abs_diff_sums(y, a, b, out)``: out_i = sum_j a_j b_j |y_i - y_j|, the cumulative-sum formula of
    :func:`_mean_abs_diff` in one pass (same operations in the same order).
    """
    jit = njit()
    if jit is None:
        return None

    @jit
    def window_sums(y, h, a, b, c, out, out2):  # pragma: no cover - compiled
        n = y.size
        y0 = y[0]
        vec = b.size > 1
        ih = 1.0 / h  # t = (y - y_1) / h as a product: the blocks only need to be consistent
        two = c.size > 0  # also out2_i = sum_j a_j b_j c_j K((y_i - y_j)/h) / h, in the same pass
        # pass 1: blocks (number, start) and their totals of v, v d, v d^2
        nb = 1
        prev = np.floor((y[0] - y0) * ih)
        for i in range(1, n):
            bi = np.floor((y[i] - y0) * ih)
            if bi != prev:
                nb += 1
                prev = bi
        bnum = np.empty(nb, dtype=np.float64)
        bstart = np.empty(nb + 1, dtype=np.int64)
        tot = np.zeros((nb, 6))
        k = -1
        prev = -1.0
        for i in range(n):
            t = (y[i] - y0) * ih
            bi = np.floor(t)
            if k < 0 or bi != prev:
                k += 1
                bnum[k] = bi
                bstart[k] = i
                prev = bi
            d = t - bi
            v = a[i] * (b[i] if vec else b[0])
            tot[k, 0] += v
            tot[k, 1] += v * d
            tot[k, 2] += v * d * d
            if two:
                v = v * c[i]
                tot[k, 3] += v
                tot[k, 4] += v * d
                tot[k, 5] += v * d * d
        bstart[nb] = n
        # pass 2: every unit's window
        for k in range(nb):
            B = bnum[k]
            m0, m1, m2, n0, n1, n2 = tot[k, 0], tot[k, 1], tot[k, 2], tot[k, 3], tot[k, 4], tot[k, 5]
            has_left = k > 0 and bnum[k - 1] == B - 1.0
            has_right = k + 1 < nb and bnum[k + 1] == B + 1.0
            if has_left:
                l0, l1, l2 = tot[k - 1, 0], tot[k - 1, 1], tot[k - 1, 2]
                g0, g1, g2 = tot[k - 1, 3], tot[k - 1, 4], tot[k - 1, 5]
                lo, lo_end = bstart[k - 1], bstart[k]
            else:
                l0 = l1 = l2 = g0 = g1 = g2 = 0.0
                lo = lo_end = 0
            r0 = r1 = r2 = s0 = s1 = s2 = 0.0
            if has_right:
                hi, hi_end = bstart[k + 1], bstart[k + 2]
            else:
                hi = hi_end = 0
            for i in range(bstart[k], bstart[k + 1]):
                t = (y[i] - y0) * ih
                e = t - B
                lim = t - 1.0
                while lo < lo_end:  # leave the left window: t_j <= t_i - 1
                    tj = (y[lo] - y0) * ih
                    if tj > lim:
                        break
                    dj = tj - (B - 1.0)
                    v = a[lo] * (b[lo] if vec else b[0])
                    l0 -= v
                    l1 -= v * dj
                    l2 -= v * dj * dj
                    if two:
                        v = v * c[lo]
                        g0 -= v
                        g1 -= v * dj
                        g2 -= v * dj * dj
                    lo += 1
                lim = t + 1.0
                while hi < hi_end:  # enter the right window: t_j < t_i + 1
                    tj = (y[hi] - y0) * ih
                    if tj >= lim:
                        break
                    dj = tj - (B + 1.0)
                    v = a[hi] * (b[hi] if vec else b[0])
                    r0 += v
                    r1 += v * dj
                    r2 += v * dj * dj
                    if two:
                        v = v * c[hi]
                        s0 += v
                        s1 += v * dj
                        s2 += v * dj * dj
                    hi += 1
                if has_left and lo == lo_end:
                    l0 = l1 = l2 = g0 = g1 = g2 = 0.0  # exact zero once the left block is left entirely
                el = e + 1.0
                er = e - 1.0
                quad = (e * e * m0 - 2.0 * e * m1 + m2) + (el * el * l0 - 2.0 * el * l1 + l2) \
                    + (er * er * r0 - 2.0 * er * r1 + r2)
                out[i] = 0.75 * ((m0 + l0 + r0) - quad) / h
                if two:
                    quad = (e * e * n0 - 2.0 * e * n1 + n2) + (el * el * g0 - 2.0 * el * g1 + g2) \
                        + (er * er * s0 - 2.0 * er * s1 + s2)
                    out2[i] = 0.75 * ((n0 + g0 + s0) - quad) / h
        return out

    @jit
    def abs_diff_sums(y, a, b, out):  # pragma: no cover - compiled
        n = y.size
        vec = b.size > 1
        cv_tot = 0.0
        cvy_tot = 0.0
        for i in range(n):
            v = a[i] * (b[i] if vec else b[0])
            cv_tot += v
            cvy_tot += v * y[i]
        cv = 0.0
        cvy = 0.0
        for i in range(n):
            v = a[i] * (b[i] if vec else b[0])
            vy = v * y[i]
            cv += v
            cvy += vy
            out[i] = y[i] * (2.0 * cv - v - cv_tot) - 2.0 * cvy + vy + cvy_tot
        return out

    return window_sums, abs_diff_sums


ER_SIGMA_NOISE = 1e-13  # sigma / mu at or below this: equal incomes up to rounding (esteban_ray_bandwidth)


def esteban_ray_bandwidth(s: SortedIncome, alpha: float) -> float:
    """DER (2004) rule h = 4.7 n^(-1/2) sigma alpha^0.1, converted to the Epanechnikov kernel.

    A standard deviation of at most ``ER_SIGMA_NOISE`` times the mean is the rounding of equal incomes
    (sigma of n equal incomes comes out ~1e-16 mu, not 0): the bandwidth is then 0 and the measure is
    refused, rather than a kernel of width ~1e-16 mu that gives a meaningless value."""
    mu = income_total(s) / s.total
    sigma = float(np.sqrt(vdot(s.w, (s.y - mu) ** 2) / s.total))
    if sigma <= ER_SIGMA_NOISE * abs(mu):
        sigma = 0.0
    return _EPANECHNIKOV_FROM_GAUSSIAN * 4.7 * s.n**-0.5 * sigma * max(alpha, 1e-300) ** 0.1


def esteban_ray_sorted(
    s: SortedIncome, alpha: float = 1.0, *, influence: bool = True, bandwidth: float | None = None,
    engine: str = "auto",
) -> Estimate:
    """Esteban-Ray polarization (Duclos-Esteban-Ray microdata form), normalised by mu^(1-alpha).

    ``engine``: ``"auto"`` (compiled one-pass kernels when numba is installed and n >=
    ``NUMBA_MIN_ROWS``), ``"numba"`` or ``"numpy"``; both give the same numbers (to rounding).
    """
    a = _check_er_alpha(alpha)
    big_n = s.total
    mu = income_total(s) / big_n
    if not mu > 0:
        raise ValueError("Esteban-Ray polarization needs a positive mean income")
    h = None
    if a != 0:
        h = esteban_ray_bandwidth(s, a) if bandwidth is None else float(bandwidth)
        if not h > 0:
            raise ValueError("Esteban-Ray needs a positive bandwidth (are all incomes equal?)")
    kernels = _kernels_for(s.n, engine)
    if kernels is not None:
        return _esteban_ray_compiled(s, a, h, mu, influence, *kernels)
    abs_diff = _mean_abs_diff(s, s.w) / big_n  # a_i
    if a == 0:
        f_a = np.ones(s.n)
        f = None
    else:
        windows = _EpanechnikovWindows(s.y, h)
        f = windows.sums(s.w) / big_n
        f_a = f**a
    p = float(vdot(s.w, f_a * abs_diff)) / big_n
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


def _esteban_ray_compiled(s: SortedIncome, a: float, h, mu: float, influence: bool, window_sums, abs_diff_sums) -> Estimate:
    """The NumPy path's formulas with the compiled kernels and four full-length buffers at most."""
    big_n, y, w = s.total, s.y, s.w
    one = np.ones(1)
    abs_diff = abs_diff_sums(y, w, one, np.empty(s.n))
    abs_diff /= big_n
    g = None
    if a == 0:
        f = f_a = np.ones(s.n)
    elif a == 1 and influence:  # f^(a-1) = 1: both window sums (of w and of w a_i) in one pass
        f, g = np.empty(s.n), np.empty(s.n)
        window_sums(y, h, w, one, abs_diff, f, g)
        f /= big_n
        f_a = f
    else:
        f = window_sums(y, h, w, one, _NONE, np.empty(s.n), _NONE)
        f /= big_n
        f_a = f if a == 1 else f**a
    p = blockwise.weighted_sum(w, np.multiply, f_a, abs_diff) / big_n
    scale = mu ** (a - 1.0)
    value = p * scale
    if not influence:
        return Estimate(value)
    u = abs_diff_sums(y, w, f_a, np.empty(s.n))
    u /= big_n
    k = (2.0 + a) * p
    blockwise.fill(u, lambda fa, ad, c: fa * ad + c - k, f_a, abs_diff, u)
    if a > 0:
        if g is None:
            wf = w * f ** (a - 1.0)
            del f_a
            g = window_sums(y, h, wf, abs_diff, _NONE, f, _NONE)  # f is no longer needed: its buffer takes g
            del wf
        del abs_diff
        g *= a
        g /= big_n
        u += g
        del g, f
    k2 = (a - 1.0) * value
    blockwise.fill(u, lambda up, yy: scale * up / big_n + k2 * (yy - mu) / (big_n * mu), u, y)
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
    value = float(vdot(s.w ** (1.0 + a), _mean_abs_diff(s, s.w)))
    if normalize:
        value /= float(vdot(pi, mu_g))
    return value
