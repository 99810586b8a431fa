"""Nested hierarchies of units (nation > region > province > city > county) as integer codes.

A hierarchy is a list of columns, coarsest first, one code per row and level. Every unit of a level
must lie inside exactly one unit of the level above: a city listed under two provinces is an error
(:class:`NestingError`, naming the unit, both parents and a row for each). Units are identified by
their label *within their level*: if your county codes restart in every province ("01", "02", ...),
combine them with the province code first.

Codes are dense non-negative integers ``0 .. n_units - 1`` so that every reduction is a
``numpy.bincount``; labels (strings, adcodes, ...) are kept aside for the output.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd


class NestingError(ValueError):
    """A unit of one level lies in two different units of the level above."""


@dataclass(frozen=True, eq=False)
class Hierarchy:
    """Integer-coded hierarchy: ``codes[j][i]`` is the level-``j`` unit of row ``i`` (coarsest first)."""

    names: tuple[str, ...]
    codes: tuple[np.ndarray, ...]
    labels: tuple[np.ndarray, ...]  # labels[j][code] -> the unit's label

    @property
    def depth(self) -> int:
        return len(self.names)

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(len(lab) if lab is not None else -1 for lab in self.labels)  # -1: not scanned yet

    def label(self, level: int, code: int):
        if self.labels[level] is None:
            return int(code)
        lab = self.labels[level][code]
        return lab.item() if hasattr(lab, "item") else lab


def _encode_one(values, name: str, n_rows: int, check_range: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Dense integer codes and labels for one level; integers >= 0 pass through without hashing.

    With ``check_range=False`` (coarser levels of integer type) the range is not scanned here: the
    codes are only stored per lowest-level unit, and :func:`finalize_sizes` checks them on that small
    table. The labels are then ``None`` (= the integers themselves) until then."""
    if isinstance(values, (pd.Series, pd.Index)):
        arr = values.to_numpy()
    else:
        pl = sys.modules.get("polars")  # a polars Series exists only once polars is imported (no 0.2 s import)
        if pl is not None and isinstance(values, pl.Series):
            values = values.to_numpy()
        arr = np.asarray(values)
    if arr.ndim != 1 or arr.shape[0] != n_rows:
        raise ValueError(f"level {name!r} has shape {arr.shape}; expected one code per row ({n_rows} rows)")
    if arr.dtype.kind in "iu" and arr.size:
        if not check_range:
            return arr, None
        lo, hi = int(arr.min()), int(arr.max())
        # dense enough: use the integers as codes directly (one pass, no hashing)
        if lo >= 0 and hi < max(4 * n_rows, 1 << 20):
            return arr, np.arange(hi + 1)
    codes, uniques = pd.factorize(arr, sort=True, use_na_sentinel=True)
    if (codes < 0).any():
        row = int(np.flatnonzero(codes < 0)[0])
        raise ValueError(f"level {name!r} is missing at data row {row + 1}: every row needs a unit at every level")
    return codes, np.asarray(uniques)


def encode_hierarchy(levels: Sequence, names: Sequence[str] | None = None, n_rows: int | None = None) -> Hierarchy:
    """Encode level columns (coarsest first) as dense integer codes. Nesting is checked later, in the
    same pass that sums the data (:func:`prosperity.decompose.moments.leaf_moments`)."""
    levels = list(levels)
    if not levels:
        raise ValueError("give at least one level (e.g. levels=[region, province])")
    if names is None:
        names = [getattr(col, "name", None) or f"level{j + 1}" for j, col in enumerate(levels)]
    names = [str(nm) for nm in names]
    if len(names) != len(levels):
        raise ValueError(f"{len(levels)} levels but {len(names)} names")
    if len(set(names)) != len(names):
        raise ValueError(f"level names must differ, got {names}")
    if n_rows is None:
        n_rows = len(levels[0])
    codes, labels = [], []
    for j, (col, nm) in enumerate(zip(levels, names)):
        c, lab = _encode_one(col, nm, n_rows, check_range=j == len(levels) - 1)
        codes.append(c)
        labels.append(lab)
    return Hierarchy(tuple(names), tuple(codes), tuple(labels))


