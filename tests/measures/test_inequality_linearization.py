"""Linearized variables checked numerically.

For smooth estimators (Gini and its conventions, S-Gini, GE, Theil, MLD, Atkinson, CV, variance of
logs, mean, and the "fractional" shares/Lorenz ordinates) the linearized variable u_k is the exact
derivative of the estimate with respect to the weight w_k: a central finite difference on each
weight must reproduce it to ~1e-7 relative. For estimators built on a sample quantile (median,
quantile ratios, and "eurostat" shares, S80/S20, Palma) the estimate is a step function of the
weights, so the check is asymptotic: over random weight perturbations w (1 + eps z), the change in
the estimate must follow sum_k w_k u_k eps z_k (slope ~1, correlation ~1) on a large sample.
"""

import numpy as np
import pytest

from prosperity.measures.estimate import SortedIncome
from prosperity.measures.registry import parse_measure


def estimate(name: str, y, w, influence: bool = False, **kw):
    spec, params = parse_measure(name)
    return spec.kernel(SortedIncome.from_arrays(y, w), influence=influence, **params, **kw)


@pytest.fixture(scope="module")
def sample():
    rng = np.random.default_rng(7)
    n = 120
    y = rng.lognormal(3.0, 0.7, n)
    w = rng.uniform(0.5, 3.0, n)
    return y, w


SMOOTH = [
    ("mean", {}),
    ("gini", {}), ("gini", {"convention": "convey"}), ("gini", {"convention": "ineqpy"}),
    ("gini", {"convention": "unbiased"}),
    ("sgini:1.5", {}), ("sgini:3", {}), ("sgini:5.5", {}),
    ("ge:-1", {}), ("ge:0", {}), ("ge:0.5", {}), ("ge:1", {}), ("ge:2", {}), ("ge:3", {}),
    ("theil", {}), ("mld", {}), ("mld", {"convention": "pip"}),
    ("atkinson:0", {}), ("atkinson:0.5", {}), ("atkinson:1", {}), ("atkinson:2", {}), ("atkinson:3.5", {}),
    ("cv", {}), ("cv", {"convention": "sample"}), ("varlog", {}), ("varlog", {"convention": "log_of_mean"}),
    ("lorenz:0.3", {}), ("glorenz:0.3", {}), ("lorenz:0.85", {}),
    ("share:0.2:0.7", {"convention": "fractional"}), ("share:0.9", {"convention": "fractional"}),
    ("qsr", {"convention": "fractional"}), ("palma", {"convention": "fractional"}),
]


@pytest.mark.parametrize("name, kw", SMOOTH, ids=[f"{n}{'-' + list(k.values())[0] if k else ''}" for n, k in SMOOTH])
def test_influence_is_the_derivative_in_each_weight(sample, name, kw):
    y, w = sample
    est = estimate(name, y, w, influence=True, **kw)
    s = SortedIncome.from_arrays(y, w)
    u = s.unsort(est.influence)  # back to input order
    numeric = np.empty_like(u)
    for k in range(y.size):
        h = 1e-5 * w[k]
        wp, wm = w.copy(), w.copy()
        wp[k] += h
        wm[k] -= h
        numeric[k] = (estimate(name, y, wp, **kw).value - estimate(name, y, wm, **kw).value) / (2 * h)
    scale = np.abs(u).max()
    assert scale > 0 or name == "atkinson:0"
    np.testing.assert_allclose(u, numeric, rtol=0, atol=2e-7 * max(scale, 1e-12))


def test_zero_incomes_theil_and_pip_mld_derivatives():
    # Theil accepts zeros (0 ln 0 = 0): u_k = 1/N for a zero income. PIP's MLD accepts y <= 0.
    rng = np.random.default_rng(3)
    y = np.concatenate([[0.0, 0.0, -2.0], rng.lognormal(2, 0.5, 40)])
    w = rng.uniform(1, 2, y.size)
    for name, kw, yy in [("theil", {}, np.abs(y)), ("mld", {"convention": "pip"}, y), ("ge:2", {}, np.abs(y))]:
        est = estimate(name, yy, w, influence=True, **kw)
        u = SortedIncome.from_arrays(yy, w).unsort(est.influence)
        for k in (0, 1, 2, 10):
            h = 1e-6 * w[k]
            wp, wm = w.copy(), w.copy()
            wp[k] += h
            wm[k] -= h
            d = (estimate(name, yy, wp, **kw).value - estimate(name, yy, wm, **kw).value) / (2 * h)
            assert u[k] == pytest.approx(d, rel=1e-6, abs=1e-10), (name, k)
    assert estimate("theil", np.abs(y), w, influence=True).influence[0] == pytest.approx(1 / w.sum(), rel=1e-12)


def test_linearized_total_is_zero_for_smooth_measures(sample):
    # a measure invariant to the scale of the weights has sum_k w_k u_k = 0 (Euler)
    y, w = sample
    for name, kw in SMOOTH:
        if name.startswith(("glorenz",)) or kw.get("convention") in ("convey", "ineqpy", "unbiased", "sample"):
            continue
        est = estimate(name, y, w, influence=True, **kw)
        s = SortedIncome.from_arrays(y, w)
        assert abs(np.dot(s.w, est.influence)) <= 1e-9 * max(1.0, abs(est.value)), name


STEP = {"median": 0.3, "quantile:0.25": 0.3, "p90p10": 0.3, "p90p50": 0.3, "p50p10": 0.3, "qsr": 0.05,
        "palma": 0.05, "share:0.9": 0.05, "share:0:0.4": 0.05, "lorenz:0.4": 0.05, "glorenz:0.6": 0.05}


@pytest.mark.parametrize("name", STEP)
def test_quantile_based_influence_predicts_reweighting(name):
    rng = np.random.default_rng(11)
    n = 40_000
    y = rng.lognormal(9.5, 0.75, n)
    w = rng.uniform(50, 150, n)
    kw = {"convention": "eurostat"} if name.startswith(("lorenz", "glorenz")) else {}
    base = estimate(name, y, w, influence=True, **kw)
    s = SortedIncome.from_arrays(y, w)
    wu = s.unsort(base.influence) * w
    eps = 0.25
    predicted, actual = [], []
    for _ in range(30):
        z = rng.standard_normal(n)
        predicted.append(eps * np.dot(wu, z))
        actual.append(estimate(name, y, w * (1 + eps * z), **kw).value - base.value)
    predicted, actual = np.array(predicted), np.array(actual)
    slope = np.dot(predicted, actual) / np.dot(predicted, predicted)
    corr = np.corrcoef(predicted, actual)[0, 1]
    assert corr > 0.97, (name, corr)
    assert slope == pytest.approx(1.0, abs=STEP[name]), (name, slope)
