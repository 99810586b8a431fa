"""Chunked runs (prosperity.backends.simulate.simulate_chunked) of what needs the whole population
besides the baseline's calibration: the regional transfers (east -> central/west fund with its levy,
ecological compensation; each fund spread over a province's persons or rural persons) and the
budget-neutral solve (Brent over net costs summed over chunks). Each equals the in-memory
Simulation.run() in every output table to 1e-12 relative; a solved parameter equals the in-memory
solve to Brent's own tolerance (the same bracket and xtol), and the outputs given that parameter to
1e-12."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from prosperity.backends import BackendError
from prosperity.backends.simulate import _DaskChunks, _floor_levels, _Spill, simulate_chunked
from prosperity.simulate import ReformError, Simulation, load_reforms
from prosperity.simulate.reform import Reform
from prosperity.simulate.rules import waterfill
from prosperity.synth import synthesize_population

from agreement import assert_same_run as _same  # the same table-by-table comparison as test_simulate_chunked.py

LEVY = "regional_transfers.east_west.levy_rate"


@pytest.fixture(scope="module")
def population(tmp_path_factory):
    d = synthesize_population(2024, persons=12_000, seed=7)  # every province, both areas
    folder = tmp_path_factory.mktemp("transfers_parquet")
    half = len(d) // 2
    d.iloc[:half].to_parquet(folder / "a.parquet")  # a household may straddle the two files
    d.iloc[half:].to_parquet(folder / "b.parquet")
    return d, folder


@pytest.fixture(scope="module")
def sim(population):
    return Simulation(population[0], 2024)


@pytest.fixture(scope="module")
def east_west():
    return load_reforms(["east_west_transfer"])


@pytest.fixture(scope="module")
def ecological():
    return load_reforms(["ecological_compensation_100"])


@pytest.fixture(scope="module")
def ref_east_west(sim, east_west):
    return sim.run(east_west)


@pytest.fixture(scope="module")
def ref_ecological(sim, ecological):
    return sim.run(ecological)


@pytest.fixture(scope="module")
def ref_neutral(sim, east_west):
    return sim.run(east_west, budget_neutral=LEVY)


def _xtol(hi: float = 1.0) -> float:
    return 1e-10 * max(1.0, abs(hi))  # solve_net_cost's xtol for the bracket [0, hi]


def test_references_are_real_transfers(ref_east_west, ref_ecological, ref_neutral):
    ew = ref_east_west.by_province.set_index("group")["regional_transfers_net_bn"]
    assert ew["Guizhou"] > 0 and ew["Shanghai"] < 0  # west receives, east pays the levy
    eco = ref_ecological.by_province.set_index("group")["regional_transfers_net_bn"]
    assert eco["Qinghai"] > 0 and eco["Beijing"] == 0.0  # recipients get the fund; no levy
    assert ref_ecological.net_cost_bn > 0
    assert 0.0 < ref_neutral.budget_neutral["value"] < 1.0 and abs(ref_neutral.net_cost_bn) < 1e-6


@pytest.mark.parametrize("chunks", [3])
def test_memory_transfers_equal_run(population, east_west, ecological, ref_east_west, ref_ecological, chunks):
    d, _ = population
    _same(simulate_chunked(d, east_west, 2024, chunks=chunks), ref_east_west)
    _same(simulate_chunked(d, ecological, 2024, chunks=chunks), ref_ecological)


def test_duckdb_transfers_equal_run(population, east_west, ecological, ref_east_west, ref_ecological, tmp_path):
    _, folder = population
    _same(simulate_chunked(folder, east_west, 2024, chunks=4, spill_dir=str(tmp_path / "a")), ref_east_west)
    _same(simulate_chunked(folder, ecological, 2024, chunks=4, spill_dir=str(tmp_path / "b")), ref_ecological)


def test_dask_transfers_equal_run(population, east_west, ecological, ref_east_west, ref_ecological, cluster):
    dd = pytest.importorskip("dask.dataframe")
    frame = dd.read_parquet(str(population[1] / "*.parquet"))
    _same(simulate_chunked(frame, east_west, 2024, chunks=3), ref_east_west)
    _same(simulate_chunked(frame, ecological, 2024, chunks=3), ref_ecological)


def _same_solve(got, ref, sim, reform, path, target=0.0, hi=1.0):
    """The solved value to Brent's xtol; the outputs to 1e-12 against the in-memory run of the chunked
    run's own value. The net cost (then ~ the target, a difference of nearly equal sums) is compared
    relative to the largest fiscal flow."""
    assert got.budget_neutral["parameter"] == path == ref.budget_neutral["parameter"]
    assert abs(got.budget_neutral["value"] - ref.budget_neutral["value"]) <= _xtol(hi)
    start = min(c.start for c in reform.changes)
    same_value = sim.run(reform.with_value(path, got.budget_neutral["value"], start))
    flows = same_value.fiscal[["baseline_bn", "reform_bn"]].abs().to_numpy().max()
    for r in (ref, same_value):
        assert abs(got.net_cost_bn - r.net_cost_bn) <= 1e-12 * flows
        assert abs(got.identity_residual_bn - r.identity_residual_bn) <= 1e-12 * flows
    assert abs(got.net_cost_bn - target / 1e9) <= 1e-9 * flows  # the target is reached
    assert same_value.budget_neutral is None
    # a METR is 1 - (change of disposable income) / step: a difference of nearly equal numbers, to 1e-12 of 1
    metr = [c for c in same_value.effective_rates.columns if c.startswith("metr_")]
    np.testing.assert_allclose(got.effective_rates[metr], same_value.effective_rates[metr], rtol=1e-12, atol=1e-12)
    rates = got.effective_rates.copy()
    rates[metr] = same_value.effective_rates[metr]
    _same(replace(got, net_cost_bn=same_value.net_cost_bn, identity_residual_bn=same_value.identity_residual_bn,
                  budget_neutral=None, effective_rates=rates), same_value)


def test_budget_neutral_levy_memory_and_duckdb(population, sim, east_west, ref_neutral, tmp_path):
    d, folder = population
    got = simulate_chunked(d, east_west, 2024, chunks=3, budget_neutral=LEVY)
    _same_solve(got, ref_neutral, sim, east_west, LEVY)
    got = simulate_chunked(folder, east_west, 2024, chunks=4, budget_neutral=LEVY, spill_dir=str(tmp_path / "s"))
    _same_solve(got, ref_neutral, sim, east_west, LEVY)
    assert not list((tmp_path / "s").glob("*.pickle"))  # the kept simulations are removed at the end


def test_budget_neutral_levy_dask(population, sim, east_west, ref_neutral, cluster, tmp_path):
    dd = pytest.importorskip("dask.dataframe")
    frame = dd.read_parquet(str(population[1] / "*.parquet"))
    _same_solve(simulate_chunked(frame, east_west, 2024, chunks=3, budget_neutral=LEVY), ref_neutral, sim, east_west, LEVY)


def test_budget_neutral_with_a_target_and_another_parameter(population, sim):
    """dibao +20 %, the urban standard solved for a net cost of 100 bn yuan (a non-rate: bracket
    [0, max(10 x current, 10^6)])."""
    d, _ = population
    reform = load_reforms(["dibao_plus_20pct"])
    path, target = "dibao.standard.urban", 100e9
    ref = sim.run(reform, budget_neutral=path, target_cost=target)
    got = simulate_chunked(d, reform, 2024, chunks=4, budget_neutral=path, target_cost=target)
    _same_solve(got, ref, sim, reform, path, target, hi=1e6)


def test_budget_neutral_errors_as_in_memory(population, sim, east_west):
    d, _ = population
    with pytest.raises(ReformError) as in_memory:
        sim.run(east_west, budget_neutral=LEVY, target_cost=1e15)
    with pytest.raises(ReformError) as chunked:
        simulate_chunked(d, east_west, 2024, chunks=2, budget_neutral=LEVY, target_cost=1e15)
    assert str(chunked.value) == str(in_memory.value) and "cannot reach a net cost" in str(chunked.value)
    with pytest.raises(ReformError, match="levy_rat"):  # an unknown parameter: the did-you-mean of memory
        simulate_chunked(d, east_west, 2024, chunks=2, budget_neutral="regional_transfers.east_west.levy_rat")


LOW_INCOME = {"regional_transfers.east_west.amount_per_capita": {"2024-01-01": 500},
              "regional_transfers.east_west.distribution": {"2024-01-01": "low_income"},
              "regional_transfers.ecological_compensation.carbon_price": {"2024-01-01": 100},
              "regional_transfers.ecological_compensation.distribution": {"2024-01-01": "low_income"}}


@pytest.mark.parametrize("piece_rows", [7, 1 << 20])
def test_floor_levels_equal_waterfill(piece_rows):
    """The floors from pieces in ascending order equal rules.waterfill's, with ties, empty and
    unfunded provinces, a fund that lifts everyone, and pieces that cut a province anywhere."""
    rng = np.random.default_rng(3)
    n = 400
    g = rng.integers(0, 6, n)
    y = np.round(rng.lognormal(8, 1, n), -2)  # many ties
    persons = rng.uniform(0.5, 3.0, n)
    fund = np.array([5e4, 0.0, 1e3, 1e9, 2e5, 7e4])  # province 1 unfunded; 3 lifts everyone
    g[g == 5] = 4  # province 5 has no household
    ref = waterfill(y, persons, g, fund, 6)
    spill = _Spill(None, piece_rows=piece_rows)
    for part in np.array_split(np.arange(n), 3):  # three chunks, households in order
        m = part[fund[g[part]] > 0]
        spill.add({"g": g[m].astype(np.int16), "y": y[m], "n": persons[m], "hh": m.astype(np.int64)})
    level = _floor_levels(fund, spill)
    got = np.where(fund[g] > 0, np.maximum(level[g] - y, 0.0), 0.0)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-9)
    assert (ref > 0).sum() > 20 and np.isclose(np.dot(ref, persons), fund[[0, 2, 3, 4]].sum(), rtol=1e-12)


@pytest.fixture(scope="module")
def low_income():
    return Reform.from_dict(LOW_INCOME, name="low income first")


@pytest.fixture(scope="module")
def ref_low_income(sim, low_income):
    return sim.run(low_income)


def test_low_income_memory_duckdb_dask(population, low_income, ref_low_income, cluster, tmp_path):
    dd = pytest.importorskip("dask.dataframe")
    d, folder = population
    reg = ref_low_income.by_province.set_index("group")["regional_transfers_net_bn"]
    assert reg["Qinghai"] > 0 and reg["Guizhou"] > 0 and ref_low_income.net_cost_bn > 0
    _same(simulate_chunked(d, low_income, 2024, chunks=3), ref_low_income)
    _same(simulate_chunked(folder, low_income, 2024, chunks=4, spill_dir=str(tmp_path / "s")), ref_low_income)
    assert not list((tmp_path / "s").glob("floor*"))  # the floors' tables are removed
    _same(simulate_chunked(dd.read_parquet(str(folder / "*.parquet")), low_income, 2024, chunks=3), ref_low_income)


def test_low_income_budget_neutral(population, sim, low_income):
    """The east -> west fund low-income first, its levy solved (each Brent step: a round for the floors)."""
    d, folder = population
    reform = Reform.combine(load_reforms(["east_west_transfer"]), low_income)  # later changes win
    ref = sim.run(reform, budget_neutral=LEVY)
    _same_solve(simulate_chunked(d, reform, 2024, chunks=3, budget_neutral=LEVY), ref, sim, reform, LEVY)


def test_low_income_in_the_baseline_refused(population):
    d, _ = population
    with pytest.raises(BackendError, match="low_income.*baseline"):
        simulate_chunked(d[d["household_id"] % 7 == 0], None, 2024, chunks=2,
                         baseline_reform=Reform.from_dict(LOW_INCOME))


def test_dask_chunks_read_only_their_partitions(population):
    """On a frame in household order each chunk reads the partitions that can hold its households, and
    the chunks together are the frame (every person once, in order)."""
    dd = pytest.importorskip("dask.dataframe")
    d, _ = population
    frame = dd.from_pandas(d, npartitions=8, sort=False)
    source = _DaskChunks(frame, 4)
    parts = [source.lazy_chunk(k).npartitions for k in range(source.plan.n_chunks)]
    assert source.plan.n_chunks == 4 and max(parts) <= 3 < frame.npartitions
    got = pd.concat([source.chunk(k) for k in range(4)])
    assert got["household_id"].tolist() == d["household_id"].tolist()
    assert got["person_number"].tolist() == d["person_number"].tolist()
