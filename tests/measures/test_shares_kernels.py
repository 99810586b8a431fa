"""Income shares, Lorenz curves, S80/S20 and Palma: hand-worked cases, conventions, consistency."""

import numpy as np
import pytest

from prosperity.measures import (
    LorenzCurve, gini, income_share, lorenz_curve, lorenz_ordinate, palma, quintile_share_ratio,
)
from prosperity.measures.estimate import SortedIncome
from prosperity.measures.shares import lower_total


def test_shares_hand_worked():
    y = np.arange(1.0, 11.0)  # total 55
    # Eurostat: q_.9 = (9 + 10)/2 = 9.5 -> top 10 % = {10}: 10/55
    assert income_share(y, 0.9, 1) == pytest.approx(10 / 55, abs=1e-15)
    # bottom 40 %: q_.4 = 4.5 -> 1+2+3+4 = 10
    assert income_share(y, 0, 0.4) == pytest.approx(10 / 55, abs=1e-15)
    # middle 40-90: 5+6+7+8+9 = 35
    assert income_share(y, 0.4, 0.9) == pytest.approx(35 / 55, abs=1e-15)
    # laeken's strict quantile: q_.4 = 5 -> 15; q_.9 = 10 -> top group empty
    assert income_share(y, 0, 0.4, convention="laeken") == pytest.approx(15 / 55, abs=1e-15)
    assert income_share(y, 0.9, 1, convention="laeken") == pytest.approx(0.0, abs=1e-15)
    # fractional at p = .35: 3 whole units + half of unit 4: (6 + 2)/55
    assert income_share(y, 0, 0.35, convention="fractional") == pytest.approx(8 / 55, abs=1e-15)
    assert palma(y) == pytest.approx(1.0, abs=1e-15)
    assert quintile_share_ratio(y) == pytest.approx(19 / 3, abs=1e-15)
    # shares of a partition add to 1
    parts = [income_share(y, a, b, convention=c) for c in ("eurostat", "fractional") for a, b in ((0, .3), (.3, .75), (.75, 1))]
    assert sum(parts[:3]) == pytest.approx(1.0, abs=1e-15) and sum(parts[3:]) == pytest.approx(1.0, abs=1e-15)


def test_ties_at_the_quantile_fall_in_the_lower_group():
    # incomes 1, 2, 2, 2, 9 (F = .2 .4 .6 .8 1): q_.2 = (1 + 2)/2 = 1.5, q_.8 = (2 + 9)/2 = 5.5: 9 / 1
    y = np.array([1.0, 2.0, 2.0, 2.0, 9.0])
    assert quintile_share_ratio(y) == pytest.approx(9 / 1, abs=1e-15)
    # bottom 40 %: q_.4 = 2 -> every unit with y <= 2 (80 % of people) is counted: 7/16
    assert income_share(y, 0, 0.4) == pytest.approx(7 / 16, abs=1e-15)
    assert income_share(y, 0, 0.4, convention="fractional") == pytest.approx(3 / 16, abs=1e-15)


def test_lorenz_hand_worked_and_curve():
    y, w = np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 1.0, 1.0, 1.0])
    # fractional L(p): vertices (.25, .1) (.5, .3) (.75, .6) (1, 1), linear in between
    assert lorenz_ordinate(y, 0.5) == pytest.approx(0.3, abs=1e-15)
    assert lorenz_ordinate(y, 0.625) == pytest.approx(0.45, abs=1e-15)
    assert lorenz_ordinate(y, 0.625, generalized=True) == pytest.approx(0.45 * 2.5, abs=1e-15)
    curve = lorenz_curve(y, w)
    np.testing.assert_allclose(curve.p, [0, .25, .5, .75, 1])
    np.testing.assert_allclose(curve.lorenz, [0, .1, .3, .6, 1])
    np.testing.assert_allclose(curve.generalized, [0, .25, .75, 1.5, 2.5])
    assert isinstance(curve, LorenzCurve) and "5 points" in repr(curve)
    frame = curve.to_frame()
    assert list(frame.columns) == ["p", "lorenz", "generalized_lorenz"]
    ps = np.linspace(0, 1, 41)
    at = lorenz_curve(y, w, p=ps)
    np.testing.assert_allclose(at.lorenz, np.interp(ps, curve.p, curve.lorenz), atol=1e-15)
    np.testing.assert_allclose(at.lorenz, [lorenz_ordinate(y, p) for p in ps], atol=1e-15)
    eu = lorenz_curve(y, w, p=ps, convention="eurostat")
    np.testing.assert_allclose(eu.lorenz, [lorenz_ordinate(y, p, convention="eurostat") for p in ps], atol=1e-15)
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        lorenz_curve(y, w, p=[0.5, 1.2])


def test_lorenz_area_gives_the_gini(eusilc):
    # G = 1 - 2 * area under the exact (fractional) Lorenz curve, for any weights
    y, w = eusilc["eqIncome"].to_numpy(float), eusilc["rb050"].to_numpy(float)
    c = lorenz_curve(y, w)
    area = np.sum(np.diff(c.p) * (c.lorenz[1:] + c.lorenz[:-1]) / 2)
    assert 1 - 2 * area == pytest.approx(gini(y, w), abs=1e-12)


def test_lower_total_edges():
    s = SortedIncome.from_arrays(np.array([3.0, 1.0, 2.0]), np.array([1.0, 2.0, 1.0]))
    for conv in ("eurostat", "laeken", "fractional"):
        assert lower_total(s, 0.0, conv).total == 0.0
        assert lower_total(s, 1.0, conv).total == pytest.approx(1 * 2 + 2 + 3)
    # fractional p = .25: N = 4, m = 1 -> one unit of y = 1 (weight 2 -> half of it)
    assert lower_total(s, 0.25, "fractional").total == pytest.approx(1.0)
    with pytest.raises(ValueError, match="unknown share convention"):
        lower_total(s, 0.5, "stata")


def test_share_errors():
    with pytest.raises(ValueError, match="p1 < p2"):
        income_share([1, 2, 3], 0.5, 0.5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        income_share([1, 2, 3], -0.1, 0.5)
    with pytest.raises(ValueError, match="zero total income"):
        quintile_share_ratio([0, 0, 0, 0, 0, 0, 0, 0, 1, 2])
    with pytest.raises(ValueError, match="total income is 0"):
        income_share([0, 0, 0], 0, 0.5)


def test_catalog_parses_share_measures():
    from prosperity.measures.registry import parse_measure

    spec, params = parse_measure("share:0.9")
    assert params == {"p1": 0.9, "p2": 1.0} and spec.label(params) == "share:0.9:1"
    with pytest.raises(ValueError, match="0 <= p1 < p2 <= 1"):
        parse_measure("share:0.6:0.4")
    spec, params = parse_measure("lorenz:0.5")
    assert params == {"p": 0.5}
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        parse_measure("quantile:1")
    spec, params = parse_measure("qratio")
    assert params == {"p_top": 0.9, "p_bottom": 0.1}
