"""Optional calibration to the official Gini: a Pareto top tail on the quintile-calibrated bodies."""

from __future__ import annotations

import numpy as np
import pytest

from prosperity.measures.gini import gini
from prosperity.synth import build_targets, calibrate, margins, synthesize_population
from prosperity.synth.within_cell import _cdfs, model_gini, quantile_unit_mean, sample_unit_mean


@pytest.fixture(scope="module")
def fits():
    return calibrate(2024, "gb2", True)


def test_tail_solves_the_official_gini_in_the_model(fits):
    targets = build_targets(2024)
    assert fits["urban"].tail == fits["rural"].tail
    u0, alpha = fits["urban"].tail
    assert u0 == 0.9 and alpha == pytest.approx(1.964, abs=0.005)
    assert model_gini(targets, fits) == pytest.approx(0.465, abs=1e-6)
    # without the tail the same bodies give the quintile-bound Gini of about 0.41
    plain = calibrate(2024, "gb2")
    assert model_gini(targets, plain) == pytest.approx(0.4073, abs=5e-4)
    # the cost: urban groups 1-4 about 12 % low, group 5 about 20 % high (stored in the fit)
    rel = np.array(fits["urban"].modelled_relative_means) / np.array(fits["urban"].target_relative_means) - 1
    np.testing.assert_allclose(rel, [-0.125, -0.113, -0.125, -0.129, 0.199], atol=0.003)


def test_spliced_distribution_has_unit_mean_and_consistent_cdfs(fits):
    fit = fits["rural"]
    u = (np.arange(400_000) + 0.5) / 400_000
    x = quantile_unit_mean(fit, u)
    assert np.all(np.diff(x) > 0)
    f, f1 = _cdfs(fit.distribution, fit.params, x[[1000, 200_000, 380_000, 399_000]], fit.tail)
    np.testing.assert_allclose(f, u[[1000, 200_000, 380_000, 399_000]], rtol=1e-9)
    assert f1[-1] < 1 and np.all(np.diff(f1) > 0)
    _, f1_far = _cdfs(fit.distribution, fit.params, np.array([1e12]), fit.tail)
    assert f1_far[0] == pytest.approx(1.0, abs=1e-5)  # total first moment = mean = 1
    draws = sample_unit_mean(fit, np.random.default_rng(3), 2_000_000)
    assert np.median(draws) == pytest.approx(float(quantile_unit_mean(fit, np.array([0.5]))[0]), rel=0.01)
    assert np.mean(draws > quantile_unit_mean(fit, np.array([0.9]))[0]) == pytest.approx(0.1, abs=0.002)


def test_synthetic_population_reaches_the_official_gini():
    people = synthesize_population(2024, persons=200_000, seed=5, calibrate_gini=True)
    assert people.attrs["calibrate_gini"] is True
    table = margins(people, 2024).set_index(["margin", "key"])
    row = table.loc[("gini", "national (official NBS)")]
    assert row["role"] == "target"
    assert row["synthetic"] == pytest.approx(0.465, abs=0.01)
    assert gini(people["disp_income_pc_yuan"].to_numpy(), people["weight"].to_numpy()) == row["synthetic"]
    for margin in ("cell_mean", "cell_population", "source_share"):  # still exact
        assert table.loc[margin, "rel_error"].abs().max() < 1e-9
    quint = table.loc["quintile_group_relative_mean"]
    urban = quint.loc[[f"urban/Q{k}" for k in range(1, 6)], "rel_error"]
    assert 0.15 < urban.abs().max() < 0.25  # the documented price of matching the Gini


def test_default_keeps_the_gini_as_validation():
    people = synthesize_population(2024, persons=5_000, seed=1, block_persons=2_000)
    table = margins(people, 2024)
    assert table.query("margin == 'gini'")["role"].item() == "validation"
    assert set(table.query("margin == 'quintile_group_relative_mean' and key.str.startswith('urban')")["role"]) == {"target"}
    with pytest.raises(ValueError, match="2016..2024"):
        calibrate(2030, "gb2", True)
