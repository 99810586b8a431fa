"""The Dask backend's splitter sort (prosperity.backends.dask_sort): exact, bucket by bucket, the same rows
in the same order as the in-memory stable sort (ties included), so the rank-based measures and their
SEs equal measure() to 1e-12 with many buckets; the spill directory is removed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import prosperity
from prosperity.backends import BackendError, MemorySource, measure_stream, open_source
from prosperity.backends import dask_sort

dd = pytest.importorskip("dask.dataframe")

_SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "laeken_eusilc_synthetic_austria2006.csv.gz"
_BUNDLED = Path(prosperity.__file__).parent / "data" / "laeken_eusilc_synthetic_austria2006.csv.gz"
EUSILC = _SHARED if _SHARED.exists() else _BUNDLED
RANKED = ["gini", "median", "quantile:0.1", "quantile:0.9", "arpr", "arpt"]


@pytest.fixture(scope="module")
def eusilc():
    df = pd.read_csv(EUSILC)
    return df[df["eqIncome"] > 0].reset_index(drop=True)


def _stream(source):
    parts = list(source.sorted_chunks())
    return {c: np.concatenate([p[c] for p in parts]) for c in ("y", "w", "psu")}


def _check(res, ref):
    got = res.to_frame().set_index("measure").loc[ref.index]
    np.testing.assert_allclose(got["value"], ref["value"], rtol=1e-12, atol=0)
    np.testing.assert_allclose(got["se"], ref["se"], rtol=1e-12, atol=0)


def test_weighted_splitters_and_buckets_by_hand():
    # equal weights: the k/B lower quantiles of 1..8 at B = 4 are 2, 4, 6
    s = dask_sort.weighted_splitters(np.arange(8.0, 0.0, -1.0), np.ones(8), 4)
    np.testing.assert_array_equal(s, [2.0, 4.0, 6.0])
    # a sample point standing for 5 rows moves the median splitter down to it
    s = dask_sort.weighted_splitters(np.array([1.0, 2.0, 3.0, 4.0]), np.array([5.0, 1.0, 1.0, 1.0]), 2)
    np.testing.assert_array_equal(s, [1.0])
    # repeated values give one splitter, never two buckets for one income
    s = dask_sort.weighted_splitters(np.array([7.0] * 9 + [1.0]), np.ones(10), 5)
    np.testing.assert_array_equal(s, [7.0])
    # bucket(y) = #{k: s_k <= y}: an income equal to a splitter goes above it, with its ties
    b = dask_sort.bucket_of(np.array([0.5, 2.0, 2.0, 3.9, 4.0, 9.0]), np.array([2.0, 4.0, 6.0]))
    np.testing.assert_array_equal(b, [0, 1, 1, 1, 2, 3])
    assert dask_sort.weighted_splitters(np.array([3.0]), np.ones(1), 1).size == 0


def test_sorted_stream_is_the_in_memory_stable_order_with_ties(eusilc, cluster, tmp_path):
    d = eusilc.assign(y=(eusilc["eqIncome"] / 2000.0).round() * 2000.0)  # ~40 distinct incomes: long ties
    src = open_source(dd.from_pandas(d, npartitions=7, sort=False), "y", "rb050", strata="db040", psu="db030",
                      bucket_rows=700, spill_dir=str(tmp_path), chunk_rows=333)
    got = _stream(src)
    mem = MemorySource(d["y"], d["rb050"], strata=d["db040"].to_numpy(), psu=d["db030"].to_numpy())
    want = _stream(mem)
    for c in ("y", "w", "psu"):
        np.testing.assert_array_equal(got[c], want[c])  # the same rows in the same order, ties included
    plan = src.last_plan
    assert sorted(f.name[0] for f in next(tmp_path.iterdir()).iterdir()) == ["p"] * 21  # runs deleted once read
    assert plan.n_buckets >= 8 and plan.rows.sum() == len(d)
    # bucket offsets: the cumulative weight before each bucket's first row in the sorted stream
    first = np.concatenate([[0], np.cumsum(plan.rows)[:-1]])
    cw = np.concatenate([[0.0], np.cumsum(want["w"])])
    np.testing.assert_allclose(plan.weight_before, cw[first], rtol=1e-12)
    np.testing.assert_allclose(plan.weight, np.diff(np.concatenate([cw[first], [cw[-1]]])), rtol=1e-12)
    assert np.all(plan.to_frame()["lower"].to_numpy()[1:] == plan.splitters)
    src.close()
    assert list(tmp_path.iterdir()) == []  # the spill directory is gone


@pytest.mark.parametrize("design", [dict(), dict(strata="db040", psu="db030"), dict(strata="db040")],
                         ids=["srs", "strata,psu", "strata"])
def test_many_buckets_equal_measure_on_eusilc(eusilc, cluster, design):
    ref = prosperity.measure(eusilc, income="eqIncome", weight="rb050", measures=RANKED,
                             **design).to_frame().set_index("measure")
    frame = dd.from_pandas(eusilc, npartitions=5, sort=False)
    src = open_source(frame, "eqIncome", "rb050", bucket_rows=1000, **design)
    res = measure_stream(src, RANKED)
    assert res.backend == "dask" and src.last_plan.n_buckets >= 12
    assert src.last_plan.rows.max() < 1500  # the sample (whole partitions here) balances the buckets
    _check(res, ref)


def test_many_ties_and_zeros_equal_measure(cluster):
    rng = np.random.default_rng(11)
    n = 6000
    y = rng.integers(0, 21, n).astype(np.float64) * 1000.0  # 21 distinct incomes, zeros included
    frame = pd.DataFrame({"y": y, "w": rng.uniform(1.0, 5.0, n), "s": rng.integers(0, 4, n),
                          "p": rng.integers(0, 15, n)})
    measures = ["gini", "median", "quantile:0.25", "quantile:0.9", "arpr"]
    ref = prosperity.measure(frame, income="y", weight="w", strata="s", psu="p", measures=measures).to_frame().set_index("measure")
    src = open_source(dd.from_pandas(frame, npartitions=4, sort=False), "y", "w", strata="s", psu="p", bucket_rows=250)
    res = measure_stream(src, measures)
    plan = src.last_plan
    assert 8 <= np.count_nonzero(plan.rows) <= 21 and plan.rows.sum() == n  # a bucket per distinct income at most
    _check(res, ref)
    assert ref.loc["median", "value"] in set(y)


def test_early_close_keeps_the_stage_until_close_and_no_cluster_computes_locally(eusilc, tmp_path, monkeypatch):
    monkeypatch.setattr(dask_sort, "_client", lambda: None)  # the local scheduler, one task at a time
    frame = dd.from_pandas(eusilc, npartitions=3, sort=False)
    src = open_source(frame, "eqIncome", "rb050", bucket_rows=2000, spill_dir=str(tmp_path))
    stream = src.sorted_chunks()
    first = next(stream)
    assert first["y"].size < 4000 and np.all(np.diff(first["y"]) >= 0)
    stream.close()
    (folder,) = tmp_path.iterdir()  # the staged rows stay for the next pass...
    assert sorted(f.name for f in folder.iterdir())[:3] == ["p000000_psu.bin", "p000000_w.bin", "p000000_y.bin"]
    got = _stream(src)
    np.testing.assert_array_equal(got["y"], np.sort(eusilc["eqIncome"].to_numpy()))
    assert sum(c["y"].size for c in src.chunks()) == len(eusilc)
    src.close()  # ...until the source is closed
    assert list(tmp_path.iterdir()) == []
    with open_source(frame, "eqIncome", "rb050", spill_dir=str(tmp_path)) as src2:
        assert sum(c["y"].size for c in src2.chunks()) == len(eusilc) and src2.last_plan.n_buckets == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("bad", [0, -5, 2.5, "many"])
def test_bucket_rows_must_be_a_positive_whole_number(eusilc, bad):
    frame = dd.from_pandas(eusilc, npartitions=2, sort=False)
    with pytest.raises(BackendError, match="bucket_rows"):
        open_source(frame, "eqIncome", "rb050", bucket_rows=bad)


@pytest.mark.parametrize("kind", ["continuous", "few_ties", "mostly_ties", "signed_zeros"])
def test_stable_order_is_the_stable_argsort(kind):
    rng = np.random.default_rng(7)
    n = 20_000
    y = rng.lognormal(10, 1, n)
    if kind == "few_ties":
        y[rng.integers(0, n, 3000)] = y[rng.integers(0, n, 3000)]  # runs of 2-4 equal incomes here and there
    elif kind == "mostly_ties":
        y = rng.integers(0, 40, n).astype(np.float64)
    elif kind == "signed_zeros":
        y[: n // 4] = np.where(rng.random(n // 4) < 0.5, -0.0, 0.0)  # -0.0 == 0.0: one run, in row order
    np.testing.assert_array_equal(dask_sort.stable_order(y), np.argsort(y, kind="stable"))
