"""R convey's remaining estimators on laeken's eusilc, against convey's published example outputs and,
where an estimator is a smooth function of survey totals or a survey quantile, against R survey run live.

Published outputs: convey's pkgdown reference pages (docs/reference/svy*.html, built with convey 0.2.5),
design ``svydesign(ids = ~rb030, strata = ~db040, weights = ~rb050, data = eusilc)``; convey prints 4-6
significant digits, so those comparisons hold to the printed digit. R survey (Debian r-cran-survey 4.1)
gives full precision: ``svycontrast`` of ``svytotal``s is the delta method on the totals, which is the
linearization, so values and SEs agree to 1e-10 relative.
"""

import numpy as np
import pandas as pd
import pytest

from prosperity import measure
from prosperity.measures import convey_extra as ce
from prosperity.measures.estimate import SortedIncome
from prosperity.variance.design import Design

R_DESIGN = ("suppressMessages({library(survey); library(laeken)}); data(eusilc); "
            "des <- svydesign(ids = ~rb030, strata = ~db040, weights = ~rb050, data = eusilc); ")
R_POSITIVE = ("suppressMessages({library(survey); library(laeken)}); data(eusilc); eusilc <- eusilc[eusilc$eqIncome > 0, ]; "
              "des <- svydesign(ids = ~rb030, strata = ~db040, weights = ~rb050, data = eusilc); ")


def r_json(names, exprs) -> str:
    """R code that cats {"name": value, ...} with 17 significant digits."""
    parts = " , ".join(f'sprintf(\'"{n}": %s\', format({e}, digits = 17))' for n, e in zip(names, exprs))
    return f"cat('{{', paste({parts}, sep = ', '), '}}')"


def printed(x: float, shown: float) -> bool:
    """x rounds to the digits convey printed (``shown``)."""
    text = repr(shown)
    decimals = len(text.split(".")[1]) if "." in text and "e" not in text else 0
    return round(x, decimals) == shown


@pytest.fixture(scope="module")
def silc(eusilc):
    y, w = eusilc["eqIncome"].to_numpy(float), eusilc["rb050"].to_numpy(float)
    design = Design.build(len(y), strata=eusilc["db040"].to_numpy(), psu=eusilc["rb030"].to_numpy())
    return y, w, design


@pytest.fixture(scope="module")
def positive(eusilc):
    frame = eusilc[eusilc["eqIncome"] > 0].reset_index(drop=True)
    y, w = frame["eqIncome"].to_numpy(float), frame["rb050"].to_numpy(float)
    design = Design.build(len(y), strata=frame["db040"].to_numpy(), psu=frame["rb030"].to_numpy())
    return frame, y, w, design


def se_of(design, s: SortedIncome, est) -> float:
    return float(np.sqrt(design.variance(s.w[np.argsort(s.order)] * s.unsort(est.influence))))


# ------------------------------------------------------------------------- published outputs
def test_poor_median_equals_convey_published(silc):
    y, w, design = silc
    s = SortedIncome.from_arrays(y, w)
    est = ce.poormed_sorted(s)
    assert printed(est.value, 8803.7) and est.value == pytest.approx(8803.735, abs=1e-9)
    assert printed(se_of(design, s, est), 72.88)  # convey: poormed 8803.7, SE 72.88


def test_rmir_equals_convey_published(silc, eusilc):
    y, w, design = silc
    r = ce.rmir(y, eusilc["age"].to_numpy(), w, design=design)
    assert printed(r.value_of("rmir"), 0.93304) and printed(r.se_of("rmir"), 0.0113)
    assert r.value_of("rmir") == pytest.approx(r.value_of("median_old") / r.value_of("median_young"), rel=1e-15)


def test_zenga_equals_convey_published(silc):
    y, w, design = silc
    s = SortedIncome.from_arrays(y, w)
    est = ce.zenga_sorted(s)
    assert printed(est.value, 0.59132) and printed(se_of(design, s, est), 0.0028)


def test_zenga_linearization_is_the_weight_derivative():
    rng = np.random.default_rng(1)
    y, w = rng.lognormal(2, 0.7, 60), rng.uniform(0.5, 3, 60)
    s = SortedIncome.from_arrays(y, w)
    u = s.unsort(ce.zenga_sorted(s).influence)
    for k in (0, 7, 33, 59):
        wp, wm = w.copy(), w.copy()
        wp[k] += 1e-6 * w[k]
        wm[k] -= 1e-6 * w[k]
        assert u[k] == pytest.approx((ce.zenga(y, wp) - ce.zenga(y, wm)) / (2e-6 * w[k]), rel=1e-6, abs=1e-10)
    # convey's discrete estimator at equality: 1 - (1/n) sum (n - i)(i - 1) / (i (n - i + 1)) -> 0 as n grows
    assert ce.zenga([5.0] * 4) == pytest.approx(5 / 6, rel=1e-15)
    n = 4000
    i = np.arange(1, n + 1)
    assert ce.zenga(np.ones(n)) == pytest.approx(1 - np.sum((n - i) * (i - 1) / (i * (n - i + 1))) / n, rel=1e-12)


