"""The streaming estimators on the three sources agree with the in-memory measure() to 1e-12 (relative),
values and linearized SEs, under every design form; ties and quantile averages across piece boundaries;
bad sources refused with the package's error."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import prosperity
from prosperity.backends import BackendError, MemorySource, measure_stream, open_source

from agreement import assert_same_estimates as _check  # eusilc: the fixture in conftest.py

MEASURES = ["mean", "median", "quantile:0.9", "gini", "theil", "mld", "ge:2", "atkinson:0.5", "atkinson:1",
            "fgt:0", "fgt:1", "arpr", "arpt"]
LINE = 10_000.0
DESIGNS = [dict(), dict(strata="db040"), dict(strata="db040", psu="db030"), dict(psu="db030")]


def _reference(d, design):
    return prosperity.measure(d, income="eqIncome", weight="rb050", measures=MEASURES, poverty_line=LINE,
                              **design).to_frame().set_index("measure")


@pytest.mark.parametrize("design", DESIGNS, ids=[",".join(d) or "srs" for d in DESIGNS])
def test_memory_and_duckdb_equal_measure(eusilc, design):
    d, folder = eusilc
    ref = _reference(d, design)
    arrays = {k: d[v].to_numpy() for k, v in design.items()}
    _check(measure_stream(MemorySource(d["eqIncome"], d["rb050"], chunk_rows=997, **arrays), MEASURES, poverty_line=LINE), ref)
    res = measure_stream(open_source(folder, "eqIncome", "rb050", chunk_rows=2048, **design), MEASURES, poverty_line=LINE)
    assert res.backend == "duckdb" and res.passes == 3 and res.n == len(d)
    _check(res, ref)


@pytest.mark.parametrize("design", DESIGNS[:3], ids=[",".join(d) or "srs" for d in DESIGNS[:3]])
def test_dask_on_a_local_cluster_equals_measure(eusilc, cluster, design):
    dd = pytest.importorskip("dask.dataframe")
    d, folder = eusilc
    frame = dd.read_parquet(str(folder / "*.parquet"))
    res = measure_stream(open_source(frame, "eqIncome", "rb050", **design), MEASURES, poverty_line=LINE)
    assert res.backend == "dask"
    _check(res, _reference(d, design))


def test_ties_and_averages_across_piece_boundaries():
    # 1..8 each twice, equal weights: the median sits exactly between two units (Eurostat's average),
    # and with pieces of 3 rows the tie and the average straddle piece boundaries
    y = np.repeat(np.arange(1.0, 9.0), 2)
    rng = np.random.default_rng(1)
    y = y[rng.permutation(y.size)]
    frame = pd.DataFrame({"y": y, "w": 1.0})
    ref = prosperity.measure(frame, income="y", weight="w", measures=["median", "gini", "quantile:0.25"]).to_frame().set_index("measure")
    for rows in (1, 2, 3, 5, 16):
        res = measure_stream(MemorySource(y, chunk_rows=rows), ["median", "gini", "quantile:0.25"]).to_frame().set_index("measure")
        np.testing.assert_allclose(res["value"], ref["value"], rtol=1e-14)
        np.testing.assert_allclose(res["se"], ref["se"], rtol=1e-12)
    assert ref.loc["median", "value"] == 4.5  # F = 0.5 exactly after the second 4: (4 + 5) / 2
    # the Gini by hand: sum |yi - yj| / (2 n^2 mean) over the 16 values
    assert ref.loc["gini", "value"] == pytest.approx(np.abs(y[:, None] - y[None, :]).sum() / (2 * 256 * y.mean()), rel=1e-14)


def test_bad_sources_and_measures(tmp_path, eusilc):
    d, folder = eusilc
    with pytest.raises(BackendError, match="no Parquet file"):
        open_source(str(tmp_path / "missing.parquet"), "eqIncome")
    with pytest.raises(prosperity.io.errors.ColumnNotFoundError, match="eqIncom"):
        open_source(folder, "eqIncom", "rb050")
    with pytest.raises(BackendError, match="not available on the streaming backends yet"):
        measure_stream(open_source(folder, "eqIncome"), ["ginny"])  # not a measure (every registered one streams)
    with pytest.raises(BackendError, match="need poverty_line"):
        measure_stream(open_source(folder, "eqIncome"), ["fgt:0"])
    with pytest.raises(BackendError, match="need poverty_line"):
        measure_stream(open_source(folder, "eqIncome"), ["sen"])
    bad = d[["eqIncome", "rb050"]].copy()
    bad.loc[[3, 10], "rb050"] = 0.0
    bad.loc[5, "eqIncome"] = np.nan
    bad.to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(BackendError, match="1 row.*missing or non-finite income and 2 row"):
        measure_stream(open_source(tmp_path / "bad.parquet", "eqIncome", "rb050"), ["mean"])
    with pytest.raises(BackendError, match="unknown backend"):
        open_source(d, "eqIncome", backend="spark")
