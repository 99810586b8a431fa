"""The nested generalized-entropy decomposition out of core: one GROUP BY over the finest cell.

Every term of :func:`prosperity.decompose.nested_decomposition` is a function of three sums per
lowest-level unit l (:mod:`prosperity.decompose.moments`),

    N_l = sum w,    Y_l = sum w y,    M_l = sum w f(y),   f(y) = y ln y (Theil T), ln y (MLD), y^a (GE(a)),

and everything above the lowest level is a sum of those small tables (Shorrocks 1980; the nested
form in :mod:`prosperity.decompose.entropy`). So the rows are read **once**: a group-by over the
finest cell (the tuple of every level's label) gives, per cell, the count, sum w, sum w y,
sum w y ln y, sum w ln y and sum w y^a for every asked a, plus the counts of rows the measures cannot
take (non-finite, negative or zero incomes, negative or missing weights). On DuckDB it is one SQL
``GROUP BY`` over the Parquet files (``fsum``: compensated sums); on Dask per-task tables merged by
key (no shuffle; a plain ``dd.read_parquet`` is read on the workers with pyarrow:
:mod:`prosperity.backends.decompose_dask`); in memory the same tables built
piece by piece and added. The cell table (one row per cell: ~10^3 - 10^5 rows for a country's
counties) then goes through the in-memory decomposition's own code (:func:`_nested_from_moments`),
so the result is the same :class:`~prosperity.decompose.NestedDecomposition`, equal to the in-memory
one up to the order of the floating-point additions (tests: 1e-12 relative), and one pass serves
Theil, MLD and any GE(a) at once (:func:`nested_decomposition_many`).

The nesting is checked on the cell table: a unit of one level under two units of the level above is
refused with :class:`~prosperity.decompose.NestingError` naming the unit and both parents (a row
number has no meaning across Parquet files: the message names the units instead).

Design-based standard errors (``strata=``, ``psu=``, ``fpc=``, ``lonely_psu=``) come from the same pass,
grouped by (cell, PSU) instead of by cell: :mod:`prosperity.backends.decompose_design`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..decompose.entropy import NestedDecomposition, _nested_from_moments, parse_ge
from ..decompose.hierarchy import NestingError, encode_hierarchy
from ..decompose.moments import LeafMoments
from ..io.errors import column_not_found
from .sources import DEFAULT_CHUNK_ROWS, BackendError, _sql_name, duckdb_connection, parquet_files, sql_file_list

_SUMS = ("rows", "w", "wy", "wylny", "wlny")  # + one "wpow{a}" per GE(a), a not in {0, 1}
_BAD = ("bad_y", "neg_y", "zero_y", "bad_w")


def _kind(data, backend: str | None) -> str:
    if backend is not None:
        if backend not in ("memory", "duckdb", "dask"):
            raise BackendError(f"unknown backend {backend!r}", hint="use 'memory', 'duckdb' or 'dask'")
        return backend
    if isinstance(data, (str, os.PathLike)) or (isinstance(data, (list, tuple)) and data
                                                and isinstance(data[0], (str, os.PathLike))):
        return "duckdb"
    module = type(data).__module__
    if module.startswith("dask"):
        return "dask"
    if module.startswith("duckdb"):
        return "duckdb"
    return "memory"


def _pow_name(a: float) -> str:
    return f"wpow{a!r}"


# ----------------------------------------------------------------------------------- the cell tables


def cell_sums_memory(frame, income: str, levels: Sequence[str], weight: str | None, alphas: Sequence[float],
                     chunk_rows: int = DEFAULT_CHUNK_ROWS, *, extra_keys: dict | None = None,
                     second: Sequence[str] = ()) -> pd.DataFrame:
    """Per finest cell: rows, sum w, sum w y, sum w y ln y, sum w ln y, sum w y^a and the bad-row counts,
    from a pandas frame (or dict of columns) read in pieces of ``chunk_rows`` rows, tables added.

    ``extra_keys`` (name -> one value per row) are grouped on too (the design's PSU or stratum:
    :mod:`prosperity.backends.decompose_design`); ``second`` names summed terms x whose products with
    w and w y and itself are summed as well (:func:`_second_terms`)."""
    y_all = np.asarray(frame[income], dtype=np.float64)
    w_all = np.ones_like(y_all) if weight is None else np.asarray(frame[weight], dtype=np.float64)
    level_cols = {lv: np.asarray(frame[lv]) for lv in levels} | dict(extra_keys or {})
    keys = list(level_cols)
    tables = []
    for a in range(0, y_all.size, chunk_rows):
        piece = pd.DataFrame({lv: col[a: a + chunk_rows] for lv, col in level_cols.items()})
        tables.append(_piece_sums(piece, y_all[a: a + chunk_rows], w_all[a: a + chunk_rows], keys, alphas, second))
    out = pd.concat(tables, ignore_index=True).groupby(keys, sort=False, dropna=False, observed=True).sum()
    return out.reset_index()


def _second_terms(terms: dict, second: Sequence[str]) -> dict[str, np.ndarray]:
    """Products of the summed terms for variances when every row is its own PSU: w w, w wy, wy wy and,
    for each term x named in ``second``, x w, x wy and x x (names ``"a*b"``)."""
    if not second:
        return {}
    w, wy = terms["w"], terms["wy"]
    out = {"w*w": w * w, "w*wy": w * wy, "wy*wy": wy * wy}
    for name in second:
        x = terms[name]
        out |= {f"{name}*w": x * w, f"{name}*wy": x * wy, f"{name}*{name}": x * x}
    return out


def _row_terms(y: np.ndarray, w: np.ndarray, alphas: Sequence[float]) -> dict[str, np.ndarray]:
    """The summed terms of every row (0 where the term is not defined: such rows are counted as bad)."""
    if y.size and y.min() > 0 and np.isfinite(y.max()) and w.min() >= 0 and np.isfinite(w.max()):  # the rule
        lny = np.log(y)
        wy = w * y
        terms = {"rows": np.ones_like(y), "w": w, "wy": wy, "wylny": wy * lny, "wlny": w * lny}
        for a in alphas:
            terms[_pow_name(a)] = w * y ** a
        return terms | {"bad_y": 0.0, "neg_y": 0.0, "zero_y": 0.0, "bad_w": 0.0}  # no bad row: summed as 0
    fin_y, fin_w = np.isfinite(y), np.isfinite(w)
    pos = fin_y & (y > 0)
    ysafe = np.where(pos, y, 1.0)
    with np.errstate(invalid="ignore", over="ignore"):
        wy = w * np.where(fin_y, y, 0.0)
        lny = np.where(pos, np.log(ysafe), 0.0)
        terms = {"rows": np.ones_like(y), "w": np.where(fin_w, w, 0.0), "wy": np.where(fin_w, wy, 0.0),
                 "wylny": np.where(fin_w, wy * lny, 0.0), "wlny": np.where(fin_w, w * lny, 0.0)}
        for a in alphas:
            terms[_pow_name(a)] = np.where(fin_w & pos, w * ysafe ** a, 0.0)
    terms["bad_y"] = (~fin_y).astype(np.float64)
    terms["neg_y"] = (fin_y & (y < 0)).astype(np.float64)
    terms["zero_y"] = (y == 0).astype(np.float64)
    terms["bad_w"] = (~(fin_w & (w >= 0))).astype(np.float64)
    return terms


def _piece_sums(levels_frame: pd.DataFrame, y, w, levels, alphas, second: Sequence[str] = ()) -> pd.DataFrame:
    """The cell table of one piece: each level factorized (missing labels kept as their own code), the
    codes combined into one cell code, every term summed by ``numpy.bincount``."""
    cell = np.zeros(len(levels_frame), dtype=np.int64)
    for lv in levels:
        codes, uniques = pd.factorize(levels_frame[lv], use_na_sentinel=False)
        if int(cell.max(initial=0)) >= (1 << 62) // (len(uniques) + 1):  # keep the mixed radix in int64
            cell = pd.factorize(cell)[0].astype(np.int64)
        cell = cell * (len(uniques) + 1) + codes
    inverse, cell_codes = pd.factorize(cell)  # hashed, in order of first appearance
    first = np.flatnonzero(np.diff(np.maximum.accumulate(inverse), prepend=-1) > 0)  # each code's first row
    out = levels_frame.iloc[first][list(levels)].reset_index(drop=True)
    terms = _row_terms(y, w, alphas)
    for name, values in (terms | _second_terms(terms, second)).items():
        out[name] = (np.bincount(inverse, weights=values, minlength=cell_codes.size) if np.ndim(values)
                     else np.zeros(cell_codes.size))
    return out


def cell_sums_duckdb(data, income: str, levels: Sequence[str], weight: str | None, alphas: Sequence[float], *,
                     memory_limit: str = "2GB", threads: int | None = None, extra_keys: dict | None = None,
                     second: Sequence[str] = ()) -> pd.DataFrame:
    """The cell table by one SQL GROUP BY over Parquet file(s) or a directory of them (or a DuckDB
    relation): DuckDB streams the files, only the cell table is materialised. ``extra_keys`` (alias ->
    SQL expression) are grouped on too; ``second`` as in :func:`cell_sums_memory`."""
    if type(data).__module__.startswith("duckdb"):
        con, relation = None, data
        columns = list(relation.columns)
    else:
        con = duckdb_connection(memory_limit, threads)
        relation = con.sql(f"SELECT * FROM read_parquet([{sql_file_list(parquet_files(data))}])")
        columns = list(relation.columns)
    _check_columns(columns, income, levels, weight)
    y = f"CAST({_sql_name(income)} AS DOUBLE)"
    w = "1.0" if weight is None else f"CAST({_sql_name(weight)} AS DOUBLE)"
    fy, fw = f"isfinite(coalesce({y}, 'nan'::DOUBLE))", f"isfinite(coalesce({w}, 'nan'::DOUBLE))"
    pos = f"({fy} AND {y} > 0)"
    lny = f"(CASE WHEN {pos} THEN ln({y}) ELSE 0.0 END)"
    wy = f"(CASE WHEN {fy} AND {fw} THEN {w} * {y} ELSE 0.0 END)"
    keys = ", ".join(_sql_name(lv) for lv in levels)
    terms = {"w": f"(CASE WHEN {fw} THEN {w} ELSE 0.0 END)", "wy": wy, "wylny": f"({wy} * {lny})",
             "wlny": f"(CASE WHEN {fw} THEN {w} * {lny} ELSE 0.0 END)"}
    for a in alphas:
        terms[_pow_name(a)] = f"(CASE WHEN {fw} AND {pos} THEN {w} * pow({y}, {a!r}) ELSE 0.0 END)"
    parts = ["CAST(count(*) AS DOUBLE) AS rows"] + [f"fsum({e}) AS {_sql_name(n)}" for n, e in terms.items()]
    if second:
        pairs = [("w", "w"), ("w", "wy"), ("wy", "wy")] + [(x, o) for x in second for o in ("w", "wy", x)]
        parts += [f"fsum({terms[p]} * {terms[q]}) AS {_sql_name(f'{p}*{q}')}" for p, q in pairs]
    parts += [f"CAST(count(*) FILTER (WHERE NOT {fy}) AS DOUBLE) AS bad_y",
              f"CAST(count(*) FILTER (WHERE {fy} AND {y} < 0) AS DOUBLE) AS neg_y",
              f"CAST(count(*) FILTER (WHERE {y} = 0) AS DOUBLE) AS zero_y",
              f"CAST(count(*) FILTER (WHERE NOT ({fw} AND {w} >= 0)) AS DOUBLE) AS bad_w"]
    extra = "".join(f", {e} AS {_sql_name(n)}" for n, e in (extra_keys or {}).items())
    sql = f"SELECT {keys}{extra}, {', '.join(parts)} FROM t GROUP BY ALL"
    if con is None:
        return relation.query("t", sql).df()
    con.register("t", relation)
    try:
        return con.sql(sql).df()
    finally:
        con.close()


def cell_sums_dask(frame, income: str, levels: Sequence[str], weight: str | None, alphas: Sequence[float], *,
                   extra_keys: dict | None = None, second: Sequence[str] = (), chunk_rows: int | None = None) -> pd.DataFrame:
    """The cell table from a Dask dataframe, with no shuffle: per-task tables merged by key
    (:mod:`prosperity.backends.decompose_dask`; a plain ``dd.read_parquet`` is read on the workers with
    pyarrow). ``extra_keys`` (alias -> (column, numeric)) are grouped on too (numeric: read as float64,
    what is not a number becomes NaN); ``second`` as in :func:`cell_sums_memory`; ``chunk_rows``: the rows
    of one batch on a worker."""
    from .decompose_dask import cell_sums_dask as run

    _check_columns(list(frame.columns), income, levels, weight)
    return run(frame, income, list(levels), weight, alphas, extra_keys=extra_keys, second=second, chunk_rows=chunk_rows)


def _check_columns(columns, income, levels, weight) -> None:
    available = [str(c) for c in columns]
    for role, col in [("income", income), ("weight", weight)] + [("level", lv) for lv in levels]:
        if col is not None and col not in available:
            raise column_not_found(col, role, available)


def cell_sums(data, income: str, levels: Sequence[str], weight: str | None = None, alphas: Sequence[float] = (), *,
              backend: str | None = None, **options) -> pd.DataFrame:
    """The one pass: the table of per-cell sums on the backend ``data`` belongs to (or ``backend``)."""
    kind = _kind(data, backend)
    levels = list(levels)
    if kind == "duckdb":
        return cell_sums_duckdb(data, income, levels, weight, alphas, **options)
    if kind == "dask":
        return cell_sums_dask(data, income, levels, weight, alphas,
                              **{k: v for k, v in options.items() if k in ("extra_keys", "second", "chunk_rows")})
    if hasattr(data, "to_pandas") and not isinstance(data, pd.DataFrame):
        data = data.to_pandas()
    _check_columns(list(data.columns) if hasattr(data, "columns") else list(data), income, levels, weight)
    return cell_sums_memory(data, income, levels, weight, alphas, **options)


# ------------------------------------------------------------------------- from the cells to the result


def _cell_label(cells: pd.DataFrame, levels, i: int) -> str:
    return ", ".join(f"{lv}={cells[lv].iloc[i]!r}" for lv in levels)


def _check_cells(cells: pd.DataFrame, levels, alphas_all: Sequence[float], weight: str | None, income: str) -> None:
    """Refuse what the in-memory decomposition refuses, naming the cell and how many rows."""
    for lv in levels:
        missing = cells[lv].isna().to_numpy()
        if missing.any():
            rows = int(cells.loc[missing, "rows"].sum())
            raise BackendError(f"level {lv!r} is missing in {rows} row(s): every row needs a unit at every level",
                               hint="fill or filter those rows in the source (say how many you drop)")
    need_positive = any(a <= 0 for a in alphas_all)
    checks = [("bad_y", f"income {income!r}: {{n}} row(s) missing or not a finite number", "clean or filter them"),
              ("neg_y", f"income {income!r}: {{n}} row(s) negative; generalized entropy needs incomes >= 0",
               "bottom-code or filter them (and say how many)")]
    if need_positive:
        a = min(alphas_all)
        checks.append(("zero_y", f"income {income!r}: {{n}} row(s) equal to 0; GE(alpha={a:g}) needs positive incomes",
                       "use Theil T (alpha = 1), or drop/bottom-code the zeros"))
    if weight is not None:
        checks.append(("bad_w", f"weight {weight!r}: {{n}} row(s) missing, not finite or negative; weights must be >= 0",
                       "fix those weights"))
    for col, msg, hint in checks:
        bad = cells[col].to_numpy() > 0
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise BackendError(msg.format(n=int(cells.loc[bad, col].sum())) + f" (first in cell {_cell_label(cells, levels, first)})",
                               hint=hint)


def moments_from_cells(cells: pd.DataFrame, levels: Sequence[str], alpha: float):
    """(Hierarchy, LeafMoments) of the cell table: the leaf level's units with their sums and, per
    leaf, its unit at every coarser level; a leaf under two parents raises NestingError."""
    levels = list(levels)
    k = len(levels)
    h = encode_hierarchy([cells[lv].to_numpy() for lv in levels], levels, n_rows=len(cells))
    leaf = np.asarray(h.codes[-1], dtype=np.int64)
    n_leaf = h.sizes[-1]
    if alpha == 1.0:
        m = cells["wylny"].to_numpy(np.float64)
    elif alpha == 0.0:
        m = cells["wlny"].to_numpy(np.float64)
    else:
        m = cells[_pow_name(alpha)].to_numpy(np.float64)
    weight = np.bincount(leaf, weights=cells["w"].to_numpy(np.float64), minlength=n_leaf)
    income = np.bincount(leaf, weights=cells["wy"].to_numpy(np.float64), minlength=n_leaf)
    power = np.bincount(leaf, weights=m, minlength=n_leaf)
    present = np.bincount(leaf, minlength=n_leaf) > 0
    tab = np.full((n_leaf, max(k - 1, 1)), -1, dtype=np.int64)
    for j in range(k - 1):
        codes = np.asarray(h.codes[j], dtype=np.int64)
        tab[leaf[::-1], j] = codes[::-1]  # the first cell of a leaf wins
        clash = np.flatnonzero(tab[leaf, j] != codes)
        if clash.size:
            i = int(clash[0])
            first = int(np.flatnonzero(leaf == leaf[i])[0])
            raise NestingError(
                f"{levels[-1]} {cells[levels[-1]].iloc[i]!r} lies in two units of level {levels[j]!r}: "
                f"{cells[levels[j]].iloc[first]!r} and {cells[levels[j]].iloc[i]!r} (cells {_cell_label(cells, levels, first)} "
                f"and {_cell_label(cells, levels, i)}). Each {levels[-1]} must belong to exactly one {levels[j]}; fix the "
                f"rows or give the units distinct labels (e.g. combine the {levels[j]} and {levels[-1]} codes).")
    return h, LeafMoments(alpha, weight, income, power, tab[:, : k - 1], present)


def nested_decomposition_many(data, income: str, levels: Sequence[str], weight: str | None = None,
                              measures: Sequence = ("theil", "mld"), *, backend: str | None = None,
                              strata: str | None = None, psu: str | None = None, fpc: str | None = None,
                              lonely_psu: str = "fail", design=None, **options) -> dict[str, NestedDecomposition]:
    """Nested GE decompositions of ``data`` over ``levels`` (coarsest first) for several ``measures``
    (``"theil"``, ``"mld"``, ``"ge:a"``) from **one** pass over the rows; ``{label: NestedDecomposition}``.

    ``data``: a Parquet file, a directory or list of them, or a DuckDB relation (DuckDB: one SQL
    GROUP BY), a Dask dataframe (Dask: per-task tables merged by key), or a pandas frame / dict of
    columns (memory, read in pieces of ``chunk_rows``); ``backend`` names it explicitly. ``options``:
    ``memory_limit``/``threads`` (DuckDB), ``chunk_rows`` (memory; Dask: the rows of one batch on a worker). Each result equals
    :func:`prosperity.decompose.decompose` on the same rows (up to rounding, 1e-12 relative in the tests).

    ``strata``, ``psu``, ``fpc`` (column names) and ``lonely_psu``, as :func:`prosperity.decompose.decompose`
    takes them (in memory also ``design=``, a :class:`prosperity.variance.Design` of these rows): the
    total and every component and share get their linearized design-based standard error, from the
    same pass grouped by (cell, PSU) (:mod:`prosperity.backends.decompose_design`).
    """
    from .decompose_design import PairRows, attach_design, design_pass, wants_design

    if isinstance(levels, str):
        levels = [levels]
    levels = list(levels)
    if not levels:
        raise BackendError("give at least one level", hint="e.g. levels=['region', 'province']")
    if len(set(levels)) != len(levels):
        raise BackendError(f"level names must differ, got {levels}", hint="list each level column once")
    if isinstance(measures, (str, int, float)):
        measures = [measures]
    parsed = [parse_ge(m) for m in measures]
    alphas = sorted({a for a, _ in parsed if a not in (0.0, 1.0)})
    table = None
    if wants_design(design, strata, psu, fpc):
        kind = _kind(data, backend)
        _check_columns(_columns_of(data, kind), income, levels, weight)
        table = design_pass(data, kind, income, levels, weight, alphas, [a for a, _ in parsed], strata=strata,
                            psu=psu, fpc=fpc, lonely_psu=lonely_psu, design=design, **options)
        cells = table.cells
    else:
        cells = cell_sums(data, income, levels, weight, alphas, backend=backend, **options)
    if len(cells) == 0 or cells["rows"].sum() == 0:
        raise BackendError("no observations: the source has no rows")
    _check_cells(cells, levels, [a for a, _ in parsed], weight, income)
    rows = None
    if table is not None:
        rows = PairRows(attach_design(table, strata=strata, psu=psu, fpc=fpc, lonely_psu=lonely_psu))
    out = {}
    for alpha, label in parsed:
        h, mom = moments_from_cells(cells, levels, alpha)
        if not np.isfinite(mom.power).all() or not np.isfinite(mom.income).all():
            raise BackendError(f"the sums for {label} overflowed", hint="rescale the incomes (e.g. to thousands)")
        out[label] = _nested_from_moments(mom, h, label, rows)
    return out


def _columns_of(data, kind: str) -> list[str]:
    from .decompose_design import _source_columns

    return _source_columns(data, kind)


def nested_decomposition_source(data, income: str, levels: Sequence[str], weight: str | None = None,
                                measure="theil", *, backend: str | None = None, **options) -> NestedDecomposition:
    """One nested GE decomposition out of core (see :func:`nested_decomposition_many`; ``options`` include
    the design: ``strata``, ``psu``, ``fpc``, ``lonely_psu``)."""
    return next(iter(nested_decomposition_many(data, income, levels, weight, [measure], backend=backend,
                                               **options).values()))


def is_out_of_core(data) -> bool:
    """True for the inputs the in-memory API hands to this module: a path, a DuckDB relation, a Dask frame."""
    return _kind(data, None) != "memory"


__all__ = ["cell_sums", "is_out_of_core", "moments_from_cells", "nested_decomposition_many",
           "nested_decomposition_source"]
