"""Evaluate an elementwise NumPy expression in cache-sized blocks.

On 10^7 incomes every full-length temporary NumPy allocates (``a * y + b`` makes two) costs a
fresh 80 MB buffer, and on Linux each one is page-faulted in: allocation, not arithmetic,
dominates such kernels. Evaluating the expression block by block keeps every temporary in the CPU
cache and leaves one output array (or none, for a reduction).
"""

from __future__ import annotations

from typing import Callable, Iterator

import numpy as np

BLOCK = 1 << 15  # 32768 float64 = 256 KB per temporary


def blocks(n: int, block: int = BLOCK) -> Iterator[slice]:
    """Slices covering range(n) in consecutive blocks."""
    for start in range(0, n, block):
        yield slice(start, min(start + block, n))


def fill(out: np.ndarray, fn: Callable[..., np.ndarray], *arrays: np.ndarray) -> np.ndarray:
    """out[i] = fn(*(a[i] for a in arrays)) for each block; returns ``out``."""
    for sl in blocks(out.size):
        out[sl] = fn(*(a[sl] for a in arrays))
    return out


def new(fn: Callable[..., np.ndarray], *arrays: np.ndarray) -> np.ndarray:
    """A new array fn(*arrays), evaluated blockwise (one allocation)."""
    return fill(np.empty(arrays[0].size), fn, *arrays)


def weighted_sum(w: np.ndarray, fn: Callable[..., np.ndarray], *arrays: np.ndarray) -> float:
    """sum_i w_i fn(arrays)_i without a full-length temporary.

    ``einsum``, not ``np.dot``: a multithreaded BLAS (OpenBLAS) wakes its threads for every block and
    on a loaded machine each short product can take milliseconds."""
    total = 0.0
    for sl in blocks(w.size):
        total += float(np.einsum("i,i->", w[sl], fn(*(a[sl] for a in arrays))))
    return total
