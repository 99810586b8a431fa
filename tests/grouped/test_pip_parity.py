"""PIP / wbpip conventions on Lorenz-curve fits, against wbpip's own test values
(tests/testthat/test-gd_compute_pip_stats_lq.R: the GQ fit of its 10-point Lorenz table, mean
51.5660557757944, line 57.791666666666664). wbpip's headcount went through a .NET float
(0.760058105 vs the exact 0.760058122), so values that depend on H agree to 1e-7 as in its tests."""

import numpy as np
import pytest

from prosperity.grouped import GroupedTable, fit_grouped
from prosperity.grouped.bounds import grouped_bounds
from prosperity.grouped.lorenz import (GeneralQuadraticLorenz, lorenz_regression, mld_pip, poverty_elasticities,
                                       sse_pip, watts_pip)

P = np.array([0.0005, 0.0032, 0.0148, 0.0443, 0.0991, 0.257, 0.4385, 0.5938, 0.7089, 1.0])
L = np.array([5.824760527229386e-05, 0.000604029410841011, 0.0037949334793616948, 0.013988878652244477,
              0.036992164583098786, 0.12140708906131342, 0.24531391873082081, 0.37446670169288321,
              0.48753116241194566, 1.0])
ABC = (0.795981535745657, -1.4445933880119242, 0.14728191995919815)
MU, Z = 51.5660557757944, 57.791666666666664


@pytest.fixture
def gq():
    return GeneralQuadraticLorenz(*ABC, mean=MU, P=P, L=L)


def test_mld_and_watts_on_pips_grid(gq):
    assert mld_pip(gq) == pytest.approx(0.1897890974403306, abs=1e-14)
    assert watts_pip(gq, Z) == pytest.approx(0.39088363448720104, rel=1e-9)
    # the exact integrals differ: the grid drops the top 0.1 % and uses trapezoids
    m = gq.measures(Z)
    assert abs(m["mld"] - mld_pip(gq)) > 1e-4 and abs(m["watts"] - watts_pip(gq, Z)) > 1e-6


def test_sse_up_to_headcount_as_pip(gq):
    # points with P < H plus the next one: here all nine plus (1, 1), where this GQ misses L(1) = 1
    s = sse_pip(gq, 0.76005810499191284)
    assert s["sse"] == pytest.approx(2.5301549524661934e-06, rel=1e-12)
    assert s["sse_up_to_headcount"] == pytest.approx(0.0032215656135074632, rel=1e-12)
    s2 = sse_pip(gq, 0.3)
    r2 = (L - gq.lorenz(P)) ** 2
    assert s2["sse_up_to_headcount"] == pytest.approx(r2[:7].sum(), rel=1e-12)  # P < 0.3: six points, + the 7th


def test_elasticities(gq):
    e = poverty_elasticities(gq, Z)
    assert e["headcount"] == pytest.approx(0.76005810499191284, abs=5e-8)
    assert e["poverty_gap"] == pytest.approx(0.27617606019159308, rel=1e-12)
    assert e["fgt2"] == pytest.approx(0.12832887439632906, rel=1e-12)
    assert e["ep"] == pytest.approx(-2.3041920454886071, rel=1e-12)
    assert e["gp"] == pytest.approx(1.5363306438390838, rel=1e-12)
    assert round(e["eh"], 6) == round(-0.87181309219603054, 6)
    assert round(e["epg"], 7) == round(-1.7520781651553494, 7)
    assert e["gh"] == pytest.approx(-0.093916119652440649, rel=2e-7)
    assert e["gpg"] == pytest.approx(0.70353220826204077, rel=2e-8)
    assert round(e["dl"], 7) == round(1.1207307654300092, 7) and round(e["ddl"], 6) == round(1.691340795153677, 6)


