"""Weighted quantile conventions against numpy's definitions and R laeken."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prosperity.measures.estimate import SortedIncome
from prosperity.measures.quantiles import (QUANTILE_CONVENTIONS, kernel_density_at, quantile_influence, quantile_sorted,
                                           weighted_quantile)

PROBS = [0.01, 0.1, 0.2, 0.25, 0.4, 0.5, 0.6, 0.75, 0.8, 0.9, 0.99]


def test_hand_worked_median_of_four():
    # F = 0.25, 0.5, 0.75, 1: p = 0.5 hits F_2 exactly
    y = [4.0, 1.0, 3.0, 2.0]
    assert weighted_quantile(y, 0.5) == 2.5  # eurostat: (y_2 + y_3) / 2
    assert weighted_quantile(y, 0.5, convention="laeken") == 3.0  # first F_j > p
    assert weighted_quantile(y, 0.5, convention="inverse_cdf") == 2.0  # first F_j >= p
    # interpolated: points (0.125,1) (0.375,2) (0.625,3) (0.875,4) -> p=0.5 halfway between 2 and 3
    assert weighted_quantile(y, 0.5, convention="interpolated") == 2.5
    # weights 1,1,2 on 1,2,3: F = .25,.5,1 ; p=0.6 -> 3 in every step convention
    assert weighted_quantile([1, 2, 3], 0.6, w=[1, 1, 2]) == 3.0


@pytest.mark.parametrize(
    "convention, numpy_method",
    [("eurostat", "averaged_inverted_cdf"), ("inverse_cdf", "inverted_cdf"), ("interpolated", "hazen")],
)
def test_unweighted_conventions_match_numpy(convention, numpy_method, ilocos):
    y = ilocos["income"].to_numpy(float)
    ours = weighted_quantile(y, PROBS, convention=convention)
    np.testing.assert_allclose(ours, np.quantile(y, PROBS, method=numpy_method), rtol=0, atol=1e-9)


def test_weighted_inverse_cdf_matches_numpy_weighted(eusilc):
    y, w = eusilc["eqIncome"].to_numpy(), eusilc["rb050"].to_numpy()
    ours = weighted_quantile(y, PROBS, w, convention="inverse_cdf")
    np.testing.assert_allclose(ours, np.quantile(y, PROBS, weights=w, method="inverted_cdf"), rtol=0, atol=1e-9)


# laeken::weightedQuantile(eusilc$eqIncome, eusilc$rb050, probs), laeken 0.5.2 (Debian), digits = 17
LAEKEN_EUSILC = {
    0.2: 12212.604347826087,
    0.5: 18098.726666666666,
    0.8: 25997.653333333335,
}


def test_eusilc_weighted_quantiles_equal_laeken_stored(eusilc):
    y, w = eusilc["eqIncome"].to_numpy(), eusilc["rb050"].to_numpy()
    for p, expected in LAEKEN_EUSILC.items():
        assert weighted_quantile(y, p, w) == pytest.approx(expected, abs=1e-6)
        assert weighted_quantile(y, p, w, convention="laeken") == pytest.approx(expected, abs=1e-6)


@pytest.mark.r
def test_quantiles_equal_laeken_run_live(eusilc, r_laeken):
    code = (
        "suppressMessages(library(laeken)); data(eusilc);"
        f"p <- c({','.join(map(str, PROBS))});"
        "q1 <- weightedQuantile(eusilc$eqIncome, eusilc$rb050, probs = p);"
        "q2 <- weightedQuantile(eusilc$eqIncome, NULL, probs = p);"
        "q3 <- weightedQuantile(c(1,2,3,4), NULL, probs = c(0.25, 0.5, 0.75));"
        "f <- function(v) paste0('[', paste(format(v, digits = 17), collapse = ','), ']');"
        "cat(sprintf('{\"w\": %s, \"u\": %s, \"small\": %s}', f(q1), f(q2), f(q3)))"
    )
    r = r_laeken(code)
    y, w = eusilc["eqIncome"].to_numpy(), eusilc["rb050"].to_numpy()
    np.testing.assert_allclose(weighted_quantile(y, PROBS, w, convention="laeken"), r["w"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(weighted_quantile(y, PROBS, convention="laeken"), r["u"], rtol=0, atol=1e-9)
    assert list(weighted_quantile([1, 2, 3, 4], [0.25, 0.5, 0.75], convention="laeken")) == r["small"] == [2, 3, 4]


def test_bad_probability_is_refused():
    with pytest.raises(ValueError, match=r"quantile probability must lie in \[0, 1\], got 1.5"):
        weighted_quantile([1, 2, 3], 1.5)
    with pytest.raises(ValueError, match="unknown quantile convention 'type7'"):
        weighted_quantile([1, 2, 3], 0.5, convention="type7")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=40),
    st.integers(1, 4),
    st.floats(0, 1),
)
def test_frequency_weights_equal_replication(values, k, p):
    """Weight k on every unit gives the same quantile as repeating every unit k times."""
    y = np.array(values)
    for conv in ("eurostat", "inverse_cdf", "laeken"):
        assert weighted_quantile(y, p, np.full(y.size, float(k)), convention=conv) == weighted_quantile(
            np.repeat(y, k), p, convention=conv
        )


def test_density_and_influence_of_median_on_normal_sample():
    rng = np.random.default_rng(5)
    y = rng.normal(10, 2, 200_000)
    s = SortedIncome.from_arrays(y)
    # N(10, 2) density at its median: 1 / (2 sqrt(2 pi)) = 0.19947
    assert kernel_density_at(s, 10.0) == pytest.approx(0.19947, rel=0.01)
    q = quantile_sorted(s, 0.5)
    u = quantile_influence(s, 0.5, q)
    # SE of the median: sqrt(p(1-p)/n)/f = 0.5/sqrt(n)/0.19947
    se = np.sqrt(np.sum(u * u) * y.size / (y.size - 1))
    assert se == pytest.approx(0.5 / np.sqrt(y.size) / 0.19947, rel=0.02)


@pytest.mark.parametrize("convention", QUANTILE_CONVENTIONS)
def test_zero_weight_units_never_move_a_quantile(convention):
    # units with weight 0 (below, between and above the others) carry no population: every convention
    # gives the quantiles of 1, 2, 3, 4 (e.g. the interpolated 0.4-quantile stays 2.1, not 2.04, and
    # the Eurostat median stays 2.5: the tie averages with the next *weighted* unit, not the 2.2)
    for p in (0.0, 0.25, 0.4, 0.5, 0.75, 1.0):
        plain = weighted_quantile([1, 2, 3, 4], p, [1, 1, 1, 1], convention)
        padded = weighted_quantile([0.5, 1, 2, 2.2, 3, 4, 5], p, [0, 1, 1, 0, 1, 1, 0], convention)
        assert padded == plain, (convention, p)


@pytest.mark.parametrize("convention", QUANTILE_CONVENTIONS)
def test_order_of_tied_incomes_cannot_flip_a_quantile(convention):
    # hypothesis' counterexample: F = 1.1 / 2.2 after the 1s is 0.5 up to rounding, and the rounding
    # depends on the order of the tied weights (1 + 0.05 + 0.05 vs 0.05 + 0.05 + 1)
    y = np.array([1.0, 2.0, 1.0, 1.0, 2.0, 2.0])
    w = np.array([1.0, 1.0, 0.05, 0.05, 0.05, 0.05])
    perm = np.random.default_rng(0).permutation(y.size)
    a, b = weighted_quantile(y, 0.5, w, convention), weighted_quantile(y[perm], 0.5, w[perm], convention)
    assert a == pytest.approx(b, rel=1e-12)  # the same up to the last bits of a cumulative sum
    # interpolated: the tied 1s are taken lightest first, so the segment runs from the last 1's mid-point
    # (1.1 - 0.5) / 2.2 to the first 2's (1.1 + 0.025) / 2.2: 1 + (0.5 - 0.6 / 2.2) / (0.525 / 2.2)
    expected = {"interpolated": 1 + (0.5 - 0.6 / 2.2) / (0.525 / 2.2), "eurostat": 1.5, "laeken": 2.0, "inverse_cdf": 1.0}
    assert a == pytest.approx(expected[convention], rel=1e-12)
