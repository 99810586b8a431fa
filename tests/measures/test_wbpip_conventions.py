"""World Bank wbpip's microdata conventions (median, decile shares, Wolfson index) against wbpip's own
published example outputs (pkgdown reference pages of wbpip: ``md_compute_dist_stats(1:2000)``,
``md_compute_polarization`` example; ``md_compute_cumulative_share(1:10)`` from its tests) and hand
cases of its Lorenz-point rule i_k = min{i : round(p_i, 10) >= round(k/n, 10)}."""

import numpy as np
import pytest

from prosperity import measure
from prosperity.measures import wbpip_md as wb
from prosperity.measures.estimate import SortedIncome, as_sorted
from prosperity.measures.gini import gini
from prosperity.measures.polarization import wolfson


def test_dist_stats_example_1_to_2000():
    # wbpip: md_compute_dist_stats(welfare = 1:2000, weight = rep(1, 2000))
    y = np.arange(1, 2001, dtype=float)
    assert wb.median_sorted(as_sorted(y, None)) == 1000.0
    assert round(gini(y), 7) == 0.3331667
    assert round(wolfson(y, convention="wbpip"), 7) == 0.3343335
    published = [0.01004498, 0.03003498, 0.05002499, 0.07001499, 0.09000500, 0.10999500,
                 0.12998501, 0.14997501, 0.16996502, 0.18995502]
    np.testing.assert_array_equal(np.round(wb.quantile_shares(y).shares, 8), published)
    # the package's own Wolfson (Eurostat median 1000.5, exact L(0.5)) differs in the third digit
    assert round(wolfson(y), 7) == 0.3331669


def test_polarization_formula_example():
    # wbpip: md_compute_polarization(1:2000, rep(1, 2000), gini = 0.4, mean = 950, median = 1000) -> 0.14;
    # the mean below the median 1000 (y < 1000) of 1..2000 is 500
    y = np.arange(1, 2001, dtype=float)
    assert y[y < 1000].mean() == 500.0
    assert wb.wolfson_index(0.4, 950.0, 1000.0, 500.0) == pytest.approx(0.14, abs=1e-15)


def test_cumulative_shares_of_1_to_10():
    # wbpip tests: md_compute_cumulative_share(1:10, rep(1, 10), n = 10) == cumsum(1:10) / sum(1:10)
    y = np.arange(1, 11, dtype=float)
    np.testing.assert_allclose(np.cumsum(wb.quantile_shares(y).shares), np.cumsum(y) / y.sum(), rtol=1e-15)


def test_weighted_hand_case_no_interpolation():
    # p = .1 .2 .5 .6 1: the unit y = 3 holds deciles 3-5, y = 5 deciles 7-10 (wbpip repeats the point)
    y, w = np.array([1.0, 2, 3, 4, 5]), np.array([1.0, 1, 3, 1, 4])
    s = SortedIncome.from_arrays(y, w)
    np.testing.assert_array_equal(wb.lorenz_points(s, 10), [0, 1, 2, 2, 2, 3, 4, 4, 4, 4])
    r = wb.quantile_shares(y, w)
    np.testing.assert_allclose(r.shares * 36, [1, 2, 9, 0, 0, 4, 20, 0, 0, 0], atol=1e-13)
    np.testing.assert_array_equal(r.thresholds, [1, 2, 3, 3, 3, 4, 5, 5, 5, 5])
    frac = wb.quantile_shares(y, w, convention="fractional")  # the boundary unit split
    np.testing.assert_allclose(frac.shares * 36, [1, 2, 3, 3, 3, 4, 5, 5, 5, 5], atol=1e-13)
    assert wb.median_sorted(s) == 3.0
    g = gini(y, w)
    assert wolfson(y, w, convention="wbpip") == pytest.approx(2 * ((1 - g) * 3.6 - 1.5) / 3, rel=1e-14)
    assert list(r.to_frame().columns) == ["group", "lower_p", "upper_p", "share", "threshold"]
    assert "QuantileShares[wbpip, n=10]" in repr(r)


def test_rounding_to_ten_decimals_as_wbpip():
    # cumulative shares that reach k/n only up to float rounding still count as reaching it
    y = np.arange(1, 11, dtype=float)
    w = np.full(10, 0.1)  # cumsum gives 0.30000000000000004, 0.7999999999999999, ...
    s = SortedIncome.from_arrays(y, w)
    np.testing.assert_array_equal(wb.lorenz_points(s, 10), np.arange(10))


def test_bad_number_of_groups():
    with pytest.raises(ValueError, match="whole number >= 2"):
        wb.quantile_shares([1.0, 2.0, 3.0], n=1.5)
    with pytest.raises(ValueError, match="quantile-share convention"):
        wb.quantile_shares([1.0, 2.0, 3.0], convention="pip")


def test_share_influence_predicts_reweighting():
    rng = np.random.default_rng(4)
    y, w = rng.lognormal(5, 0.7, 4000), rng.uniform(1, 3, 4000)
    r = wb.quantile_shares_sorted(SortedIncome.from_arrays(y, w), 10, "wbpip", influence=True)
    assert np.abs(w @ r.influence).max() < 1e-3  # ~0: shares do not change with the scale of w (up to one unit)
    d = rng.normal(0, 0.02, y.size)  # a small reweighting
    moved = wb.quantile_shares(y, w * (1 + d)).shares - r.shares
    np.testing.assert_allclose(moved, (w * d) @ r.influence, atol=4e-4)


def test_wbpip_wolfson_in_measure_with_se(eusilc):
    r = measure(eusilc, "eqIncome", ["wolfson"], weight="rb050", strata="db040", psu="rb030",
                conventions={"wolfson": "wbpip"})
    base = measure(eusilc, "eqIncome", ["wolfson"], weight="rb050", strata="db040", psu="rb030")
    y, w = eusilc["eqIncome"].to_numpy(float), eusilc["rb050"].to_numpy(float)
    assert r.value_of("wolfson") == pytest.approx(wolfson(y, w, convention="wbpip"), rel=1e-14)
    assert r.value_of("wolfson") != pytest.approx(base.value_of("wolfson"), rel=1e-6)
    assert 0.5 < r.se_of("wolfson") / base.se_of("wolfson") < 2.0
    s = SortedIncome.from_arrays(y, w)
    assert abs(float(s.w @ wb.wolfson_sorted(s).influence)) < 1e-3  # ~0 (scale invariant; the discrete median: one unit)