def test_regression_se_and_r2():
    # wbpip's test passes the vectors swapped (welfare = P, population = L); its numbers are for that
    r = lorenz_regression(L, P, "gq")
    np.testing.assert_allclose(r.coef, [1.25594989467441, -1.81458290694242, -0.626218961114119], rtol=1e-12)
    np.testing.assert_allclose(r.se, [0.00868872352695941, 0.0288499753222786, 0.0474221281355051], rtol=1e-10)
    assert r.sse == pytest.approx(1.26281675661875e-06, rel=1e-12)
    assert r.sst == pytest.approx(0.0888974819545522, rel=1e-12)
    assert r.r2 == pytest.approx(0.999985794684744, rel=1e-13)
    assert r.r_squared == pytest.approx(0.999993923936883, rel=1e-13)  # lm's, no intercept
    assert r.mse == pytest.approx(2.10469459436459e-07, rel=1e-12)
    np.testing.assert_allclose(r.to_frame()["t"], [144.549414051148, -62.8972082877712, -13.2052057917929], rtol=1e-10)
    # the right way round gives the package's GQ coefficients
    fit = lorenz_regression(P, L, "gq")
    np.testing.assert_allclose(fit.coef, ABC, rtol=1e-6)


def test_invalid_curve_message_names_the_decreasing_quantile():
    t = GroupedTable.from_arrays([0.2] * 5, mean=[1, 1.2, 1.4, 5, 6])
    gq = GeneralQuadraticLorenz.fit(t)
    lo, hi = gq.quantile(np.array([1e-6, 1 - 1e-6]))
    assert lo > hi  # this invalid GQ fit has Q(0+) = 6.08 > Q(1-) = 1.06
    with pytest.raises(ValueError, match=r"decreases \(Q\(0.000001\) = 6.08307 > Q\(0.999999\) = 1.06498\)"):
        gq.measures(2.0)


def test_gastwirth_bounds():
    # five quintiles with means 1, 2, 3, 4, 10 (mu = 4): the chord gives 0.4
    t = GroupedTable.from_arrays([0.2] * 5, mean=[1, 2, 3, 4, 10])
    b = grouped_bounds(t)
    assert b.gini_low == pytest.approx(0.4, abs=1e-14)
    # upper bound by hand: triangles of the envelope inside each group (slopes 0, m_k / mu, inf at the ends)
    Pp = np.array([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    Ll = np.array([0, 1, 3, 6, 10, 20]) / 20
    s = np.diff(Ll) / np.diff(Pp)
    xs, ys = [0.0], [0.0]
    for k in range(5):
        sl = s[k - 1] if k else 0.0
        if k == 4:
            xs += [1.0, 1.0]; ys += [Ll[4] + sl * 0.2, 1.0]
            continue
        sr = s[k + 1]
        pm = (Ll[k + 1] - Ll[k] + sl * Pp[k] - sr * Pp[k + 1]) / (sl - sr)
        xs += [pm, Pp[k + 1]]; ys += [Ll[k] + sl * (pm - Pp[k]), Ll[k + 1]]
    xs, ys = np.array(xs), np.array(ys)
    assert b.gini_high == pytest.approx(1 - np.sum(np.diff(xs) * (ys[1:] + ys[:-1])), abs=1e-14)
    # every fitted method lies inside
    for m in ("gpinter", "histogram", "lognormal"):
        g = fit_grouped(t, m).measures()["gini"]
        assert b.gini_low <= g <= b.gini_high


def test_bounds_with_thresholds_contain_gpinter():
    t = GroupedTable.from_arrays([0.1, 0.4, 0.4, 0.09, 0.01], mean=[1233.6, 12643, 43908, 108329, 471463],
                                 threshold=[0, 4310, 23686, 76252, 211861])
    b = grouped_bounds(t)
    assert b.thresholds_used and b.gini_high < b.gini_high_means_only
    assert b.gini_low == pytest.approx(0.490110, abs=5e-7) and b.gini_high == pytest.approx(0.570303, abs=5e-7)
    assert b.gini_low < 0.5431327278645455 < b.gini_high  # gpinter's Gini of the vignette table
    sb = b.share_bounds([0.9])
    assert sb["top_low"][0] == pytest.approx(sb["top_high"][0])  # p = 0.9 is a table point: pinned
