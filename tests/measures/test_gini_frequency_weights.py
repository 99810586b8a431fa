"""The n/(n-1) Gini on frequency-weighted data: ``convention="unbiased_frequency"`` counts persons
(N = sum of the weights), so it equals ineq's ``Gini(corr=TRUE)`` (the package's ``"unbiased"``) on the
data with every row repeated w times; ``"unbiased"`` counts rows and does not."""

import numpy as np
import pytest

from prosperity import measure
from prosperity.measures.estimate import SortedIncome
from prosperity.measures.gini import gini, gini_sorted


def test_hand_case():
    # y = 1, 2, 3 with frequency weights 1, 2, 1 are the persons 1, 2, 2, 3: the ordered pairs' absolute
    # differences sum to 12, mean 2, n = 4: G = 12 / (2 * 16 * 2) = 3/16; times 4/3 = 1/4
    assert gini([1, 2, 3], [1, 2, 1]) == pytest.approx(3 / 16, abs=1e-15)
    assert gini([1, 2, 3], [1, 2, 1], convention="unbiased_frequency") == pytest.approx(0.25, abs=1e-15)
    assert gini([1, 2, 3], [1, 2, 1], convention="unbiased") == pytest.approx(3 / 16 * 3 / 2, abs=1e-15)  # rows: 3/2


def test_equals_the_unbiased_gini_of_the_replicated_rows():
    rng = np.random.default_rng(11)
    y = rng.lognormal(9, 0.8, 300)
    w = rng.integers(1, 25, 300).astype(float)
    expanded = np.repeat(y, w.astype(int))
    assert expanded.size == int(w.sum())
    g_freq = gini(y, w, convention="unbiased_frequency")
    assert g_freq == pytest.approx(gini(expanded, convention="unbiased"), rel=1e-13)
    assert g_freq == pytest.approx(gini(y, w) * w.sum() / (w.sum() - 1), rel=1e-15)
    # the row-count convention differs: it counts 300 rows, not the persons
    assert abs(gini(y, w, convention="unbiased") - g_freq) > 1e-3


def test_influence_is_the_derivative_in_each_weight():
    rng = np.random.default_rng(5)
    y = rng.lognormal(3, 0.6, 60)
    w = rng.integers(1, 9, 60).astype(float)
    s = SortedIncome.from_arrays(y, w)
    u = s.unsort(gini_sorted(s, True, "unbiased_frequency").influence)

    def value(ww):  # the same formula off integer weights: laeken's Gini times N/(N-1)
        return gini(y, ww) * ww.sum() / (ww.sum() - 1.0)

    for k in (0, 7, 31, 59):
        h = 1e-6 * w[k]
        wp, wm = w.copy(), w.copy()
        wp[k] += h
        wm[k] -= h
        assert u[k] == pytest.approx((value(wp) - value(wm)) / (2 * h), rel=1e-6)


def test_sampling_weights_are_refused_with_the_fix():
    with pytest.raises(ValueError, match=r"whole numbers of persons.*1 weight\(s\).*convention='unbiased'"):
        gini([1.0, 2.0, 3.0], [1.0, 2.5, 1.0], convention="unbiased_frequency")
    with pytest.raises(ValueError, match="at least 2 persons"):
        gini([4.0], [1.0], convention="unbiased_frequency")


def test_through_measure_with_its_linearized_se():
    rng = np.random.default_rng(2)
    data = {"y": rng.lognormal(8, 0.7, 400), "w": rng.integers(1, 6, 400).astype(float)}
    r = measure(data, "y", ["gini"], weight="w", conventions={"gini": "unbiased_frequency"})
    n = data["w"].sum()
    assert r.value_of("gini") == pytest.approx(gini(data["y"], data["w"]) * n / (n - 1), rel=1e-14)
    base = measure(data, "y", ["gini"], weight="w")
    assert r.se_of("gini") == pytest.approx(base.se_of("gini") * n / (n - 1), rel=2e-3)  # + the small N term
