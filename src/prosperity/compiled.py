"""Access to numba for the few compiled one-pass loops (Esteban-Ray windows, PSU totals, nested
decomposition moments, Dagum's pair sums), with the project's rules in one place:

- ``PROSPERITY_NO_NUMBA=1`` selects the NumPy engines everywhere;
- no on-disk cache: parallel processes (pytest-xdist, batch jobs) writing the same cache index can pair
  a signature with another one's machine code (seen here as a segfault); compiling costs ~1 s a process.
"""

from __future__ import annotations

import functools
import os


def njit():
    """The decorator ``numba.njit(cache=False, nogil=True)``, or None without numba or with
    ``PROSPERITY_NO_NUMBA`` set (callers then use their NumPy engine)."""
    if os.environ.get("PROSPERITY_NO_NUMBA"):
        return None
    try:
        import numba
    except ImportError:
        return None
    return numba.njit(cache=False, nogil=True)


def lazily_compiled(loop):
    """Decorator for a plain-Python loop: the decorated name becomes an accessor, ``name()``, that returns
    the loop compiled with :func:`njit` (on first use, once per process) or None without numba or with
    ``PROSPERITY_NO_NUMBA`` set. ``name.python`` is the uncompiled loop."""

    @functools.lru_cache(maxsize=1)
    def compiled():
        jit = njit()
        return None if jit is None else jit(loop)

    compiled.python = loop
    compiled.__doc__ = loop.__doc__
    return compiled
