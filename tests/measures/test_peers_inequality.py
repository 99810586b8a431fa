"""Inequality and share measures against peers on real data: R laeken (stored values and a live
run), PySAL ``inequality``, ``ineqpy`` and R ineq's saved test output."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import prosperity
from prosperity.measures import (
    atkinson, gini, mld, palma, quantile_ratio, quintile_share_ratio, theil,
)
from prosperity.measures.estimate import SortedIncome
from prosperity.measures.shares import qsr_estimate

DATA = Path(prosperity.__file__).parent / "data"


@pytest.fixture(scope="module")
def enigh():
    """dineq's ENIGH 2008 and 2016 household samples (real data, expansion factor weights)."""
    return {
        year: pd.read_csv(DATA / f"dineq_mex_inc_{year}_enigh_sample.csv") for year in (2008, 2016)
    }


# laeken 0.5.2 (Debian) on data(eusilc): gini("eqIncome", weights = "rb050", breakdown = "db040")
# and qsr(...), printed with digits = 17. Gini in percent, QSR a ratio.
LAEKEN_GINI = 26.489619211322889
LAEKEN_QSR = 3.970004326036674
LAEKEN_GINI_BY_STATE = {
    "Burgenland": 32.054885237995137, "Carinthia": 25.494480727330426, "Lower Austria": 25.937370046467436,
    "Salzburg": 25.016524826164343, "Styria": 23.711904486957991, "Tyrol": 25.248811440121255,
    "Upper Austria": 25.492021238353303, "Vienna": 28.949436184085830, "Vorarlberg": 28.741203677712001,
}
LAEKEN_QSR_BY_STATE = {
    "Burgenland": 5.0084859207584165, "Carinthia": 3.5624038104371780, "Lower Austria": 3.8245388004621392,
    "Salzburg": 3.7683932041391603, "Styria": 3.4643051242169651, "Tyrol": 3.5860462567600528,
    "Upper Austria": 3.6682894751947290, "Vienna": 4.6547432669559807, "Vorarlberg": 4.3665112413598601,
}


def _yw(frame):
    return frame["eqIncome"].to_numpy(float), frame["rb050"].to_numpy(float)


def test_gini_and_qsr_equal_laeken_stored(eusilc):
    y, w = _yw(eusilc)
    assert gini(y, w) == pytest.approx(LAEKEN_GINI / 100, abs=1e-12)
    assert quintile_share_ratio(y, w) == pytest.approx(LAEKEN_QSR, abs=1e-12)
    assert quintile_share_ratio(y, w, convention="laeken") == pytest.approx(LAEKEN_QSR, abs=1e-12)
    for state, part in eusilc.groupby("db040"):
        y, w = _yw(part)
        assert gini(y, w) == pytest.approx(LAEKEN_GINI_BY_STATE[state] / 100, abs=1e-12), state
        assert quintile_share_ratio(y, w) == pytest.approx(LAEKEN_QSR_BY_STATE[state], abs=1e-12), state


def test_qsr_boundary_rule_equals_laeken_on_exact_quintiles():
    # laeken qsr(1:10) = 1.6666666666666667: its quantile takes the first F_j > p (q_.2 = 3, q_.8 = 9),
    # bottom = {y <= 3} = 1+2+3, top = {y > 9} = 10 -> 10/6. Eurostat's rule averages at F_j == p
    # (q_.2 = 2.5, q_.8 = 8.5) -> (9+10)/(1+2) = 19/3.
    assert quintile_share_ratio(np.arange(1, 11), convention="laeken") == pytest.approx(1.6666666666666667, abs=1e-15)
    assert quintile_share_ratio(np.arange(1, 11)) == pytest.approx(19 / 3, abs=1e-15)
    # laeken qsr(c(5,1,3,8,2,9,4,7,6,10,11,12,13,14,15)) = 2.9 (n = 15: F_3 = .2, F_12 = .8 exactly)
    y = np.array([5, 1, 3, 8, 2, 9, 4, 7, 6, 10, 11, 12, 13, 14, 15], float)
    assert quintile_share_ratio(y, convention="laeken") == pytest.approx(2.9, abs=1e-14)


def test_laeken_convention_is_exact_on_unweighted_eusilc(eusilc):
    # qsr on the unweighted incomes: every F_j = j/n; equal to laeken's value computed live below
    y, _ = _yw(eusilc)
    s = SortedIncome.from_arrays(y)
    assert qsr_estimate(s, "laeken", influence=False).value == pytest.approx(
        quintile_share_ratio(y, convention="laeken"), rel=0, abs=0
    )


