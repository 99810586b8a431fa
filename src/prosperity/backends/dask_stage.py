"""One read of a Dask dataframe for the Dask backend: design codes, group cells and the splitter
sample in the same pass that stages the rows (issue 11).

Before the splitter sort (:mod:`prosperity.backends.dask_sort`) can bucket a row it needs the
splitters (a sample of every partition's incomes) and the row's dense PSU code (its (stratum, PSU)
pair's rank among *all* distinct pairs) and group cell. Computed by three separate reads of the
Parquet files (the distinct pairs, the distinct group cells, the sample) before the staging read,
that is four decodes of the same columns, and each staged row paid a binary search of its pair in the
sorted pairs. :func:`stage_raw` reads each partition **once**:

1. **raw pass** (one task a partition, all in parallel): the partition's rows get *local* codes -- the
   position of their design key (stratum, PSU) and of their group cell among the partition's own
   distinct keys (:func:`local_codes`: column by column, combining the codes pairwise; integers over
   their range, others by ``pandas.factorize``: no sort) -- and are written to ``<spill>/r<p>_*.bin``
   (y, w, the local design code, the local cell code); the task returns the row count, the splitter
   sample (the same draw as :func:`~prosperity.backends.dask_sort._sample_partition`), and the
   distinct keys (with their row counts when every row is its own PSU).
2. **on the client**: the union of the partitions' distinct keys gives the sorted distinct pairs
   (or strata), the cells (sorted, missing labels refused) and the design
   (:class:`~prosperity.backends.sources.DesignCodes`), exactly as the separate passes did; each
   partition's local codes map to global ones through a small array (its distinct keys' positions).
3. **bucketing** (:func:`bucket_raw`, one task a partition, when the sort's staging runs): read the raw
   files, map the local codes (code = cell x ``cell_radix`` + PSU code), bucket and write the staged
   partition as :func:`~prosperity.backends.dask_sort._write_partition` does, and remove the raw files.

The staged rows, their order and the design are the same as with the separate passes, so every
result is too.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import dask_sort
from .domain_totals import factorize_ints
from .sources import BackendError, DesignCodes, _cell_codes, _cells_from_frame, _key_levels, _pair_keys

RAW_DTYPES = {"y": np.float64, "w": np.float64, "dcode": np.int64, "ccode": np.int64}


def local_codes(frame: pd.DataFrame, cols: list[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """Each row's position among the distinct values of ``cols`` in ``frame`` (missing values are a
    value) and those distinct values, one row each: column by column, integer columns over their range
    when it is dense (:func:`~prosperity.backends.domain_totals.factorize_ints`), others by
    ``pandas.factorize``, the codes combined pairwise the same way."""
    codes = table = None
    values = []
    for c in cols:
        col = frame[c]
        if (isinstance(col.dtype, np.dtype) and col.dtype.kind in "iu" and col.size
                and -(1 << 62) <= int(col.min()) and int(col.max()) <= (1 << 62)):  # integers: by range when dense
            v = col.to_numpy(np.int64)
            lo = int(v.min())
            ci, ui = factorize_ints(v - lo)
            ui = pd.Index(ui + lo, dtype=col.dtype)
        else:
            ci, ui = pd.factorize(col, use_na_sentinel=False)
        values.append(ui)
        ci = ci.astype(np.int64, copy=False)
        if codes is None:
            codes, table = ci, np.arange(len(ui), dtype=np.int64)[:, None]
            continue
        k = max(len(ui), 1)
        combined, u = factorize_ints(codes * k + ci)  # codes < rows, so the product fits in int64
        prev, cur = np.divmod(u, k)
        table = np.column_stack([table[prev], cur])
        codes = combined.astype(np.int64, copy=False)
    uniques = pd.DataFrame({c: values[i].take(table[:, i]) if hasattr(values[i], "take") else np.asarray(values[i])[table[:, i]]
                            for i, c in enumerate(cols)})
    return codes, uniques


def _raw_path(folder: str, p: int, column: str) -> str:
    return os.path.join(folder, f"r{p:06d}_{column}.bin")


def _write_raw(folder: str, p: int, column: str, values: np.ndarray) -> None:
    np.ascontiguousarray(values, dtype=np.dtype(RAW_DTYPES[column]).newbyteorder("<")).tofile(_raw_path(folder, p, column))


def _read_raw(folder: str, p: int, column: str) -> np.ndarray:
    return np.fromfile(_raw_path(folder, p, column), dtype=np.dtype(RAW_DTYPES[column]).newbyteorder("<")).astype(
        RAW_DTYPES[column], copy=False)


def _raw_partition(part: pd.DataFrame, income: str, weight: str | None, design_cols: list[str], count_design: bool,
                   groups: list[str], folder: str, p: int, sample_rows: int, seed: int):
    """The raw pass of one partition (module docstring, step 1)."""
    y = part[income].to_numpy(np.float64)
    w = np.ones(y.size) if weight is None else part[weight].to_numpy(np.float64)
    n, sample = dask_sort._sample_partition(pd.Series(y, copy=False), sample_rows, seed, p)
    _write_raw(folder, p, "y", y)
    _write_raw(folder, p, "w", w)
    design = cells = None
    if design_cols:
        dcode, design = local_codes(part, design_cols)
        if count_design:
            design["count"] = np.bincount(dcode, minlength=len(design)).astype(np.int64)
        _write_raw(folder, p, "dcode", dcode)
    if groups:
        ccode, cells = local_codes(part, groups)
        _write_raw(folder, p, "ccode", ccode)
    return n, sample, design, cells


def bucket_raw(folder: str, p: int, splitters: np.ndarray, psu_map: np.ndarray | None, cell_map: np.ndarray | None,
               radix: int):
    """Step 3: the raw partition's global codes, bucketed and staged as ``p<p>_*.bin``; raw files removed."""
    y, w = _read_raw(folder, p, "y"), _read_raw(folder, p, "w")
    code = np.zeros(y.size, np.int64) if psu_map is None else psu_map[_read_raw(folder, p, "dcode")]
    if cell_map is not None:
        code = cell_map[_read_raw(folder, p, "ccode")] * radix + code
    out = dask_sort._write_partition({"y": y, "w": w, "psu": code}, splitters, folder, p)
    for c in RAW_DTYPES:
        path = _raw_path(folder, p, c)
        if os.path.exists(path):
            os.remove(path)
    return out


