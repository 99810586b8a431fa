"""The Dask backend's single read (prosperity.backends.dask_stage): local codes by factorize, the design
and cells from the union of the partitions' keys, equal to the in-memory source's codes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from prosperity.backends import BackendError, MemorySource, open_source
from prosperity.backends.dask_stage import local_codes

dd = pytest.importorskip("dask.dataframe")


def test_local_codes_give_each_row_its_distinct_key():
    frame = pd.DataFrame({"s": ["b", "a", "b", "a", None, "b"], "p": [2, 7, 2, 2, 7, 2], "x": [0.5] * 6})
    codes, uniques = local_codes(frame, ["s", "p"])
    assert len(uniques) == 4 and not uniques.fillna("-").duplicated().any()
    np.testing.assert_array_equal(codes[[0, 2, 5]], codes[0])  # the three ("b", 2) rows share a code
    assert len(set(codes.tolist())) == 4
    # every row's key is its unique's, the missing stratum included (refused later, with its column)
    assert uniques.iloc[codes].reset_index(drop=True).fillna("-").equals(frame[["s", "p"]].fillna("-"))
    codes1, uniques1 = local_codes(frame, ["p"])
    np.testing.assert_array_equal(codes1, [0, 1, 0, 0, 1, 0])
    assert uniques1["p"].tolist() == [2, 7] and uniques1["p"].dtype == frame["p"].dtype
    big = pd.DataFrame({"p": np.array([10**15, 3, 10**15, -4], np.int64)})  # a sparse range: pandas.factorize
    codes2, uniques2 = local_codes(big, ["p"])
    assert uniques2["p"].iloc[codes2].tolist() == big["p"].tolist()
    codes0, uniques0 = local_codes(frame.iloc[:0], ["s", "p"])
    assert codes0.size == 0 and len(uniques0) == 0


def test_codes_and_cells_equal_the_memory_source(cluster, tmp_path):
    rng = np.random.default_rng(5)
    n = 5000
    frame = pd.DataFrame({"y": rng.lognormal(9, 1, n), "w": rng.uniform(1, 3, n), "s": rng.integers(0, 5, n) * 10,
                          "p": rng.integers(0, 40, n), "g": rng.choice(["x", "y", "z"], n), "h": rng.integers(0, 2, n)})
    for design in (dict(strata="s", psu="p"), dict(psu="p"), dict(strata="s"), dict()):
        src = open_source(dd.from_pandas(frame, npartitions=6, sort=False), "y", "w", groups=["g", "h"],
                          spill_dir=str(tmp_path), bucket_rows=900, **design)
        get = (lambda k: None if design.get(k) is None else frame[design[k]].to_numpy())
        mem = MemorySource(frame["y"], frame["w"], strata=get("strata"), psu=get("psu"),
                           groups={"g": frame["g"].to_numpy(), "h": frame["h"].to_numpy()})
        np.testing.assert_array_equal(src.design.psu_stratum, mem.design.psu_stratum)
        np.testing.assert_array_equal(src.design.n_h, mem.design.n_h)
        assert src.design.unit_psus == mem.design.unit_psus and src.cell_radix == mem.cell_radix
        pd.testing.assert_frame_equal(src.cells, mem.cells, check_dtype=False)  # Dask reads strings as Arrow strings
        got = {c: np.concatenate([ch[c] for ch in src.sorted_chunks()]) for c in ("y", "w", "psu")}
        want = {c: np.concatenate([ch[c] for ch in mem.sorted_chunks()]) for c in ("y", "w", "psu")}
        for c in got:
            np.testing.assert_array_equal(got[c], want[c])
        folder = next(tmp_path.iterdir())
        assert not [f for f in folder.iterdir() if f.name.startswith("r")]  # the raw files are gone once bucketed
        src.close()
        assert list(tmp_path.iterdir()) == []
        again = np.concatenate([ch["y"] for ch in src.sorted_chunks()])  # closed: the partitions are read again
        np.testing.assert_array_equal(again, want["y"])
        src.close()
        assert list(tmp_path.iterdir()) == []


def test_a_closed_stage_without_restage_is_refused(cluster, tmp_path):
    from prosperity.backends import dask_sort
    from prosperity.backends.dask_stage import stage_raw

    frame = dd.from_pandas(pd.DataFrame({"y": np.arange(10.0)}), npartitions=2, sort=False)
    spilled = dask_sort.SpilledFrame(None, None, raw=stage_raw(frame, "y", None, None, None, [], bucket_rows=4,
                                                               spill_dir=str(tmp_path)))
    assert sum(c["y"].size for c in spilled.chunks()) == 10
    spilled.close()
    with pytest.raises(BackendError, match="closed"):
        next(iter(spilled.chunks()))


def test_missing_group_label_is_refused(cluster):
    frame = pd.DataFrame({"y": [1.0, 2.0, 3.0, 4.0], "g": ["a", None, "b", "a"]})
    with pytest.raises(BackendError, match="group column 'g' has missing values"):
        open_source(dd.from_pandas(frame, npartitions=2, sort=False), "y", groups=["g"])


def test_order_free_passes_run_on_the_workers_in_processes(monkeypatch):
    """With PSUs, passes 1 and 3 go through DaskSource.map_chunks (the estimators' per-piece code pickled
    to worker processes); the by-group table equals measure() in memory."""
    distributed = pytest.importorskip("distributed")
    import prosperity
    from prosperity.backends.sources import DaskSource

    calls = []
    original = DaskSource.map_chunks
    monkeypatch.setattr(DaskSource, "map_chunks", lambda self, fn: calls.append(1) or original(self, fn))
    rng = np.random.default_rng(3)
    n = 8000
    psu = rng.integers(0, 120, n)
    frame = pd.DataFrame({"y": rng.lognormal(10, 0.8, n), "w": rng.uniform(50, 150, n), "s": psu % 7, "p": psu,
                          "g": np.where(rng.random(n) < 0.9, psu % 5, rng.integers(0, 5, n))})  # PSUs cut by g
    kw = dict(income="y", weight="w", strata="s", psu="p", by="g", measures=["mean", "median", "gini", "theil", "arpr"])
    ref = prosperity.measure(frame, **kw).to_frame()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address="127.0.0.1:0", worker_dashboard_address="127.0.0.1:0") as c, \
            distributed.Client(c):
        assert c.scheduler_address.startswith("tcp://127.0.0.1:")  # every server on loopback only
        assert "127.0.0.1" in c.dashboard_link
        got = prosperity.measure(dd.from_pandas(frame, npartitions=5, sort=False), backend="dask", **kw).to_frame()
    assert len(calls) == 2  # pass 1 and pass 3
    for col in ("value", "se"):
        np.testing.assert_allclose(got[col], ref[col], rtol=1e-12, atol=0)
