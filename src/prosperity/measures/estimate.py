"""The common return type of every estimator kernel and the sorted view every rank-based kernel reads.

Linearization convention (Deville 1999; Osier 2009): an estimator theta_hat of a population
functional is approximated by

    theta_hat - theta  ~=  sum_k  w_k * u_k

where ``u_k`` is the *linearized variable* (influence function divided by the population size
N = sum w). ``Estimate.influence`` holds ``u``, one value per unit. Kernels work on a :class:`SortedIncome`
and return ``u`` **in sorted order** (aligned with ``SortedIncome.y``): the table layer permutes the
design's PSU codes once per group instead of un-sorting every influence array.
:mod:`prosperity.variance` turns ``w * u`` plus the survey design into a variance.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def vdot(a, b) -> float:
    """sum_i a_i b_i of two 1-D float arrays, as ``np.dot`` but in blocks of 8192: OpenBLAS runs a
    product of at most 10,000 elements on the calling thread, so no BLAS thread is woken (a
    multithreaded BLAS spins its threads after every product, which on a busy machine costs more
    than the product). Arrays of one block give exactly ``np.dot``."""
    n = len(a)
    if n <= _VDOT_BLOCK:
        return float(np.dot(a, b))
    total = 0.0
    for start in range(0, n, _VDOT_BLOCK):
        total += float(np.dot(a[start: start + _VDOT_BLOCK], b[start: start + _VDOT_BLOCK]))
    return total


_VDOT_BLOCK = 8192


@dataclass(frozen=True, slots=True)
class Estimate:
    """A point estimate and, optionally, its linearized variable ``u`` (see module docstring)."""

    value: float
    influence: np.ndarray | None = None
    # d value / d line for measures evaluated at a poverty line or band limit that may itself be
    # estimated (e.g. 60 % of the median): the table layer adds line_derivative * u_line.
    line_derivative: float | None = None

    def __repr__(self) -> str:  # short: arrays can be 10**7 long
        has = "yes" if self.influence is not None else "no"
        return f"Estimate(value={self.value:.10g}, influence={has})"


@dataclass(frozen=True, slots=True)
class SortedIncome:
    """Incomes sorted ascending with their weights and cumulative weights: sort once, read many.

    ``order`` maps sorted position -> original position, so ``y[order] == y_sorted``.
    :meth:`unsort` returns an array in sorted order (e.g. an influence array) to input order.
    ``cache`` holds small derived numbers (quantiles, kernel densities) shared by every measure of the
    same sample, so a suite evaluates the median's density once; arrays are never cached (kernels
    hand their influence arrays over to the caller, which may overwrite them).
    """

    y: np.ndarray  # sorted incomes
    w: np.ndarray  # weights in the same order
    cumw: np.ndarray  # cumulative weights, cumw[-1] == total
    order: np.ndarray  # permutation: sorted position -> original index
    cache: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def total(self) -> float:
        return float(self.cumw[-1])

    @property
    def n(self) -> int:
        return int(self.y.size)

    @classmethod
    def from_arrays(cls, y, w=None) -> "SortedIncome":
        y, w = income_weight_arrays(y, w)
        order, ys = sort_order(y)
        ws = w[order]
        return cls(ys, ws, np.cumsum(ws), order)

    def unsort(self, u_sorted: np.ndarray) -> np.ndarray:
        """Return an array given in sorted order to the original order of the inputs."""
        out = np.empty_like(u_sorted)
        out[self.order] = u_sorted
        return out


def income_total(s: SortedIncome) -> float:
    """sum w y of a sorted sample, computed once per sample (cached) and shared by every measure."""
    t = s.cache.get("income_total")
    if t is None:
        t = s.cache["income_total"] = float(vdot(s.w, s.y))
    return t


# From this many incomes, sort_order sorts packed (key, position) integers instead of calling argsort.
PACKED_SORT_MIN = 1 << 16


def income_weight_arrays(y, w=None, *, require_finite: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Incomes and weights as float64 arrays (weights 1 when None): 1-D, the same length, not empty;
    ``require_finite`` also refuses a missing or infinite income, naming how many and the first row."""
    y = np.asarray(y, dtype=np.float64)
    w = np.ones_like(y) if w is None else np.asarray(w, dtype=np.float64)
    if y.ndim != 1 or w.shape != y.shape:
        raise ValueError(f"incomes and weights must be 1-D arrays of the same length (got {y.shape} and {w.shape})")
    if y.size == 0:
        raise ValueError("no observations: incomes are empty")
    if require_finite:
        bad = np.flatnonzero(~np.isfinite(y))
        if bad.size:
            raise ValueError(f"{bad.size} income(s) are missing or infinite (first at row {int(bad[0])}); drop them first")
    return y, w


