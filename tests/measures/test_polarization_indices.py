"""Wolfson, Foster-Wolfson and Esteban-Ray polarization: hand-worked values, PySAL agreement,
brute-force O(n^2) checks of the O(n log n) Esteban-Ray, and linearized variables."""

import numpy as np
import pytest
from inequality.wolfson import wolfson as pysal_wolfson

from prosperity.measures.estimate import SortedIncome
from prosperity.measures.gini import gini
from prosperity.measures.polarization import (
    epanechnikov_sums, esteban_ray, esteban_ray_groups, esteban_ray_sorted, foster_wolfson,
    generalized_lorenz_at, wolfson, wolfson_sorted,
)




def test_wolfson_by_hand():
    # 6 6 8 8 10 10 12 12: mean 9, median 9, L(.5) = 28/72, T = .5 - 28/72 = 1/9
    # Gini = sum (2i-1) y / (n Y) - 1 = 656 / 576 - 1 = 5/36
    # Foster-Wolfson (2T - G) mu/m = 2/9 - 5/36 = 1/12; Wolfson 1994 = 2 x that = 1/6
    y = [6, 6, 8, 8, 10, 10, 12, 12]
    assert foster_wolfson(y) == pytest.approx(1 / 12, abs=1e-15)
    assert wolfson(y) == pytest.approx(1 / 6, abs=1e-15)
    assert wolfson(y, convention="pysal") == pytest.approx(1 / 12, abs=1e-15)
    # equal incomes: no polarization
    assert wolfson([5, 5, 5, 5]) == pytest.approx(0.0, abs=1e-15)


def test_wolfson_equals_world_bank_pip_formula(eusilc):
    # PIP: W = 2 (mu (1 - G) - mu_b50) / m, mu_b50 the mean of the poorer half
    from prosperity.measures.quantiles import weighted_quantile

    y, w = eusilc["eqIncome"].to_numpy(), eusilc["rb050"].to_numpy()
    s = SortedIncome.from_arrays(y, w)
    mu = np.dot(w, y) / w.sum()
    mu_b50 = generalized_lorenz_at(s, 0.5, False).value / 0.5
    expected = 2 * (mu * (1 - gini(y, w)) - mu_b50) / weighted_quantile(y, 0.5, w)
    assert wolfson(y, w) == pytest.approx(expected, rel=1e-13)


@pytest.mark.parametrize("column", ["income"])
def test_wolfson_matches_pysal_on_ilocos(ilocos, column):
    y = ilocos[column].to_numpy(float)
    assert foster_wolfson(y) == pytest.approx(pysal_wolfson(y), abs=1e-13)
    assert wolfson(y, convention="pysal") == pytest.approx(pysal_wolfson(y), abs=1e-13)
    assert wolfson(y) == pytest.approx(2 * pysal_wolfson(y), abs=1e-13)


def test_wolfson_matches_pysal_on_us_state_incomes():
    import prosperity

    from pathlib import Path

    import pandas as pd

    us = pd.read_csv(Path(prosperity.__file__).parent / "data" / "pysal_usjoin_state_pcincome_1929_2009.csv")
    for year in ("1929", "1970", "2009"):
        y = us[year].to_numpy(float)
        assert foster_wolfson(y) == pytest.approx(pysal_wolfson(y), abs=1e-13), year


def test_wolfson_weights_are_replication():
    y = np.array([3.0, 7.0, 1.0, 12.0, 5.0])
    w = np.array([2, 1, 3, 1, 2])
    assert wolfson(y, w) == pytest.approx(wolfson(np.repeat(y, w)), abs=1e-14)


def test_wolfson_se_agrees_with_bootstrap(eusilc):
    y, w = eusilc["eqIncome"].to_numpy(), eusilc["rb050"].to_numpy()
    s = SortedIncome.from_arrays(y, w)
    z = s.w * wolfson_sorted(s).influence
    se_lin = np.sqrt(z.size / (z.size - 1) * np.sum((z - z.mean()) ** 2))
    rng = np.random.default_rng(2)
    reps = [wolfson(y[i], w[i]) for i in (rng.integers(0, y.size, y.size) for _ in range(300))]
    assert se_lin == pytest.approx(np.std(reps, ddof=1), rel=0.15)


# ----------------------------------------------------------------------------- Esteban-Ray
def test_esteban_ray_groups_by_hand():
    # two equal groups at 1 and 3: sum_ij pi_i^2 pi_j |mu_i - mu_j| = 2 x .25 x .5 x 2 = .5; / mean 2
    assert esteban_ray_groups([1, 3], [0.5, 0.5], alpha=1) == pytest.approx(0.25)
    assert esteban_ray_groups([1, 3], [1, 1], alpha=1, normalize=False) == pytest.approx(0.5)
    # alpha = 0 is the mean absolute difference over the mean = 2 x Gini of the grouped distribution
    assert esteban_ray_groups([1, 3, 8], [0.2, 0.5, 0.3], alpha=0) == pytest.approx(
        2 * gini([1, 3, 8], [0.2, 0.5, 0.3]), rel=1e-14
    )


