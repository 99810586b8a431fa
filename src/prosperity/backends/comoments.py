"""Centred co-moments per (domain, stratum) for the variance when every row is its own PSU (issue 11).

With no PSU column the with-replacement variance of a domain's estimator sums, per stratum h,
n_h/(n_h - 1) [sum_k t_k^2 - (sum_k t_k)^2 / n_h] of its linearized variable t = sum_b c_b x_b, a
combination of the bases x_b = w b 1{k in d}. The streaming passes cannot hold the rows, so they keep,
for each pair of bases (a, b) and each (domain, stratum) cell, the state (n, mean of x_a, mean of x_b,
M2 = sum (x_a - mean_a)(x_b - mean_b)) over **all** rows of the stratum (a row outside the domain has
x = 0), and combine pieces by Chan, Golub & LeVeque (1979):

    n = n_A + n_B,  delta_a = mean_a,B - mean_a,A,  mean_a = mean_a,A + delta_a n_B / n,
    M2 = M2_A + M2_B + delta_a delta_b n_A n_B / n

-- no cancellation from the means. The same rule merges a piece into the running state
(:func:`add_piece`) and the states of two partitions accumulated apart, e.g. on two Dask workers
(:func:`merge_states`); a state is a list [n, mean_a, mean_b, M2] of D x H arrays.
"""

from __future__ import annotations

import numpy as np


def cell_sums(cell: np.ndarray, x: np.ndarray, size: int, block: int = 1024, budget: int = 1 << 22) -> np.ndarray:
    """np.bincount(cell, x) summed in two levels: per block of ~``block`` consecutive rows, then the blocks'
    sums pairwise (NumPy's contiguous sum), so a co-moment of mixed-sign products over a long piece keeps
    its digits (a sequential sum's error grows with the rows); at most ``budget`` floats of block table."""
    n = cell.size
    nb = min(-(-n // block), max(1, budget // max(size, 1)))
    if nb <= 1:
        return np.bincount(cell, weights=x, minlength=size)
    blk = (np.arange(n) * nb) // n
    table = np.bincount(blk * size + cell, weights=x, minlength=nb * size).reshape(nb, size)
    return np.ascontiguousarray(table.T).sum(axis=1)


def _merge(state: list, n_b, ma, mb, m2, seen) -> None:
    """Chan's rule: the cells ``seen`` of ``state`` absorb a part with counts ``n_b``, means ``ma``,
    ``mb`` and co-moment ``m2`` (in place)."""
    n0, ma0, mb0, m20 = state
    n1 = n0 + np.where(seen, n_b, 0.0)
    f = np.where(seen, n_b / np.where(n1 > 0, n1, 1.0), 0.0)
    da, db = ma - ma0, mb - mb0
    state[3] = m20 + np.where(seen, m2 + da * db * n0 * f, 0.0)
    state[1] = ma0 + np.where(seen, da * f, 0.0)
    state[2] = mb0 + np.where(seen, db * f, 0.0)
    state[0] = n1


def add_piece(pairs: dict, key, n_domains: int, n_strata: int, dom, h, xa, xb, lo: int, hi: int, ref: bool) -> None:
    """Merge one piece into ``pairs[key]``: the co-moments of x_a 1{k in d} and x_b (1{k in d}, or every
    row when ``ref``) per (domain ``dom``, stratum ``h``) of the piece's rows, for the domains
    ``lo..hi-1`` (one layer; the piece's other rows count as x = 0 in their stratum)."""
    H = n_strata
    nb = np.bincount(h, minlength=H).astype(np.float64)
    cell = dom * H + h
    size = n_domains * H
    nb_full = np.tile(nb, n_domains)
    safe = np.where(nb_full > 0, nb_full, 1.0)
    ma = np.bincount(cell, weights=xa, minlength=size) / safe
    if ref:  # x_b on every row: its stratum mean, the same for every domain
        mbh = np.bincount(h, weights=xb, minlength=H) / np.where(nb > 0, nb, 1.0)
        mb = np.tile(mbh, n_domains)
        m2 = cell_sums(cell, xa * (xb - mbh[h]), size)
    else:
        mb = np.bincount(cell, weights=xb, minlength=size) / safe
        nbd = np.bincount(cell, minlength=size)
        m2 = cell_sums(cell, (xa - ma[cell]) * (xb - mb[cell]), size) + (nb_full - nbd) * ma * mb
    state = pairs.get(key)
    if state is None:
        state = pairs[key] = [np.zeros(size), np.zeros(size), np.zeros(size), np.zeros(size)]
    seen = np.zeros(size, bool)
    seen[lo * H: hi * H] = nb_full[lo * H: hi * H] > 0
    _merge(state, nb_full, ma, mb, m2, seen)


def merge_states(pairs: dict, part: dict) -> None:
    """Merge the states ``part`` (another partition's :func:`add_piece` results) into ``pairs``, key by key."""
    for key, (n_b, ma, mb, m2) in part.items():
        state = pairs.get(key)
        if state is None:
            pairs[key] = [v.copy() for v in (n_b, ma, mb, m2)]
        else:
            _merge(state, n_b, ma, mb, m2, n_b > 0)