def test_isq_equals_convey_published(silc):
    y, w, design = silc
    s = SortedIncome.from_arrays(y, w)
    est = ce.isq_sorted(s, 0.2)
    # convey: isq 1.4548e+10, SE 126027235 (its kernel-smoothed quantile term; 9 digits agree)
    assert est.value == pytest.approx(1.4548364416932711e10, rel=1e-15)
    assert abs(se_of(design, s, est) - 126027235) < 1.0
    top = ce.isq_sorted(s, 0.2, upper=True)
    assert top.value + est.value == pytest.approx(float(np.dot(w, y)), rel=1e-14)


def test_jdiv_and_decomposition_equal_convey_published(positive):
    frame, y, w, design = positive
    s = SortedIncome.from_arrays(y, w)
    est = ce.jdiv_sorted(s)
    assert printed(est.value, 0.2519) and printed(se_of(design, s, est), 0.0043)
    dec = ce.jdiv_decomposition(y, frame["rb090"].to_numpy(), w, design=design)
    for name, v, e in [("total", 0.2518962, 0.0043), ("within", 0.2503206, 0.0043), ("between", 0.0015756, 0.0003)]:
        assert printed(dec.value_of(name), v) and printed(dec.se_of(name), e), name
    assert dec.value_of("total") == pytest.approx(est.value, rel=1e-14)
    assert dec.vcov.shape == (3, 3) and dec.influence.shape == (len(y), 3)


def test_fgt_decomposition_equals_convey_published(silc):
    y, w, design = silc
    dec = ce.fgt_decomposition(y, w, line=10000, g=2, design=design)
    expected = {"fgt2": (0.016189, 0.0007), "fgt0": (0.114440, 0.0027), "fgt1": (0.032085, 0.0011),
                "igr": (0.280369, 0.0063), "gei_poor": (0.399834, 0.0132)}
    for name, (v, e) in expected.items():
        assert printed(dec.value_of(name), v) and printed(dec.se_of(name), e), name
    # the identity FGT(2) = H I^2 [1 + 2 GE(2) of the gaps]
    h, i, gei = dec.value_of("fgt0"), dec.value_of("igr"), dec.value_of("gei_poor")
    assert dec.value_of("fgt2") == pytest.approx(h * i**2 * (1 + 2 * gei), rel=1e-13)


def test_watts_decomposition_equals_convey_published(positive):
    frame, y, w, design = positive
    dec = ce.watts_decomposition(y, w, line=10000, design=design)
    expected = {"watts": (0.051744, 0.0023), "fgt0": (0.114257, 0.0027), "watts_gap_ratio": (0.327210, 0.0087),
                "theil_poor": (0.125664, 0.0101)}
    for name, (v, e) in expected.items():
        assert printed(dec.value_of(name), v) and printed(dec.se_of(name), e), name


def test_richness_equals_convey_published(silc):
    """convey 0.2.5 examples: FGTT1 richness, g = 0 and 1, threshold 30000, 1.5 x median, 1.5 x mean."""
    y, w, design = silc
    s = SortedIncome.from_arrays(y, w)
    mean = float(np.dot(w, y) / w.sum())
    for g, rho, value, se in [(0, 30000.0, 0.12272, 0.0027), (1, 30000.0, 0.025235, 7e-04),
                              (0, None, 0.17272, 0.0031), (1, None, 0.036736, 9e-04),
                              (0, 1.5 * mean, 0.12459, None), (1, 1.5 * mean, 0.025771, None)]:
        est = ce.rich_sorted(s, g, kind="fgt1", line=rho, fraction=1.5)
        assert printed(est.value, value), (g, rho)
        if se is not None:
            assert printed(se_of(design, s, est), se), (g, rho)


# ------------------------------------------------------------------------- R survey, live
def test_poor_median_and_isq_points_equal_r_survey(r_survey, silc):
    y, w, _ = silc
    out = r_survey(R_DESIGN + "med <- coef(svyquantile(~eqIncome, des, 0.5, ci = FALSE)); "
                   "mp <- coef(svyquantile(~eqIncome, subset(des, eqIncome <= 0.6 * med), 0.5, ci = FALSE)); "
                   "q <- coef(svyquantile(~eqIncome, des, 0.2, ci = FALSE)); "
                   "des <- update(des, low = eqIncome * (eqIncome <= q)); "
                   + r_json(["mp", "isq"], ["mp", "coef(svytotal(~low, des))"]))
    s = SortedIncome.from_arrays(y, w)
    assert ce.poormed_sorted(s, influence=False).value == pytest.approx(out["mp"], rel=1e-15)
    assert ce.isq_sorted(s, 0.2, influence=False).value == pytest.approx(out["isq"], rel=1e-14)


