"""Synthetic populations: reproducibility, margins within stated tolerances, chunked == unchunked."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prosperity.synth import build_targets, calibrate, margins, synthesize_population, write_population
from prosperity.synth.within_cell import group_means, quantile_unit_mean, sample_unit_mean
from prosperity.synth.check import household_group_means
from prosperity.synth.generate import allocate

SMALL = dict(year=2024, persons=20_000, block_persons=4_000)


@pytest.fixture(scope="module")
def population() -> pd.DataFrame:
    return synthesize_population(year=2024, persons=200_000, seed=7)


@pytest.fixture(scope="module")
def table(population) -> pd.DataFrame:
    return margins(population, 2024).set_index(["margin", "key"])


def test_same_seed_same_population_other_seed_differs():
    a = synthesize_population(seed=11, **SMALL)
    b = synthesize_population(seed=11, **SMALL)
    pd.testing.assert_frame_equal(a, b)
    c = synthesize_population(seed=12, **SMALL)
    assert len(c) == len(a)
    assert not np.allclose(a["disp_income_pc_yuan"].to_numpy(), c["disp_income_pc_yuan"].to_numpy())


def test_chunked_parquet_equals_in_memory(tmp_path):
    whole = synthesize_population(seed=5, **SMALL)
    path = tmp_path / "pop.parquet"
    summary = write_population(path, seed=5, chunk_persons=3_000, **SMALL)
    assert summary["rows"] == len(whole) == 20_000
    import pyarrow.parquet as pq

    assert pq.ParquetFile(path).num_row_groups > 5
    back = pd.read_parquet(path)
    pd.testing.assert_frame_equal(back, whole, check_categorical=False)
    for column in ("province_en", "region", "area"):
        assert back[column].astype(str).equals(whole[column].astype(str))


def test_household_level_is_the_person_level_aggregated():
    persons = synthesize_population(seed=3, **SMALL)
    households = synthesize_population(seed=3, level="household", **SMALL)
    heads = persons[persons["person_number"] == 1].reset_index(drop=True)
    assert len(households) == len(heads)
    np.testing.assert_array_equal(households["household_id"], heads["household_id"])
    np.testing.assert_array_equal(households["head_age"], heads["age"])
    np.testing.assert_allclose(households["disp_income_pc_yuan"], heads["disp_income_pc_yuan"])
    assert households["household_size"].sum() == len(persons)


def test_cell_means_populations_and_source_shares_exact(table):
    for margin in ("cell_mean", "cell_population", "source_share"):
        assert table.loc[margin, "rel_error"].abs().max() < 1e-9, margin
    assert len(table.loc["cell_mean"]) == 62


def test_quintile_groups_within_two_percent(table):
    rel = table.loc["quintile_group_relative_mean", "rel_error"]
    for area in ("urban", "rural"):
        errors = rel[[f"{area}/Q{k}" for k in range(1, 6)]]
        assert errors.abs().max() < 0.02, (area, errors)


def test_household_size_and_age_margins(table, population):
    # census mean family household size 2.616; the size distribution (partly assumed) gives 2.611
    assert abs(table.loc[("mean_household_size", "all (census 2020)"), "rel_error"]) < 0.005
    assert table.loc["household_size_share", "rel_error"].abs().max() < 0.05
    assert table.loc["age_share", "rel_error"].abs().max() < 0.02
    heads = population[population["person_number"] == 1]
    assert heads["age"].min() >= 18
    assert population["household_size"].between(1, 8).all()


def test_sources_add_up_and_are_non_negative(population):
    parts = population[[f"{s}_income_pc_yuan" for s in ("wage", "net_business", "net_property", "net_transfer")]]
    np.testing.assert_allclose(parts.sum(axis=1), population["disp_income_pc_yuan"], rtol=1e-9)
    assert (parts.to_numpy() >= 0).all()
    assert (population["disp_income_pc_yuan"] > 0).all()


def test_calibration_matches_published_groups():
    for area, fit in calibrate(2024, "gb2").items():
        modelled, target = np.array(fit.modelled_relative_means), np.array(fit.target_relative_means)
        assert np.max(np.abs(modelled / target - 1)) < 0.015, area
    # the log-normal is a worse fit: the GB2 is there for a reason
    lognormal = calibrate(2024, "lognormal")["rural"]
    assert np.max(np.abs(np.array(lognormal.modelled_relative_means) / np.array(lognormal.target_relative_means) - 1)) > 0.05


def test_analytic_group_means_agree_with_monte_carlo():
    fit = calibrate(2024, "gb2")["rural"]
    targets = build_targets(2024)
    cells = targets.cells[targets.cells["area"] == "rural"]
    means, persons = cells["mean_income_pc_yuan"].to_numpy(), cells["population"].to_numpy()
    analytic = group_means("gb2", fit.params, fit.gamma, means, persons)
    rng = np.random.default_rng(0)
    from prosperity.synth.targets import HOUSEHOLD_SIZE_SHARES

    sizes_all = np.array(list(HOUSEHOLD_SIZE_SHARES))
    p = np.array(list(HOUSEHOLD_SIZE_SHARES.values()))
    n = 400_000
    cell = rng.choice(len(means), size=n, p=persons / persons.sum())
    size = rng.choice(sizes_all, size=n, p=p / p.sum())
    y = means[cell] * fit.size_factors()[size - 1] * sample_unit_mean(fit, rng, n)
    simulated = household_group_means(y, size.astype(float), np.ones(n))
    np.testing.assert_allclose(simulated, analytic, rtol=0.02)
    # the unit-mean distribution has mean one
    u = (np.arange(200_000) + 0.5) / 200_000
    assert np.mean(quantile_unit_mean(fit, u)) == pytest.approx(1.0, rel=0.01)


def test_targets_reproduce_provincial_means():
    t = build_targets(2024)
    cells = t.cells
    urban = cells[cells["area"] == "urban"].set_index("adcode")
    rural = cells[cells["area"] == "rural"].set_index("adcode")
    province_mean = (urban["population"] * urban["mean_income_pc_yuan"] + rural["population"] * rural["mean_income_pc_yuan"]) / (
        urban["population"] + rural["population"])
    from prosperity import datasets

    published = datasets.provincial_income_consumption_2016_2024().query("year == 2024").set_index("adcode")["disp_income_pc_yuan"]
    np.testing.assert_allclose(province_mean.loc[published.index], published, rtol=1e-10)
    national_ratio = np.average(urban["mean_income_pc_yuan"], weights=urban["population"]) / np.average(
        rural["mean_income_pc_yuan"], weights=rural["population"])
    assert national_ratio == pytest.approx(54188 / 23119, rel=1e-9)
    assert cells["population"].sum() == pytest.approx(140628e4)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(1.0, 1e8), min_size=2, max_size=70), st.integers(0, 10**6), st.sampled_from(["proportional", "sqrt"]))
def test_allocation_sums_to_total_with_every_cell_present(population, extra, allocation):
    total = len(population) + extra
    counts = allocate(np.array(population), total, allocation)
    assert counts.sum() == total and counts.min() >= 1


def test_bad_input_errors():
    with pytest.raises(ValueError, match="year"):
        synthesize_population(year=2012, persons=1000)
    with pytest.raises(ValueError, match="at least 62"):
        synthesize_population(persons=10)
    with pytest.raises(ValueError, match="allocation"):
        synthesize_population(persons=1000, allocation="equal")


def test_other_years_and_sqrt_allocation():
    pop = synthesize_population(year=2018, persons=5_000, seed=1, allocation="sqrt")
    m = margins(pop, 2018).set_index(["margin", "key"])
    assert m.loc["cell_mean", "rel_error"].abs().max() < 1e-9
    assert m.loc["cell_population", "rel_error"].abs().max() < 1e-9
    assert pop.groupby("adcode").size().min() > 20  # sqrt allocation oversamples Tibet
