"""Hand-worked poverty indices on small vectors (arithmetic in the comments) and input errors."""

import math

import numpy as np
import pytest

from prosperity.measures.poverty import (
    fgt, headcount, poverty_gap, relative_line, sen, squared_poverty_gap, sst, sst_decomposition, watts,
)
from prosperity.measures.registry import parse_measure

Y = [1.0, 2.0, 3.0, 4.0, 10.0]  # line z = 5: four poor, gaps g = .8 .6 .4 .2 (and 0 for 10)


def test_fgt_family_by_hand():
    assert headcount(Y, 5) == pytest.approx(4 / 5)  # 4 of 5 below 5
    assert poverty_gap(Y, 5) == pytest.approx(2.0 / 5)  # (.8+.6+.4+.2)/5 = 0.4
    assert squared_poverty_gap(Y, 5) == pytest.approx(1.2 / 5)  # (.64+.36+.16+.04)/5 = 0.24
    assert fgt(Y, 5, 3) == pytest.approx((0.512 + 0.216 + 0.064 + 0.008) / 5)  # 0.16
    assert fgt(Y, 5, 0.5) == pytest.approx(sum(math.sqrt(g) for g in (0.8, 0.6, 0.4, 0.2)) / 5)


def test_weights_are_replication():
    # weights 2,1,1,1,5 == the vector with 1 twice and 10 five times: N = 10
    w = [2, 1, 1, 1, 5]
    rep = [1, 1, 2, 3, 4] + [10] * 5
    for a in (0, 1, 2):
        assert fgt(Y, 5, a, w) == pytest.approx(fgt(rep, 5, a))
    assert fgt(Y, 5, 1, w) == pytest.approx((2 * 0.8 + 0.6 + 0.4 + 0.2) / 10)  # 0.28
    assert watts(Y, 5, w) == pytest.approx(watts(rep, 5))
    assert sen(Y, 5, w) == pytest.approx(sen(rep, 5))
    assert sst(Y, 5, w) == pytest.approx(sst(rep, 5))


def test_line_rule_strict_or_inclusive():
    y = [1.0, 5.0, 5.0, 9.0]
    assert headcount(y, 5) == 0.25  # y < z: only 1 (laeken, Eurostat, PIP)
    assert headcount(y, 5, inclusive=True) == 0.75  # y <= z: convey
    assert poverty_gap(y, 5) == poverty_gap(y, 5, inclusive=True) == pytest.approx(0.8 / 4)  # gap 0 at z


def test_watts_by_hand():
    # ln(5/1) + ln(5/2) + ln(5/3) + ln(5/4) = ln(625/24) = 3.25970; / 5 = 0.651939
    assert watts(Y, 5) == pytest.approx(math.log(625 / 24) / 5)
    assert watts(Y, 5) == pytest.approx(0.6519395638776911, abs=1e-15)


def test_sen_by_hand():
    # H = .8; poor mean 2.5 -> I = 1 - 2.5/5 = .5; Gini of 1,2,3,4 = sum (2i-1) y / (n Y) - 1
    # = (1+6+15+28)/(4*10) - 1 = .25.  S = H [I + (1-I) G] = .8 (.5 + .5 * .25) = .5
    assert sen(Y, 5) == pytest.approx(0.5, abs=1e-15)
    # equal poor incomes: G_p = 0, S = H I = P1
    assert sen([2, 2, 2, 8], 4) == pytest.approx(poverty_gap([2, 2, 2, 8], 4))
    # nobody poor
    assert sen([6, 7], 5) == 0.0


def test_sst_by_hand():
    # gaps over everyone, sorted 0 .2 .4 .6 .8: mean .4 = P1; Gini = sum_{i<j}(g_j - g_i) * 2 / (2 n^2 mean)
    # sum_{i<j} = .2 (4*1 + 3*2 + 2*3 + 1*4) = 4 -> G = 8 / (2*25*.4) = .4;  SST = .4 * 1.4 = .56
    # check as E[max(g, g')]: sum_k g_(k) (2k - 1) / n^2 = (.2*3 + .4*5 + .6*7 + .8*9) / 25 = 14 / 25
    assert sst(Y, 5) == pytest.approx(0.56, abs=1e-15)
    d = sst_decomposition(Y, 5)
    assert (d.headcount, d.gap_ratio, d.gini_of_gaps) == pytest.approx((0.8, 0.5, 0.4))
    assert d.headcount * d.gap_ratio * (1 + d.gini_of_gaps) == pytest.approx(d.value)
    assert list(d.to_frame()["component"]) == ["headcount", "gap_ratio", "1+gini_of_gaps", "sst"]
    assert "H 0.8 x I 0.5" in repr(d)


