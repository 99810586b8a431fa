"""The Dask route of the out-of-core nested decomposition (:mod:`prosperity.backends.decompose_dask`):
a plain ``dd.read_parquet`` is read on the workers with pyarrow (row groups dealt into tasks, batches of
``chunk_rows``, string columns as dictionaries), any other frame partition by partition; both equal the
in-memory decomposition to 1e-12 with string, categorical and integer group columns, and missing values
are refused with the messages of the other backends."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from prosperity.backends import BackendError
from prosperity.backends.decompose import nested_decomposition_many
from prosperity.backends.decompose_dask import (
    CellTable, Spec, cell_codes, merge_tables, plain_parquet_files, plan_tasks)
from prosperity.decompose import NestingError, decompose
from prosperity.io.errors import InvalidValueError
from prosperity.synth import synthesize_population

dd = pytest.importorskip("dask.dataframe")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

LEVELS = ["region", "province_en", "province_area", "county"]
INCOME = "disp_income_pc_yuan"
MEASURES = ["theil", "mld", "ge:2", "ge:-1"]
NUMERIC = ["population", "pop_share", "income_share", "mean", "relative_mean", "inequality_inside", "contribution",
           "share"]


@pytest.fixture(scope="module")
def china():
    """6,000 synthetic persons, four nested levels as strings, their integer codes, and a household PSU."""
    d = synthesize_population(2024, persons=6_000, seed=5)
    for c in ("region", "province_en", "area"):
        d[c] = d[c].astype(str)
    d["province_area"] = d["province_en"] + "/" + d["area"]
    d["county"] = d["province_area"] + "/" + (d["household_id"] % 5).astype(str)
    for c in LEVELS:
        d[c + "_code"] = pd.factorize(d[c], sort=True)[0].astype(np.int32)
    return d


def _same(got, ref, se: bool = False):
    assert got.measure == ref.measure and got.levels == ref.levels
    assert math.isclose(got.total, ref.total, rel_tol=1e-12)
    a, b = got.to_frame(), ref.to_frame()
    assert list(a["component"]) == list(b["component"])
    for c in ("value", "share") + (("se", "share_se") if se else ()):
        np.testing.assert_allclose(a[c], b[c], rtol=1e-12, atol=0, err_msg=c)
    if se:
        assert math.isclose(got.total_se, ref.total_se, rel_tol=1e-12)
    pd.testing.assert_frame_equal(got.units[["level", "unit", "parent"]], ref.units[["level", "unit", "parent"]])
    for c in NUMERIC:
        scale = float(np.abs(ref.units[c]).max())
        np.testing.assert_allclose(got.units[c], ref.units[c], rtol=1e-12, atol=1e-12 * scale, err_msg=c)


def _write(d: pd.DataFrame, folder, parts: int = 3, row_group_size: int = 700) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for k, piece in enumerate(np.array_split(np.arange(len(d)), parts)):
        pq.write_table(pa.Table.from_pandas(d.iloc[piece], preserve_index=False), folder / f"part{k}.parquet",
                       row_group_size=row_group_size)


# ------------------------------------------------------------------------------------------ the kernel


def test_cell_codes_nested_keys_cost_nothing_and_crossed_keys_combine():
    leaf = np.array([0, 1, 2, 1, 0, 2, 2])
    parent = np.array([5, 5, 7, 5, 5, 7, 7])  # determined by the leaf: the cells are the leaves
    cell, counts = cell_codes([(None, parent), (leaf, np.array(["a", "b", "c"]))])
    assert cell.tolist() == leaf.tolist() and counts.tolist() == [2, 2, 3]
    crossed = np.array([1, 1, 1, 2, 2, 2, 2])  # not determined by the leaf: (leaf, crossed) pairs
    cell, counts = cell_codes([(None, crossed), (leaf, np.array(["a", "b", "c"]))])
    pairs = list(zip(leaf.tolist(), crossed.tolist()))
    assert len(counts) == len(set(pairs)) == 6
    for i in range(7):
        for j in range(7):
            assert (cell[i] == cell[j]) == (pairs[i] == pairs[j])
    assert sorted(counts.tolist()) == sorted(pairs.count(p) for p in set(pairs))
    # a dictionary's unused entries are dropped: the cells stay dense
    cell, counts = cell_codes([(np.array([3, 3, 0]), np.array(list("abcd")))])
    assert sorted(set(cell.tolist())) == [0, 1] and sorted(counts.tolist()) == [1, 2]


def test_merge_tables_adds_sums_by_label():
    spec = Spec("y", None, (("g", "g", False), ("h", "h", False)), (), (), ("rows", "w"), 10)
    a = CellTable({"g": np.array(["x", "y"], dtype=object), "h": np.array([1, 1])},
                  {"rows": np.array([2.0, 3.0]), "w": np.array([0.5, 1.5])})
    b = CellTable({"g": np.array(["y", "x", None], dtype=object), "h": np.array([1, 2, 1])},
                  {"rows": np.array([1.0, 4.0, 1.0]), "w": np.array([2.0, 8.0, 0.25])})
    m = merge_tables([a, b], spec).to_frame().set_index(["g", "h"], drop=True)
    assert m.loc[("x", 1), "w"] == 0.5 and m.loc[("y", 1), "w"] == 3.5 and m.loc[("x", 2), "rows"] == 4.0
    assert len(m) == 4 and m["rows"].sum() == 11.0  # the missing label is a cell of its own


def test_plan_tasks_deals_every_row_group_once_in_balanced_runs(tmp_path, china):
    _write(china, tmp_path, parts=3, row_group_size=250)  # 3 files x 8 row groups
    files = sorted(str(p) for p in tmp_path.glob("*.parquet"))
    plan = plan_tasks(files, [INCOME, "county"], rows_per_task=1_000, min_tasks=2)
    seen = [(path, g) for run in plan for path, groups, _ in run for g in groups]
    assert seen == [(f, g) for f in files for g in range(8)]  # contiguous, in order, each once
    rows = [sum(pq.ParquetFile(p).metadata.row_group(g).num_rows for p, gs, _ in run for g in gs) for run in plan]
    assert len(plan) == 6 and max(rows) - min(rows) <= 250 and sum(rows) == len(china)
    assert all(dictionary == ["county"] for run in plan for _, _, dictionary in run)  # strings read as dictionaries
    assert plan_tasks(files, [INCOME, "no_such_column"]) is None  # then the frame's partitions are used


# --------------------------------------------------------------------------------- routes and results


def test_which_frames_are_read_on_the_workers(tmp_path, china):
    _write(china, tmp_path)
    frame = dd.read_parquet(str(tmp_path / "*.parquet"))
    files = plain_parquet_files(frame)
    assert sorted(files) == sorted(str(p) for p in tmp_path.glob("*.parquet"))
    assert plain_parquet_files(frame[[INCOME, "county"]]) == files  # a column selection of one
    assert plain_parquet_files(frame[frame[INCOME] > 0]) is None  # a filter: the partitions
    assert plain_parquet_files(dd.read_parquet(str(tmp_path / "*.parquet"), filters=[(INCOME, ">", 0)])) is None
    assert plain_parquet_files(dd.from_pandas(china, npartitions=2)) is None


@pytest.mark.parametrize("chunk_rows", [None, 333])
def test_parquet_route_strings_integers_and_row_group_batches(tmp_path, china, cluster, chunk_rows):
    """String levels (read as dictionaries) and integer-coded levels, three files of 700-row groups,
    batches of 333 rows crossing the row groups: equal to the in-memory decomposition."""
    _write(china, tmp_path)
    frame = dd.read_parquet(str(tmp_path / "*.parquet"))
    ref = {m: decompose(china, INCOME, LEVELS, "weight", m) for m in MEASURES}
    got = nested_decomposition_many(frame, INCOME, LEVELS, "weight", MEASURES, chunk_rows=chunk_rows)
    for m in MEASURES:
        _same(got[m], ref[m])
    codes = [c + "_code" for c in LEVELS]
    ref = decompose(china, INCOME, codes, "weight", "theil")
    _same(nested_decomposition_many(frame, INCOME, codes, "weight", ["theil"], chunk_rows=chunk_rows)["theil"], ref)
    _same(decompose(frame, INCOME, codes, None, "mld"), decompose(china, INCOME, codes, None, "mld"))


def test_one_large_row_group_read_in_batches(tmp_path, china, cluster):
    pq.write_table(pa.Table.from_pandas(china, preserve_index=False), tmp_path / "one.parquet",
                   row_group_size=len(china))
    frame = dd.read_parquet(str(tmp_path / "one.parquet"))
    assert len(plan_tasks(plain_parquet_files(frame), [INCOME], min_tasks=8)) == 1  # one row group: one task
    got = nested_decomposition_many(frame, INCOME, LEVELS, "weight", ["theil", "ge:2"], chunk_rows=1000)
    for m in ("theil", "ge:2"):
        _same(got[m], decompose(china, INCOME, LEVELS, "weight", m))


def test_categorical_columns_with_different_dictionaries_per_file(tmp_path, china, cluster):
    """Categorical levels written by pandas (Parquet dictionaries, read back as categories) whose
    categories differ between the files: cells are merged by label, on both routes."""
    d = china.copy()
    half = len(d) // 2
    tmp_path.mkdir(exist_ok=True)
    for k, piece in enumerate((d.iloc[:half], d.iloc[half:])):
        p = piece.copy()
        for c in LEVELS:
            p[c] = pd.Categorical(p[c], categories=sorted(p[c].unique())[::-1 if k else 1])
        p.to_parquet(tmp_path / f"part{k}.parquet", row_group_size=1000)
    frame = dd.read_parquet(str(tmp_path / "*.parquet"))
    assert isinstance(frame.dtypes["county"], pd.CategoricalDtype) and plain_parquet_files(frame) is not None
    ref = decompose(china, INCOME, LEVELS, "weight", "theil")
    _same(decompose(frame, INCOME, LEVELS, "weight", "theil"), ref)
    cat = china.copy()
    for c in LEVELS:
        cat[c] = cat[c].astype("category")
    _same(decompose(dd.from_pandas(cat, npartitions=3), INCOME, LEVELS, "weight", "theil"), ref)  # partitions


def test_partition_route_and_design_ses_equal_memory(tmp_path, china, cluster):
    """A frame that is not a plain Parquet read (from pandas; a filtered read) goes partition by partition,
    with more partitions than one merge takes (a tree of merges); with and without PSUs; the same SEs."""
    _write(china, tmp_path)
    designs = [dict(strata="province_en", psu="household_id"), dict(strata="province_en")]
    read = dd.read_parquet(str(tmp_path / "*.parquet"))
    frames = [dd.from_pandas(china, npartitions=11), read[read[INCOME] > -np.inf], read]
    assert plain_parquet_files(frames[1]) is None and plain_parquet_files(frames[2]) is not None
    for design in designs:
        ref = {m: decompose(china, INCOME, LEVELS, "weight", m, **design) for m in ("theil", "ge:2")}
        for frame in frames:
            got = nested_decomposition_many(frame, INCOME, LEVELS, "weight", ["theil", "ge:2"], chunk_rows=500, **design)
            for m in ("theil", "ge:2"):
                _same(got[m], ref[m], se=True)
    ref = decompose(china, INCOME, LEVELS, "weight", "theil")
    _same(decompose(frames[0], INCOME, LEVELS, "weight", "theil"), ref)


# ---------------------------------------------------------------------------------- refused inputs


def _both_routes(d: pd.DataFrame, tmp_path):
    d.to_parquet(tmp_path / "bad.parquet", row_group_size=1000)
    return [dd.read_parquet(str(tmp_path / "bad.parquet")), dd.from_pandas(d, npartitions=3)]


def test_missing_values_refused_as_on_duckdb(tmp_path, china, cluster):
    d = china.copy()
    d.loc[d.index[[7, 4000]], "county"] = None  # a string level, in two row groups
    for frame in _both_routes(d, tmp_path):
        with pytest.raises(BackendError, match=r"level 'county' is missing in 2 row\(s\)"):
            decompose(frame, INCOME, LEVELS, "weight")
    with pytest.raises(BackendError, match=r"level 'county' is missing in 2 row\(s\)"):
        decompose(str(tmp_path / "bad.parquet"), INCOME, LEVELS, "weight")  # DuckDB: the same message
    codes = [c + "_code" for c in LEVELS]
    d = china.copy()
    d["county_code"] = d["county_code"].astype("Int64")
    d.loc[d.index[[3, 5, 5000]], "county_code"] = pd.NA  # an integer level with nulls
    for frame in _both_routes(d, tmp_path):
        with pytest.raises(BackendError, match=r"level 'county_code' is missing in 3 row\(s\)"):
            decompose(frame, INCOME, codes, "weight")
    d = china.copy()
    d.loc[d.index[[1, 2]], INCOME] = np.nan
    d.loc[d.index[9], "weight"] = np.nan
    for frame in _both_routes(d, tmp_path):
        with pytest.raises(BackendError, match=rf"income '{INCOME}': 2 row\(s\) missing or not a finite number "
                                               r"\(first in cell region="):
            decompose(frame, INCOME, LEVELS, "weight")
    d = china.copy()
    d.loc[d.index[9], "weight"] = np.nan
    for frame in _both_routes(d, tmp_path):
        with pytest.raises(BackendError, match=r"weight 'weight': 1 row\(s\) missing"):
            decompose(frame, INCOME, LEVELS, "weight")
    d = china.copy()
    d["household_id"] = d["household_id"].astype("float64")
    d.loc[d.index[:4], "household_id"] = np.nan
    for frame in _both_routes(d, tmp_path):
        with pytest.raises(InvalidValueError, match=r"PSU column 'household_id' has 4 missing values"):
            decompose(frame, INCOME, LEVELS, "weight", strata="province_en", psu="household_id")
    d = china.copy()
    d["province_en"] = d["province_en"].astype(object)
    d.loc[d.index[100], "province_en"] = None
    for frame in _both_routes(d, tmp_path):
        with pytest.raises(InvalidValueError, match=r"strata column 'province_en' has 1 missing value"):
            decompose(frame, INCOME, ["region"], "weight", strata="province_en")


def test_nesting_error_names_the_unit_on_the_workers(tmp_path, china, cluster):
    d = china.copy()
    row = d.index[d["region"] == "East"][0]
    d.loc[row, "region"] = "West"
    for frame in _both_routes(d, tmp_path):
        with pytest.raises(NestingError, match=r"lies in two units of level 'region': '(East|West)' and '(East|West)'"):
            decompose(frame, INCOME, LEVELS, "weight")