@pytest.mark.r
def test_gini_qsr_equal_laeken_run_live(eusilc, r_laeken):
    code = (
        "suppressMessages(library(laeken)); data(eusilc);"
        "g <- gini('eqIncome', weights = 'rb050', breakdown = 'db040', data = eusilc);"
        "q <- qsr('eqIncome', weights = 'rb050', breakdown = 'db040', data = eusilc);"
        "qu <- qsr('eqIncome', data = eusilc); gu <- gini('eqIncome', data = eusilc);"
        "f <- function(x) format(x, digits = 17);"
        "cat(sprintf('{\"gini\": %s, \"qsr\": %s, \"qsr_unweighted\": %s, \"gini_unweighted\": %s,"
        " \"states\": [%s], \"gini_by\": [%s], \"qsr_by\": [%s]}',"
        " f(g$value), f(q$value), f(qu$value), f(gu$value),"
        " paste0('\"', g$valueByStratum$stratum, '\"', collapse = ','),"
        " paste(f(g$valueByStratum$value), collapse = ','), paste(f(q$valueByStratum$value), collapse = ',')))"
    )
    r = r_laeken(code)
    y, w = _yw(eusilc)
    assert gini(y, w) == pytest.approx(r["gini"] / 100, abs=1e-12)
    assert quintile_share_ratio(y, w) == pytest.approx(r["qsr"], abs=1e-12)
    assert quintile_share_ratio(y, convention="laeken") == pytest.approx(r["qsr_unweighted"], abs=1e-12)
    assert gini(y) == pytest.approx(r["gini_unweighted"] / 100, abs=1e-12)
    by = dict(tuple(eusilc.groupby("db040")))
    for state, g_r, q_r in zip(r["states"], r["gini_by"], r["qsr_by"]):
        y, w = _yw(by[state])
        assert gini(y, w) == pytest.approx(g_r / 100, abs=1e-12)
        assert quintile_share_ratio(y, w) == pytest.approx(q_r, abs=1e-12)


# --------------------------------------------------------------------- Gini conventions, eusilc
def test_gini_conventions_on_eusilc(eusilc):
    y, w = _yw(eusilc)
    assert gini(y, w, convention="laeken") == pytest.approx(0.2648962, abs=5e-8)
    assert gini(y, w, convention="convey") == pytest.approx(0.2649652, abs=5e-8)  # convey svygini
    assert gini(y, w, convention="ineqpy") == pytest.approx(0.2649144, abs=5e-8)
    # convey's value depends on the scale of the weights; laeken's does not
    assert gini(y, w * 10, convention="convey") != pytest.approx(gini(y, w, convention="convey"), abs=1e-7)
    assert gini(y, w * 10) == pytest.approx(gini(y, w), abs=1e-13)


# ------------------------------------------------------------------------------------ ineqpy
def test_ineqpy_gini_theil_atkinson(eusilc, enigh):
    iq = pytest.importorskip("ineqpy.inequality")
    samples = [_yw(eusilc)] + [(f["income"].to_numpy(float), f["factor"].to_numpy(float)) for f in enigh.values()]
    for y, w in samples:
        assert gini(y, w, convention="ineqpy") == pytest.approx(iq.gini(income=y, weights=w), abs=1e-10)
        pos = y > 0  # ineqpy's theil and atkinson drop non-positive incomes (eusilc has 3 zeros)
        assert theil(y[pos], w[pos]) == pytest.approx(iq.theil(income=y[pos], weights=w[pos]), abs=1e-10)
        # not e = 1: ineqpy 0.4.1 subtracts log(mu) inside the sum over units (n log mu), giving ~1
        for e in (0.25, 0.5, 1.5, 2.0):
            ours = atkinson(y[pos], e, w[pos])
            theirs = iq.atkinson(income=y[pos], weights=w[pos], e=e)
            assert ours == pytest.approx(theirs, abs=1e-10), e


def test_ineqpy_unweighted_gini_is_the_unbiased_convention(ilocos):
    iq = pytest.importorskip("ineqpy.inequality")
    y = ilocos["income"].to_numpy(float)
    assert gini(y, convention="unbiased") == pytest.approx(iq.gini(income=y), abs=1e-10)
    assert gini(y, convention="ineqpy") == pytest.approx(iq.gini(income=y), abs=1e-10)


# --------------------------------------------------------------------------------- PySAL
def test_pysal_gini_theil_atkinson(ilocos, eusilc, enigh):
    pytest.importorskip("inequality")
    from inequality.atkinson import atkinson as pysal_atkinson
    from inequality.gini import Gini
    from inequality.theil import Theil

    samples = [ilocos["income"].to_numpy(float), eusilc["eqIncome"].to_numpy(float)]
    samples += [f["income"].to_numpy(float) for f in enigh.values()]
    for y in samples:
        assert gini(y) == pytest.approx(Gini(y).g, abs=1e-10)
        assert theil(y, convention="pysal") == pytest.approx(Theil(y).T, abs=1e-10)
        assert theil(y) == pytest.approx(Theil(y).T, abs=1e-10)  # zeros: tiny vs 0 ln 0 agree to 1e-10
        if np.all(y > 0):
            for e in (0.0, 0.5, 1.0, 2.0):
                assert atkinson(y, e) == pytest.approx(pysal_atkinson(y, e), abs=1e-10)


