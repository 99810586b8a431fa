"""The 4-level nested GE decomposition out of core (one group-by over the finest cell) equals the
in-memory decomposition to 1e-12 (relative) on memory, DuckDB over Parquet and Dask on a LocalCluster;
bad inputs are refused with the package's error naming the cell or unit."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from prosperity.backends import BackendError
from prosperity.backends.decompose import cell_sums, nested_decomposition_many
from prosperity.decompose import NestingError, decompose
from prosperity.io.errors import ColumnNotFoundError

from agreement import DECOMPOSE_MEASURES as MEASURES, EUSILC, INCOME, LEVELS, china_levels, in_two_halves
from agreement import assert_same_decomposition as _same


@pytest.fixture(scope="module")
def china(tmp_path_factory):
    """The bundled synthetic China population (20,000 persons), four nested levels: NBS region >
    province > urban/rural within the province > a 'county' (five per province and area)."""
    d = china_levels()
    return d, in_two_halves(d, tmp_path_factory.mktemp("china_parquet"))


@pytest.fixture(scope="module")
def reference(china):
    d, _ = china
    return {m: decompose(d, INCOME, LEVELS, "weight", m) for m in MEASURES}


def test_reference_is_a_real_four_level_decomposition(reference):
    t = reference["theil"]
    assert t.to_frame()["level"].tolist() == LEVELS + ["county"]
    assert (t.units["level"] == "county").sum() > 250  # 31 provinces x 2 areas x up to 5 counties
    assert 0.2 < t.total < 0.6 and all(c.value > 0 for c in t.components)


def test_memory_in_pieces_equals_in_memory(china, reference):
    d, _ = china
    got = nested_decomposition_many(d, INCOME, LEVELS, "weight", MEASURES, backend="memory", chunk_rows=3001)
    assert list(got) == ["theil", "mld", "ge:2", "ge:-1", "ge:0.5"]
    for m in MEASURES:
        _same(got[m], reference[m])


def test_duckdb_over_parquet_equals_in_memory(china, reference):
    _, folder = china
    got = nested_decomposition_many(folder, INCOME, LEVELS, "weight", MEASURES)  # one GROUP BY for all five
    for m in MEASURES:
        _same(got[m], reference[m])
    # the public function reaches it from a path, unchanged otherwise
    _same(decompose(str(folder), INCOME, LEVELS, "weight", "mld"), reference["mld"])


def test_duckdb_relation_and_one_level_eusilc():
    duckdb = pytest.importorskip("duckdb")
    d = pd.read_csv(EUSILC)
    d = d[d["eqIncome"] > 0].reset_index(drop=True)
    ref = decompose(d, "eqIncome", ["db040"], "rb050", "ge:2")
    con = duckdb.connect()
    rel = con.from_df(d)
    _same(decompose(rel, "eqIncome", ["db040"], "rb050", "ge:2"), ref)
    # by hand: between regions = sum_g v_g (mu_g / mu)^2 / 2 - 1/2 from the region means
    g = d.groupby("db040").apply(lambda x: pd.Series({"n": x["rb050"].sum(), "y": (x["rb050"] * x["eqIncome"]).sum()}),
                                 include_groups=False)
    mu = g["y"].sum() / g["n"].sum()
    between = float(((g["n"] / g["n"].sum()) * (g["y"] / g["n"] / mu) ** 2).sum() / 2 - 0.5)
    assert math.isclose(ref.components[0].value, between, rel_tol=1e-12)


def test_dask_on_a_local_cluster_equals_in_memory(china, reference, cluster):
    dd = pytest.importorskip("dask.dataframe")
    _, folder = china
    frame = dd.read_parquet(str(folder / "*.parquet"))
    got = nested_decomposition_many(frame, INCOME, LEVELS, "weight", MEASURES)
    for m in MEASURES:
        _same(got[m], reference[m])
    _same(decompose(frame, INCOME, LEVELS, "weight", "theil"), reference["theil"])


def test_small_hand_example_and_cell_table():
    frame = pd.DataFrame({"y": [1.0, 2.0, 3.0, 4.0], "g": ["a", "a", "b", "b"]})
    cells = cell_sums(frame, "y", ["g"], None, [2.0])
    assert cells["rows"].tolist() == [2.0, 2.0] and cells["wy"].tolist() == [3.0, 7.0]
    assert cells["wylny"].tolist() == pytest.approx([2 * math.log(2), 3 * math.log(3) + 4 * math.log(4)], rel=1e-15)
    d = decompose(frame, "y", ["g"], None, "theil", backend="memory")
    between = 0.5 * 0.6 * math.log(0.6) + 0.5 * 1.4 * math.log(1.4)  # group means 1.5, 3.5 around 2.5
    assert d.components[0].value == pytest.approx(between, rel=1e-14)
    assert d.total == pytest.approx(sum(v / 2.5 * math.log(v / 2.5) for v in (1, 2, 3, 4)) / 4, rel=1e-14)


def test_bad_inputs_name_the_cell(tmp_path, china):
    d, folder = china
    with pytest.raises(ColumnNotFoundError, match="provinc"):
        decompose(str(folder), INCOME, ["region", "provinc"], "weight")
    bad = d.copy()
    bad.loc[bad.index[:3], INCOME] = -5.0
    bad.to_parquet(tmp_path / "neg.parquet")
    with pytest.raises(BackendError, match=r"3 row\(s\) negative.*first in cell region="):
        decompose(str(tmp_path / "neg.parquet"), INCOME, LEVELS, "weight")
    zero = d.copy()
    zero.loc[zero.index[5], INCOME] = 0.0
    with pytest.raises(BackendError, match=r"1 row\(s\) equal to 0; GE\(alpha=0\)"):
        decompose(zero, INCOME, LEVELS, "weight", "mld", backend="memory")
    assert decompose(zero, INCOME, LEVELS, "weight", "theil", backend="memory").total > 0  # Theil takes zeros
    clash = d.copy()
    row = clash.index[clash["region"] == "East"][0]
    clash.loc[row, "region"] = "West"  # one person's province now also lies in the West
    with pytest.raises(NestingError, match=r"lies in two units of level 'region'"):
        decompose(clash, INCOME, LEVELS, "weight", backend="memory")
    missing = d.copy()
    missing.loc[missing.index[7], "county"] = None
    missing.to_parquet(tmp_path / "missing.parquet")
    with pytest.raises(BackendError, match=r"level 'county' is missing in 1 row"):
        decompose(str(tmp_path / "missing.parquet"), INCOME, LEVELS, "weight")
    with pytest.raises(ColumnNotFoundError, match="regio"):  # design SEs out of core: test_decompose_design_backends.py
        decompose(str(folder), INCOME, LEVELS, "weight", strata="regio")
