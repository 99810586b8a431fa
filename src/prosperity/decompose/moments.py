"""One pass over the rows: weighted sums by lowest-level unit, with the nesting check on the way.

For generalized entropy GE(alpha) every decomposition needs, per lowest-level unit l,

    N_l = sum w,    Y_l = sum w y,    M_l = sum w f(y),

with f(y) = y log y (alpha = 1, Theil T), log y (alpha = 0, MLD) or y^alpha. Everything above the
lowest level is a sum of these small tables, so the rows are read once. Rows are processed in
cache-sized chunks: NumPy computes f(y) for the chunk (SIMD ``log``/``power``) and a small compiled
scatter loop (numba, when installed) adds the three columns into the unit tables while checking that
the unit's coarser codes agree with the first row seen for it. Without numba the same chunks go
through ``numpy.bincount`` and a gather/compare per level (same results, slower).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .hierarchy import Hierarchy, nesting_error_at_row

CHUNK = 1 << 15


@dataclass(frozen=True, eq=False)
class LeafMoments:
    """Sums by lowest-level unit: ``weight`` N_l, ``income`` Y_l, ``power`` M_l (see module doc)."""

    alpha: float
    weight: np.ndarray
    income: np.ndarray
    power: np.ndarray
    parent_of_leaf: np.ndarray  # (n_leaf, depth - 1): code at each coarser level, -1 if absent
    present: np.ndarray  # leaf has at least one row


@lru_cache(maxsize=1)
def _numba_scatter():
    """Compile (once, cached on disk) the scatter-and-check loop; None if numba is unavailable."""
    if os.environ.get("PROSPERITY_NO_NUMBA"):
        return None
    try:
        import numba
    except ImportError:
        return None

    @numba.njit(cache=True, nogil=True)
    def scatter(leaf, parents, w, wy, stat, sums, tab, seen, offset):  # pragma: no cover (compiled)
        bad = -1
        p = parents.shape[0]
        for i in range(leaf.shape[0]):
            l = leaf[i]
            sums[l, 0] += w[i]
            sums[l, 1] += wy[i]
            sums[l, 2] += stat[i]
            if seen[l]:
                for j in range(p):
                    if tab[l, j] != parents[j, i]:
                        if bad < 0:
                            bad = offset + i
            else:
                seen[l] = True
                for j in range(p):
                    tab[l, j] = parents[j, i]
        return bad

    return scatter


def _row_problem(y, w, offset: int, alpha: float, what_w: str = "weight") -> str | None:
    """Return a message naming the first bad row of a chunk, or None."""
    bad_y = ~np.isfinite(y) | (y < 0) | ((y == 0) & (alpha <= 0))
    if bad_y.any():
        i = int(np.flatnonzero(bad_y)[0])
        v = y[i]
        if not np.isfinite(v):
            why = "is not a finite number"
        elif v < 0:
            why = "is negative; generalized entropy needs incomes >= 0"
        else:
            why = f"is 0; GE(alpha={alpha:g}) needs positive incomes (use Theil T, alpha=1, or drop/bottom-code zeros)"
        return f"income at row {offset + i} ({float(v)!r}) {why}"
    if w is not None:
        bad_w = ~np.isfinite(w) | (w < 0)
        if bad_w.any():
            i = int(np.flatnonzero(bad_w)[0])
            return f"{what_w} at row {offset + i} ({float(w[i])!r}) must be a finite number >= 0"
    return None


def _stat(y, w, wy, alpha: float, out: np.ndarray, has_zero: bool) -> np.ndarray:
    if alpha == 1.0:
        if has_zero:
            out[:] = 0.0  # 0 log 0 = 0
            np.log(y, out=out, where=y > 0)
        else:
            np.log(y, out=out)
        np.multiply(out, wy, out=out)
    elif alpha == 0.0:
        np.log(y, out=out)
        if w is not None:
            np.multiply(out, w, out=out)
    else:
        np.power(y, alpha, out=out)
        if w is not None:
            np.multiply(out, w, out=out)
    return out


def leaf_moments(y: np.ndarray, w: np.ndarray | None, h: Hierarchy, alpha: float, *, engine: str = "auto",
                 chunk: int = CHUNK) -> LeafMoments:
    """Sums N_l, Y_l, M_l by lowest-level unit in one chunked pass, checking the nesting of every row.

    ``engine``: ``"auto"`` (numba if installed), ``"numba"`` or ``"numpy"``.
    """
    y = np.asarray(y, dtype=np.float64)
    n = y.shape[0]
    if w is not None:
        w = np.asarray(w, dtype=np.float64)
        if w.shape != y.shape:
            raise ValueError(f"weights have shape {w.shape}, incomes {y.shape}: give one weight per row")
    k = h.depth
    leaf_codes = h.codes[k - 1]
    parent_cols = h.codes[: k - 1]
    n_leaf = h.sizes[k - 1]
    p = k - 1
    scatter = None
    if engine in ("auto", "numba"):
        scatter = _numba_scatter()
        if scatter is None and engine == "numba":
            raise RuntimeError("engine='numba' but numba is not installed (pip install numba)")
    elif engine != "numpy":
        raise ValueError(f"engine must be 'auto', 'numba' or 'numpy', got {engine!r}")

    sums = np.zeros((n_leaf, 3))
    tab = np.full((n_leaf, max(p, 1)), -1, dtype=np.int64)
    seen = np.zeros(n_leaf, dtype=np.bool_)
    m_max = min(chunk, max(n, 1))
    ones = np.ones(m_max)
    wy_buf = np.empty(m_max)
    st_buf = np.empty(m_max)
    par_buf = np.empty((p, m_max), dtype=np.int64)
    for s in range(0, n, chunk):
        e = min(n, s + chunk)
        m = e - s
        yc = y[s:e]
        wc = w[s:e] if w is not None else None
        # cheap in-cache screening; the exact row is located only when something is wrong
        ymin = yc.min()
        if not (ymin > 0 or (ymin == 0 and alpha > 0)) or not np.isfinite(yc.max()) or (
            wc is not None and not (wc.min() >= 0 and np.isfinite(wc.max()))
        ):
            msg = _row_problem(yc, wc, s, alpha)
            if msg:
                raise ValueError(msg)
        wv = wc if wc is not None else ones[:m]
        wy = np.multiply(wv, yc, out=wy_buf[:m])
        st = _stat(yc, wc, wy, alpha, st_buf[:m], ymin == 0)
        lc = leaf_codes[s:e]
        if scatter is not None:
            if lc.dtype != np.int64:
                lc = lc.astype(np.int64)
            pb = par_buf[:, :m]
            for j in range(p):
                pb[j] = parent_cols[j][s:e]
            bad = scatter(lc, pb, wv, wy, st, sums, tab, seen, s)
            if bad >= 0:
                raise nesting_error_at_row(h, int(bad), tab)
        else:
            sums[:, 0] += np.bincount(lc, weights=wv, minlength=n_leaf)
            sums[:, 1] += np.bincount(lc, weights=wy, minlength=n_leaf)
            sums[:, 2] += np.bincount(lc, weights=st, minlength=n_leaf)
            for j in range(p):
                pc = parent_cols[j][s:e]
                t = tab[lc, j]
                unset = t < 0
                if unset.any():  # the first row of a new unit sets its parents
                    idx = np.flatnonzero(unset)
                    first_leaf, first = np.unique(lc[idx], return_index=True)
                    tab[first_leaf, j] = pc[idx[first]]
                    t = tab[lc, j]
                mismatch = np.flatnonzero(t != pc)
                if mismatch.size:
                    raise nesting_error_at_row(h, s + int(mismatch[0]), tab)
            seen[lc] = True
    if n == 0:
        raise ValueError("no observations: incomes are empty")
    return LeafMoments(alpha, sums[:, 0].copy(), sums[:, 1].copy(), sums[:, 2].copy(), tab[:, :p], seen)