def test_pysal_theil_zero_convention_on_eusilc(eusilc):
    from inequality.theil import Theil

    y = eusilc["eqIncome"].to_numpy(float)
    assert (y == 0).sum() == 3
    assert theil(y, convention="pysal") == pytest.approx(Theil(y).T, abs=1e-13)


# ------------------------------------------------------------------- R ineq saved test output
# ineq 0.2-13 tests/Examples/ineq-Ex.Rout.save, on Ilocos income / 10000 by province
INEQ_ATKINSON_05 = {"Pangasinan": 0.1291856, "La Union": 0.1672924}
INEQ_THEIL_PARAM0 = {"Pangasinan": 0.2837236, "La Union": 0.3622122}  # ineq "Theil", parameter 0 = Theil T


def test_ineq_saved_values_on_ilocos(ilocos):
    for province in INEQ_ATKINSON_05:
        y = ilocos.loc[ilocos["province"] == province, "income"].to_numpy(float) / 10000
        assert atkinson(y, 0.5) == pytest.approx(INEQ_ATKINSON_05[province], abs=5e-8)
        assert theil(y) == pytest.approx(INEQ_THEIL_PARAM0[province], abs=5e-8)
    assert gini(ilocos["income"].to_numpy(float)) == pytest.approx(0.4269508, abs=5e-8)


def test_dineq_enigh_gini_values(enigh):
    # dineq gini_decomp / SOURCES.md: 2008 file weighted 0.4742345, unweighted 0.475279
    f = enigh[2008]
    assert gini(f["income"], f["factor"]) == pytest.approx(0.4742345, abs=5e-8)
    assert gini(f["income"]) == pytest.approx(0.475279, abs=5e-7)
    f = enigh[2016]
    assert gini(f["income"], f["factor"]) == pytest.approx(0.4561371, abs=5e-8)


# ---------------------------------------------------------------------------- PIP MLD, palma
def test_pip_mld_sets_nonpositive_to_one_after_the_mean():
    # wbpip md_compute_mld: mean of (0, 2, 4) = 2, then welfare <= 0 -> 1: mean(ln(2/1), ln(2/2), ln(2/4)) = 0
    assert mld([0.0, 2.0, 4.0], convention="pip") == pytest.approx(0.0, abs=1e-15)
    assert mld([-1.0, 3.0, 4.0], convention="pip") == pytest.approx(np.log(2.0) / 3 + np.log(2 / 3) / 3 + np.log(0.5) / 3, abs=1e-15)
    y = np.array([1.0, 2.0, 5.0])
    assert mld(y, convention="pip") == pytest.approx(mld(y), abs=1e-15)
    with pytest.raises(ValueError, match="positive incomes.*row 0"):
        mld([0.0, 2.0, 4.0])


def test_palma_and_quantile_ratios_on_eusilc(eusilc):
    from prosperity.measures import income_share, weighted_quantile

    y, w = _yw(eusilc)
    assert palma(y, w) == pytest.approx(income_share(y, 0.9, 1, w) / income_share(y, 0, 0.4, w), rel=1e-13)
    q = weighted_quantile(y, [0.1, 0.5, 0.9], w)
    assert quantile_ratio(y, 0.9, 0.1, w) == pytest.approx(q[2] / q[0], rel=1e-15)
    assert quantile_ratio(y, 0.9, 0.5, w) == pytest.approx(q[2] / q[1], rel=1e-15)


# ------------------------------------------------------------- SEs vs laeken's bootstrap
# laeken 0.5.2: variance("eqIncome", weights = "rb050", data = eusilc, indicator = gini(...) / qsr(...),
#               R = 500, bootType = "naive", seed = 123); sqrt(var), Gini converted from percent.
# A bootstrap SE with R = 500 replicates is itself uncertain by ~1/sqrt(2R) = 3 %.
LAEKEN_BOOT_SE = {"gini": 0.002008379443, "qsr": 0.04310582119}


def test_linearized_se_agrees_with_laeken_bootstrap(eusilc):
    from prosperity.measures.registry import parse_measure
    from prosperity.variance.design import Design

    y, w = _yw(eusilc)
    s = SortedIncome.from_arrays(y, w)
    design = Design.build(s.n)  # units drawn with replacement, as laeken's naive bootstrap
    for name, boot_se in LAEKEN_BOOT_SE.items():
        spec, params = parse_measure(name)
        est = spec.kernel(s, influence=True, **params)
        se = design.se(s.w * est.influence, s.order)
        assert se == pytest.approx(boot_se, rel=0.10), (name, se, boot_se)
