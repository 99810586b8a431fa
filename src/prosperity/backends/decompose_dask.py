"""The nested decomposition's cell table on Dask: rows read on the workers, small tables merged by key.

The one pass of :mod:`prosperity.backends.decompose` needs, per finest cell (a tuple of level labels,
and of the design's stratum / PSU / fpc when asked), the sums of the row terms of
:func:`~prosperity.backends.decompose._row_terms` (count, w, w y, w y ln y, w ln y, w y^a, the bad-row
counts, and for the design the products of :func:`~prosperity.backends.decompose._second_terms`).
On Dask they are computed as follows, with no shuffle of rows or of tables:

- a frame that is a plain ``dd.read_parquet`` of local files (perhaps a column selection of one; no
  filter, no hive partitions, no partition selection): the workers read the Parquet row groups
  themselves with pyarrow, only the needed columns, string columns as dictionaries (each row's code
  is the dictionary index: no Python object per row), in batches of ``chunk_rows`` rows. The row
  groups are dealt out in contiguous runs of at most about ``ROWS_PER_TASK`` rows, at least four
  runs per worker thread (so that the scheduler can balance them); each run is one task that returns
  one small table;
- any other Dask frame: each partition (only the needed columns) one task, its key columns coded by
  ``pandas.factorize``; the tables are merged in groups of ``MERGE_FAN_IN`` on the workers.

The client merges the tasks' tables (:func:`merge_tables`). (Before, ``groupby(keys).sum()`` of the
per-partition tables: dask-expr gives a groupby on several keys a shuffle, which took 2 of the 2.8 s
at 10^7 rows.) Either way the result is the cell table
of :func:`~prosperity.backends.decompose.cell_sums_dask`, equal to the DuckDB and in-memory ones up to
the order of the floating-point additions.

The kernel (:func:`piece_table`): every key column becomes codes 0..k-1 with its k labels (a missing
value is a label of its own: the checks on the cell table refuse it with its row count). The cell of
a row is the finest key's code when that key determines the coarser ones (nested levels, a PSU inside
a county: checked with one scatter and one gather per key), else the keys' mixed-radix code made dense
(a lookup table, or a hash for a wide range). Each term is then summed by ``numpy.bincount`` over the
cells; the count of rows is the plain ``bincount``. Merging tables is the same kernel run on the
tables' rows, with their sums as the weights.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

ROWS_PER_TASK = 4 * 10**6  # rows one task reads at most (the Parquet route), in batches of chunk_rows
BATCH_ROWS = 1 << 20  # default batch: ~8 MB a float64 column
MERGE_FAN_IN = 8  # tables merged by one task (the partition route)


@dataclass(frozen=True)
class CellTable:
    """Per cell: the label of every key (``keys``, in order) and every sum (``sums``, in order)."""

    keys: dict
    sums: dict

    def __len__(self) -> int:
        return len(next(iter(self.sums.values()))) if self.sums else 0

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({**self.keys, **self.sums})


@dataclass(frozen=True)
class Spec:
    """What a task computes: the income and weight columns, the keys (alias, column, numeric: read as
    float64, not a number -> NaN), the GE powers, the second-order terms, the sum names, the batch size."""

    income: str
    weight: str | None
    keys: tuple  # ((alias, column, numeric), ...)
    alphas: tuple
    second: tuple
    names: tuple
    chunk_rows: int

    @property
    def columns(self) -> list[str]:
        cols = [self.income] + ([self.weight] if self.weight is not None else []) + [c for _, c, _ in self.keys]
        return list(dict.fromkeys(cols))


def sum_names(alphas: Sequence[float], second: Sequence[str]) -> tuple:
    """The cell table's sum columns, in the order of ``_row_terms | _second_terms``."""
    from .decompose import _BAD, _SUMS, _pow_name

    names = list(_SUMS) + [_pow_name(a) for a in alphas] + list(_BAD)
    if second:
        names += ["w*w", "w*wy", "wy*wy"] + [f"{x}*{o}" for x in second for o in ("w", "wy", x)]
    return tuple(names)