def test_rmir_medians_equal_r_survey(r_survey, silc, eusilc):
    y, w, design = silc
    out = r_survey(R_DESIGN + "o <- coef(svyquantile(~eqIncome, subset(des, age >= 65), 0.5, ci = FALSE)); "
                   "yg <- coef(svyquantile(~eqIncome, subset(des, age < 65), 0.5, ci = FALSE)); "
                   + r_json(["old", "young"], ["o", "yg"]))
    r = ce.rmir(y, eusilc["age"].to_numpy(), w, design=design)
    # R survey's qrule "math" is the inverse CDF; the bundled CSV holds eqIncome to 10 decimals (R: 17 digits)
    assert r.value_of("median_old") == pytest.approx(out["old"], rel=1e-14)
    assert r.value_of("median_young") == pytest.approx(out["young"], rel=1e-14)


def test_jdiv_decomposition_equals_r_survey_delta_method(r_survey, positive):
    frame, y, w, design = positive
    code = R_POSITIVE + (
        "des <- update(des, ly = log(eqIncome), yly = eqIncome * log(eqIncome), one = 1, "
        "m1 = as.numeric(rb090 == 'male'), f1 = as.numeric(rb090 == 'female'), "
        "my = eqIncome * (rb090 == 'male'), fy = eqIncome * (rb090 == 'female')); "
        "t <- svytotal(~one + eqIncome + ly + yly + m1 + f1 + my + fy, des); "
        "j <- svycontrast(t, list(total = quote(yly / eqIncome - ly / one), "
        "between = quote((my / eqIncome - m1 / one) * log(my / m1) + (fy / eqIncome - f1 / one) * log(fy / f1)))); "
        + r_json(["total", "between", "se_total", "se_between"],
                 ["coef(j)[1]", "coef(j)[2]", "SE(j)[1]", "SE(j)[2]"]))
    out = r_survey(code)
    dec = ce.jdiv_decomposition(y, frame["rb090"].to_numpy(), w, design=design)
    assert dec.value_of("total") == pytest.approx(out["total"], rel=1e-12)
    assert dec.value_of("between") == pytest.approx(out["between"], rel=1e-10)
    assert dec.se_of("total") == pytest.approx(out["se_total"], rel=1e-9)
    assert dec.se_of("between") == pytest.approx(out["se_between"], rel=1e-9)


def test_fgt_and_watts_decompositions_equal_r_survey_delta_method(r_survey, silc, positive):
    y, w, design = silc
    code = R_DESIGN + (
        "z <- 10000; des <- update(des, one = 1, p0 = as.numeric(eqIncome <= z), "
        "g1 = (1 - eqIncome / z) * (eqIncome <= z), g2 = (1 - eqIncome / z)^2 * (eqIncome <= z)); "
        "t <- svytotal(~one + p0 + g1 + g2, des); "
        "k <- svycontrast(t, list(igr = quote(g1 / p0), gei = quote(((g2 / one) / ((p0 / one) * (g1 / p0)^2) - 1) / 2))); "
        + r_json(["igr", "gei", "se_igr", "se_gei"], ["coef(k)[1]", "coef(k)[2]", "SE(k)[1]", "SE(k)[2]"]))
    out = r_survey(code)
    dec = ce.fgt_decomposition(y, w, line=10000, design=design)
    for name, key in [("igr", "igr"), ("gei_poor", "gei")]:
        assert dec.value_of(name) == pytest.approx(out[key], rel=1e-12), name
        assert dec.se_of(name) == pytest.approx(out["se_" + key], rel=1e-9), name
    frame, yp, wp, dp = positive
    code = R_POSITIVE + (
        "z <- 10000; des <- update(des, one = 1, p0 = as.numeric(eqIncome <= z), "
        "g1 = (1 - eqIncome / z) * (eqIncome <= z), wt = log(z / eqIncome) * (eqIncome <= z)); "
        "t <- svytotal(~one + p0 + g1 + wt, des); "
        "k <- svycontrast(t, list(gap = quote(log(p0 / (p0 - g1))), lp = quote(wt / p0 - log(p0 / (p0 - g1))))); "
        + r_json(["gap", "lp", "se_gap", "se_lp"], ["coef(k)[1]", "coef(k)[2]", "SE(k)[1]", "SE(k)[2]"]))
    out = r_survey(code)
    dec = ce.watts_decomposition(yp, wp, line=10000, design=dp)
    for name, key in [("watts_gap_ratio", "gap"), ("theil_poor", "lp")]:
        assert dec.value_of(name) == pytest.approx(out[key], rel=1e-12), name
        assert dec.se_of(name) == pytest.approx(out["se_" + key], rel=1e-9), name


