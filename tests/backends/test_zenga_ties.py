"""Zenga with tied incomes of unequal weights: its value follows the rows' order inside a run of ties
(convey's ``svyzenga`` sorts with R's stable ``order()``). In memory the sort is stable at every size,
and every backend gives the ties in the rows' order for it (DuckDB by (income, file, row) of a Parquet
file list or (income, row) of a frame; Dask by partition and row), so they agree to 1e-12."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import prosperity
from prosperity.backends import MemorySource, measure_stream
from prosperity.measures.estimate import sort_order

from agreement import assert_same_estimates, assert_same_result


def zenga_by_hand(y, w):
    """Z = 1 - (1/N) sum_i w_i (N - H_i)(T - K_i) / (H_i K_i) along the stable sort: H_i = sum_{j<=i} w_j,
    K_i = sum_{j>=i} w_j y_j, T = sum w y, N = sum w (Zenga 2007; convey svyzenga)."""
    order = np.argsort(y, kind="stable")
    ys, ws = y[order], w[order]
    big_n, tot = ws.sum(), (ws * ys).sum()
    h = np.cumsum(ws)
    k = np.cumsum((ws * ys)[::-1])[::-1]
    return 1.0 - float(np.sum(ws * (big_n - h) * (tot - k) / (h * k))) / big_n


def tied_sample(n_tied=200, n_other=800, strata=7, seed=3):
    """``n_tied`` units at one income (unequal weights, across ``strata`` strata and many PSUs) among
    lognormal others, in random row order."""
    rng = np.random.default_rng(seed)
    y = np.concatenate([np.full(n_tied, 20000.0), np.round(np.exp(rng.normal(10, 0.7, n_other)), 2)])
    w = rng.uniform(1, 9, y.size)
    stratum = rng.integers(0, strata, y.size)
    psu = stratum * 100 + rng.integers(0, 12, y.size)
    perm = rng.permutation(y.size)
    return pd.DataFrame({"y": y[perm], "w": w[perm], "stratum": stratum[perm], "psu": psu[perm]})


def test_the_in_memory_sort_keeps_ties_in_row_order_at_every_size():
    rng = np.random.default_rng(1)
    for n in (50, 70_000):  # argsort below PACKED_SORT_MIN (65,536), the packed sort above
        y = rng.integers(0, 30, n).astype(float)
        order, ys = sort_order(y)
        np.testing.assert_array_equal(order, np.argsort(y, kind="stable"))
        np.testing.assert_array_equal(ys, np.sort(y))


@pytest.mark.parametrize("n_tied,n_other", [(40, 60), (20_000, 60_000)])  # the argsort and the packed sort
def test_zenga_in_memory_follows_the_rows_order(n_tied, n_other):
    d = tied_sample(n_tied, n_other)
    got = prosperity.measure(d, income="y", weight="w", measures=["zenga"], se=False).to_frame()
    z = zenga_by_hand(d["y"].to_numpy(), d["w"].to_numpy())
    assert got["value"].iloc[0] == pytest.approx(z, rel=1e-13)
    # the same rows in another order give another value: the ties' order matters (as in convey)
    rev = d.iloc[::-1].reset_index(drop=True)
    z_rev = zenga_by_hand(rev["y"].to_numpy(), rev["w"].to_numpy())
    assert abs(z_rev - z) > 1e-11  # well above the 1e-13 the values are compared to
    got_rev = prosperity.measure(rev, income="y", weight="w", measures=["zenga"], se=False).to_frame()
    assert got_rev["value"].iloc[0] == pytest.approx(z_rev, rel=1e-13)


MEASURES = ["zenga", "gini", "sgini:3"]


@pytest.fixture(scope="module")
def tied(tmp_path_factory):
    d = tied_sample()
    folder = tmp_path_factory.mktemp("zenga_ties")
    d.iloc[:450].to_parquet(folder / "part0.parquet")  # the tied run is cut by the files too
    d.iloc[450:].to_parquet(folder / "part1.parquet")
    return d, folder


DESIGN = dict(income="y", weight="w", strata="stratum", psu="psu", measures=MEASURES)


def test_duckdb_over_parquet_gives_the_ties_in_row_order(tied):
    d, folder = tied
    assert_same_result(prosperity.measure(folder, **DESIGN), prosperity.measure(d, **DESIGN))


def test_duckdb_over_a_frame_and_every_row_its_own_psu(tied):
    d, _ = tied
    kw = dict(income="y", weight="w", strata="stratum", measures=MEASURES)
    assert_same_result(prosperity.measure(d, backend="duckdb", **kw), prosperity.measure(d, **kw))


def test_the_memory_source_over_pieces(tied):
    d, _ = tied
    ref = prosperity.measure(d, income="y", weight="w", measures=MEASURES).to_frame().set_index("measure")
    for rows in (7, 200, 5000):
        assert_same_estimates(measure_stream(MemorySource(d["y"].to_numpy(), d["w"].to_numpy(), chunk_rows=rows),
                                             MEASURES), ref)


def test_dask_gives_the_ties_in_partition_and_row_order(tied):
    dd = pytest.importorskip("dask.dataframe")
    d, _ = tied
    frame = dd.from_pandas(d, npartitions=3, sort=False)
    assert_same_result(prosperity.measure(frame, **DESIGN), prosperity.measure(d, **DESIGN))


def test_duckdb_stable_sort_gives_the_tied_weights_in_row_order(tied):
    d, folder = tied
    from prosperity.backends import open_source

    src = open_source(folder, "y", "w")
    y_stable = np.concatenate([c["w"] for c in src.sorted_chunks(stable=True)])
    order = np.argsort(d["y"].to_numpy(), kind="stable")
    np.testing.assert_array_equal(y_stable, d["w"].to_numpy()[order])
