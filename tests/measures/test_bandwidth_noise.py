"""convey's bandwidth on equal incomes: the weighted SD is exactly 0 or ~1e-16 of the mean depending on
the order the weights are summed in; both are "no spread" (quantiles.SD_NOISE), so a quantile SE is
refused whatever the rows' order -- in memory and out of core alike (it used to depend on the sort)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import prosperity
from prosperity.measures.estimate import SortedIncome
from prosperity.measures.quantiles import SD_NOISE, convey_bandwidth


def raw_sd(y, w):
    mean = float(np.dot(w, y)) / w.sum()
    return np.sqrt(float(np.dot(w, (y - mean) ** 2)) / w.sum()), mean


def test_equal_incomes_have_no_spread_in_any_order():
    rng = np.random.default_rng(5)
    w0 = rng.uniform(1, 3, 30)
    nonzero = 0
    for k in range(40):
        w = rng.permutation(w0)
        y = np.full(30, 90000.0)
        sd, mean = raw_sd(y, w)
        nonzero += sd > 0
        assert sd <= SD_NOISE * mean  # the rounding is far below the threshold
        with pytest.raises(ValueError, match="no spread"):
            convey_bandwidth(SortedIncome.from_arrays(y, w))
    assert nonzero > 0  # some orders give a non-zero SD: without the threshold the outcome would depend on order


def test_a_real_spread_just_above_the_threshold_is_kept():
    y = np.array([1.0, 1.0 + 1e-9, 1.0])
    h = convey_bandwidth(SortedIncome.from_arrays(y, np.ones(3)))
    assert h == pytest.approx(np.sqrt(2e-18 / 9) * 3 ** -0.2, rel=1e-6)


@pytest.mark.parametrize("backend", ["memory", "duckdb"])
def test_rich_measures_of_an_equal_group_are_refused_on_every_backend(backend):
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"y": np.r_[rng.lognormal(10, 0.6, 400), np.full(30, 90000.0)],
                          "g": ["a"] * 400 + ["b"] * 30, "w": rng.uniform(1, 3, 430)})
    for seed in range(3):  # the rows in three orders
        f = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
        res = prosperity.measure(f, income="y", weight="w", measures=["rich:2:2"], by="g", backend=backend,
                                 bandwidth="convey")
        t = res.to_frame()
        row = int(np.flatnonzero((t["g"] == "b").to_numpy())[0])
        assert row in res.undefined and "no spread" in res.undefined[row]
