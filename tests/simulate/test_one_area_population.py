"""A population with households of one area only (a city's survey: all urban) runs: the by-area table has
the one area (as provinces without households get no row), its Gini is the national one, and the
validation table compares no rural row (there is nothing rural to compare). It used to raise
IndexError (the Gini of an empty subset) and warn 0/0."""

import warnings

import numpy as np
import pytest

from prosperity.simulate import Simulation, load_reforms
from prosperity.synth import synthesize_population


@pytest.fixture(scope="module")
def urban_only_run():
    people = synthesize_population(2024, persons=20_000, seed=3)
    urban = people[people["area"] == "urban"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        sim = Simulation(urban, year=2024)
        return urban, sim.run(load_reforms(["dibao_plus_20pct"]))


def test_by_area_has_the_one_area_with_the_national_gini(urban_only_run):
    urban, result = urban_only_run
    assert result.by_area["group"].tolist() == ["urban"]
    summary = result.summary.set_index("measure")
    row = result.by_area.iloc[0]
    assert row["gini_baseline"] == pytest.approx(summary.loc["gini", "baseline"], rel=1e-12)
    assert row["gini_reform"] == pytest.approx(summary.loc["gini", "reform"], rel=1e-12)
    assert row["persons_m"] == pytest.approx(urban["weight"].sum() / 1e6, rel=1e-12)
    assert np.isfinite(result.by_area.drop(columns="group").to_numpy(float)).all()


def test_validation_compares_no_rural_row(urban_only_run):
    _, result = urban_only_run
    rows = result.validation["row"] if "row" in result.validation else result.validation.iloc[:, 0]
    assert not any("rural" in str(r) for r in rows)
    assert any("urban" in str(r) for r in rows)
