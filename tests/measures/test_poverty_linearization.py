"""Linearized variables by finite differences of the weights, and d value / d line by differences of the line.

Convention (prosperity.measures.estimate): theta_hat - theta ~= sum_k w_k u_k, i.e. u_k = d theta / d w_k.
For measures that are smooth in the weights at a fixed line this is exact, so a central difference
in one weight must equal u_k to rounding.
"""

import numpy as np
import pytest

from prosperity.measures.estimate import SortedIncome
from prosperity.measures.poverty import fgt_sorted, rmpg_sorted, sen_sorted, sst_sorted, watts_sorted
from prosperity.measures.prosperity import bottom_mean_sorted, prosperity_gap_sorted


def _sample(n=400, seed=11):
    rng = np.random.default_rng(seed)
    return SortedIncome.from_arrays(rng.lognormal(0.0, 0.8, n), rng.uniform(0.5, 3.0, n))


def _with_weights(s, w):
    return SortedIncome(s.y, w, np.cumsum(w), s.order)


def assert_influence_is_weight_gradient(s, value_of, u, positions, rel=1e-6):
    for k in positions:
        h = 1e-6 * s.w[k]
        up, down = s.w.copy(), s.w.copy()
        up[k] += h
        down[k] -= h
        fd = (value_of(_with_weights(s, up)) - value_of(_with_weights(s, down))) / (2 * h)
        assert u[k] == pytest.approx(fd, rel=rel, abs=1e-12), k


POSITIONS = [0, 1, 57, 150, 260, 398, 399]
LINE = 1.1  # about 55 % of the sample is poor


@pytest.mark.parametrize(
    "kernel",
    [
        lambda s, **k: fgt_sorted(s, LINE, 0.0, **k),
        lambda s, **k: fgt_sorted(s, LINE, 1.0, **k),
        lambda s, **k: fgt_sorted(s, LINE, 2.0, **k),
        lambda s, **k: fgt_sorted(s, LINE, 0.5, **k),
        lambda s, **k: watts_sorted(s, LINE, **k),
        lambda s, **k: sen_sorted(s, LINE, **k),
        lambda s, **k: sst_sorted(s, LINE, **k),
        lambda s, **k: prosperity_gap_sorted(s, line=3.0, **k),
        lambda s, **k: bottom_mean_sorted(s, share=0.4, **k),
    ],
    ids=["fgt0", "fgt1", "fgt2", "fgt0.5", "watts", "sen", "sst", "prosperity_gap", "bottom40_mean"],
)
def test_linearized_variable_is_the_weight_gradient(kernel):
    s = _sample()
    est = kernel(s, influence=True)
    assert np.dot(s.w, est.influence) == pytest.approx(0.0, abs=1e-12)  # scale invariance in the weights
    assert_influence_is_weight_gradient(s, lambda t: kernel(t, influence=False).value, est.influence, POSITIONS)


@pytest.mark.parametrize(
    "kernel",
    [
        lambda s, z, **k: fgt_sorted(s, z, 1.0, **k),
        lambda s, z, **k: fgt_sorted(s, z, 2.0, **k),
        lambda s, z, **k: fgt_sorted(s, z, 0.5, **k),
        lambda s, z, **k: watts_sorted(s, z, **k),
        lambda s, z, **k: sst_sorted(s, z, **k),
        lambda s, z, **k: prosperity_gap_sorted(s, line=z, **k),
    ],
    ids=["fgt1", "fgt2", "fgt0.5", "watts", "sst", "prosperity_gap"],
)
def test_line_derivative_of_smooth_measures(kernel):
    """No income crosses z in [z - d, z + d]: the difference quotient is the exact derivative."""
    s = _sample()
    d = 1e-7
    assert not np.any(np.abs(s.y - LINE) <= d)
    fd = (kernel(s, LINE + d, influence=False).value - kernel(s, LINE - d, influence=False).value) / (2 * d)
    assert kernel(s, LINE, influence=True).line_derivative == pytest.approx(fd, rel=1e-6)


@pytest.fixture(scope="module")
def big():
    rng = np.random.default_rng(5)
    return SortedIncome.from_arrays(rng.lognormal(0.0, 0.5, 400_000), rng.uniform(0.5, 2.0, 400_000))


@pytest.mark.parametrize(
    "kernel",
    [lambda s, z, **k: fgt_sorted(s, z, 0.0, **k), lambda s, z, **k: sen_sorted(s, z, **k),
     lambda s, z, **k: rmpg_sorted(s, line=z, **k)],
    ids=["headcount", "sen", "rmpg"],
)
def test_line_derivative_with_a_density_term(big, kernel):
    """Measures that jump when an income crosses the line: d/dz involves the density f(z). On a large
    sample the difference quotient over a step holding thousands of incomes matches it."""
    z, d = 0.8, 0.02
    fd = (kernel(big, z + d, influence=False).value - kernel(big, z - d, influence=False).value) / (2 * d)
    assert kernel(big, z, influence=True).line_derivative == pytest.approx(fd, rel=0.03)


def test_fgt0_line_derivative_is_the_density_at_the_line(big):
    # lognormal(0, .5) density at .8 is 0.9028; the kernel estimate (h = .79 IQR N^-1/5, Osier 2009)
    # smooths the peak a little: 0.8902 on 400k draws
    from scipy.stats import lognorm

    assert fgt_sorted(big, 0.8).line_derivative == pytest.approx(lognorm(0.5).pdf(0.8), rel=0.02)
