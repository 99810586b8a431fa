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

import numpy as np

from .hierarchy import Hierarchy, nesting_error_at_row
from ..compiled import lazily_compiled

CHUNK = 1 << 15
PARALLEL_MIN_ROWS = 1 << 20
NUMBA_MIN_ROWS = 1 << 18  # below this NumPy is fast enough and no compilation (~1 s) is paid


@dataclass(frozen=True, eq=False)
class LeafMoments:
    """Sums by lowest-level unit: ``weight`` N_l, ``income`` Y_l, ``power`` M_l (see module doc)."""

    alpha: float
    weight: np.ndarray
    income: np.ndarray
    power: np.ndarray
    parent_of_leaf: np.ndarray  # (n_leaf, depth - 1): code at each coarser level, -1 if absent
    present: np.ndarray  # leaf has at least one row


def _usable_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


@lazily_compiled
def _numba_scatter(leaf, parents, y, w, weighted, f, times_y, lo, hi, sums, tab, seen):  # pragma: no cover
    """Rows lo..hi: sums[l] += (w, w y, w f or w y f); tab[l] = coarser codes of the first row of l.
    Returns the first row whose coarser codes disagree with its unit's first row, or -1."""
    bad = -1
    p = len(parents)
    for i in range(lo, hi):
        l = leaf[i]
        wi = w[i] if weighted else 1.0
        wy = wi * y[i]
        fi = f[i - lo]
        sums[l, 0] += wi
        sums[l, 1] += wy
        sums[l, 2] += wy * fi if times_y else wi * fi
        if seen[l]:
            for j in range(p):
                if tab[l, j] != parents[j][i]:
                    if bad < 0:
                        bad = i
        else:
            seen[l] = True
            for j in range(p):
                tab[l, j] = parents[j][i]
    return bad


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
        return f"income at data row {offset + i + 1} ({float(v)!r}) {why}"
    if w is not None:
        bad_w = ~np.isfinite(w) | (w < 0)
        if bad_w.any():
            i = int(np.flatnonzero(bad_w)[0])
            return f"{what_w} at data row {offset + i + 1} ({float(w[i])!r}) must be a finite number >= 0"
    return None


def ge_term(y, alpha: float, out: np.ndarray, has_zero: bool) -> np.ndarray:
    """f(y) without the weight: log y (alpha in {0, 1}; 0 where y = 0 for Theil) or y^alpha."""
    if alpha in (0.0, 1.0):
        if has_zero:
            out[:] = 0.0  # Theil: 0 log 0 = 0 (zeros are rejected earlier for alpha <= 0)
            np.log(y, out=out, where=y > 0)
        else:
            np.log(y, out=out)
    else:
        np.power(y, alpha, out=out)
    return out


def _locate_problem(y, w, alpha: float, chunk: int) -> str | None:
    for s in range(0, y.shape[0], chunk):
        msg = _row_problem(y[s:s + chunk], None if w is None else w[s:s + chunk], s, alpha)
        if msg:
            return msg
    return None


def _screen(y, w, s: int, e: int, alpha: float):
    """Cheap in-cache screening of a chunk (NaN fails both tests; +inf is caught by the final sums);
    the exact row is located only when something is wrong. Returns the chunk's smallest income."""
    ymin = y[s:e].min()
    if not (ymin > 0 or (ymin == 0 and alpha > 0)) or (w is not None and not w[s:e].min() >= 0):
        msg = _row_problem(y[s:e], None if w is None else w[s:e], s, alpha)
        if msg:
            raise ValueError(msg)
    return ymin


