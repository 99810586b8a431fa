"""Contrasts with SEs (prosperity.variance.contrasts) on laeken's eusilc.

Peers: R survey run live (``svyby(..., covmat = TRUE)`` + ``svycontrast``: the difference and ratio of
the domain means, full precision) and the package's own ``measure(by=)`` for each group's SE; the
group difference of a non-linear measure (ARPR against the whole sample's line, the Gini) against a
linearization built by hand here from the kernels and the design."""

import numpy as np
import pytest

from prosperity import measure
from prosperity.measures.estimate import SortedIncome
from prosperity.measures.gini import gini_sorted
from prosperity.measures.poverty import arpr_sorted
from prosperity.measures.quantiles import quantile_influence, quantile_sorted
from prosperity.variance.contrasts import Contrast, contrast, group_contrast, sample_contrast
from prosperity.variance.design import Design

R_DESIGN = ("suppressMessages({library(survey); library(laeken)}); data(eusilc); "
            "des <- svydesign(ids = ~rb030, strata = ~db040, weights = ~rb050, data = eusilc); ")


@pytest.fixture(scope="module")
def silc(eusilc):
    y, w = eusilc["eqIncome"].to_numpy(float), eusilc["rb050"].to_numpy(float)
    design = Design.build(len(y), strata=eusilc["db040"].to_numpy(), psu=eusilc["rb030"].to_numpy())
    return y, w, eusilc["rb090"].to_numpy(), design


def test_difference_and_ratio_of_means_equal_r_survey_svycontrast(silc, r_survey):
    y, w, sex, design = silc
    ref = r_survey(R_DESIGN + (
        "b <- svyby(~eqIncome, ~rb090, des, svymean, covmat = TRUE); v <- vcov(b); "
        "d <- svycontrast(b, c(female = 1, male = -1)); r <- svycontrast(b, quote(female / male)); "
        "cat(sprintf('{\"f\": %.17g, \"m\": %.17g, \"vf\": %.17g, \"vm\": %.17g, \"cov\": %.17g, \"d\": %.17g, "
        "\"d_se\": %.17g, \"r\": %.17g, \"r_se\": %.17g}', coef(b)[['female']], coef(b)[['male']], "
        "v['female', 'female'], v['male', 'male'], v['female', 'male'], coef(d), SE(d), coef(r), SE(r)))"))
    d = group_contrast(y, sex, "female", "male", "mean", w=w, design=design)
    assert d.values[0] == pytest.approx(ref["f"], rel=1e-13) and d.values[1] == pytest.approx(ref["m"], rel=1e-13)
    np.testing.assert_allclose(d.vcov, [[ref["vf"], ref["cov"]], [ref["cov"], ref["vm"]]], rtol=1e-10)
    assert d.estimate == pytest.approx(ref["d"], rel=1e-12) and d.se == pytest.approx(ref["d_se"], rel=1e-10)
    r = group_contrast(y, sex, "female", "male", "mean", w=w, design=design, kind="ratio")
    assert r.estimate == pytest.approx(ref["r"], rel=1e-13) and r.se == pytest.approx(ref["r_se"], rel=1e-10)
    assert d.covariance < 0  # persons are the PSUs: disjoint domains, centred within strata


def test_group_ses_equal_measure_by(silc, eusilc):
    y, w, sex, design = silc
    for name in ("gini", "arpr", "median", "fgt:1"):
        c = group_contrast(y, sex, "female", "male", name, w=w, design=design)
        by = measure(eusilc, "eqIncome", [name], weight="rb050", strata="db040", psu="rb030", by="rb090")
        for i, label in enumerate(("female", "male")):
            assert c.values[i] == pytest.approx(by.value_of(name, rb090=label), rel=1e-13), (name, label)
            assert np.sqrt(c.vcov[i, i]) == pytest.approx(by.se_of(name, rb090=label), rel=1e-9), (name, label)


def test_arpr_difference_equals_a_hand_built_linearization(silc):
    """ARPR of women minus men, both against the whole sample's line 0.6 x median: u_D = u_f - u_m with
    each domain's u at the fixed line plus (f_f(t) - f_m(t)) x 0.6 x u_median (whole sample)."""
    y, w, sex, design = silc
    nat = SortedIncome.from_arrays(y, w)
    med = quantile_sorted(nat, 0.5)
    t = 0.6 * med
    u_med = nat.unsort(quantile_influence(nat, 0.5, med))
    u = np.zeros((2, y.size))
    vals = []
    for j, label in enumerate(("female", "male")):
        rows = np.flatnonzero(sex == label)
        s = SortedIncome.from_arrays(y[rows], w[rows])
        e = arpr_sorted(s, line=t)
        vals.append(e.value)
        u[j, rows] = s.unsort(e.influence)
        u[j] += e.line_derivative * 0.6 * u_med
    se_hand = np.sqrt(design.variance(w * (u[0] - u[1])))
    c = group_contrast(y, sex, "female", "male", "arpr", w=w, design=design)
    assert c.estimate == pytest.approx(vals[0] - vals[1], rel=1e-14)
    assert c.se == pytest.approx(se_hand, rel=1e-12)
    assert 0.005 < c.se < 0.007 and c.p_value < 1e-10  # the gap (4.7 points) is significant
    # V(D) = V(a) + V(b) - 2 Cov(a, b); the covariance is not 0 (shared line, shared strata)
    assert c.se**2 == pytest.approx(c.vcov[0, 0] + c.vcov[1, 1] - 2 * c.vcov[0, 1], rel=1e-10)
    assert abs(c.vcov[0, 1]) > 1e-3 * c.vcov[1, 1]


