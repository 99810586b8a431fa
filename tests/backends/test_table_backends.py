"""prosperity.measure(data, ..., backend=) out of core: the same MeasureResult as in memory, to 1e-12
(relative), values, SEs, intervals, lines, n and weight sums, for every streamed measure, by groups
(with margins), under three design forms, with absolute, relative and within-group lines; on the
streaming engine over memory, DuckDB (Parquet directory, relation, frame) and Dask (LocalCluster).
Unsupported requests are refused with the list of what streams -- never a silent collect."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import prosperity
from prosperity.backends.streaming import STREAM_MEASURES
from prosperity.io.errors import EmptyGroupError, MeasureSpecError
from prosperity.table.streamed import choose_backend

from agreement import assert_same_result as _same, streamed  # eusilc: the fixture in conftest.py

# every measure the streaming backends compute (STREAM_MEASURES), with parameters
MEASURES = ["mean", "median", "quantile:0.9", "qratio:0.8:0.2", "p90p10", "p90p50", "p50p10", "gini", "theil", "mld",
            "ge:2", "atkinson:0.5", "atkinson:1", "fgt:0", "fgt:1", "fgt:2", "headcount", "pgap", "watts", "arpt", "arpr",
            "qsr", "palma", "share:0:0.4", "share:0.9", "share:0.2:0.5", "lorenz:0.4", "lorenz:0.8", "glorenz:0.5",
            "middle_abs:10000:30000", "middle_abs_income:10000:30000", "middle_rel", "middle_rel_income",
            "sen", "sst", "rmpg", "poormed", "rich:2:2", "rich_fgt:1:2", "prosperity_gap:20000",
            "sgini:3", "cv", "varlog", "zenga", "jdiv", "wolfson", "foster_wolfson", "esteban_ray:0.5"]


def _for(kw) -> list:
    """MEASURES under the options ``kw``: poor_if cannot apply to rmpg (its poor are laeken's y < t)."""
    return [m for m in MEASURES if not (kw.get("poor_if") and m == "rmpg")]


def test_the_measures_cover_every_streamed_name():
    assert {m.split(":")[0] for m in MEASURES} == set(STREAM_MEASURES)


def _streamed(data, kind, **kw):
    """The streaming engine on any source (kind "memory": MemorySource), through the table's door."""
    return streamed(data, _for(kw), kind, **kw)


CASES = [
    (dict(strata="db040", psu="db030"), dict(by="db040")),
    (dict(strata="db040", psu="db030"), dict(by=["rb090", "db040"], margins=True, poor_if="le")),
    (dict(strata="db040"), dict(by="rb090", line_within_groups=True)),
    (dict(), dict(by="db040", poverty_line=10000.0)),
    (dict(psu="db030"), dict(by="rb090", relative_line=0.5, relative_to="mean")),
]
IDS = ["strata+psu,by", "margins,le", "strata,own-lines", "srs,absolute", "psu,mean-line"]


@pytest.mark.parametrize("design,kw", CASES, ids=IDS)
def test_duckdb_directory_equals_measure(eusilc, design, kw):
    d, folder = eusilc
    ref = prosperity.measure(d, income="eqIncome", weight="rb050", measures=_for(kw), **design, **kw)
    got = prosperity.measure(folder, income="eqIncome", weight="rb050", measures=_for(kw), **design, **kw)
    assert "backend: duckdb" in got.describe() and len(got) == len(ref) >= 3 * len(_for(kw))
    _same(got, ref)


@pytest.mark.parametrize("design,kw", CASES[:3], ids=IDS[:3])
def test_streaming_engine_in_memory_equals_measure(eusilc, design, kw):
    d, _ = eusilc
    ref = prosperity.measure(d, income="eqIncome", weight="rb050", measures=_for(kw), **design, **kw)
    _same(_streamed(d, "memory", weight="rb050", **design, **kw), ref)


def test_duckdb_relation_and_frame(eusilc):
    duckdb = pytest.importorskip("duckdb")
    d, folder = eusilc
    kw = dict(income="eqIncome", weight="rb050", measures=MEASURES, by="db040", strata="db040", psu="db030")
    ref = prosperity.measure(d, **kw)
    con = duckdb.connect()
    rel = con.sql(f"SELECT * FROM read_parquet('{folder}/*.parquet')")
    assert choose_backend(rel, None) == "duckdb"
    _same(prosperity.measure(rel, **kw), ref)
    _same(prosperity.measure(d, backend="duckdb", **kw), ref)  # a frame streamed through a DuckDB view


@pytest.mark.parametrize("design,kw", [CASES[1], CASES[3]], ids=[IDS[1], IDS[3]])
def test_dask_on_a_local_cluster_equals_measure(eusilc, cluster, design, kw):
    dd = pytest.importorskip("dask.dataframe")
    d, folder = eusilc
    frame = dd.read_parquet(str(folder / "*.parquet"))
    assert choose_backend(frame, None) == "dask"
    ref = prosperity.measure(d, income="eqIncome", weight="rb050", measures=_for(kw), **design, **kw)
    got = prosperity.measure(frame, income="eqIncome", weight="rb050", measures=_for(kw), **design, **kw)
    assert "backend: dask" in got.describe()
    _same(got, ref)


def test_relative_line_error_is_in_the_group_se(eusilc):
    # the national line 0.6 x median carries its own error into every group's FGT(0): the SE differs from
    # the SE at the same line taken as fixed (absolute), and both equal the in-memory ones
    d, folder = eusilc
    kw = dict(income="eqIncome", weight="rb050", measures=["fgt:0", "watts"], by="db040", strata="db040", psu="db030")
    rel = prosperity.measure(folder, relative_line=0.6, **kw)
    z = float(rel.line[0])
    fixed = prosperity.measure(folder, poverty_line=z, **kw)
    np.testing.assert_allclose(rel.value, fixed.value, rtol=1e-13)
    assert np.all(np.abs(rel.se / fixed.se - 1) > 1e-4)
    _same(rel, prosperity.measure(d, relative_line=0.6, **kw))


def test_undefined_group_is_missing_with_its_reason(tmp_path):
    # group "b": every income equal, so the density of its median is undefined (IQR 0)
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"y": np.r_[rng.lognormal(10, 0.5, 300), np.full(40, 500.0)],
                          "g": ["a"] * 300 + ["b"] * 40, "w": rng.uniform(1, 3, 340)})
    frame.to_parquet(tmp_path / "p.parquet")
    kw = dict(income="y", weight="w", measures=["mean", "median"], by="g")
    ref = prosperity.measure(frame, **kw)
    got = prosperity.measure(frame, backend="duckdb", **kw)
    assert set(got.undefined) == set(ref.undefined) == {5}
    assert "interquartile range is 0" in got.undefined[5]
    assert np.isnan(got.value[5]) and got.value_of("mean", g="b") == pytest.approx(500.0, rel=1e-15)
    with pytest.raises(EmptyGroupError):
        prosperity.measure(frame, backend="duckdb", undefined="fail", **kw)
    with pytest.raises(EmptyGroupError):
        prosperity.measure(frame[frame.g == "b"], backend="duckdb", income="y", weight="w", measures=["median"])


