"""Sen, SST, RMPG, the median of the poor, the richness indices and the prosperity gap out of core
(prosperity.backends.streaming_poverty), and ``bandwidth=`` on the streaming path: the same
MeasureResult as the in-memory prosperity.measure() to 1e-12 (relative) -- values, SEs, intervals, lines,
weight sums -- by groups (with margins), strata + PSUs, absolute / relative / within-group lines, on the
streaming engine over memory (small pieces), DuckDB (a Parquet directory) and Dask (LocalCluster)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import prosperity
from prosperity.backends.sources import open_source
from prosperity.io.errors import MeasureSpecError
from prosperity.table import streamed

from agreement import assert_same_result as _same  # eusilc: the fixture in conftest.py

POVERTY = ["sen", "sst", "rmpg", "poormed", "poormed:0.5", "rich:2:2", "rich_fgt:1:2", "rich_fgt:0:2", "rich_fgt:2:1.5",
           "prosperity_gap:20000"]
# every measure whose SE has a kernel density, and the QSR (convey's linearization under bandwidth="convey")
DENSITY = ["median", "quantile:0.9", "p90p10", "arpt", "arpr", "fgt:0", "middle_rel", "qsr", "rmpg", "sen", "poormed",
           "rich:2:2", "rich_fgt:0:2"]
DESIGN = dict(strata="db040", psu="db030")


def _measures(kw, names=POVERTY) -> list:
    return [m for m in names if not (kw.get("poor_if") and m == "rmpg")]  # rmpg's poor are always y < t


def _pieces(monkeypatch, rows: int) -> None:
    """backend="memory" through the streaming door in pieces of ``rows`` rows (boundaries everywhere)."""
    def source(data, kind, income, weight, strata, psu, by_cols, options=None):  # options: derived columns (domain=)
        return open_source(data, income, weight, strata=strata, psu=psu, backend="memory", groups=list(by_cols) or None,
                           chunk_rows=rows)
    monkeypatch.setattr(streamed, "_source", source)


CASES = [
    (DESIGN, dict(by="db040")),
    (DESIGN, dict(by=["rb090", "db040"], margins=True, poor_if="le")),
    (dict(strata="db040"), dict(by="rb090", line_within_groups=True)),
    (dict(), dict(by="db040", poverty_line=10000.0)),
    (dict(psu="db030"), dict(by="rb090", relative_line=0.5, relative_to="mean")),
    (dict(), dict(by="db040")),  # no design: per-stratum co-moments, the national line's error in each group
]
IDS = ["strata+psu,by", "margins,le", "strata,own-lines", "srs,absolute", "psu,mean-line", "srs,national-line"]


@pytest.mark.parametrize("design,kw", CASES, ids=IDS)
def test_duckdb_equals_measure(eusilc, design, kw):
    d, folder = eusilc
    m = _measures(kw)
    ref = prosperity.measure(d, income="eqIncome", weight="rb050", measures=m, **design, **kw)
    got = prosperity.measure(folder, income="eqIncome", weight="rb050", measures=m, **design, **kw)
    assert "backend: duckdb, streamed in 5 passes" in got.describe() and len(got) == len(ref) >= 3 * len(m)
    assert np.isfinite(ref.se).all() and (ref.se > 0).all() and not ref.undefined
    worst = _same(got, ref)
    if not design:  # every row its own PSU: the per-stratum co-moments, summed in blocks, keep their digits
        assert worst < 2e-13


@pytest.mark.parametrize("design,kw", [CASES[0], CASES[2]], ids=[IDS[0], IDS[2]])
def test_memory_pieces_equal_measure(eusilc, monkeypatch, design, kw):
    d, _ = eusilc
    _pieces(monkeypatch, 997)
    ref = prosperity.measure(d, income="eqIncome", weight="rb050", measures=POVERTY, **design, **kw)
    got = prosperity.measure(d, income="eqIncome", weight="rb050", measures=POVERTY, backend="duckdb", **design, **kw)
    _same(got, ref)  # backend="duckdb" through the patched door: a MemorySource in pieces of 997 rows


def test_dask_on_a_local_cluster_equals_measure(eusilc, cluster):
    dd = pytest.importorskip("dask.dataframe")
    d, folder = eusilc
    frame = dd.read_parquet(str(folder / "*.parquet"))
    kw = dict(income="eqIncome", weight="rb050", measures=POVERTY, by="db040", **DESIGN)
    got = prosperity.measure(frame, **kw)
    assert "backend: dask" in got.describe()
    _same(got, prosperity.measure(d, **kw))


@pytest.mark.parametrize("bandwidth", ["convey", "osier"])
def test_bandwidth_on_every_density(eusilc, bandwidth):
    d, folder = eusilc
    kw = dict(income="eqIncome", weight="rb050", measures=DENSITY, by="db040", bandwidth=bandwidth, **DESIGN)
    ref = prosperity.measure(d, **kw)
    _same(prosperity.measure(folder, **kw), ref)
    default = prosperity.measure(d, **{**kw, "bandwidth": None})
    np.testing.assert_array_equal(ref.value, default.value)  # h moves the SEs only
    for m in ("median", "arpr", "rmpg", "sen") if bandwidth == "convey" else ("poormed", "rich:2:2"):
        assert abs(ref.se_of(m) / default.se_of(m) - 1) > 1e-4, m  # ... and the option reaches each one


def test_bandwidth_within_groups_and_mean_line(eusilc):
    d, folder = eusilc
    kw = dict(income="eqIncome", weight="rb050", measures=DENSITY, by="rb090", bandwidth="convey", strata="db040")
    for extra in (dict(line_within_groups=True), dict(relative_line=0.5, relative_to="mean"),
                  dict(relative_line=0.5, relative_to="mean", measures=["headcount", "sen"])):  # no quantile at all
        args = {**kw, **extra}
        _same(prosperity.measure(folder, **args), prosperity.measure(d, **args))


def test_ties_and_the_poor_medians_average_across_pieces(monkeypatch):
    # equal weights and many ties: C_j = N_p / 2 exactly, so Eurostat's median of the poor averages with the
    # next poor unit -- which sits in the next piece for some piece sizes
    rng = np.random.default_rng(13)
    frame = pd.DataFrame({"y": rng.integers(1, 80, 120).astype(float) * 250.0, "g": rng.choice(["a", "b"], 120),
                          "w": 1.0})
    conv = dict(conventions={"poormed": "eurostat"})
    averaged = prosperity.measure(frame, income="y", weight="w", measures=["poormed"], by="g", se=False, **conv)
    assert not set(averaged.value) & set(frame.y)  # every median of the poor here is an average of two incomes
    for measures, extra in ((["rmpg", "poormed", "sen", "sst", "rich:2:1.2"], conv), (["poormed", "rich_fgt:0:1.5"], {})):
        kw = dict(income="y", weight="w", measures=measures, by="g", **extra)
        ref = prosperity.measure(frame, **kw)
        for rows in (1, 2, 3, 16):
            _pieces(monkeypatch, rows)
            _same(prosperity.measure(frame, backend="duckdb", **kw), ref)


def test_se_false_and_refusals(eusilc):
    d, folder = eusilc
    kw = dict(income="eqIncome", weight="rb050", measures=POVERTY, by="db040")
    got = prosperity.measure(folder, se=False, **kw)
    ref = prosperity.measure(d, se=False, **kw)
    np.testing.assert_allclose(got.value, ref.value, rtol=1e-12, atol=0)
    np.testing.assert_allclose(got.line.astype(float), ref.line.astype(float), rtol=1e-12, atol=0)
    with pytest.raises(MeasureSpecError, match="convention 'interpolated' for poormed"):
        prosperity.measure(folder, income="eqIncome", measures=["poormed"], conventions={"poormed": "interpolated"})


def test_cli_bandwidth_on_a_parquet_directory(eusilc, cli, tmp_path):
    import json

    from typer.testing import CliRunner

    d, folder = eusilc
    d.to_parquet(tmp_path / "one.parquet")
    args = ["--income", "eqIncome", "--weight", "rb050", "--by", "db040", "--se", "--format", "json", "--quiet",
            "-m", "rmpg,poormed,sen,median", "--bandwidth", "convey"]
    runs = []
    for path in (folder, tmp_path / "one.parquet"):  # a directory streams (DuckDB), one file is read in memory
        r = CliRunner().invoke(cli, ["measure", str(path), *args])
        assert r.exit_code == 0, r.output
        runs.append(json.loads(r.stdout))
    streamed_rows, memory_rows = runs
    assert len(streamed_rows) == len(memory_rows) == 10 * 4
    for a, b in zip(streamed_rows, memory_rows):
        assert (a["measure"], a["by"]) == (b["measure"], b["by"])
        np.testing.assert_allclose([a["value"], a["se"], a["line"] or 0.0], [b["value"], b["se"], b["line"] or 0.0],
                                   rtol=1e-12, atol=0)


def test_undefined_groups_and_the_poor_rule(eusilc):
    # group "b": every income equal (no bandwidth under either rule) and above the national line (no poor);
    # group "c": every income below it. The same values, SEs and undefined rows as in memory.
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"y": np.r_[rng.lognormal(10, 0.6, 400), np.full(30, 90000.0), rng.uniform(500, 3000, 40)],
                          "g": ["a"] * 400 + ["b"] * 30 + ["c"] * 40, "w": rng.uniform(1, 3, 470)})
    kw = dict(income="y", weight="w", measures=POVERTY, by="g")
    ref = prosperity.measure(frame, **kw)
    got = prosperity.measure(frame, backend="duckdb", **kw)
    assert set(got.undefined) == set(ref.undefined) and len(ref.undefined) >= 4
    assert "no spread (weighted standard deviation 0)" in got.undefined[list(ref.measure).index("rich:2:2", 20)]
    assert ref.value_of("sen", g="b") == got.value_of("sen", g="b") == 0.0  # no poor: 0 (and its SE 0)
    keep = [i for i in range(len(ref)) if i not in ref.undefined]
    for col in ("value", "se", "line"):
        np.testing.assert_allclose(getattr(got, col)[keep].astype(float), getattr(ref, col)[keep].astype(float),
                                   rtol=1e-12, atol=0, err_msg=col)
    d, folder = eusilc
    kw = dict(income="eqIncome", weight="rb050", measures=_measures(dict(poor_if="lt")), by="db040", poor_if="lt",
              **DESIGN)
    _same(prosperity.measure(folder, **kw), prosperity.measure(d, **kw))  # poormed's poor y < t (its default: <=)


def test_measure_stream_whole_sample(eusilc):
    from prosperity.backends import measure_stream

    d, folder = eusilc
    names = ["sen", "sst", "rmpg", "poormed", "rich:2:2", "prosperity_gap:20000"]
    got = measure_stream(open_source(folder, "eqIncome", "rb050", **DESIGN), names, poverty_line=10000.0)
    ref = prosperity.measure(d, income="eqIncome", weight="rb050", measures=names, poverty_line=10000.0, **DESIGN)
    assert got.passes == 5
    np.testing.assert_allclose([e.value for e in got.estimates], ref.value, rtol=1e-12, atol=0)
    np.testing.assert_allclose([e.se for e in got.estimates], ref.se, rtol=1e-12, atol=0)