def leaf_moments(y: np.ndarray, w: np.ndarray | None, h: Hierarchy, alpha: float, *, engine: str = "auto",
                 chunk: int = CHUNK, threads: int | None = None) -> LeafMoments:
    """Sums N_l, Y_l, M_l by lowest-level unit in one chunked pass, checking the nesting of every row.

    ``engine``: ``"auto"`` (numba if installed and at least ``NUMBA_MIN_ROWS`` rows), ``"numba"`` or
    ``"numpy"``. With numba, data of at
    least ``PARALLEL_MIN_ROWS`` rows are split into ``threads`` parts (default: the cores this
    process may use) whose tables are merged (the nesting check then also compares the parts).
    Pass ``threads=1`` on a machine whose cores are busy with other work.
    """
    if threads is None:
        threads = _usable_cores()
    y = np.asarray(y, dtype=np.float64)
    n = y.shape[0]
    if n == 0:
        raise ValueError("no observations: incomes are empty")
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
    if engine == "numba" or (engine == "auto" and n >= NUMBA_MIN_ROWS):
        scatter = _numba_scatter()
        if scatter is None and engine == "numba":
            raise RuntimeError("engine='numba' but numba is not installed (pip install numba)")
    elif engine not in ("numpy", "auto"):
        raise ValueError(f"engine must be 'auto', 'numba' or 'numpy', got {engine!r}")

    times_y = alpha == 1.0
    if scatter is not None:
        # one dtype for every code column (numba indexes a homogeneous tuple); a single level checks
        # itself against itself
        cols = tuple(parent_cols) if p else (leaf_codes,)
        dt = np.result_type(leaf_codes.dtype, *[c.dtype for c in cols])
        leaf_arr = leaf_codes.astype(dt, copy=False)
        cols = tuple(c.astype(dt, copy=False) for c in cols)
        width = max(p, 1)

        def part(lo: int, hi: int):
            sums = np.zeros((n_leaf, 3))
            tab = np.full((n_leaf, width), -1, dtype=np.int64)
            seen = np.zeros(n_leaf, dtype=np.bool_)
            f_buf = np.empty(min(chunk, hi - lo))
            for s in range(lo, hi, chunk):
                e = min(hi, s + chunk)
                yc = y[s:e]
                ymin = _screen(y, w, s, e, alpha)
                fc = ge_term(yc, alpha, f_buf[: e - s], ymin == 0)
                bad = scatter(leaf_arr, cols, y, y if w is None else w, w is not None, fc, times_y, s, e, sums, tab,
                              seen)
                if bad >= 0:
                    return sums, tab, seen, int(bad)
            return sums, tab, seen, -1

        n_parts = threads if n >= PARALLEL_MIN_ROWS else 1
        bounds = [n * t // n_parts for t in range(n_parts + 1)]
        if n_parts == 1:
            parts = [part(0, n)]
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(n_parts) as ex:  # numpy and the compiled loop release the GIL
                parts = list(ex.map(lambda t: part(bounds[t], bounds[t + 1]), range(n_parts)))
        sums, tab, seen, bad = parts[0]
        if bad >= 0:
            raise nesting_error_at_row(h, bad, tab)
        for t in range(1, n_parts):
            s2, tab2, seen2, bad2 = parts[t]
            both = np.flatnonzero(seen & seen2)
            clash = both[(tab[both] != tab2[both]).any(axis=1)]
            if clash.size or bad2 >= 0:
                # locate the first offending row of this part against the merged table
                rows_lo = bounds[t]
                cand = []
                if clash.size:
                    is_clash = np.zeros(n_leaf, dtype=bool)
                    is_clash[clash] = True
                    cand.append(rows_lo + int(np.flatnonzero(is_clash[leaf_codes[rows_lo:bounds[t + 1]]])[0]))
                if bad2 >= 0:
                    cand.append(bad2)
                raise nesting_error_at_row(h, min(cand), np.where(seen[:, None], tab, tab2))
            sums += s2
            new = seen2 & ~seen
            tab[new] = tab2[new]
            seen |= seen2
    else:
        sums = np.zeros((n_leaf, 3))
        tab = np.full((n_leaf, max(p, 1)), -1, dtype=np.int64)
        seen = np.zeros(n_leaf, dtype=np.bool_)
        f_buf = np.empty(min(chunk, n))
        for s in range(0, n, chunk):
            e = min(n, s + chunk)
            yc = y[s:e]
            ymin = _screen(y, w, s, e, alpha)
            fc = ge_term(yc, alpha, f_buf[: e - s], ymin == 0)
            lc = leaf_codes[s:e]
            wv = w[s:e] if w is not None else None
            wy = yc * wv if wv is not None else yc
            sums[:, 0] += np.bincount(lc, weights=wv, minlength=n_leaf)
            sums[:, 1] += np.bincount(lc, weights=wy, minlength=n_leaf)
            sums[:, 2] += np.bincount(lc, weights=fc * (wy if times_y else (wv if wv is not None else 1.0)),
                                      minlength=n_leaf)
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
    if not np.isfinite(sums).all():
        raise ValueError(_locate_problem(y, w, alpha, chunk) or "the sums overflowed: rescale the incomes")
    if p == 0:
        tab = tab[:, :0]
    return LeafMoments(alpha, sums[:, 0].copy(), sums[:, 1].copy(), sums[:, 2].copy(), tab[:, :p], seen)
