"""Where the rows come from: in memory, DuckDB over Parquet (out of core), or a Dask dataframe.

A source gives the streaming estimators (:mod:`prosperity.backends.streaming`) two things, and only
these, so the maths never depends on the engine:

- ``chunks(columns)``: the rows in bounded pieces, in any order (for sums: totals, sums by PSU);
- ``sorted_chunks(columns)``: the rows in pieces **in ascending order of the income**, each piece
  after the previous one (a global sort: DuckDB's external sort spills to disk; on Dask a splitter
  sort writes each partition's rows by bucket to a spill directory and sorts bucket by bucket, see
  :mod:`prosperity.backends.dask_sort`; memory stays bounded by a piece or a bucket), so rank-based
  measures carry their running sums from one piece to the next. ``stable=True`` asks for tied incomes
  in the rows' order, as the in-memory sort keeps them (Zenga's terms depend on it): the memory and
  Dask sources always give it; DuckDB then sorts by (income, file, row) of a Parquet file list or
  (income, row) of a frame.

Each piece is a dict of NumPy arrays: ``y`` (income), ``w`` (weight, 1 when none), and ``psu`` (a
dense code 0..n_psu-1 of the (stratum, PSU) pair, or of the row's stratum when every unit is its own
PSU, see :class:`DesignCodes`). With ``groups=`` (the ``by`` columns of a table), ``psu`` carries the
row's finest group cell too: code = cell * ``cell_radix`` + PSU code, ``cells`` the table of cells
(one row per distinct combination of the group columns, sorted), so every pass yields partial sums by
group code without another column.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..io.errors import ProsperityInputError, column_not_found

DEFAULT_CHUNK_ROWS = 1 << 21  # 2 M rows a piece: ~50 MB of float64 columns


class BackendError(ProsperityInputError):
    """A data source that cannot be read as asked (missing file, unknown column, engine not installed)."""


@dataclass(frozen=True)
class DesignCodes:
    """The survey design in the compact form a stream needs: for every PSU its stratum code and the
    number of PSUs per stratum; ``unit_psus``: no PSU column, each row is its own PSU (then the stream
    accumulates per stratum the sums and sums of squares of the rows' totals instead of per-PSU totals).
    """

    psu_stratum: np.ndarray  # stratum code of each PSU (or, when unit_psus, of each stratum: arange)
    n_h: np.ndarray  # PSUs per stratum (rows per stratum when unit_psus)
    unit_psus: bool

    @property
    def n_groups(self) -> int:
        """Length of the code space the stream's ``psu`` column indexes."""
        return int(self.psu_stratum.size)

    def variance_of_totals(self, t: np.ndarray) -> float:
        """With-replacement variance from PSU totals (as :meth:`prosperity.variance.Design.variance_of_totals`)."""
        n_strata = self.n_h.size
        t_sum = np.bincount(self.psu_stratum, weights=t, minlength=n_strata)
        if np.any(self.n_h == 1):
            raise BackendError("a stratum has a single PSU: the variance is not defined there",
                               hint="merge strata (the in-memory measure() offers lonely_psu rules)")
        t_bar = t_sum / self.n_h
        dev = t - t_bar[self.psu_stratum]
        ss = np.bincount(self.psu_stratum, weights=dev * dev, minlength=n_strata)
        return float(np.sum(self.n_h / (self.n_h - 1.0) * ss))

    def variance_of_unit_sums(self, s1: np.ndarray, s2: np.ndarray) -> float:
        """Each row its own PSU: V = sum_h n_h/(n_h - 1) [sum t^2 - (sum t)^2 / n_h] from the per-stratum
        sums ``s1`` = sum t and ``s2`` = sum t^2."""
        n = self.n_h.astype(float)
        if np.any(n == 1):
            raise BackendError("a stratum has a single unit: the variance is not defined there", hint="merge strata")
        return float(np.sum(n / (n - 1.0) * (s2 - s1 * s1 / n)))


class MemorySource:
    """Arrays in memory (the reference the out-of-core sources are tested against)."""

    name = "memory"

    def __init__(self, y, w=None, *, strata=None, psu=None, groups: dict | None = None, chunk_rows: int = DEFAULT_CHUNK_ROWS):
        self.y = np.asarray(y, dtype=np.float64)
        self.w = np.ones_like(self.y) if w is None else np.asarray(w, dtype=np.float64)
        self.chunk_rows = int(chunk_rows)
        s_codes = np.zeros(self.y.size, np.int64) if strata is None else pd.factorize(np.asarray(strata), sort=True)[0]
        if psu is None:
            self.codes = s_codes
            n_h = np.bincount(s_codes)
            self.design = DesignCodes(np.arange(n_h.size), n_h, True)
        else:
            pairs = pd.MultiIndex.from_arrays([s_codes, np.asarray(psu)])
            codes, uniques = pd.factorize(pairs, sort=True)
            self.codes = codes.astype(np.int64)
            psu_stratum = np.asarray(uniques.get_level_values(0), dtype=np.int64)
            self.design = DesignCodes(psu_stratum, np.bincount(psu_stratum), False)
        self.cells, self.cell_radix = None, None
        if groups:
            frame = pd.DataFrame({k: np.asarray(v) for k, v in groups.items()})
            self.cells = _cells_from_frame(frame, list(groups))
            self.cell_radix = self.design.n_groups
            self.codes = _cell_codes(frame, list(groups), self.cells) * self.cell_radix + self.codes

    def chunks(self) -> Iterator[dict]:
        for a in range(0, self.y.size, self.chunk_rows):
            b = a + self.chunk_rows
            yield {"y": self.y[a:b], "w": self.w[a:b], "psu": self.codes[a:b]}

    def sorted_chunks(self, stable: bool = True) -> Iterator[dict]:  # always stable: ties in row order
        order = np.argsort(self.y, kind="stable")
        for a in range(0, order.size, self.chunk_rows):
            idx = order[a: a + self.chunk_rows]
            yield {"y": self.y[idx], "w": self.w[idx], "psu": self.codes[idx]}


def _cells_from_frame(frame: pd.DataFrame, groups: list[str]) -> pd.DataFrame:
    """The sorted distinct combinations of ``groups`` (a missing label refused: it would be dropped)."""
    bad = frame[groups].isna().any(axis=1)
    if bool(bad.any()):
        col = next(c for c in groups if frame[c].isna().any())
        raise BackendError(f"group column {col!r} has missing values", column=col,
                           hint="give the missing group a label, or filter these rows in the source")
    return frame[groups].drop_duplicates().sort_values(groups).reset_index(drop=True)


def _cell_codes(frame: pd.DataFrame, groups: list[str], cells: pd.DataFrame) -> np.ndarray:
    index = pd.MultiIndex.from_frame(cells[groups])
    return np.asarray(index.get_indexer(pd.MultiIndex.from_frame(frame[groups])), dtype=np.int64)


def parquet_files(path, what: str = "data") -> list[str]:
    """The Parquet files a path names: a file, a directory (its ``.parquet`` files, sorted by name) or a
    list of either, in that order. A missing path or no file at all is refused."""
    paths = [str(p) for p in (path if isinstance(path, (list, tuple)) else [path])]
    files = []
    for p in paths:
        if os.path.isdir(p):
            files.extend(sorted(os.path.join(p, f) for f in os.listdir(p) if f.endswith(".parquet")))
        elif os.path.exists(p):
            files.append(p)
        else:
            raise BackendError(f"no Parquet file or directory at {p!r}", hint="give a .parquet file or a directory of them")
    if not files:
        raise BackendError(f"no .parquet files in {paths}", hint=f"write the {what} as Parquet first")
    return files


def sql_file_list(files) -> str:
    """The files as a SQL list of string literals, for ``read_parquet([...])``."""
    return ", ".join("'" + f.replace("'", "''") + "'" for f in files)


def duckdb_connection(memory_limit: str = "2GB", threads: int | None = None, *, keep_order: bool = False,
                      temp_directory: str | None = None):
    """A DuckDB connection with the backends' settings: a memory limit, optionally the threads and the spill
    directory; ``keep_order=False`` lets DuckDB drop the insertion order (cheaper scans)."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{memory_limit}'")
    if not keep_order:
        con.execute("SET preserve_insertion_order = false")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    if temp_directory:
        con.execute(f"SET temp_directory = '{temp_directory}'")
    return con


_FILE_POSITION, _ROW_POSITION = "__prosperity_file_position", "__prosperity_row_position"


def _with_row_position(frame):
    """``frame`` with its row positions 0..n-1 as the column ``_ROW_POSITION`` (pandas, polars, Arrow
    tables; columns are shared, not copied), or None for another kind of object."""
    if isinstance(frame, pd.DataFrame):
        return frame.assign(**{_ROW_POSITION: np.arange(len(frame), dtype=np.int64)})
    if hasattr(frame, "append_column"):  # pyarrow.Table
        import pyarrow as pa

        return frame.append_column(_ROW_POSITION, pa.array(np.arange(frame.num_rows, dtype=np.int64)))
    if hasattr(frame, "with_columns") and hasattr(frame, "with_row_index"):  # polars
        return frame.with_row_index(_ROW_POSITION)
    return None


def _sql_name(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


class DuckDBSource:
    """Parquet file(s) read by DuckDB, out of core: pieces are Arrow record batches, the sort is DuckDB's
    external sort (``memory_limit`` and ``temp_directory`` bound it; it spills to disk). ``path`` may
    also be a DuckDB relation (queried on its own connection, whose settings are left alone) or a frame
    (pandas, polars, Arrow: registered as a view)."""

    name = "duckdb"

    def __init__(self, path, income: str, weight: str | None = None, *, strata: str | None = None,
                 psu: str | None = None, memory_limit: str = "2GB", threads: int | None = None,
                 temp_directory: str | None = None, chunk_rows: int = DEFAULT_CHUNK_ROWS, groups=None, derived=None):
        import duckdb

        self._rel = path if isinstance(path, duckdb.DuckDBPyRelation) else None
        framed = self._rel is None and not isinstance(path, (str, os.PathLike, list, tuple))
        files = [] if (self._rel is not None or framed) else parquet_files(path)
        self.con = None if self._rel is not None else duckdb_connection(memory_limit, threads,
                                                                         temp_directory=temp_directory)
        # the rows' order, for sorted passes whose result depends on the order of tied incomes (Zenga):
        # (file, row) of a Parquet file list, the row of a frame; a user's relation has no order of its own
        self._tie_order = None
        if self._rel is not None or framed:
            if framed:
                positioned = _with_row_position(path)
                self.con.register("prosperity_src", path if positioned is None else positioned)
                self._tie_order = None if positioned is None else _ROW_POSITION
            self.relation = "prosperity_src"
        else:
            self.relation = (f"(SELECT *, file_index AS {_FILE_POSITION}, file_row_number AS {_ROW_POSITION} "
                             f"FROM read_parquet([{sql_file_list(files)}]))")
            self._tie_order = f"{_FILE_POSITION}, {_ROW_POSITION}"
        described = self._q(f"DESCRIBE SELECT * FROM {self.relation}").fetchall()
        columns = [r[0] for r in described if r[0] not in (_FILE_POSITION, _ROW_POSITION)]
        self.column_types = {r[0]: str(r[1]) for r in described}
        if derived:  # computed columns {name: (column, sql(column, its type))}, e.g. a domain's comparison
            exprs = []
            for name, (col, sql) in derived.items():
                if col not in columns:
                    raise column_not_found(col, "domain", columns)
                exprs.append(f"{sql(_sql_name(col), self.column_types[col])} AS {_sql_name(name)}")
            self.relation = f"(SELECT *, {', '.join(exprs)} FROM {self.relation})"
            columns += list(derived)
        groups = list(groups or [])
        for role, col in [("income", income), ("weight", weight), ("strata", strata), ("PSU", psu)] + [("by", g) for g in groups]:
            if col is not None and col not in columns:
                raise column_not_found(col, role, columns)
        self.chunk_rows = int(chunk_rows)
        y = f"CAST({_sql_name(income)} AS DOUBLE)"
        w = "CAST(1.0 AS DOUBLE)" if weight is None else f"CAST({_sql_name(weight)} AS DOUBLE)"
        if psu is None:
            if strata is None:
                self.design = DesignCodes(np.zeros(1, np.int64), np.array([self._count()]), True)
                code = "0"
                self.from_clause = self.relation
            else:
                self._codes_table("strata_codes", [strata])
                n_h = self._q(f"SELECT code, count(*) FROM {self.relation} JOIN strata_codes USING ({_sql_name(strata)}) "
                                       "GROUP BY code ORDER BY code").fetchnumpy()
                self.design = DesignCodes(np.arange(n_h["code"].size), n_h["count_star()"].astype(np.int64), True)
                code = "code"
                self.from_clause = f"{self.relation} JOIN strata_codes USING ({_sql_name(strata)})"
        else:
            keys = [strata, psu] if strata is not None else [psu]
            self._codes_table("psu_codes", keys, stratum=strata)
            table = self._q("SELECT code, stratum_code FROM psu_codes ORDER BY code").fetchnumpy()
            psu_stratum = table["stratum_code"].astype(np.int64)
            self.design = DesignCodes(psu_stratum, np.bincount(psu_stratum), False)
            code = "code"
            using = ", ".join(_sql_name(k) for k in keys)
            self.from_clause = f"{self.relation} JOIN psu_codes USING ({using})"
        self.cells, self.cell_radix = None, None
        if groups:
            cols = ", ".join(_sql_name(g) for g in groups)
            nulls = self._q(f"SELECT {', '.join(f'count(*) FILTER (WHERE {_sql_name(g)} IS NULL)' for g in groups)} "
                            f"FROM {self.relation}").fetchall()[0]
            for g, k in zip(groups, nulls):
                if k:
                    raise BackendError(f"group column {g!r} has {k:,} missing value(s)", column=g,
                                       hint="give the missing group a label, or filter these rows in the source")
            self._q(f"CREATE OR REPLACE TEMP TABLE cell_codes AS SELECT {cols}, CAST(row_number() OVER (ORDER BY {cols}) - 1 "
                    f"AS BIGINT) AS cell FROM (SELECT DISTINCT {cols} FROM {self.relation})").fetchall()
            self.cells = self._q(f"SELECT {cols} FROM cell_codes ORDER BY cell").df()
            self.cell_radix = self.design.n_groups
            code = f"cell * {self.cell_radix} + {code}"
            self.from_clause = f"{self.from_clause} JOIN cell_codes USING ({cols})"
        self.select = f"SELECT {y} AS y, {w} AS w, CAST({code} AS BIGINT) AS psu FROM {self.from_clause}"
        self.income = income

    def _q(self, sql: str):
        """A relation for ``sql`` on the source's connection (a user's relation is the view ``prosperity_src``)."""
        return self._rel.query("prosperity_src", sql) if self._rel is not None else self.con.sql(sql)

    def _count(self) -> int:
        return int(self._q(f"SELECT count(*) FROM {self.relation}").fetchall()[0][0])

    def _codes_table(self, name: str, keys: list[str], stratum: str | None = None) -> None:
        cols = ", ".join(_sql_name(k) for k in keys)
        stratum_code = (f"dense_rank() OVER (ORDER BY {_sql_name(stratum)}) - 1" if stratum is not None else "0")
        self._q(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {cols}, CAST(row_number() OVER (ORDER BY {cols}) - 1 AS BIGINT) AS code, "
                f"CAST({stratum_code} AS BIGINT) AS stratum_code FROM (SELECT DISTINCT {cols} FROM {self.relation})").fetchall()

    def _batches(self, sql: str) -> Iterator[dict]:
        relation = self._q(sql)
        reader = (relation.to_arrow_reader(self.chunk_rows) if hasattr(relation, "to_arrow_reader")
                  else relation.fetch_arrow_reader(self.chunk_rows))  # duckdb < 1.4
        for batch in reader:
            yield {name: batch.column(i).to_numpy(zero_copy_only=False) for i, name in enumerate(batch.schema.names)}

    def chunks(self) -> Iterator[dict]:
        return self._batches(self.select)

    def sorted_chunks(self, stable: bool = False) -> Iterator[dict]:
        """Ascending incomes; ``stable``: tied incomes in the rows' order (files in the order given, rows in
        file order; a frame's rows), which the in-memory sort keeps -- DuckDB's sort alone orders ties
        arbitrarily. A user's relation has no row order: its ties stay in DuckDB's order."""
        tie = f", {self._tie_order}" if stable and self._tie_order else ""
        return self._batches(self.select + " ORDER BY y" + tie)


class DaskSource:
    """A Dask dataframe (e.g. ``dask.dataframe.read_parquet`` on a ``distributed`` cluster), read once
    when opened (:func:`~prosperity.backends.dask_stage.stage_raw`: the design's codes, the group cells,
    the splitter sample and the raw rows, one task a partition) and staged to a spill directory by
    :class:`~prosperity.backends.dask_sort.SpilledFrame`: the first pass buckets each partition's raw
    rows by income in ``spill_dir``, later passes read the staged files; the sort is a splitter sort
    (each bucket of about ``bucket_rows`` rows sorted by one task, ``window`` tasks ahead: no shuffle),
    read bucket by bucket in pieces of at most ``chunk_rows``. :meth:`map_chunks` runs a function over
    each staged partition on the workers (the estimators' order-free passes). ``last_plan``: the
    :class:`~prosperity.backends.dask_sort.BucketPlan`; :meth:`close` (or ``with``) removes the spill
    (a later pass reads the partitions again)."""

    name = "dask"

    def __init__(self, frame, income: str, weight: str | None = None, *, strata: str | None = None,
                 psu: str | None = None, bucket_rows: int | None = None, spill_dir: str | None = None,
                 window: int | None = None, chunk_rows: int = DEFAULT_CHUNK_ROWS, groups=None):
        from . import dask_sort

        self.chunk_rows = int(chunk_rows)
        spill = dict(bucket_rows=dask_sort.checked_bucket_rows(bucket_rows), spill_dir=spill_dir,
                     window=window or dask_sort.DEFAULT_WINDOW)  # a bad bucket_rows is refused before any pass
        columns = list(frame.columns)
        for role, col in (("income", income), ("weight", weight), ("strata", strata), ("PSU", psu)):
            if col is not None and col not in columns:
                raise column_not_found(col, role, [str(c) for c in columns])
        groups = list(groups or [])
        for col in groups:
            if col not in columns:
                raise column_not_found(col, "by", [str(c) for c in columns])
        from .dask_stage import stage_raw

        # one read of the partitions: the design's codes, the group cells and the splitter sample together
        def read():
            return stage_raw(frame, income, weight, strata, psu, groups, bucket_rows=spill["bucket_rows"], spill_dir=spill_dir)

        raw = read()
        self.design, self.cells, self.cell_radix = raw.design, raw.cells, raw.cell_radix
        self.spill = dask_sort.SpilledFrame(None, None, raw=raw, restage=read, **spill)

    @property
    def last_plan(self):
        return self.spill.plan

    def chunks(self) -> Iterator[dict]:
        for part in self.spill.chunks():
            for a in range(0, part["y"].size, self.chunk_rows):
                yield {c: v[a: a + self.chunk_rows] for c, v in part.items()}

    def income_mean(self) -> float:
        """The weighted mean income sum w y / sum w, from the staging's per-bucket sums (stages if needed)."""
        plan = self.spill.staged_plan()
        return float(plan.weighted_income.sum() / plan.weight.sum()) if plan.weight.sum() > 0 else math.nan

    def map_chunks(self, fn) -> Iterator:
        """``fn(pieces)`` over each staged partition's pieces on the workers (partition order): the
        estimators' order-free sums run in parallel where the rows are, and only summaries come back."""
        return self.spill.map_partitions(fn, self.chunk_rows)

    def sorted_chunks(self, stable: bool = True) -> Iterator[dict]:  # always stable: ties in partition, row order
        for bucket in self.spill.sorted_buckets():
            for a in range(0, bucket["y"].size, self.chunk_rows):
                yield {c: v[a: a + self.chunk_rows] for c, v in bucket.items()}

    def close(self) -> None:
        """Remove the staged rows (the spill directory)."""
        self.spill.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _pair_keys(part: pd.DataFrame, keys: list[str], levels: tuple[np.ndarray, ...]) -> np.ndarray:
    """One integer per (stratum, PSU) pair that ascends with the sorted pairs: each key's rank r_i among
    its sorted distinct values, combined in mixed radix, r_1 n_2 + r_2 (n_2 distinct PSU values)."""
    combined = np.zeros(len(part), np.int64)
    for k, level in zip(keys, levels):
        combined = combined * level.size + np.searchsorted(level, part[k].to_numpy())
    return combined


def _key_levels(pair_keys: np.ndarray, levels: tuple[np.ndarray, ...]) -> list[np.ndarray]:
    """The key values of combined pair keys (the inverse of :func:`_pair_keys`)."""
    out, rest = [], pair_keys
    for level in reversed(levels):
        rest, r = np.divmod(rest, level.size)
        out.append(level[r])
    return out[::-1]


def open_source(data, income: str, weight: str | None = None, *, strata=None, psu=None, backend: str | None = None,
                groups=None, **options):
    """The source for ``data``: a Parquet path or directory (DuckDB), a Dask dataframe (Dask), or a pandas
    frame / dict of arrays (memory); ``backend`` names it explicitly."""
    kind = backend
    if kind is None:
        if isinstance(data, (str, os.PathLike)) or (isinstance(data, (list, tuple)) and data and isinstance(data[0], (str, os.PathLike))):
            kind = "duckdb"
        elif type(data).__module__.startswith("dask"):
            kind = "dask"
        else:
            kind = "memory"
    if kind == "duckdb":
        return DuckDBSource(data, income, weight, strata=strata, psu=psu, groups=groups, **options)
    if kind == "dask":
        return DaskSource(data, income, weight, strata=strata, psu=psu, groups=groups, **options)
    if kind == "memory":
        get = (lambda c: None if c is None else np.asarray(data[c]))
        for role, col in (("income", income), ("weight", weight), ("strata", strata), ("PSU", psu)):
            if col is not None and col not in data:
                raise column_not_found(col, role, [str(c) for c in data])
        for col in groups or ():
            if col not in data:
                raise column_not_found(col, "by", [str(c) for c in data])
        return MemorySource(get(income), get(weight), strata=get(strata), psu=get(psu),
                            groups={c: get(c) for c in groups} if groups else None, **options)
    raise BackendError(f"unknown backend {backend!r}", hint="use 'memory', 'duckdb' or 'dask'")