def test_gini_ratio_by_hand_and_result_api(silc):
    y, w, sex, design = silc
    parts = []
    for label in ("female", "male"):
        rows = np.flatnonzero(sex == label)
        s = SortedIncome.from_arrays(y[rows], w[rows])
        e = gini_sorted(s)
        u = np.zeros(y.size)
        u[rows] = s.unsort(e.influence)
        parts.append((e.value, u))
    (ga, ua), (gb, ub) = parts
    r = group_contrast(y, sex, "female", "male", "gini", w=w, design=design, kind="ratio")
    assert r.estimate == pytest.approx(ga / gb, rel=1e-14)
    assert r.se == pytest.approx(np.sqrt(design.variance(w * (ua - ga / gb * ub) / gb)), rel=1e-12)
    np.testing.assert_allclose(r.contrast_influence, (ua - ga / gb * ub) / gb, rtol=1e-12, atol=1e-18)
    frame = r.to_frame()
    assert list(frame["term"]) == ["female", "male", "female / male"]
    assert frame["value"].iloc[2] == r.estimate and frame["se"].iloc[2] == r.se
    assert repr(r).startswith("Contrast[gini: female / male, one survey](0.270073 / 0.257757 = 1.04778")
    lo, hi = r.ci
    assert lo < r.estimate < hi and hi - lo == pytest.approx(2 * 1.959963984540054 * r.se, rel=1e-12)
    with pytest.raises(Exception):
        r.estimate = 0.0  # frozen


def test_two_independent_years_add_variances(silc, eusilc):
    """Two surveys: the regions Vienna and Tyrol taken as two independent samples, each with its own
    design and line: V(D) = V(a) + V(b), each equal to measure() on that sample alone."""
    y, w, _, _ = silc
    parts = []
    for region in ("Vienna", "Tyrol"):
        sub = eusilc[eusilc["db040"] == region].reset_index(drop=True)
        parts.append(sub)
    a, b = parts
    c = sample_contrast(a["eqIncome"], b["eqIncome"], "arpr", w_a=a["rb050"], w_b=b["rb050"], psu_a=a["rb030"],
                        psu_b=b["rb030"], labels=("Vienna", "Tyrol"))
    ra = measure(a, "eqIncome", ["arpr"], weight="rb050", psu="rb030")
    rb = measure(b, "eqIncome", ["arpr"], weight="rb050", psu="rb030")
    assert c.values[0] == pytest.approx(ra.value_of("arpr"), rel=1e-14)
    assert c.values[1] == pytest.approx(rb.value_of("arpr"), rel=1e-14)
    assert c.se == pytest.approx(np.hypot(ra.se_of("arpr"), rb.se_of("arpr")), rel=1e-9)
    assert c.covariance == 0.0 and c.contrast_influence is None and c.samples == "independent samples"
    assert len(c.influence[0]) == len(a) and len(c.influence[1]) == len(b)


def test_bad_inputs_name_the_problem(silc):
    y, w, sex, design = silc
    with pytest.raises(ValueError, match="no row has group 'x'; the groups are"):
        group_contrast(y, sex, "female", "x", "gini", w=w, design=design)
    with pytest.raises(ValueError, match="kind must be one of difference, ratio"):
        group_contrast(y, sex, "female", "male", "gini", w=w, design=design, kind="log")
    with pytest.raises(ValueError, match="one group label per row"):
        group_contrast(y, sex[:10], "female", "male", "gini", w=w)
    assert isinstance(group_contrast(y[:200], sex[:200], "female", "male", "mean", w=w[:200]), Contrast)


def test_frame_form_and_missing_column(eusilc, silc):
    y, w, sex, design = silc
    c = contrast(eusilc, "eqIncome", "gini", by="rb090", groups=("female", "male"), weight="rb050",
                 strata="db040", psu="rb030")
    ref = group_contrast(y, sex, "female", "male", "gini", w=w, design=design)
    assert c.estimate == ref.estimate and c.se == pytest.approx(ref.se, rel=1e-14)
    with pytest.raises(ValueError, match="weight column 'rb05' is not in the data; its columns are"):
        contrast(eusilc, "eqIncome", "gini", by="rb090", groups=("female", "male"), weight="rb05")
