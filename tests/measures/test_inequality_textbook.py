"""Inequality measures on small vectors worked by hand (arithmetic in the comments), conventions,
and input errors."""

import math

import numpy as np
import pytest

from prosperity.measures import (
    atkinson, coefficient_of_variation, ge, gini, median, mld, quantile_ratio, sgini, theil, variance_of_logs,
    weighted_mean,
)
from prosperity.measures.estimate import SortedIncome
from prosperity.measures.gini import _sgini_general, gini_sorted


def test_gini_hand_worked():
    # y = 1,2,3,4: sum_ij |yi - yj| = 2 * (1+2+3+1+2+1) = 20; G = 20 / (2 * 4^2 * 2.5) = 0.25
    assert gini([4, 1, 3, 2]) == pytest.approx(0.25, abs=1e-15)
    # weights 1,1,2 on 1,2,3 == unweighted 1,2,3,3: pairs |.|: (1,2)1 (1,3)2 (1,3)2 (2,3)1 (2,3)1 (3,3)0
    # sum over ordered pairs = 2 * 7 = 14; G = 14 / (2 * 16 * 2.25) = 0.194444...
    assert gini([1, 2, 3], [1, 1, 2]) == pytest.approx(14 / 72, abs=1e-15)
    assert gini([1, 2, 3, 3]) == pytest.approx(14 / 72, abs=1e-15)
    # one person has everything among n: G = (n - 1) / n
    assert gini([0, 0, 0, 5]) == pytest.approx(0.75, abs=1e-15)
    assert gini([7, 7, 7]) == pytest.approx(0.0, abs=1e-15)


def test_gini_conventions_hand_worked():
    y, w = np.array([1.0, 2.0, 3.0]), np.array([1.0, 1.0, 2.0])
    # N = 4, Y = 9, C = 1,2,4; sum w y C = 1 + 4 + 24 = 29; sum w^2 y = 1 + 2 + 12 = 15
    # laeken: (58 - 15) / 36 - 1 = 7/36
    assert gini(y, w) == pytest.approx(7 / 36, abs=1e-15)
    # convey: sum (2C - 1) w y / (N Y) - 1 = (1*1 + 3*2 + 7*6) / 36 - 1 = 49/36 - 1 = 13/36
    assert gini(y, w, convention="convey") == pytest.approx(13 / 36, abs=1e-15)
    # ineqpy: S2 = (1 + 1 + 4) / 16 = 3/8; (58/36 - 1 - 3/8) / (1 - 3/8) = (29/18 - 11/8) / (5/8) = 17/45
    assert gini(y, w, convention="ineqpy") == pytest.approx(17 / 45, abs=1e-15)
    # unbiased: n = 3 observations: 7/36 * 3/2 = 7/24
    assert gini(y, w, convention="unbiased") == pytest.approx(7 / 24, abs=1e-15)
    # ineqpy and unbiased coincide without weights: 0.25 * 4/3
    assert gini([1, 2, 3, 4], convention="ineqpy") == pytest.approx(1 / 3, abs=1e-15)
    with pytest.raises(ValueError, match="unknown Gini convention"):
        gini(y, w, convention="stata")


def test_sgini_hand_worked_and_nu2_is_gini():
    # nu = 3 on 1..4: omega_i = d_{i-1}^3 - d_i^3 with d = .75, .5, .25, 0
    # = .578125, .296875, .109375, .015625; sum y omega = 1.5625; G = 1 - 1.5625 / 2.5 = 0.375
    assert sgini([1, 2, 3, 4], 3) == pytest.approx(0.375, abs=1e-15)
    rng = np.random.default_rng(0)
    y, w = rng.lognormal(0, 1, 300), rng.uniform(1, 5, 300)
    s = SortedIncome.from_arrays(y, w)
    general, gini_est = _sgini_general(s, 2.0, True), gini_sorted(s, True)
    assert general.value == pytest.approx(gini_est.value, abs=1e-13)
    np.testing.assert_allclose(general.influence, gini_est.influence, rtol=0, atol=1e-13 * np.abs(gini_est.influence).max())
    # larger nu weighs the bottom more: G(nu) increases with nu for this sample
    values = [sgini(y, nu, w) for nu in (1.5, 2, 3, 5, 10)]
    assert np.all(np.diff(values) > 0)
    with pytest.raises(ValueError, match="nu must be"):
        sgini(y, 1.0, w)


def test_generalized_entropy_hand_worked():
    y = np.array([1.0, 2.0, 3.0, 4.0])  # mu = 2.5, z = .4 .8 1.2 1.6
    # GE(2): mean z^2 = (.16 + .64 + 1.44 + 2.56) / 4 = 1.2; (1.2 - 1) / 2 = 0.1 = CV^2 / 2 (CV^2 = 1.25/6.25)
    assert ge(y, 2) == pytest.approx(0.1, abs=1e-15)
    assert coefficient_of_variation(y) ** 2 / 2 == pytest.approx(0.1, abs=1e-15)
    # GE(-1): mean z^-1 = (2.5 + 1.25 + .8333 + .625) / 4 = 1.302083; (1.302083 - 1) / 2 = 0.151042
    assert ge(y, -1) == pytest.approx((np.mean(1 / (y / 2.5)) - 1) / 2, abs=1e-15)
    assert ge(y, -1) == pytest.approx(0.15104166666666666, abs=1e-15)
    # GE(0) = MLD = -mean ln z; GE(1) = Theil = mean z ln z; GE(alpha) is continuous at 0 and 1
    z = y / 2.5
    assert ge(y, 0) == pytest.approx(-np.mean(np.log(z)), abs=1e-15) == mld(y)
    assert ge(y, 1) == pytest.approx(np.mean(z * np.log(z)), abs=1e-15) == theil(y)
    assert ge(y, 1e-7) == pytest.approx(mld(y), abs=1e-6)
    assert ge(y, 1 + 1e-7) == pytest.approx(theil(y), abs=1e-6)
    # Theil of (0, 0, 3): z = 0, 0, 3; (1/3) * 3 ln 3 = ln 3 (the maximum ln n)
    assert theil([0.0, 0.0, 3.0]) == pytest.approx(math.log(3), abs=1e-15)


