"""The inequality measures of prosperity.backends.streaming_inequality (S-Gini, CV, variance of logs,
J-divergence, Zenga, Wolfson, Foster-Wolfson, Esteban-Ray) out of core: the same MeasureResult as the in-memory
prosperity.measure() to 1e-12 (relative) -- values, SEs, intervals, n and weight sums -- by groups with
margins, under the design forms of the table tests, with every convention of these measures, on the streaming
engine over memory, DuckDB and Dask; small cases checked by hand; what does not stream is refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import prosperity
from prosperity.backends import MemorySource, measure_stream
from prosperity.io.errors import MeasureSpecError

from agreement import assert_same_estimates, assert_same_result, in_two_parquet_files, positive_eusilc, streamed

MEASURES = ["sgini:3", "sgini:1.5", "sgini:2", "cv", "varlog", "jdiv", "zenga", "wolfson", "foster_wolfson",
            "esteban_ray", "esteban_ray:0.5", "esteban_ray:0"]
OTHER = {"cv": "sample", "varlog": "log_of_mean", "wolfson": "pysal"}  # the non-default conventions


@pytest.fixture(scope="module")
def eusilc(tmp_path_factory):
    d = positive_eusilc()  # varlog, jdiv need positive incomes
    return d, in_two_parquet_files(d, tmp_path_factory.mktemp("eusilc_ineq"), 6000)


def _same(got, ref):
    b = ref.to_frame()
    assert {"value", "se", "ci_low", "ci_high", "weight_sum"} <= set(b.columns)
    assert np.isfinite(b["se"]).all() and (b["se"] > 0).all()  # every row defined, with a real SE
    assert_same_result(got, ref)


def _engine(d, kind="memory", *, weight="rb050", **kw):
    """The streaming engine (``kind`` "memory": MemorySource) through the table's door."""
    return streamed(d, MEASURES, kind, weight=weight, **kw)


CASES = [
    (dict(strata="db040", psu="db030"), dict(by="db040")),
    (dict(strata="db040"), dict(by=["rb090", "db040"], margins=True)),  # every row its own PSU, by strata
    (dict(), dict()),
    (dict(psu="db030"), dict(by="rb090", conventions=OTHER)),
    (dict(strata="db040"), dict(by="rb090", conventions={"wolfson": "wbpip"})),  # wbpip's median and mean below it
]
IDS = ["strata+psu,by", "strata,margins", "srs", "psu,conventions", "strata,wbpip"]


@pytest.mark.parametrize("design,kw", CASES, ids=IDS)
def test_streaming_engine_equals_measure(eusilc, design, kw):
    d, _ = eusilc
    ref = prosperity.measure(d, income="eqIncome", weight="rb050", measures=MEASURES, **design, **kw)
    _same(_engine(d, **design, **kw), ref)


@pytest.mark.parametrize("design,kw", [CASES[1], CASES[3], CASES[4]], ids=[IDS[1], IDS[3], IDS[4]])
def test_duckdb_directory_equals_measure(eusilc, design, kw):
    d, folder = eusilc
    ref = prosperity.measure(d, income="eqIncome", weight="rb050", measures=MEASURES, **design, **kw)
    got = prosperity.measure(folder, income="eqIncome", weight="rb050", measures=MEASURES, **design, **kw)
    assert "backend: duckdb" in got.describe() and len(got) == len(ref) >= 3 * len(MEASURES)
    _same(got, ref)


def test_dask_on_a_local_cluster_equals_measure(eusilc, cluster):
    dd = pytest.importorskip("dask.dataframe")
    d, folder = eusilc
    kw = dict(income="eqIncome", weight="rb050", measures=MEASURES, strata="db040", psu="db030",
              by=["rb090", "db040"], margins=True)
    got = prosperity.measure(dd.read_parquet(str(folder / "*.parquet")), **kw)
    assert "backend: dask" in got.describe()
    _same(got, prosperity.measure(d, **kw))


def test_small_cases_by_hand_across_piece_boundaries():
    # 1, 2, 3, 4 (weights 1): omega(3) = (1 - .75^3, .75^3 - .5^3, .5^3 - .25^3, .25^3), S-Gini(3) = 0.375;
    # CV^2 = 1.25 / 2.5^2; Esteban-Ray(0) = 2 G; Zenga: H = 1..4, K = 10, 9, 7, 4 (C = 10 - K),
    # Z = 1 - (1/4) sum (4 - H)(10 - K) / (H K)
    y = np.array([3.0, 1.0, 4.0, 2.0])
    z = 1 - 0.25 * sum((4 - h) * (10 - k) / (h * k) for h, k in zip((1, 2, 3, 4), (10, 9, 7, 4)))
    for rows in (1, 2, 3, 4):
        res = measure_stream(MemorySource(y, chunk_rows=rows), ["sgini:3", "cv", "zenga", "sgini:2", "esteban_ray:0"],
                             se=False)
        got = res.to_frame().set_index("measure")["value"]
        assert got["sgini:3"] == pytest.approx(0.375, rel=1e-15)
        assert got["sgini:2"] == pytest.approx(0.25, rel=1e-15)
        assert got["cv"] == pytest.approx(np.sqrt(1.25) / 2.5, rel=1e-15)
        assert got["zenga"] == pytest.approx(z, rel=1e-15)
        assert got["esteban_ray:0"] == pytest.approx(0.5, rel=1e-15)  # ER_0 = 2 G: mean |yi - yj| / mean = 1.25 / 2.5
        assert res.passes == 4  # 1 totals, 2 sorted (each domain's N), 3 cv's deviations from the mean, 4 sorted sums