@dataclass
class RawStage:
    """What the raw pass learnt: the spill folder (holding ``r<p>_*.bin``), the splitters, the design, the
    cells (None without groups), ``cell_radix``, and per partition the maps of its local codes."""

    folder: str
    splitters: np.ndarray
    design: DesignCodes
    cells: pd.DataFrame | None
    cell_radix: int | None
    psu_maps: list
    cell_maps: list

    def tasks(self, splitters: np.ndarray) -> list:
        import dask

        return [dask.delayed(bucket_raw, pure=False)(self.folder, p, splitters, self.psu_maps[p],
                                                     None if self.cell_maps is None else self.cell_maps[p], self.cell_radix or 0)
                for p in range(len(self.psu_maps))]


def stage_raw(frame, income: str, weight: str | None, strata: str | None, psu: str | None, groups: list[str], *,
              bucket_rows: int, sample_rows: int = dask_sort.DEFAULT_SAMPLE_ROWS, spill_dir: str | None = None,
              seed: int = 20261207) -> RawStage:
    """Steps 1 and 2 of the module's docstring over the partitions of ``frame`` (the user's columns)."""
    import dask

    design_cols = ([strata, psu] if strata is not None else [psu]) if psu is not None else ([strata] if strata else [])
    count_design = psu is None and strata is not None
    cols = list(dict.fromkeys([income] + ([weight] if weight else []) + design_cols + list(groups)))
    folder = tempfile.mkdtemp(prefix="prosperity-sort-", dir=spill_dir)
    try:
        tasks = [dask.delayed(_raw_partition, pure=False)(part, income, weight, design_cols, count_design, list(groups),
                                                         folder, p, sample_rows, seed)
                 for p, part in enumerate(frame[cols].to_delayed())]
        got = list(dask_sort.in_order(tasks, None))
        n = sum(k for k, _, _, _ in got)
        splitters = np.empty(0, np.float64)
        if n:
            values = np.concatenate([s for _, s, _, _ in got])
            rows = np.concatenate([np.full(s.size, k / s.size if s.size else 0.0) for k, s, _, _ in got])
            splitters = dask_sort.weighted_splitters(values, rows, max(1, -(-n // bucket_rows)))
        designs = [d for _, _, d, _ in got]
        if psu is not None:
            keys = design_cols
            pairs = pd.concat(designs, ignore_index=True).drop_duplicates()
            levels = tuple(np.unique(pairs[k].to_numpy()) for k in keys)
            pair_keys = np.sort(_pair_keys(pairs, keys, levels))
            stratum = (np.searchsorted(levels[0], _key_levels(pair_keys, levels)[0]) if strata is not None
                       else np.zeros(pair_keys.size, np.int64))
            design = DesignCodes(stratum.astype(np.int64), np.bincount(stratum), False)
            psu_maps = [np.searchsorted(pair_keys, _pair_keys(d, keys, levels)).astype(np.int64) for d in designs]
        elif strata is not None:
            counts = pd.concat(designs, ignore_index=True).groupby(strata, dropna=False)["count"].sum().sort_index()
            levels = counts.index
            design = DesignCodes(np.arange(len(counts)), counts.to_numpy(np.int64), True)
            psu_maps = [np.asarray(levels.get_indexer(d[strata]), np.int64) for d in designs]
        else:
            design = DesignCodes(np.zeros(1, np.int64), np.array([n]), True)
            psu_maps = [None] * len(got)
        cells = radix = cell_maps = None
        if groups:
            frames = [c for _, _, _, c in got]
            cells = _cells_from_frame(pd.concat(frames, ignore_index=True), list(groups))
            radix = design.n_groups
            cell_maps = [_cell_codes(c, list(groups), cells) for c in frames]
    except BaseException:
        shutil.rmtree(folder, True)
        raise
    if n == 0 and not got:  # pragma: no cover - a frame without partitions
        raise BackendError("the Dask dataframe has no partitions")
    return RawStage(folder, splitters, design, cells, radix, psu_maps, cell_maps)
