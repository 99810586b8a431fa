"""GQ and Beta Lorenz curves reproduce Datt (1998) and PIP's (wbpip) closed-form values."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import prosperity
from prosperity.grouped import BetaLorenz, GeneralQuadraticLorenz, GroupedTable, fit_grouped

DATA = Path(prosperity.__file__).parent / "data"


@pytest.fixture(scope="module")
def datt():
    d = pd.read_csv(DATA / "datt1998_rural_india_1983_grouped.csv")
    return GroupedTable.from_frame(d[["cum_population_share", "cum_income_share"]], overall_mean=109.9)


def test_datt_gq_printed_measures(datt):
    # Datt (1998) rural India 1983, mean 109.9, line 89: H 45.06 %, PG 12.47 %, FGT2 4.752 %, Gini 0.289
    # (the values carried with the Datt data in worldbank/pip's pip_datt.dta)
    m = GeneralQuadraticLorenz.fit(datt).measures(89)
    assert round(100 * m["headcount"], 2) == 45.06
    assert round(100 * m["poverty_gap"], 2) == 12.47
    assert round(100 * m["fgt2"], 3) == 4.752
    assert round(m["gini"], 3) == 0.289


def test_datt_parameters_and_validity(datt):
    gq, beta = GeneralQuadraticLorenz.fit(datt), BetaLorenz.fit(datt)
    assert gq.parameters == pytest.approx({"a": 0.887748, "b": -1.451446, "c": 0.202640}, abs=1e-6)
    assert beta.parameters == pytest.approx({"theta": 0.561353, "gamma": 0.930950, "delta": 0.580026}, abs=1e-6)
    assert gq.diagnostics["is_valid"] and beta.diagnostics["is_valid"]
    assert all(gq.diagnostics["conditions"].values())
    mb = beta.measures(89)
    # Beta headcount: pipster's pipgd_pov_headcount on the same data gives 0.4511816 (Newton tolerance)
    assert mb["headcount"] == pytest.approx(0.4511816, abs=2e-5)
    assert round(mb["gini"], 4) == 0.2894
    # pipster: quintile shares of the selected (GQ) curve
    assert gq.lorenz(np.array([0.2, 0.4, 0.6, 0.8])) == pytest.approx([0.09067747, 0.22412849, 0.39614586, 0.61752824], abs=2e-6)


def test_auto_follows_pip_rule(datt):
    fit = fit_grouped(datt, "auto", poverty_line=89)
    assert fit.diagnostics["selected_for_distribution"] == "gq"
    assert fit.diagnostics["selected_for_poverty"] == "gq"
    assert fit.diagnostics["gq_sse"] < fit.diagnostics["beta_sse"]


def test_wbpip_closed_forms_gq():
    # wbpip tests/testthat/test-gd_compute_pip_stats_lq.R
    gq = GeneralQuadraticLorenz(0.795981535745657, -1.4445933880119242, 0.14728191995919815, 51.5660557757944)
    m = gq.measures(57.791666666666664)
    assert m["gini"] == pytest.approx(0.32126464221602591, abs=1e-12)
    assert m["median"] == pytest.approx(42.247782467994874, rel=1e-12)
    assert m["headcount"] == pytest.approx(0.76005810499191284, abs=1e-7)  # PIP rounds through float
    assert m["poverty_gap"] == pytest.approx(0.27617606019159308, abs=1e-12)
    assert m["fgt2"] == pytest.approx(0.12832887439632906, abs=1e-12)


def test_wbpip_closed_forms_beta():
    # wbpip tests/testthat/test-gd_compute_pip_stats_lb.R (PIP's Gini is a 499-bin sum: 1e-6 there)
    b = BetaLorenz(0.57803721740313529, 0.94205090386544987, 0.52578600019473676, 51.5660557757944)
    m = b.measures(57.791666666666664)
    assert m["gini"] == pytest.approx(0.31236656171451094, abs=3e-6)
    assert m["median"] == pytest.approx(42.594731176686537, rel=1e-10)
    assert m["headcount"] == pytest.approx(0.71833938360214233, abs=1e-8)
    assert m["poverty_gap"] == pytest.approx(0.27137498479545558, abs=1e-10)
    assert m["fgt2"] == pytest.approx(0.12933674851941607, abs=1e-9)


def test_gq_cdf_inverts_quantile(datt):
    gq = GeneralQuadraticLorenz.fit(datt)
    p = np.linspace(0.01, 0.99, 50)
    assert gq.cdf(gq.quantile(p)) == pytest.approx(p, abs=1e-10)


def test_invalid_curve_is_reported():
    # a Lorenz table whose GQ fit is not convex (wbpip's invalid example parameters)
    gq = GeneralQuadraticLorenz(0.78554131924835879, -1.9856022109519547, -0.30597079435662672, 1.50524,
                                P=np.array([0.1, 0.5, 1.0]), L=np.array([0.02, 0.2, 1.0]))
    assert not gq.diagnostics["is_valid"]
    assert not gq.diagnostics["conditions"]["c_nonnegative (L'(0+)>=0)"]


def test_printed_statistics_pin_gq_parameters(datt):
    # docs/scripts/datt_identification.py: every GQ curve whose headcount, PG, FGT2 and Gini round to
    # Datt's printed values has a, b, c within these bounds; our OLS solution lies inside.
    import importlib.util

    script = Path(__file__).resolve().parents[2] / "docs" / "scripts" / "datt_identification.py"
    spec = importlib.util.spec_from_file_location("datt_identification", script)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    gq = GeneralQuadraticLorenz.fit(datt)
    theta0 = np.array([gq.parameters[k] for k in "abc"])
    assert mod.rounds_to_printed(theta0)
    rows = mod.parameter_region(theta0)
    assert all(r["exact_check"] for r in rows)
    bound = {(r["parameter"], r["side"]): r["bound"] for r in rows}
    expected = {("a", "min"): 0.8856, ("a", "max"): 0.8883, ("b", "min"): -1.4582, ("b", "max"): -1.4503,
                ("c", "min"): 0.1971, ("c", "max"): 0.2037}
    for key, value in expected.items():
        assert bound[key] == pytest.approx(value, abs=1e-4), key
    for j, name in enumerate("abc"):
        assert bound[(name, "min")] < theta0[j] < bound[(name, "max")]