def sort_order(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(order, y[order]): the permutation that sorts ``y`` ascending, and the sorted values.

    Small inputs: ``np.argsort(kind="stable")``. From ``PACKED_SORT_MIN`` values, the values are mapped
    to unsigned integers of the same order (IEEE 754 bits, sign folded), their top 64 - b bits packed
    with the b-bit position, and the packed integers sorted by value (NumPy's SIMD sort, about twice
    as fast as ``argsort``); the positions read back give the order. Values that agree in their top
    bits (relative difference below ~2^-28) are ordered by position, so a final check finds the
    few such runs that are out of order and sorts them exactly. Equal values end in input order
    (a stable sort) at every size: the measures that depend on the order of ties (Zenga, with tied
    incomes of unequal weights) then follow the rows' order, as R's ``order()`` does in convey.
    """
    y = np.asarray(y, dtype=np.float64)
    n = y.size
    if n < PACKED_SORT_MIN or n >= 1 << 40 or np.isnan(y).any():
        order = np.argsort(y, kind="stable")
        return order, y[order]
    bits = max(int(n - 1).bit_length(), 1)
    low = np.uint64((1 << bits) - 1)
    high = ~low
    packed = np.empty(n, dtype=np.uint64)
    step = 1 << 16
    positions = np.arange(step, dtype=np.uint64)
    raw = y.view(np.uint64)
    for start in range(0, n, step):
        stop = min(start + step, n)
        packed[start:stop] = _ordered_bits(raw[start:stop])
        packed[start:stop] &= high
        packed[start:stop] |= positions[: stop - start] + np.uint64(start)
    packed.sort()
    packed &= low
    order = packed.view(np.int64)
    ys = y[order]
    bad = np.flatnonzero(ys[1:] < ys[:-1])
    if bad.size and not _sort_runs(y, order, ys, bad, high):
        order = np.argsort(y, kind="stable")  # long runs of nearly equal values: sort exactly
        ys = y[order]
    return order, ys


def _ordered_bits(raw: np.ndarray) -> np.ndarray:
    """IEEE 754 doubles (as uint64) -> unsigned integers in the order of the values."""
    negative = raw >> np.uint64(63) == np.uint64(1)
    return np.where(negative, ~raw, raw | np.uint64(1 << 63))


def _sort_runs(y, order, ys, bad, high) -> None:
    """Sort, in place, each run of positions whose values share the packed top bits and that holds a
    descent (ys[i + 1] < ys[i] for i in ``bad``); ties by input position. False (nothing changed)
    when there are too many such runs or one is longer than ``_MAX_RUN``."""
    n = ys.size

    def top(i):
        return _ordered_bits(ys[i].view(np.uint64)) & high

    if bad.size > n // 64:
        return False
    lo, hi = bad.copy(), bad + 1
    for _ in range(_MAX_RUN):  # runs are short: widen them a step at a time
        grow = (lo > 0) & (top(np.maximum(lo - 1, 0)) == top(lo))
        if not grow.any():
            break
        lo[grow] -= 1
    else:
        return False
    for _ in range(_MAX_RUN):
        grow = (hi < n - 1) & (top(np.minimum(hi + 1, n - 1)) == top(hi))
        if not grow.any():
            break
        hi[grow] += 1
    else:
        return False
    lengths = hi - lo + 1
    pos = np.repeat(lo - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
    pos = np.unique(pos)
    sub_order = order[pos]
    run = np.cumsum(np.concatenate(([0], np.diff(pos) != 1)))  # contiguous runs, in position order
    perm = np.lexsort((sub_order, ys[pos], run))
    order[pos] = sub_order[perm]
    ys[pos] = y[order[pos]]
    return True


_MAX_RUN = 64


def as_sorted(y, w=None) -> SortedIncome:
    """Accept either a :class:`SortedIncome` (passed through) or raw arrays (sorted here)."""
    if isinstance(y, SortedIncome):
        if w is not None:
            raise TypeError("pass weights inside the SortedIncome, not separately")
        return y
    return SortedIncome.from_arrays(y, w)
