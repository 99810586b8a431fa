"""Middle-income shares: absolute (NBS band scaled by household size) and relative (75-200 % of median)."""

import numpy as np
import pytest

from prosperity.measures.estimate import SortedIncome
from prosperity.measures.middle import (
    middle_absolute_sorted, middle_class_share, middle_relative_sorted, reference_size_income,
)
from prosperity.measures.quantiles import weighted_quantile



Y = [1.0, 2.0, 3.0, 4.0, 10.0]  # total 20, median 3


def test_relative_band_by_hand():
    # band [.75 * 3, 2 * 3) = [2.25, 6): holds 3 and 4 -> population 2/5, income (3+4)/20
    assert middle_class_share(Y) == pytest.approx(0.4)
    assert middle_class_share(Y, income_share=True) == pytest.approx(0.35)
    # band [.5 * 3, 1.5 * 3) = [1.5, 4.5): 2, 3, 4 -> 3/5 and 9/20
    assert middle_class_share(Y, lower=0.5, upper=1.5) == pytest.approx(0.6)
    assert middle_class_share(Y, lower=0.5, upper=1.5, income_share=True) == pytest.approx(0.45)


def test_absolute_band_by_hand_and_limits():
    # [2, 4): 2 and 3 (the upper limit is outside, the lower inside)
    assert middle_class_share(Y, band="absolute", lower=2, upper=4) == pytest.approx(0.4)
    assert middle_class_share(Y, band="absolute", lower=2, upper=4, income_share=True) == pytest.approx(0.25)
    # weights 1,1,1,1,6: N = 10, [2, 11) holds 2,3,4,10 -> 9/10; income (2+3+4+60)/(1+2+3+4+60)
    w = [1, 1, 1, 1, 6]
    assert middle_class_share(Y, w, band="absolute", lower=2, upper=11) == pytest.approx(0.9)
    assert middle_class_share(Y, w, band="absolute", lower=2, upper=11, income_share=True) == pytest.approx(69 / 70)


def test_nbs_band_scaled_by_household_size():
    income = np.array([150_000.0, 75_000.0, 400_000.0, 600_000.0])
    size = np.array([3, 2, 4, 1])
    # proportional: the band of a household of n is 100k-500k x n/3
    #   3: [100k, 500k) 150k in;  2: [66.7k, 333k) 75k in;  4: [133k, 667k) 400k in;  1: [33k, 167k) 600k out
    assert middle_class_share(income, band="absolute", household_size=size) == pytest.approx(0.75)
    # square-root scale: 2 -> x sqrt(2/3): [81.6k, 408k) 75k out; 4 -> x 1.155: 400k in; 1 -> 600k out
    assert middle_class_share(income, band="absolute", household_size=size, elasticity=0.5) == pytest.approx(0.5)
    # income share uses the households' actual incomes: (150k + 75k + 400k) / 1225k
    assert middle_class_share(income, band="absolute", household_size=size, income_share=True) == pytest.approx(
        625 / 1225
    )
    assert reference_size_income(income, size) == pytest.approx([150_000, 112_500, 300_000, 1_800_000])
    # a 6-person reference household halves the 3-person equivalent of a 3-person household's income
    assert reference_size_income([100.0], [3], reference_size=6)[0] == pytest.approx(200.0)


def test_bad_inputs():
    with pytest.raises(ValueError, match="household size must be positive: 1 row"):
        reference_size_income([1.0, 2.0], [2, 0])
    with pytest.raises(ValueError, match="needs 0 <= lower < upper"):
        middle_class_share(Y, lower=2.0, upper=0.75)
    with pytest.raises(ValueError, match="band must be 'absolute' or 'relative'"):
        middle_class_share(Y, band="median")


def _sample(n=3000, seed=3):
    rng = np.random.default_rng(seed)
    return SortedIncome.from_arrays(rng.lognormal(10, 0.7, n), rng.uniform(0.5, 2, n))


@pytest.mark.parametrize("income_share", [False, True])
def test_absolute_linearization_is_the_weight_gradient(income_share):
    s = _sample()
    lo, hi = 15_000.0, 40_000.0
    est = middle_absolute_sorted(s, lower=lo, upper=hi, income_share=income_share)
    for k in (0, 500, 1500, 2999):
        # the band's indicators do not depend on the weights, so the share is smooth in w[k]: a central
        # difference at h = 1e-3 w has truncation error O(h^2); at 1e-6 w its rounding error alone is ~3e-6
        # relative (it failed on numpy 2.4.6)
        h = 1e-3 * s.w[k]
        vals = []
        for sign in (1, -1):
            w2 = s.w.copy()
            w2[k] += sign * h
            s2 = SortedIncome(s.y, w2, np.cumsum(w2), s.order)
            vals.append(middle_absolute_sorted(s2, influence=False, lower=lo, upper=hi, income_share=income_share).value)
        assert est.influence[k] == pytest.approx((vals[0] - vals[1]) / (2 * h), rel=1e-6)


@pytest.mark.parametrize("income_share", [False, True])
def test_relative_band_derivative_in_the_median(income_share):
    rng = np.random.default_rng(8)
    s = SortedIncome.from_arrays(rng.lognormal(0, 0.6, 300_000))
    m = weighted_quantile(s, 0.5)
    d = 0.01 * m
    f = lambda med: middle_relative_sorted(s, influence=False, median=med, income_share=income_share).value  # noqa: E731
    est = middle_relative_sorted(s, median=m, income_share=income_share)
    # d S / d m = m (b^2 f(bm) - a^2 f(am)) / mu subtracts two similar terms, so the kernel density's
    # 1 % smoothing bias at .75 m becomes ~5 % here (0.2035 vs 0.1933; with the true lognormal density
    # the formula gives 0.1969)
    assert est.line_derivative == pytest.approx((f(m + d) - f(m - d)) / (2 * d), rel=0.08)


@pytest.mark.parametrize("income_share", [False, True])
def test_relative_band_se_agrees_with_bootstrap(eusilc, income_share):
    y, w = eusilc["eqIncome"].to_numpy(), eusilc["rb050"].to_numpy()
    s = SortedIncome.from_arrays(y, w)
    z = s.w * middle_relative_sorted(s, income_share=income_share).influence
    se_lin = np.sqrt(z.size / (z.size - 1) * np.sum((z - z.mean()) ** 2))
    rng = np.random.default_rng(1)
    reps = [middle_class_share(y[i], w[i], income_share=income_share)
            for i in (rng.integers(0, y.size, y.size) for _ in range(300))]
    assert se_lin == pytest.approx(np.std(reps, ddof=1), rel=0.15)


def test_eusilc_relative_middle_class_value(eusilc):
    y, w = eusilc["eqIncome"].to_numpy(), eusilc["rb050"].to_numpy()
    m = weighted_quantile(y, 0.5, w)
    inside = (y >= 0.75 * m) & (y < 2 * m)
    assert middle_class_share(y, w) == pytest.approx(w[inside].sum() / w.sum(), rel=1e-14)
    assert middle_class_share(y, w, income_share=True) == pytest.approx(
        np.dot(w[inside], y[inside]) / np.dot(w, y), rel=1e-14
    )