# ------------------------------------------------------------------------------------------ the kernel


def _dense(values: np.ndarray, span: int) -> tuple[np.ndarray, int]:
    """Codes 0..m-1 (every one used) of non-negative integers below ``span``: a lookup table when the
    range is small, else a hash (``pandas.factorize``)."""
    if span <= 4 * values.size + 1024:
        used = np.bincount(values, minlength=span) > 0
        lookup = np.cumsum(used) - 1
        return lookup[values], int(used.sum())
    codes, uniques = pd.factorize(values)
    return codes.astype(np.int64, copy=False), len(uniques)


def _codes_of(key: tuple) -> tuple[np.ndarray, int]:
    codes, labels = key
    if codes is None:  # integer labels, one per row
        from ..variance.design import dense_codes

        codes, labels = dense_codes(labels)
    return np.asarray(codes, dtype=np.int64), len(labels)


def cell_codes(keys: Sequence[tuple]) -> tuple[np.ndarray, np.ndarray]:
    """(cell of every row, rows per cell) for the tuple of keys, each (codes 0..k-1, its k labels) or
    (None, one integer label per row): dense cells 0..n-1, each with at least one row. A coarser key that
    the finer cell already determines (nested levels, a PSU inside a county) adds nothing, which one
    scatter and one gather show, without coding it."""
    cell, n = _codes_of(keys[-1])
    for key in reversed(keys[:-1]):
        probe = key[1] if key[0] is None else key[0]
        seen = np.zeros(n, dtype=probe.dtype)
        seen[cell] = probe  # one of each cell's values (the last)
        if np.array_equal(seen[cell], probe):
            continue
        c, k = _codes_of(key)
        cell, n = _dense(cell * k + c, n * k)
    counts = np.bincount(cell, minlength=n)
    if cell.size and counts.min() == 0:  # unused codes (a dictionary's unused entries): drop them
        used = counts > 0
        cell, counts = (np.cumsum(used) - 1)[cell], counts[used]
    return cell, counts


def _first_rows(cell: np.ndarray, n: int) -> np.ndarray:
    first = np.empty(n, dtype=np.int64)
    first[cell[::-1]] = np.arange(cell.size - 1, -1, -1)  # the last write wins: each cell's first row
    return first


def _cell_labels(keys, first: np.ndarray) -> dict:
    return {alias: (lab[first] if c is None else lab[c[first]]) for alias, c, lab in keys}


def piece_table(keys: Sequence[tuple], y: np.ndarray, w: np.ndarray, spec: Spec) -> CellTable:
    """The cell table of one batch of rows: ``keys`` = (alias, codes, labels) per key, in order (codes
    ``None``: the labels are the rows' integer values)."""
    from .decompose import _row_terms, _second_terms

    if y.size == 0:
        return empty_table(spec)
    cell, counts = cell_codes([(c, lab) for _, c, lab in keys])
    first = _first_rows(cell, counts.size)
    out_keys = _cell_labels(keys, first)
    terms = _row_terms(y, w, spec.alphas)
    terms |= _second_terms(terms, spec.second)
    sums = {}
    for name in spec.names:
        if name == "rows":
            sums[name] = counts.astype(np.float64)
            continue
        values = terms[name]
        sums[name] = (np.bincount(cell, weights=values, minlength=counts.size) if np.ndim(values)
                      else np.zeros(counts.size))
    return CellTable(out_keys, sums)


def empty_table(spec: Spec) -> CellTable:
    return CellTable({alias: np.zeros(0, dtype=object) for alias, _, _ in spec.keys},
                     {name: np.zeros(0) for name in spec.names})


