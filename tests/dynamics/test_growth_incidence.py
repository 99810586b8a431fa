"""Growth incidence, pro-poor growth and poverty-change decompositions: closed forms for lognormal
distributions, exact identities, and microdata (dineq's ENIGH 2008 / 2016 samples)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import prosperity
from prosperity.dynamics import growth_incidence, poverty_change_decomposition
from prosperity.dynamics.incidence import as_sample, fgt, watts

DATA = Path(prosperity.__file__).parent / "data"
D0 = stats.lognorm(0.6, scale=100.0)  # median 100, sigma 0.6
D1 = stats.lognorm(0.5, scale=120.0)


def test_gic_of_fitted_lognormals_is_closed_form():
    g = growth_incidence(D0, D1, years=2)
    p = g.curve["p"].to_numpy()
    z = stats.norm.ppf(p)
    exact = (120 * np.exp(0.5 * z) / (100 * np.exp(0.6 * z))) ** 0.5 - 1
    np.testing.assert_allclose(g.curve["growth"], exact, rtol=2e-6)
    assert g.median_growth == pytest.approx(np.sqrt(1.2) - 1, rel=1e-6)
    assert g.mean_growth == pytest.approx(np.sqrt(D1.mean() / D0.mean()) - 1, rel=1e-6)
    # bottom 40 % mean of a lognormal: mu * Phi(Phi^-1(0.4) - sigma) / 0.4
    b40 = lambda d, s: d.mean() * stats.norm.cdf(stats.norm.ppf(0.4) - s) / 0.4  # noqa: E731
    assert g.bottom40_growth == pytest.approx(np.sqrt(b40(D1, 0.5) / b40(D0, 0.6)) - 1, rel=1e-5)


def test_pro_poor_growth_rate_definitions():
    g = growth_incidence(D0, D1, line=80.0)
    h0 = D0.cdf(80.0)
    assert g.headcount_0 == pytest.approx(h0, abs=1e-4)
    below = g.curve["p"] <= h0
    assert g.pro_poor_growth == pytest.approx(g.curve.loc[below, "growth"].mean(), rel=1e-12)
    w = growth_incidence(D0, D1, line=80.0, pro_poor="watts")
    s0, s1 = as_sample(D0), as_sample(D1)
    assert w.pro_poor_growth == pytest.approx(np.expm1((watts(s0, 80) - watts(s1, 80)) / fgt(s0, 80)), rel=1e-12)
    assert 0 < w.pro_poor_growth < 1


def test_datt_ravallion_lognormal_closed_form():
    line = 80.0
    d = poverty_change_decomposition(D0, D1, line, method="datt-ravallion")
    m0, m1 = D0.mean(), D1.mean()
    h = lambda median, s: stats.norm.cdf(np.log(line / median) / s)  # noqa: E731
    assert d.poverty_0 == pytest.approx(h(100, 0.6), abs=2e-4)
    assert d.poverty_1 == pytest.approx(h(120, 0.5), abs=2e-4)
    assert d.growth == pytest.approx(h(100 * m1 / m0, 0.6) - h(100, 0.6), abs=2e-4)
    assert d.redistribution == pytest.approx(h(120 * m0 / m1, 0.5) - h(100, 0.6), abs=2e-4)
    assert d.growth + d.redistribution + d.residual == pytest.approx(d.change, abs=1e-15)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.floats(1, 1000), min_size=5, max_size=40),
    st.lists(st.floats(1, 1000), min_size=5, max_size=40),
    st.floats(5, 800),
    st.sampled_from([0.0, 1.0, 2.0]),
)
def test_shapley_is_exact_and_averages_the_two_datt_ravallion_references(a, b, line, alpha):
    sh = poverty_change_decomposition(np.array(a), np.array(b), line, alpha=alpha)
    assert sh.growth + sh.redistribution == pytest.approx(sh.change, abs=1e-12)
    r0 = poverty_change_decomposition(np.array(a), np.array(b), line, alpha=alpha, method="datt-ravallion", reference=0)
    r1 = poverty_change_decomposition(np.array(a), np.array(b), line, alpha=alpha, method="datt-ravallion", reference=1)
    assert sh.growth == pytest.approx((r0.growth + r1.growth) / 2, abs=1e-12)
    assert r0.residual == pytest.approx(-r1.residual, abs=1e-12)


def test_bottom40_and_gic_on_a_small_sample():
    y0 = np.array([1.0, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    y1 = y0 * 1.1
    g = growth_incidence(y0, y1)
    np.testing.assert_allclose(g.curve["growth"], 0.1, rtol=1e-12)  # scale change: flat GIC
    assert g.bottom40_growth == pytest.approx(0.1, rel=1e-12)
    assert as_sample(y0).bottom_mean(0.4) == pytest.approx(2.5)
    assert as_sample((np.array([1.0, 2.0]), np.array([1.0, 3.0]))).bottom_mean(0.5) == pytest.approx(1.5)


def test_enigh_microdata_weighted():
    a = pd.read_csv(DATA / "dineq_mex_inc_2008_enigh_sample.csv")
    b = pd.read_csv(DATA / "dineq_mex_inc_2016_enigh_sample.csv")
    before, after = (a["income"].to_numpy(), a["factor"].to_numpy()), (b["income"].to_numpy(), b["factor"].to_numpy())
    g = growth_incidence(before, after, years=8)
    mean0 = np.average(a["income"], weights=a["factor"])
    mean1 = np.average(b["income"], weights=b["factor"])
    assert g.mean_growth == pytest.approx((mean1 / mean0) ** (1 / 8) - 1, rel=1e-12)
    sh = poverty_change_decomposition(before, after, 5000.0)
    h0 = a.loc[a["income"] < 5000, "factor"].sum() / a["factor"].sum()
    assert sh.poverty_0 == pytest.approx(h0, rel=1e-12)
    assert sh.growth + sh.redistribution == pytest.approx(sh.change, abs=1e-15)


def test_bad_inputs_are_located():
    with pytest.raises(ValueError, match=r"before: data row 2 \(counted from 1\) has income nan"):
        growth_incidence(np.array([1.0, np.nan, 3.0]), np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="nobody is poor"):
        growth_incidence(D0, D1, line=1e-9)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        growth_incidence(D0, D1, percentiles=[0, 0.5])


def test_grouped_fit_objects_are_accepted():
    grouped = pytest.importorskip("prosperity.grouped")
    # NBS national quintile means 2015 and 2024 (yuan, current prices)
    t15 = grouped.GroupedTable.from_arrays([0.2] * 5, mean=[5221, 11894, 19320, 29438, 54544], unit="household")
    t24 = grouped.GroupedTable.from_arrays([0.2] * 5, mean=[9542, 21608, 33925, 53359, 98809], unit="household")
    a, b = grouped.fit_grouped(t15, "gpinter"), grouped.fit_grouped(t24, "gpinter")
    g = growth_incidence(a, b, years=9)
    assert g.mean_growth == pytest.approx((43448.6 / 24083.4) ** (1 / 9) - 1, rel=1e-9)
    # the fitted distributions reproduce the quintile means, so the bottom 40 % mean is (Q1 + Q2) / 2
    assert g.bottom40_growth == pytest.approx(((9542 + 21608) / (5221 + 11894)) ** (1 / 9) - 1, rel=1e-4)
    assert g.curve["quantile_0"].is_monotonic_increasing
