"""convey's subset() (domain estimation), the poor rule y <= z vs y < z, and undefined groups in by= calls.

convey published outputs (docs/reference/svywattsdec.html, svyfgtdec.html, convey 0.2.5; design
ids = ~rb030, strata = ~db040, weights = ~rb050): on subset(des, eqincome > 0) with the threshold
0.6 x median, Watts 0.062404 (SE 0.0024) and FGT0 0.144265 (SE 0.0028); on the full design FGT0 at
0.6 x median 0.144442 (SE 0.0028). R survey run live checks the domain variance at a fixed line exactly.
"""

import numpy as np
import pandas as pd
import pytest

from prosperity import measure
from prosperity.io.errors import EmptyGroupError, MeasureSpecError

KW = dict(weight="rb050", strata="db040", psu="rb030")


def printed(x: float, shown: float) -> bool:
    text = repr(shown)
    return round(x, len(text.split(".")[1]) if "." in text else 0) == shown


def test_watts_with_a_relative_line_on_the_positive_incomes_equals_convey(eusilc):
    with pytest.raises(ValueError, match="zero"):  # without a domain the zeros are refused, with their rows
        measure(eusilc, "eqIncome", ["watts"], relative_line=0.6, **KW)
    r = measure(eusilc, "eqIncome", ["watts", "fgt:0"], relative_line=0.6, domain="eqIncome > 0", **KW)
    assert printed(r.value_of("watts"), 0.062404) and printed(r.se_of("watts"), 0.0024)
    assert printed(r.value_of("fgt:0"), 0.144265) and printed(r.se_of("fgt:0"), 0.0028)
    assert r.n[0] == 14824 and "domain: eqIncome > 0 (14,824 of 14,827 units" in r.describe()
    # the line is the whole sample's 60 % of the median, zeros included
    full = measure(eusilc, "eqIncome", ["arpt"], **KW)
    assert r.line[0] == pytest.approx(full.value_of("arpt"), rel=1e-15)


def test_domain_equals_a_by_group_against_the_national_line(eusilc):
    """A domain is a group measured against the national line: the same value and SE as by= gives."""
    frame = eusilc.assign(pos=eusilc["eqIncome"] > 0)
    dom = measure(frame, "eqIncome", ["fgt:1", "arpr", "gini"], relative_line=0.6, domain="pos", **KW)
    grp = measure(frame, "eqIncome", ["fgt:1", "arpr", "gini"], relative_line=0.6, by="pos", **KW)
    for m in ("fgt:1", "arpr", "gini"):
        assert dom.value_of(m) == grp.value_of(m, pos=True)
        assert dom.se_of(m) == pytest.approx(grp.se_of(m, pos=True), rel=1e-13)
    arr = measure(frame, "eqIncome", ["gini"], domain=frame["pos"].to_numpy(), **KW)
    assert arr.value_of("gini") == dom.value_of("gini")


def test_domain_variance_at_a_fixed_line_equals_r_survey_subset(r_survey, eusilc):
    out = r_survey(
        "suppressMessages(library(survey)); suppressMessages(library(laeken)); data(eusilc); "
        "des <- svydesign(ids = ~rb030, strata = ~db040, weights = ~rb050, data = eusilc); "
        "des <- update(des, p = as.numeric(eqIncome < 10000)); "
        "m <- svymean(~p, subset(des, age >= 65)); "
        "cat(sprintf('{\"v\": %s, \"se\": %s}', format(coef(m), digits = 17), format(SE(m), digits = 17)))")
    r = measure(eusilc, "eqIncome", ["headcount"], poverty_line=10000, domain="age >= 65", **KW)
    assert r.value_of("headcount") == pytest.approx(out["v"], rel=1e-13)
    assert r.se_of("headcount") == pytest.approx(out["se"], rel=1e-10)


