"""Access to numba for the few compiled one-pass loops (Esteban-Ray windows, PSU totals, nested
decomposition moments), with the project's rules in one place:

- ``PROSPERITY_NO_NUMBA=1`` selects the NumPy engines everywhere;
- no on-disk cache: parallel processes (pytest-xdist, batch jobs) writing the same cache index can pair
  a signature with another one's machine code (seen here as a segfault); compiling costs ~1 s a process.
"""

from __future__ import annotations

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