def test_sst_equals_p1_times_one_plus_gini_of_gaps_on_real_data(eusilc):
    from prosperity.measures.gini import gini

    y, w = eusilc["eqIncome"].to_numpy(), eusilc["rb050"].to_numpy()
    z = relative_line(y, w)
    gaps = np.clip(1 - y / z, 0, None)
    assert sst(y, z, w) == pytest.approx(poverty_gap(y, z, w) * (1 + gini(gaps, w)), rel=1e-12)


def test_relative_line_mean_and_median():
    assert relative_line([1, 2, 3, 4], fraction=0.5) == 1.25  # eurostat median 2.5
    assert relative_line([1, 2, 3, 4], fraction=0.5, statistic="mean") == 1.25  # mean 2.5
    assert relative_line([1, 2, 3, 10], fraction=0.5, statistic="mean") == 2.0


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: fgt(Y, 0, 1), "the poverty line must be a positive finite number, got 0"),
        (lambda: fgt(Y, 5, -2), r"alpha must be >= 0 \(0 headcount, 1 gap, 2 severity\), got -2"),
        (lambda: watts([0.0, 2.0, 9.0], 5), "Watts index needs positive incomes below the line: 1 income"),
        (lambda: relative_line(Y, fraction=7), r"relative line fraction must lie in \(0, 5\]"),
        (lambda: sen([-2.0, 1.0, 9.0], 5), r"Sen index needs non-negative incomes .*: 1 income\(s\) are negative"),
        (lambda: relative_line(Y, statistic="mode"), "statistic must be one of"),
        (lambda: parse_measure("fgt:-2"), "alpha must be >= 0"),
        (lambda: parse_measure("fgt"), "needs parameter"),
        (lambda: parse_measure("arpr:0"), "fraction must lie in"),
    ],
)
def test_bad_input_says_what_is_wrong(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_rmpg_without_poor_is_refused():
    from prosperity.measures.poverty import rmpg

    with pytest.raises(ValueError, match="no income is below the line 1"):
        rmpg([5.0, 6.0], line=1.0)


def _ineq_reference(x, k):
    """R ineq 0.2-13 (R/pov.R), transcribed as formulas: Sen = H (I + (1 - I) Gini(poor)) with
    Gini(v) = (2 sum i v_(i) / sum v - (n + 1)) / n; SST = sum_i (2n - 2i + 1) g_(i) / n^2 over the
    poor sorted ascending; Watts = sum_poor ln(k / x) / n; Foster(parameter = a) = FGT(a - 1)."""
    x = np.sort(np.asarray(x, float))
    n = x.size
    poor = x[x < k]
    q = poor.size
    h = q / n
    i_ratio = np.sum((k - poor) / k) / q
    ranks = np.arange(1, q + 1)
    g_poor = (2 * np.sum(poor * ranks) / poor.sum() - (q + 1)) / q
    return {
        "sen": h * (i_ratio + (1 - i_ratio) * g_poor),
        "sst": np.sum((2 * n - 2 * ranks + 1) * (k - poor) / k) / n**2,
        "watts": np.sum(np.log(k / poor)) / n,
        "fgt2": np.sum(((k - poor) / k) ** 2) / n,  # ineq Foster(parameter = 3)
    }


@pytest.mark.parametrize("share_poor", [0.1, 0.3, 0.6])
def test_matches_ineq_formulas_on_ilocos(ilocos, share_poor):
    x = ilocos["income"].to_numpy(float)
    k = float(np.quantile(x, share_poor))
    ref = _ineq_reference(x, k)
    assert sen(x, k) == pytest.approx(ref["sen"], rel=1e-13)
    assert sst(x, k) == pytest.approx(ref["sst"], rel=1e-13)
    assert watts(x, k) == pytest.approx(ref["watts"], rel=1e-13)
    assert fgt(x, k, 2) == pytest.approx(ref["fgt2"], rel=1e-13)
