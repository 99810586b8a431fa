"""Keep freed large arrays in the process while a big table is measured (glibc only, opt-out).

A suite of measures on 10^7 incomes allocates and frees dozens of 80 MB arrays (one linearized
variable per measure). glibc serves every block above its mmap threshold (at most 32 MB) with a
fresh ``mmap`` and returns it with ``munmap`` on free, so each new array is page-faulted in again.
On virtual machines a fault can cost far more than the arithmetic (measured here: a fresh 80 MB
array 20-360 ms, the same work in a reused buffer 6-8 ms). While :func:`reuse_freed_memory` is
active, large blocks come from the heap (``M_MMAP_MAX = 0``) and freed memory is not given back
(``M_TRIM_THRESHOLD`` 2 GB), so the next array reuses pages already mapped. On exit mmap is allowed
again (``M_MMAP_MAX = 65536``) with the thresholds at the top of glibc's own dynamic range
(``M_MMAP_THRESHOLD`` 32 MB, ``M_TRIM_THRESHOLD`` 64 MB: what glibc converges to in a session that
frees mid-size arrays), and ``malloc_trim(0)`` returns the free memory to the system.

Applied by :func:`prosperity.table.measure` from ``MIN_ROWS`` rows, on Linux with glibc only (musl,
macOS and Windows are left alone). Set the environment variable ``PROSPERITY_MALLOC_TUNING=0`` to
disable it. Side effects: while active, the process keeps its peak heap mapped (its resident size
does not shrink between arrays); afterwards the mmap and trim thresholds stay fixed at 32 / 64 MB
(glibc no longer adapts them), so blocks below 32 MB come from the heap.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from contextlib import contextmanager

MIN_ROWS = 1_000_000
ENV_SWITCH = "PROSPERITY_MALLOC_TUNING"
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_M_MMAP_THRESHOLD = -3
_GLIBC_MMAP_MAX = 65536
_AFTER_MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit
_AFTER_TRIM_THRESHOLD = 64 * 1024 * 1024  # 2 x the mmap threshold, as glibc's dynamic rule sets it
_KEEP = 2**31 - 1  # mallopt takes a C int

_lock = threading.Lock()
_depth = 0
_libc: ctypes.CDLL | None | bool = False  # False: not looked up yet


def _glibc():
    global _libc
    if _libc is False:
        _libc = None
        if sys.platform.startswith("linux"):
            try:
                libc = ctypes.CDLL("libc.so.6")
                libc.gnu_get_libc_version  # glibc only (musl has no such symbol)
                libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
                libc.malloc_trim.argtypes = [ctypes.c_size_t]
                _libc = libc
            except (OSError, AttributeError):
                _libc = None
    return _libc


def enabled(n_rows: int) -> bool:
    """Whether :func:`reuse_freed_memory` will tune the allocator for ``n_rows`` rows."""
    return n_rows >= MIN_ROWS and os.environ.get(ENV_SWITCH, "1").strip() not in ("0", "false", "no", "off") \
        and _glibc() is not None


@contextmanager
def reuse_freed_memory(n_rows: int):
    """Within the block, freed large arrays stay in the process and are reused (see module docstring)."""
    global _depth
    if not enabled(n_rows):
        yield False
        return
    libc = _glibc()
    with _lock:
        _depth += 1
        if _depth == 1:
            libc.mallopt(_M_MMAP_MAX, 0)
            libc.mallopt(_M_TRIM_THRESHOLD, _KEEP)
    try:
        yield True
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                libc.mallopt(_M_MMAP_MAX, _GLIBC_MMAP_MAX)
                libc.mallopt(_M_MMAP_THRESHOLD, _AFTER_MMAP_THRESHOLD)
                libc.mallopt(_M_TRIM_THRESHOLD, _AFTER_TRIM_THRESHOLD)
                libc.malloc_trim(0)