@pytest.mark.parametrize("equal_tied_weights", [False, True])
def test_ties_straddling_pieces_and_the_passes(equal_tied_weights):
    # incomes 1..8 each twice in random order: the median is an average and the ties straddle every
    # piece boundary; the linearized SEs equal the kernels' for every piece size. Tied incomes with
    # unequal weights make Zenga's sum depend on the order of the ties (as in convey): both sorts keep
    # the rows' order (stable), so it is compared in both cases (test_zenga_ties.py)
    rng = np.random.default_rng(5)
    y = rng.permutation(np.repeat(np.arange(1.0, 9.0), 2))
    w = (y % 3 + 1.0) if equal_tied_weights else rng.integers(2, 4, y.size).astype(float)
    names = MEASURES
    ref = prosperity.measure(pd.DataFrame({"y": y, "w": w}), income="y", weight="w", measures=names)
    ref = ref.to_frame().set_index("measure")
    for rows in (1, 3, 7, 16):
        res = measure_stream(MemorySource(y, w, chunk_rows=rows), names)
        got = res.to_frame().set_index("measure")
        np.testing.assert_allclose(got["value"], ref["value"], rtol=1e-13)
        np.testing.assert_allclose(got["se"], ref["se"], rtol=1e-12)
        assert res.passes == 5  # every row its own PSU: the fifth (sorted) pass forms t = w u per row


def test_what_does_not_stream_is_refused(eusilc):
    d, folder = eusilc
    # a quantile rule now streams (streaming_conventions); the Wolfson index reads its own median as in memory
    ref = prosperity.measure(d, income="eqIncome", measures=["wolfson"], quantile_convention="laeken").to_frame()
    got = prosperity.measure(folder, income="eqIncome", measures=["wolfson"], quantile_convention="laeken").to_frame()
    np.testing.assert_allclose(got[["value", "se"]].to_numpy(float), ref[["value", "se"]].to_numpy(float), rtol=1e-12)
    neg = d[["eqIncome", "rb050"]].assign(eqIncome=d["eqIncome"] - 1000.0)
    with pytest.raises(prosperity.io.errors.InvalidValueError, match="varlog needs positive incomes"):
        prosperity.measure(neg, backend="duckdb", income="eqIncome", measures=["varlog", "zenga"])


DESIGNS = [dict(), dict(strata="db040"), dict(strata="db040", psu="db030"), dict(psu="db030")]


@pytest.mark.parametrize("design", DESIGNS, ids=[",".join(d) or "srs" for d in DESIGNS])
def test_small_pieces_on_memory_and_duckdb(eusilc, design):
    # pieces of 997 and 2048 rows: the running sums and Esteban-Ray's look-ahead windows cross ~15 and ~7
    # piece boundaries (the table's default pieces hold the whole sample)
    from prosperity.backends import open_source

    d, folder = eusilc
    ref = prosperity.measure(d, income="eqIncome", weight="rb050", measures=MEASURES, **design).to_frame().set_index("measure")
    arrays = {k: d[v].to_numpy() for k, v in design.items()}
    for src in (MemorySource(d["eqIncome"], d["rb050"], chunk_rows=997, **arrays),
                open_source(folder, "eqIncome", "rb050", chunk_rows=2048, **design)):
        assert_same_estimates(measure_stream(src, MEASURES), ref)


def test_esteban_ray_on_a_group_of_equal_incomes_is_undefined_out_of_core_as_in_memory():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"y": np.r_[np.full(40, 1234.567), rng.lognormal(8, 0.5, 200)], "w": rng.uniform(1, 2, 240),
                       "g": ["a"] * 40 + ["b"] * 200})
    ref = prosperity.measure(df, income="y", weight="w", by="g", measures=["esteban_ray:0.5"]).to_frame()
    got = prosperity.measure(df, income="y", weight="w", by="g", measures=["esteban_ray:0.5"], backend="duckdb").to_frame()
    assert ref["value"].isna().tolist() == got["value"].isna().tolist() == [False, True, False]
    assert "positive bandwidth" in got["note"].iloc[1]
    np.testing.assert_allclose(got["value"].iloc[[0, 2]], ref["value"].iloc[[0, 2]], rtol=1e-12)
    np.testing.assert_allclose(got["se"].iloc[[0, 2]], ref["se"].iloc[[0, 2]], rtol=1e-12)