def test_atkinson_hand_worked():
    # (1, 4): mu = 2.5; eps = .5: EDE = ((1 + 2) / 2)^2 = 2.25, A = 1 - 2.25/2.5 = 0.1
    assert atkinson([1, 4], 0.5) == pytest.approx(0.1, abs=1e-15)
    # eps = 1: EDE = geometric mean = 2, A = 0.2; eps = 2: EDE = harmonic mean = 2 / (1 + 1/4) = 1.6, A = .36
    assert atkinson([1, 4], 1) == pytest.approx(0.2, abs=1e-15)
    assert atkinson([1, 4], 2) == pytest.approx(0.36, abs=1e-15)
    assert atkinson([1, 4], 0) == 0.0
    # weights: (1, 4) with weights (3, 1) == (1, 1, 1, 4): mu = 7/4, geometric mean = 4^(1/4)
    assert atkinson([1, 4], 1, [3, 1]) == pytest.approx(1 - 4 ** 0.25 / 1.75, abs=1e-15)
    assert atkinson([1, 1, 1, 4], 3) == pytest.approx(atkinson([1, 4], 3, [3, 1]), abs=1e-15)
    # A(eps) = 1 - [1 + alpha (alpha - 1) GE(alpha)]^(1/alpha), alpha = 1 - eps
    y = np.array([2.0, 3.0, 7.0, 11.0])
    for eps in (0.25, 0.5, 2.0, 3.0):
        a = 1 - eps
        assert atkinson(y, eps) == pytest.approx(1 - (1 + a * (a - 1) * ge(y, a)) ** (1 / a), abs=1e-14)
    assert atkinson(y, 1) == pytest.approx(1 - math.exp(-mld(y)), abs=1e-15)


def test_dispersion_hand_worked():
    # CV (1,2,3,4): sigma^2 = (2.25 + .25 + .25 + 2.25)/4 = 1.25; sqrt(1.25)/2.5 = 0.4472136
    assert coefficient_of_variation([1, 2, 3, 4]) == pytest.approx(math.sqrt(1.25) / 2.5, abs=1e-15)
    # sample: R sd(1:4)/mean(1:4) = sqrt(5/3)/2.5
    assert coefficient_of_variation([1, 2, 3, 4], convention="sample") == pytest.approx(math.sqrt(5 / 3) / 2.5, abs=1e-15)
    # variance of logs of (1, e^2): logs 0, 2 -> mean 1, V = 1; around ln(mu): mu = (1 + e^2)/2
    y = [1.0, math.e**2]
    assert variance_of_logs(y) == pytest.approx(1.0, abs=1e-15)
    lm = math.log((1 + math.e**2) / 2)
    assert variance_of_logs(y, convention="log_of_mean") == pytest.approx((lm**2 + (2 - lm) ** 2) / 2, abs=1e-15)


def test_central_hand_worked():
    assert weighted_mean([1, 2, 3], [1, 1, 2]) == 2.25
    assert median([1, 2, 3, 4]) == 2.5
    assert median([1, 2, 3, 4], convention="laeken") == 3.0
    # 1..10, Eurostat: q.9: F_9 = .9 exactly -> (9 + 10)/2; q.1 -> (1 + 2)/2: 9.5/1.5
    assert quantile_ratio(np.arange(1, 11), 0.9, 0.1) == pytest.approx(9.5 / 1.5, abs=1e-15)
    assert quantile_ratio(np.arange(1, 11), 0.9, 0.1, convention="inverse_cdf") == pytest.approx(9.0, abs=1e-15)


def test_domain_errors_name_rows():
    with pytest.raises(ValueError, match=r"positive incomes.*rows 1, 3.*row 1 is 0.0"):
        mld([2.0, 0.0, 3.0, -1.0])
    with pytest.raises(ValueError, match=r"non-negative incomes.*row 2 is -1.0"):
        theil([2.0, 0.0, -1.0])
    with pytest.raises(ValueError, match=r"Atkinson index \(epsilon = 1\) needs positive"):
        atkinson([2.0, 0.0, 3.0], 1)
    with pytest.raises(ValueError, match=r"Atkinson index \(epsilon = 2\) needs positive"):
        atkinson([2.0, 0.0, 3.0], 2)
    assert atkinson([2.0, 0.0, 3.0], 0.5) > 0  # zeros are fine for eps < 1
    with pytest.raises(ValueError, match="GE\\(-0.5\\) needs positive"):
        ge([2.0, 0.0], -0.5)
    with pytest.raises(ValueError, match="missing"):
        theil([2.0, np.nan, 3.0])
    with pytest.raises(ValueError, match="epsilon must be a finite number >= 0"):
        atkinson([1.0, 2.0], -1)
    # through a SortedIncome the rows are those of the input, not the sorted positions
    s = SortedIncome.from_arrays(np.array([5.0, 4.0, 0.0, 2.0]))
    from prosperity.measures.entropy import mld_estimate

    with pytest.raises(ValueError, match=r"rows 2;"):
        mld_estimate(s)
    with pytest.raises(ValueError, match="same length"):
        theil([1.0, 2.0], [1.0])