def test_poor_if_switches_the_rule_for_every_measure(eusilc):
    frame = eusilc.assign(eqIncome=eusilc["eqIncome"].round(-3))  # many incomes exactly at the line
    lt = measure(frame, "eqIncome", ["headcount", "pgap", "arpr", "poormed"], poverty_line=10000, poor_if="lt", **KW)
    le = measure(frame, "eqIncome", ["headcount", "pgap", "arpr", "poormed"], poverty_line=10000, poor_if="le", **KW)
    y, w = frame["eqIncome"].to_numpy(), frame["rb050"].to_numpy()
    assert lt.value_of("headcount") == pytest.approx(w[y < 10000].sum() / w.sum(), rel=1e-14)
    assert le.value_of("headcount") == pytest.approx(w[y <= 10000].sum() / w.sum(), rel=1e-14)
    assert le.value_of("headcount") > lt.value_of("headcount")
    assert le.value_of("pgap") == pytest.approx(lt.value_of("pgap"), rel=1e-14)  # the gap is 0 at the line
    own = measure(frame, "eqIncome", ["headcount", "poormed"], poverty_line=10000, **KW)
    assert own.value_of("headcount") == lt.value_of("headcount")  # default: laeken's y < z ...
    assert own.value_of("poormed") == le.value_of("poormed")  # ... and convey's y <= t for its poor median
    with pytest.raises(MeasureSpecError, match="rmpg"):
        measure(frame, "eqIncome", ["rmpg"], poor_if="le", **KW)
    with pytest.raises(MeasureSpecError, match="poor_if must be"):
        measure(frame, "eqIncome", ["headcount"], poverty_line=1, poor_if="<=", **KW)


def test_convey_arpr_is_the_inclusive_rate(eusilc):
    r = measure(eusilc, "eqIncome", ["arpr"], poor_if="le", **KW)
    assert printed(r.value_of("arpr"), 0.144442) and printed(r.se_of("arpr"), 0.0028)  # convey svyfgtdec relq fgt0


def test_an_undefined_group_is_missing_with_its_reason(eusilc):
    frame = eusilc.assign(band=np.where(eusilc["eqIncome"] > 40000, "top", "rest"))
    r = measure(frame, "eqIncome", ["poormed", "gini"], by="band", **KW)
    f = r.to_frame()
    bad = f[(f["band"] == "top") & (f["measure"] == "poormed")].iloc[0]
    assert np.isnan(bad["value"]) and np.isnan(bad["se"]) and "no income is at or below the line" in bad["note"]
    assert not np.isnan(r.value_of("gini", band="top")) and r.value_of("poormed", band="rest") > 0
    assert len(r.undefined) == 1 and "undefined in their group" in r.describe()
    rec = [x for x in r.to_json_records() if x.get("note")]
    assert len(rec) == 1 and rec[0]["value"] is None
    with pytest.raises(EmptyGroupError, match="band='top'"):
        measure(frame, "eqIncome", ["poormed"], by="band", undefined="fail", **KW)
    boot = measure(frame, "eqIncome", ["poormed"], by="band", se_method="bootstrap", replicates=20, seed=1, **KW)
    assert np.isnan(boot.value_of("poormed", band="top")) and boot.value_of("poormed", band="rest") > 0


def test_domain_errors_name_the_fix(eusilc):
    with pytest.raises(MeasureSpecError, match="holds no unit"):
        measure(eusilc, "eqIncome", ["gini"], domain="eqIncome < -5", **KW)
    with pytest.raises(MeasureSpecError, match="14,826 values for 14,827 units"):
        measure(eusilc, "eqIncome", ["gini"], domain=np.ones(14826, dtype=bool), **KW)
    with pytest.raises(MeasureSpecError, match="True/False"):
        measure(eusilc, "eqIncome", ["gini"], domain="db040", **KW)
    with pytest.raises(Exception, match="nosuch"):
        measure(eusilc, "eqIncome", ["gini"], domain="nosuch > 1", **KW)
    frame = pd.DataFrame({"y": [1.0, 2.0, 3.0, 4.0], "g": ["a", "a", "b", "b"], "d": [True, True, False, False]})
    r = measure(frame, "y", ["mean"], by="g", domain="d", se=False)
    assert r.value_of("mean") == 1.5 and np.isnan(r.value_of("mean", g="b"))
    assert "no unit of g='b' lies in the domain d" in r.undefined[2]