def test_chakravarty_richness_at_a_fixed_line_equals_r_survey(r_survey, silc):
    y, w, design = silc
    code = R_DESIGN + (
        "r <- 30000; des <- update(des, one = 1, h = ifelse(eqIncome > r, 1 - (r / eqIncome)^2, 0)); "
        "k <- svycontrast(svytotal(~one + h, des), quote(h / one)); "
        + r_json(["v", "se"], ["coef(k)", "SE(k)"]))
    out = r_survey(code)
    s = SortedIncome.from_arrays(y, w)
    est = ce.rich_sorted(s, 2, kind="cha", line=30000)
    assert est.value == pytest.approx(out["v"], rel=1e-12)
    assert se_of(design, s, est) == pytest.approx(out["se"], rel=1e-9)


def test_gender_pay_gap_equals_laeken_and_r_survey(r_survey, r_laeken):
    code = ("suppressMessages({library(survey); library(laeken)}); data(ses); "
            "write.csv(ses[, c('earningsHour', 'sex', 'weights')], file = stdout(), row.names = FALSE)")
    import io
    import subprocess

    csv = subprocess.run(["Rscript", "--vanilla", "-e", code], capture_output=True, text=True, timeout=120).stdout
    ses = pd.read_csv(io.StringIO(csv))
    out = r_survey("suppressMessages({library(survey); library(laeken)}); data(ses); "
                   "d <- svydesign(id = ~1, weights = ~weights, data = ses); "
                   "m <- svyby(~earningsHour, ~sex, d, svymean, covmat = TRUE); "
                   "k <- svycontrast(m, quote(1 - female / male)); "
                   + r_json(["laeken", "v", "se"],
                            ["gpg('earningsHour', gender = 'sex', weights = 'weights', data = ses)$value", "coef(k)", "SE(k)"]))
    r = ce.gpg(ses["earningsHour"].to_numpy(), ses["sex"].to_numpy(), ses["weights"].to_numpy())
    assert r.value_of("gpg") == pytest.approx(out["laeken"], rel=1e-13)  # laeken's gpg is a fraction too
    assert r.value_of("gpg") == pytest.approx(out["v"], rel=1e-13)
    assert r.se_of("gpg") == pytest.approx(out["se"], rel=1e-9)
    assert printed(r.value_of("gpg"), 0.24137) and printed(r.se_of("gpg"), 0.0104)  # convey's example


# ------------------------------------------------------------------------- the table layer
def test_registered_measures_through_measure(eusilc, silc):
    y, w, design = silc
    r = measure(eusilc, "eqIncome", ["poormed", "zenga", "rich:2:1.5", "rich_fgt:1:1.5"], weight="rb050",
                strata="db040", psu="rb030")
    s = SortedIncome.from_arrays(y, w)
    assert r.value_of("poormed") == pytest.approx(8803.735, abs=1e-9)
    assert r.se_of("poormed") == pytest.approx(se_of(design, s, ce.poormed_sorted(s)), rel=1e-12)
    assert r.value_of("zenga") == pytest.approx(ce.zenga_sorted(s).value, rel=1e-15)
    assert printed(r.value_of("rich_fgt:1:1.5"), 0.036736) and printed(r.se_of("rich_fgt:1:1.5"), 9e-04)
    assert r.line[r.measure.index("poormed")] == pytest.approx(0.6 * 18098.726666666666, rel=1e-14)
    pos = eusilc[eusilc["eqIncome"] > 0]
    j = measure(pos, "eqIncome", ["jdiv"], weight="rb050", strata="db040", psu="rb030", by="rb090")
    assert printed(j.value_of("jdiv"), 0.2519) and printed(j.se_of("jdiv"), 0.0043)
    with pytest.raises(ValueError, match="positive incomes"):
        measure(eusilc, "eqIncome", ["jdiv"], weight="rb050")


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="g >= 2"):
        ce.fgt_decomposition([1.0, 2.0, 3.0], line=2.5, g=1)
    with pytest.raises(ValueError, match="row 1"):
        ce.watts_decomposition([1.0, 0.0, 3.0], line=2.5)
    with pytest.raises(ValueError, match="no unit has sex == 'male'"):
        ce.gpg([1.0, 2.0], ["m", "f"])
    with pytest.raises(ValueError, match="both sides of age 65"):
        ce.rmir([1.0, 2.0], [30, 40])
    with pytest.raises(ValueError, match="Chakravarty richness needs g > 0"):
        ce.rich_sorted(SortedIncome.from_arrays([1.0, 2.0]), 0, kind="cha")
    with pytest.raises(ValueError, match="unknown bandwidth rule"):
        ce.bandwidth(SortedIncome.from_arrays([1.0, 2.0]), "silverman")