def test_esteban_ray_alpha_zero_is_twice_the_gini(eusilc):
    y, w = eusilc["eqIncome"].to_numpy(), eusilc["rb050"].to_numpy()
    assert esteban_ray(y, w, alpha=0) == pytest.approx(2 * gini(y, w), rel=1e-12)


def _er_brute_force(y, w, alpha, h):
    y, w = np.asarray(y, float), np.asarray(w, float)
    n_w = w.sum()
    u = (y[:, None] - y[None, :]) / h
    f = (0.75 * (1 - u * u) * (np.abs(u) < 1)) @ w / (n_w * h)
    a = np.abs(y[:, None] - y[None, :]) @ w / n_w
    mu = w @ y / n_w
    return (w @ (f**alpha * a)) / n_w / mu ** (1 - alpha)


@pytest.mark.parametrize("alpha", [0.25, 0.5, 1.0, 1.6])
def test_esteban_ray_equals_the_quadratic_definition(alpha):
    rng = np.random.default_rng(4)
    y = np.round(rng.lognormal(3, 0.8, 700), 1)  # rounding makes ties
    w = rng.uniform(0.2, 4, 700)
    h = 4.0
    assert esteban_ray(y, w, alpha, bandwidth=h) == pytest.approx(_er_brute_force(y, w, alpha, h), rel=1e-12)


def test_epanechnikov_sums_are_exact_far_in_the_tail():
    # incomes spanning 6 orders of magnitude: block-local sums keep full precision
    rng = np.random.default_rng(9)
    y = np.sort(np.concatenate([rng.lognormal(10, 1, 2000), [1e6, 1e6 + 1, 3e6]]))
    v = rng.uniform(0.5, 2, y.size)
    h = 500.0
    u = (y[:, None] - y[None, :]) / h
    brute = (0.75 * (1 - u * u) * (np.abs(u) < 1)) @ v / h
    np.testing.assert_allclose(epanechnikov_sums(y, v, h), brute, rtol=1e-11, atol=1e-15)


def test_esteban_ray_is_scale_invariant_and_replication_invariant():
    rng = np.random.default_rng(6)
    y, w = rng.lognormal(0, 0.7, 500), rng.integers(1, 4, 500).astype(float)
    base = esteban_ray(y, w, 0.8, bandwidth=0.1)
    assert esteban_ray(1000 * y, w, 0.8, bandwidth=100) == pytest.approx(base, rel=1e-12)
    assert esteban_ray(y, 3 * w, 0.8, bandwidth=0.1) == pytest.approx(base, rel=1e-12)
    assert esteban_ray(np.repeat(y, w.astype(int)), alpha=0.8, bandwidth=0.1) == pytest.approx(base, rel=1e-12)


def test_esteban_ray_bimodal_is_more_polarized_than_unimodal():
    rng = np.random.default_rng(1)
    uni = rng.normal(10, 2, 5000)
    bi = np.concatenate([rng.normal(6, 0.6, 2500), rng.normal(14, 0.6, 2500)])
    assert esteban_ray(bi, alpha=1) > 1.5 * esteban_ray(uni, alpha=1)


@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0, 1.5])
def test_esteban_ray_linearized_variable_is_the_weight_gradient(alpha):
    rng = np.random.default_rng(12)
    s = SortedIncome.from_arrays(rng.lognormal(0, 0.7, 400), rng.uniform(0.5, 2, 400))
    h = 0.3
    est = esteban_ray_sorted(s, alpha, bandwidth=h)
    assert np.dot(s.w, est.influence) == pytest.approx(0.0, abs=1e-12)
    for k in (0, 3, 200, 399):
        d = 1e-6 * s.w[k]
        vals = []
        for sign in (1, -1):
            w2 = s.w.copy()
            w2[k] += sign * d
            vals.append(esteban_ray_sorted(SortedIncome(s.y, w2, np.cumsum(w2), s.order), alpha, influence=False,
                                           bandwidth=h).value)
        assert est.influence[k] == pytest.approx((vals[0] - vals[1]) / (2 * d), rel=1e-6)


def test_polarization_bad_inputs():
    with pytest.raises(ValueError, match=r"alpha must lie in \[0, 1.6\]"):
        esteban_ray([1, 2, 3], alpha=2)
    with pytest.raises(ValueError, match="Wolfson convention must be one of"):
        wolfson([1, 2, 3], convention="half")
    with pytest.raises(ValueError, match="positive median"):
        wolfson([0, 0, 0, 5])


def test_esteban_ray_refuses_equal_incomes_whose_spread_is_rounding():
    # 40 equal incomes: sigma comes out ~1e-16 mu, not 0; it used to pass the bandwidth check and give -0.22
    from prosperity.measures.polarization import esteban_ray

    w = np.random.default_rng(0).uniform(1, 2, 40)
    with pytest.raises(ValueError, match="positive bandwidth"):
        esteban_ray(np.full(40, 1234.567), w, 0.5)
    assert esteban_ray(np.full(40, 1234.567), w, 0.0) == pytest.approx(0.0, abs=1e-12)  # alpha = 0 needs no kernel
