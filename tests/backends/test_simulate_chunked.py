"""A reform run in chunks of whole households (memory, DuckDB over Parquet, Dask on a LocalCluster)
equals the in-memory Simulation.run() in every output table to 1e-12 (relative): the summary's
Gini/poverty/median-based lines, deciles fixed on the baseline, winners and losers, by area and
province, fiscal cost, effective rates and METRs, the validation table."""

from __future__ import annotations

import pandas as pd
import pytest

from prosperity.backends import BackendError
from prosperity.backends.simulate import _DuckDBChunks, _MemoryChunks, simulate_chunked
from prosperity.simulate import Simulation, load_reforms
from prosperity.synth import synthesize_population

from agreement import assert_same_run as _same


@pytest.fixture(scope="module")
def population(tmp_path_factory):
    d = synthesize_population(2024, persons=50_000, seed=5)  # ~19,000 households
    folder = tmp_path_factory.mktemp("population_parquet")
    third = len(d) // 3
    d.iloc[:third].to_parquet(folder / "a.parquet")  # two files, one household may straddle them
    d.iloc[third:].to_parquet(folder / "b.parquet")
    return d, folder


@pytest.fixture(scope="module")
def reform():
    return load_reforms(["dibao_plus_20pct"])


@pytest.fixture(scope="module")
def reference(population, reform):
    d, _ = population
    return Simulation(d, 2024).run(reform)


def test_reference_is_a_real_reform(reference):
    s = reference.summary.set_index("measure")
    assert reference.net_cost_bn > 1.0  # dibao +20 % costs money
    assert s.loc["poverty_headcount_rel40", "change"] < 0 and s.loc["gini", "change"] < 0
    assert (reference.deciles["change_pc_yuan"].iloc[0] > reference.deciles["change_pc_yuan"].iloc[-1])
    assert len(reference.by_province) == 31


def test_memory_in_four_chunks_equals_run(population, reform, reference):
    d, _ = population
    chunks = _MemoryChunks(d, 4)
    assert chunks.plan.n_chunks == 4 and sum(chunks.plan.persons) == len(d)
    assert sum(chunks.plan.households) == d["household_id"].nunique()  # no household in two chunks
    assert max(chunks.plan.persons) < 0.3 * len(d)
    _same(simulate_chunked(d, reform, 2024, chunks=4), reference)


def test_duckdb_over_parquet_equals_run(population, reform, reference, tmp_path):
    d, folder = population
    plan = _DuckDBChunks(folder, 5).plan
    assert plan.n_chunks == 5 and sum(plan.persons) == len(d) and plan.households is None  # counted in pass 1
    got = simulate_chunked(folder, reform, 2024, chunks=5, spill_dir=str(tmp_path / "spill"))
    assert len(list((tmp_path / "spill").glob("chunk*.parquet"))) == 5  # one slim table per chunk
    _same(got, reference)


def test_dask_on_a_local_cluster_equals_run(population, reform, reference, cluster):
    dd = pytest.importorskip("dask.dataframe")
    _, folder = population
    frame = dd.read_parquet(str(folder / "*.parquet"))
    _same(simulate_chunked(frame, reform, 2024, chunks=4), reference)


def test_baseline_without_metr(population):
    d, _ = population
    small = d[d["household_id"] % 5 == 0]  # every province, both areas
    ref = Simulation(small, 2024).run(None, metr=False)
    got = simulate_chunked(small, None, 2024, chunks=3, metr=False)
    assert "metr_baseline" not in got.effective_rates
    _same(got, ref)
    assert got.net_cost_bn == 0.0


def test_refused_what_is_not_chunked(population):
    d, _ = population
    # the regional transfers and budget-neutral solving: test_simulate_chunked_transfers.py
    with pytest.raises(BackendError, match="household_id"):
        simulate_chunked(pd.DataFrame({"age": [3]}), None, 2024)