def test_unsupported_requests_are_refused_with_what_streams(eusilc):
    d, folder = eusilc
    # every registered measure streams now (the refusal of a measure the stream lacks has no case left)
    from prosperity.measures.registry import REGISTRY
    assert set(REGISTRY) == set(STREAM_MEASURES)
    for bad, text in ((dict(se_method="bootstrap"), "se_method"),  # no PSU column: tests/backends/test_stream_domain_bootstrap.py
                      (dict(drop_missing=True), "drop_missing")):
        with pytest.raises(MeasureSpecError, match=text):
            prosperity.measure(folder, income="eqIncome", measures=["gini"], **bad)
    # conventions: tests/backends/test_stream_conventions.py (what streams, and these refusals)
    for bad, text in ((dict(quantile_convention="interpolated", measures=["rmpg"]), "rmpg under the 'interpolated'"),
                      (dict(conventions={"poormed": "laeken"}, measures=["poormed"]), "convention 'laeken' for poormed")):
        with pytest.raises(MeasureSpecError, match=text):
            prosperity.measure(folder, income="eqIncome", **bad)
    with pytest.raises(MeasureSpecError, match="unknown backend"):
        prosperity.measure(d, income="eqIncome", measures=["gini"], backend="spark")
    neg = d[["eqIncome", "rb050"]].assign(eqIncome=d["eqIncome"] - 1000.0)
    with pytest.raises(prosperity.io.errors.InvalidValueError, match="mld needs positive incomes"):
        prosperity.measure(neg, backend="duckdb", income="eqIncome", measures=["mld"])


def test_backend_choice(eusilc, tmp_path):
    d, folder = eusilc
    assert choose_backend(d, None) == "memory"
    assert choose_backend(str(folder), None) == "duckdb"
    assert choose_backend(str(folder / "part0.parquet"), None) == "memory"  # one file: today's loader
    assert choose_backend(str(folder / "part0.parquet"), "duckdb") == "duckdb"
    one = prosperity.measure(str(folder / "part0.parquet"), income="eqIncome", weight="rb050", measures=["gini"],
                             backend="duckdb")
    ref = prosperity.measure(d.iloc[:7000], income="eqIncome", weight="rb050", measures=["gini"])
    np.testing.assert_allclose([one.value[0], one.se[0]], [ref.value[0], ref.se[0]], rtol=1e-12)