def finalize_sizes(h: Hierarchy, parent_of_leaf: np.ndarray, present: np.ndarray) -> Hierarchy:
    """Fill in the labels of integer levels whose range was not scanned, from the per-leaf table."""
    if all(lab is not None for lab in h.labels):
        return h
    labels = list(h.labels)
    for j, lab in enumerate(labels):
        if lab is None:
            col = parent_of_leaf[present, j]
            lo = int(col.min()) if col.size else 0
            if lo < 0:
                row = int(np.flatnonzero(h.codes[j] < 0)[0])
                raise ValueError(f"level {h.names[j]!r} has a negative code at data row {row + 1} ({int(h.codes[j][row])}); "
                                 "integer codes must be >= 0 (or pass labels, which are encoded for you)")
            hi = int(col.max()) if col.size else -1
            labels[j] = np.arange(hi + 1)
    return Hierarchy(h.names, h.codes, tuple(labels))


def check_table_nesting(h: Hierarchy, parent_of_leaf: np.ndarray, present: np.ndarray) -> list[np.ndarray]:
    """Given, for each leaf, its code at every coarser level (``parent_of_leaf[leaf, j]``, -1 if the
    leaf is absent), check that each unit of level j+1 lies in one unit of level j, and return
    ``parent_codes[j]``: for each unit of level j (j >= 1) its unit at level j-1 (-1 if absent)."""
    k = h.depth
    leaves = np.flatnonzero(present)
    parent_codes: list[np.ndarray] = [np.full(h.sizes[0], -1, dtype=np.int64)]
    for j in range(1, k):
        child = leaves if j == k - 1 else parent_of_leaf[leaves, j]
        par = parent_of_leaf[leaves, j - 1]
        table = np.full(h.sizes[j], -1, dtype=np.int64)
        table[child[::-1]] = par[::-1]  # the first leaf seen wins, so the message lists units in order
        bad = np.flatnonzero(table[child] != par)
        if bad.size:
            b = bad[0]
            unit, other = int(child[b]), int(par[b])
            raise NestingError(
                f"{h.names[j]} {h.label(j, unit)!r} lies in two units of level {h.names[j - 1]!r}: "
                f"{h.label(j - 1, int(table[unit]))!r} and {h.label(j - 1, other)!r}. Each {h.names[j]} must "
                f"belong to exactly one {h.names[j - 1]}; fix the rows or give the units distinct labels."
            )
        parent_codes.append(table)
    return parent_codes


def nesting_error_at_row(h: Hierarchy, row: int, parent_of_leaf: np.ndarray) -> NestingError:
    """Build the error for a row whose coarser codes disagree with an earlier row of the same leaf."""
    k = h.depth
    leaf_codes = h.codes[k - 1]
    leaf = int(leaf_codes[row])
    # report the closest parent level that disagrees (a city in two provinces, not in two regions)
    for j in range(k - 2, -1, -1):
        expected = int(parent_of_leaf[leaf, j])
        got = int(h.codes[j][row])
        if got < 0 or expected < 0:
            bad = row if got < 0 else int(np.flatnonzero(h.codes[j] < 0)[0])
            return NestingError(f"level {h.names[j]!r} has a negative code at data row {bad + 1}; integer codes must be >= 0")
        if expected != got:
            first = np.flatnonzero((leaf_codes == leaf) & (h.codes[j] == expected))
            first_row = int(first[0]) if first.size else -1
            return NestingError(
                f"{h.names[k - 1]} {h.label(k - 1, leaf)!r} lies in two units of level {h.names[j]!r}: "
                f"{h.label(j, expected)!r} (data row {first_row + 1}) and {h.label(j, got)!r} (data row {row + 1}). "
                f"Each {h.names[k - 1]} must belong to exactly one {h.names[j]}; fix the rows or give the "
                f"units distinct labels (e.g. combine the {h.names[j]} and {h.names[k - 1]} codes)."
            )
    return NestingError(f"data row {row + 1} breaks the nesting of the hierarchy")  # pragma: no cover