def _label_codes(values: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
    """Codes and labels of a small array of labels (the tables' key columns); missing values one label;
    integers are kept as they are (codes ``None``)."""
    if values.dtype.kind in "iu":
        return None, values
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    return codes.astype(np.int64, copy=False), np.asarray(uniques)


def merge_tables(tables: Sequence[CellTable], spec: Spec) -> CellTable:
    """The tables added by key (the kernel on their rows, the sums as weights; in table order)."""
    tables = [t for t in tables if len(t)]
    if not tables:
        return empty_table(spec)
    if len(tables) == 1:
        return tables[0]
    keys = []
    for alias, _, _ in spec.keys:
        values = np.concatenate([np.asarray(t.keys[alias]) for t in tables])
        keys.append((alias, *_label_codes(values)))
    cell, counts = cell_codes([(c, lab) for _, c, lab in keys])
    first = _first_rows(cell, counts.size)
    out_keys = _cell_labels(keys, first)
    sums = {name: np.bincount(cell, weights=np.concatenate([t.sums[name] for t in tables]), minlength=counts.size)
            for name in spec.names}
    return CellTable(out_keys, sums)


# ------------------------------------------------------------------------------- the Parquet route


def arrow_codes(arr) -> tuple[np.ndarray | None, np.ndarray]:
    """(codes, labels) of one Arrow key column: a dictionary column's indices and values (a null index
    becomes one more label, None), a numeric / boolean / temporal column through NumPy (integers without
    nulls as they are: codes ``None``), anything else dictionary-encoded by Arrow (nulls as a label)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(arr, pa.ChunkedArray):
        if arr.num_chunks == 1:
            arr = arr.chunk(0)
        elif pa.types.is_dictionary(arr.type):
            arr = arr.unify_dictionaries().combine_chunks()
        else:
            arr = arr.combine_chunks()
    t = arr.type
    if not pa.types.is_dictionary(t) and (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)
                                          or pa.types.is_temporal(t)):
        values = arr.to_numpy(zero_copy_only=False)  # nulls: NaN / NaT / None
        if values.dtype.kind in "iu":
            return None, values  # coded only if needed (cell_codes)
        codes, uniques = pd.factorize(values, use_na_sentinel=False)
        return codes.astype(np.int64, copy=False), np.asarray(uniques)
    if not pa.types.is_dictionary(t):
        arr = pc.dictionary_encode(arr, null_encoding="encode")
    labels = arr.dictionary.to_numpy(zero_copy_only=False)
    idx = arr.indices
    if idx.null_count:
        codes = idx.fill_null(len(labels)).to_numpy().astype(np.int64)
        labels = np.append(labels.astype(object), None)
    else:
        codes = idx.to_numpy().astype(np.int64)
    return codes, labels


def _arrow_float(arr) -> np.ndarray:
    import pyarrow as pa
    import pyarrow.compute as pc

    if arr.type != pa.float64():
        arr = pc.cast(arr, pa.float64())
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=np.float64)


def _arrow_numeric_key(arr) -> np.ndarray:
    """A key read as float64 (the fpc): numbers cast, anything else as ``pandas.to_numeric(errors='coerce')``."""
    import pyarrow as pa

    t = arr.type
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        return _arrow_float(arr)
    return pd.to_numeric(pd.Series(arr.to_pandas()), errors="coerce").to_numpy(np.float64, na_value=np.nan)


def batch_table(batch, spec: Spec) -> CellTable:
    """The cell table of one Arrow record batch (or table)."""
    y = _arrow_float(batch.column(spec.income))
    w = np.ones_like(y) if spec.weight is None else _arrow_float(batch.column(spec.weight))
    keys = []
    for alias, col, numeric in spec.keys:
        arr = batch.column(col)
        if numeric:
            codes, labels = pd.factorize(_arrow_numeric_key(arr), use_na_sentinel=False)
            keys.append((alias, codes.astype(np.int64, copy=False), np.asarray(labels)))
        else:
            keys.append((alias, *arrow_codes(arr)))
    return piece_table(keys, y, w, spec)


def parquet_task(parts: Sequence[tuple[str, list[int], list[str]]], spec: Spec) -> CellTable:
    """One task: the row groups ``parts`` = (file, row groups, columns read as dictionaries), batch by
    batch, the batches' tables merged."""
    import pyarrow.parquet as pq

    tables = []
    for path, groups, dictionary in parts:
        pf = pq.ParquetFile(path, read_dictionary=dictionary or None)
        for batch in pf.iter_batches(batch_size=spec.chunk_rows, row_groups=groups, columns=spec.columns,
                                     use_threads=False):
            tables.append(batch_table(batch, spec))
    return merge_tables(tables, spec)


def plain_parquet_files(frame) -> list[str] | None:
    """The local Parquet files of a frame that is a plain ``dd.read_parquet`` (or a column selection of
    one): no filters, no hive partitions, no partition selection, no index or read options. ``None`` for
    anything else (the frame's partitions are then used)."""
    try:
        from dask.dataframe.dask_expr._expr import Projection
        from dask.dataframe.dask_expr.io.parquet import ReadParquet

        expr = frame.expr
        while isinstance(expr, Projection):  # a selection of columns by name, nothing else
            cols = expr.operand("columns")
            if not all(isinstance(c, str) for c in (cols if isinstance(cols, (list, tuple)) else [cols])):
                return None
            expr = expr.frame
        if not isinstance(expr, ReadParquet):
            return None
        if (expr.operand("filters") or expr.operand("_partitions") is not None or expr.operand("index") not in (None, False)
                or expr.operand("storage_options") or expr.operand("categories")
                or any(v is not None for k, v in (expr.operand("kwargs") or {}).items())):
            return None
        info = expr._dataset_info
        if info.get("partition_names") or info.get("filters"):
            return None
        fs = info["fs"]
        protocol = getattr(fs, "protocol", None)
        local = (protocol in ("file", "local") or (isinstance(protocol, tuple) and "file" in protocol)
                 or type(fs).__name__ == "LocalFileSystem")
        if not local:
            return None
        files = [str(f) for f in info["ds"].files]
        return files if files and all(os.path.isfile(f) for f in files) else None
    except Exception:  # another dask version or reader: the general route
        return None


def _worker_threads() -> int:
    try:
        from distributed import default_client

        return max(1, int(sum(default_client().nthreads().values())))
    except Exception:  # no distributed client: the local scheduler's threads
        return os.cpu_count() or 1


def plan_tasks(files: Sequence[str], columns: Sequence[str], rows_per_task: int = ROWS_PER_TASK,
               min_tasks: int = 1) -> list[list[tuple[str, list[int], list[str]]]] | None:
    """The row groups of ``files`` dealt into contiguous runs of about equal rows: max(min_tasks,
    total / rows_per_task) runs, at most one per row group. ``None`` if a file lacks a column."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    groups = []  # (file, row group, rows, dictionary columns)
    for path in files:
        md = pq.ParquetFile(path)
        schema = md.schema_arrow
        if any(c not in schema.names for c in columns):
            return None
        dictionary = [c for c in columns if pa.types.is_string(schema.field(c).type)
                      or pa.types.is_large_string(schema.field(c).type) or pa.types.is_binary(schema.field(c).type)
                      or pa.types.is_large_binary(schema.field(c).type)]
        for i in range(md.metadata.num_row_groups):
            groups.append((path, i, md.metadata.row_group(i).num_rows, dictionary))
    rows = np.array([g[2] for g in groups], dtype=np.float64)
    total = float(rows.sum())
    n_tasks = max(1, min(len(groups), max(int(min_tasks), math.ceil(total / rows_per_task))))
    middle = np.cumsum(rows) - rows / 2
    which = np.minimum((middle / max(total, 1.0) * n_tasks).astype(np.int64), n_tasks - 1)
    tasks: list[list] = [[] for _ in range(n_tasks)]
    for (path, i, _, dictionary), t in zip(groups, which):
        run = tasks[int(t)]
        if run and run[-1][0] == path:
            run[-1][1].append(i)
        else:
            run.append((path, [i], dictionary))
    return [t for t in tasks if t]


# ------------------------------------------------------------------------------ the partition route


def pandas_codes(values: pd.Series) -> tuple[np.ndarray | None, np.ndarray]:
    """(codes, labels) of one pandas key column; categories become their labels (objects), so that the
    cells do not depend on a partition's categories; missing values one label; NumPy integers as they
    are (codes ``None``)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        cat = values.array
        codes = np.asarray(cat.codes, dtype=np.int64)
        labels = np.asarray(cat.categories, dtype=object)
        if codes.size and codes.min() < 0:
            codes = np.where(codes < 0, labels.size, codes)
            labels = np.append(labels, None)
        return codes, labels
    if values.dtype.kind in "iu" and isinstance(values.dtype, np.dtype):
        return None, values.to_numpy()
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    return codes.astype(np.int64, copy=False), np.asarray(uniques)


def partition_table(part: pd.DataFrame, spec: Spec) -> CellTable:
    """The cell table of one pandas partition, in pieces of ``chunk_rows`` rows."""
    tables = []
    for a in range(0, len(part), spec.chunk_rows):
        piece = part.iloc[a: a + spec.chunk_rows]
        y = piece[spec.income].to_numpy(np.float64, na_value=np.nan)
        w = np.ones_like(y) if spec.weight is None else piece[spec.weight].to_numpy(np.float64, na_value=np.nan)
        keys = []
        for alias, col, numeric in spec.keys:
            values = piece[col]
            if numeric:
                codes, labels = pd.factorize(pd.to_numeric(values, errors="coerce").to_numpy(np.float64, na_value=np.nan),
                                             use_na_sentinel=False)
                keys.append((alias, codes.astype(np.int64, copy=False), np.asarray(labels)))
            else:
                keys.append((alias, *pandas_codes(values)))
        tables.append(piece_table(keys, y, w, spec))
    return merge_tables(tables, spec)


# ------------------------------------------------------------------------------------------ the pass


def cell_sums_dask(frame, income: str, levels: Sequence[str], weight: str | None, alphas: Sequence[float], *,
                   extra_keys: dict | None = None, second: Sequence[str] = (), chunk_rows: int | None = None,
                   rows_per_task: int = ROWS_PER_TASK) -> pd.DataFrame:
    """The cell table of a Dask frame (module doc): keys ``levels`` then ``extra_keys`` (alias -> (column,
    numeric)), then the sums; ``chunk_rows``: the rows one batch holds on a worker."""
    import dask
    from dask import delayed

    keys = tuple((lv, lv, False) for lv in levels) + tuple((alias, col, bool(numeric))
                                                            for alias, (col, numeric) in (extra_keys or {}).items())
    spec = Spec(income, weight, keys, tuple(alphas), tuple(second), sum_names(alphas, second),
                int(chunk_rows or BATCH_ROWS))
    files = plain_parquet_files(frame)
    plan = None if files is None else plan_tasks(files, spec.columns, rows_per_task, 4 * _worker_threads())
    if plan is not None:
        tasks = [delayed(parquet_task, pure=True)(run, spec) for run in plan]
    else:
        tasks = [delayed(partition_table, pure=True)(p, spec) for p in frame[spec.columns].to_delayed()]
        while len(tasks) > MERGE_FAN_IN:
            tasks = [delayed(merge_tables, pure=True)(tasks[i: i + MERGE_FAN_IN], spec)
                     for i in range(0, len(tasks), MERGE_FAN_IN)]
    tables = dask.compute(*tasks)
    return merge_tables(list(tables), spec).to_frame()


__all__ = ["CellTable", "cell_codes", "cell_sums_dask", "merge_tables", "piece_table", "plain_parquet_files",
           "plan_tasks"]
