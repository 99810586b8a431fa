"""Simulation on the synthetic population: accounting identities, validation rows, reforms' errors, the
OpenFisca file format, properties that must always hold, and the CLI's JSON contract."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import prosperity
from prosperity.cli import simulate_cmd
import typer
from prosperity.simulate import Reform, ReformError, Simulation, bundled_parameters, example_reforms, load_reforms
from prosperity.simulate.engine import ParameterNotInForce
from prosperity.simulate.parameter_tree import default_instant
from prosperity.simulate.rules import marginal_rate_tax
from prosperity.synth import synthesize_population

PARAMETERS = Path(prosperity.__file__).parent / "simulate" / "parameters"


@pytest.fixture(scope="module")
def sim() -> Simulation:
    return Simulation(synthesize_population(2024, persons=20_000, seed=5), 2024, seed=5)


def test_quick_deductions_are_the_published_table():
    b = bundled_parameters().at(default_instant(2024))["iit.rates"]
    np.testing.assert_allclose(b.quick_deductions(), [0, 2520, 16920, 31920, 52920, 85920, 181920], rtol=1e-14, atol=1e-9)
    np.testing.assert_array_equal(b.rates, [0.03, 0.10, 0.20, 0.25, 0.30, 0.35, 0.45])


def test_parameter_files_load_unchanged_in_openfisca_core():
    parameters = pytest.importorskip("openfisca_core.parameters")
    node = parameters.ParameterNode("", directory_path=str(PARAMETERS))
    assert node.iit.basic_deduction("2024-06-30") == 60000
    assert node.iit.basic_deduction("2018-06-30") == 42000
    assert node.dibao.standard.urban("2024-06-30") == pytest.approx(798.1)
    assert node.social_insurance.average_wage("2024-06-30") == 124110
    tax = node.iit.rates("2024-06-30").calc(np.array([0.0, 36_000, 100_000, 1_000_000]))
    ours = marginal_rate_tax(np.array([0.0, 36_000, 100_000, 1_000_000]), bundled_parameters().at(default_instant(2024))["iit.rates"])
    np.testing.assert_allclose(tax, ours, rtol=1e-12)
    np.testing.assert_allclose(ours, [0, 1080, 100_000 * 0.10 - 2520, 1_000_000 * 0.45 - 181_920], rtol=1e-12)


def test_unverified_values_are_marked():
    tree = bundled_parameters()
    assert tree.metadata("social_insurance.average_wage").get("status") == "U"
    assert tree.metadata("dibao.take_up_rate").get("status") in ("A", "U")
    assert tree.metadata("iit.basic_deduction").get("status") == "S"


def test_baseline_identity_and_dibao_calibration(sim):
    base = sim.baseline
    w = sim.population.household_weight
    # the baseline reproduces the observed disposable income of every household
    observed = sim.population.household_sum(np.zeros(sim.population.n_persons))  # shape check only
    assert observed.shape == base["disposable"].shape
    # recipients equal the official 2024 counts (6.25 m urban, 33.615 m rural) up to the sampling of take-up
    pw = sim.population.persons_weight
    urban = sim.population.urban
    rec_u = float(np.sum(np.where((base["dibao"] > 0) & urban, pw, 0.0))) / 1e6
    rec_r = float(np.sum(np.where((base["dibao"] > 0) & ~urban, pw, 0.0))) / 1e6
    assert rec_u == pytest.approx(6.25, rel=0.15)
    assert rec_r == pytest.approx(33.615, rel=0.10)
    assert float(np.dot(w, base["dibao"])) > 0


@pytest.mark.parametrize("name", ["dibao_plus_20pct", "resident_pension_300", "dibao_rural_equals_urban",
                                  "east_west_transfer", "ecological_compensation_100", "iit_top_bracket_50pct"])
def test_accounting_identity(sim, name):
    """Total change in household disposable income = - change in the net balance of all budgets."""
    result = sim.run(load_reforms([name]), metr=False)
    fiscal = result.fiscal.set_index("item")
    balances = fiscal[fiscal["kind"] == "balance"]["change_bn"].sum()
    assert result.net_cost_bn == pytest.approx(-balances, abs=1e-6)
    assert abs(result.identity_residual_bn) < 1e-6


def test_reform_costs_have_the_expected_sign_and_size(sim):
    dibao = sim.run(load_reforms(["dibao_plus_20pct"]), metr=False)
    pension = sim.run(load_reforms(["resident_pension_300"]), metr=False)
    # residents' pension to 300 from 123 a month: at most (300 - 123) x 12 x recipients, less the dibao clawback
    recipients = float(np.dot(sim.population.household_weight, sim.baseline["resident_pension_recipients"]))
    assert 0 < pension.net_cost_bn <= (300 - 123) * 12 * recipients / 1e9 + 1e-6
    assert pension.net_cost_bn > 0.8 * (300 - 123) * 12 * recipients / 1e9
    s = dibao.summary.set_index("measure")
    assert s.loc["gini", "change"] < 0 and s.loc["poverty_gap_rel40", "change"] < 0
    assert dibao.net_cost_bn > 0


def test_ecological_fund_equals_the_hand_computed_sum(sim):
    c = sim.fixed.co2
    donors = (c["gdp_per_capita"] >= 90_000) & (c["co2_t_per_capita"] > 8)
    fund = float((100 * (c["co2_t_per_capita"] - 8).clip(lower=0) * c["population_2020"])[donors].sum())
    # CEADs 2019: the provinces with GDP per capita >= 90,000 and more than 8 t CO2 per capita
    assert set(c.index[donors]) == {"Jiangsu", "Tianjin"}
    state = sim.evaluate(load_reforms(["ecological_compensation_100"]))
    paid = float(np.dot(sim.population.household_weight, state["ecological_compensation"]))
    assert paid == pytest.approx(fund, rel=1e-9)
    rural_only = state["ecological_compensation"][sim.population.urban]
    assert np.all(rural_only == 0)


def test_budget_neutral_levy(sim):
    result = sim.run(load_reforms(["east_west_transfer"]), budget_neutral="regional_transfers.east_west.levy_rate",
                     metr=False)
    assert abs(result.net_cost_bn) < 1e-3
    rate = result.budget_neutral["value"]
    assert 0.002 < rate < 0.05


def test_budget_neutral_unreachable_is_refused(sim):
    with pytest.raises(ReformError, match="cannot reach a net cost"):
        sim.run(load_reforms(["dibao_plus_20pct"]), budget_neutral="iit.revenue_share_central", metr=False)


def test_validation_table(sim):
    result = sim.run(None, metr=False)
    v = result.validation.set_index("row")
    for row in ("dibao recipients urban (m)", "dibao recipients rural (m)", "dibao average standard urban",
                "dibao average standard rural"):
        assert v.loc[row, "within_tolerance"], row
    assert v.loc["dibao average standard urban", "baseline"] == pytest.approx(798.1, rel=1e-9)
    assert v.loc["Gini (official, per-capita, person-weighted)", "published"] == 0.465
    # rows the synthetic population misses are named in the warning, not hidden
    failing = [r for r in v.index if not v.loc[r, "within_tolerance"]]
    assert failing
    assert all(r in result.warnings[0] for r in failing)


# -- bad reforms ----------------------------------------------------------------------------------

def write(tmp_path, text: str) -> Path:
    path = tmp_path / "reform.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def apply(path):
    return Reform.from_yaml(path).apply(bundled_parameters())


def test_unknown_path_gets_a_did_you_mean_and_the_line(tmp_path):
    p = write(tmp_path, "name: x\nchanges:\n  dibao.standard.urbn:\n    2024-01-01: 900\n")
    with pytest.raises(ReformError, match=r"reform.yaml:4: dibao.standard.urbn: unknown parameter; did you mean dibao.standard.urban"):
        apply(p)


def test_bad_period_is_located(tmp_path):
    p = write(tmp_path, "name: x\nchanges:\n  dibao.standard.urban:\n    01/01/2024: 900\n")
    with pytest.raises(ReformError, match=r"reform.yaml:4: .*YYYY"):
        apply(p)


@pytest.mark.parametrize("value", ["1.5", "-0.1"])
def test_rate_outside_0_1(tmp_path, value):
    p = write(tmp_path, f"name: x\nchanges:\n  iit.rates.brackets.6.rate:\n    2024-01-01: {value}\n")
    with pytest.raises(ReformError, match=r"reform.yaml:4: iit.rates.brackets.6.rate: .*must lie in \[0, 1\]"):
        apply(p)


def test_brackets_out_of_order(tmp_path):
    p = write(tmp_path, "name: x\nchanges:\n  iit.rates.brackets.2.threshold:\n    2024-01-01: 20000\n")
    with pytest.raises(ReformError, match="brackets out of order"):
        apply(p)


def test_unknown_province(tmp_path):
    p = write(tmp_path, "name: x\nchanges:\n  regional_transfers.ecological_compensation.recipients:\n"
                        "    2024-01-01: Qinghai;Tibbet\n")
    with pytest.raises(ReformError, match=r"reform.yaml:4: .*province 'Tibbet' does not exist; did you mean 'Tibet'"):
        apply(p)
    p = write(tmp_path, "name: x\nchanges:\n  resident_pension.provincial_top_up.Shangai:\n    2024-01-01: 100\n")
    with pytest.raises(ReformError, match=r"reform.yaml:4: .*province 'Shangai' does not exist.*did you mean resident_pension.provincial_top_up.Shanghai\?"):
        apply(p)


def test_every_problem_is_listed_and_nothing_is_half_applied(tmp_path):
    p = write(tmp_path, "name: x\nchanges:\n  dibao.standard.urban:\n    2024-01-01: 900\n"
                        "  iit.basic_deduction:\n    2024-01-01: -5\n  dibao.standrd.rural:\n    2024-01-01: 700\n")
    tree = bundled_parameters()
    with pytest.raises(ReformError) as info:
        Reform.from_yaml(p).apply(tree)
    assert len(info.value.problems) == 2
    assert tree.at(default_instant(2024))["dibao.standard.urban"] == pytest.approx(798.1)  # untouched


def test_malformed_yaml_gives_the_line(tmp_path):
    p = write(tmp_path, "name: x\nchanges:\n  dibao.standard.urban:\n    2024-01-01: [900\n")
    with pytest.raises(ReformError, match=r"reform.yaml:\d+: not valid YAML"):
        Reform.from_yaml(p)


def test_missing_reform_file():
    with pytest.raises(ReformError, match="no such reform file"):
        load_reforms(["does_not_exist_anywhere"])


def test_reforms_combine_in_order():
    a = Reform.from_dict({"dibao.standard.urban": {"2024-01-01": 900}}, name="a")
    b = Reform.from_dict({"dibao.standard.urban": {"2024-01-01": {"multiply": 1.1}}}, name="b")
    tree = Reform.combine(a, b).apply(bundled_parameters())
    assert tree.at(default_instant(2024))["dibao.standard.urban"] == pytest.approx(990.0)
    tree = Reform.combine(b, a).apply(bundled_parameters())
    assert tree.at(default_instant(2024))["dibao.standard.urban"] == pytest.approx(900.0)


def test_period_with_stop_restores_the_earlier_value():
    r = Reform.from_dict({"dibao.standard.urban": {"2024-01-01.2024-12-31": 900}})
    p = r.apply(bundled_parameters())
    assert p.at(dt.date(2024, 6, 30))["dibao.standard.urban"] == 900
    assert p.at(dt.date(2025, 6, 30))["dibao.standard.urban"] == pytest.approx(798.1)


def test_rule_replacement(sim):
    def no_dibao(means_test_income, size, standard_monthly, take_up, p):
        return np.zeros_like(means_test_income)

    result = sim.run(Reform("no dibao", rules={"dibao": no_dibao}), metr=False)
    base_total = float(np.dot(sim.population.household_weight, sim.baseline["dibao"])) / 1e9
    assert result.net_cost_bn == pytest.approx(-base_total, rel=1e-12)
    with pytest.raises(ReformError, match="is not a rule"):
        Reform("x", rules={"dibaoo": no_dibao}).apply(bundled_parameters())


def test_year_before_the_parameters_is_refused():
    with pytest.raises(ParameterNotInForce, match="not in force on 2015-06-30"):
        Simulation(synthesize_population(2016, persons=2_000, seed=1), 2016,
                   instant=dt.date(2015, 6, 30))


def test_example_reforms_are_shipped():
    assert set(example_reforms()) >= {"dibao_plus_20pct", "resident_pension_300", "dibao_rural_equals_urban",
                                      "iit_top_bracket_50pct", "east_west_transfer", "ecological_compensation_100"}


# -- properties -----------------------------------------------------------------------------------

@settings(max_examples=25)
@given(factor=st.floats(1.0, 3.0))
def test_raising_dibao_never_lowers_anyones_income(sim, factor):
    r = Reform.from_dict({"dibao.standard.urban": {"2024-01-01": {"multiply": factor}},
                          "dibao.standard.rural": {"2024-01-01": {"multiply": factor}}})
    state = sim.evaluate(r)
    assert np.all(state["disposable"] >= sim.baseline["disposable"] - 1e-9)


@settings(max_examples=50)
@given(taxable=st.lists(st.floats(0, 1e8), min_size=1, max_size=50), top=st.floats(0.3, 1.0))
def test_tax_never_exceeds_the_top_rate_times_taxable_income(taxable, top):
    b = bundled_parameters().at(default_instant(2024))["iit.rates"]
    x = np.array(taxable)
    tax = marginal_rate_tax(x, b)
    assert np.all(tax <= 0.45 * x + 1e-6) and np.all(tax >= 0)
    tree = Reform.from_dict({"iit.rates.brackets.7.threshold": {"2024-01-01": 2e6},
                             "iit.rates.brackets.7.rate": {"2024-01-01": top}}).apply(bundled_parameters())
    tax2 = marginal_rate_tax(x, tree.at(default_instant(2024))["iit.rates"])
    assert np.all(tax2 <= max(top, 0.45) * x + 1e-6)
    assert np.all(np.diff(marginal_rate_tax(np.sort(x), b)) >= -1e-6)  # monotone


@pytest.mark.parametrize("name", [None, "dibao_plus_20pct", "resident_pension_300", "iit_top_bracket_50pct"])
def test_metrs_within_0_1(sim, name):
    result = sim.run(load_reforms([name]) if name else None)
    er = result.effective_rates
    for col in ("metr_baseline", "metr_reform"):
        values = er[col].to_numpy(float)
        assert np.all((values >= -1e-9) & (values <= 1 + 1e-9)), (col, values)
    # METRs rise with income under a progressive tax; AETRs are negative at the bottom (net benefits)
    assert er["metr_baseline"].iloc[-1] > er["metr_baseline"].iloc[4]
    assert er["aetr_baseline"].iloc[0] < 0 < er["aetr_baseline"].iloc[-1]


def test_deciles_fixed_on_baseline_and_winners_losers_sum_to_one(sim):
    result = sim.run(load_reforms(["dibao_plus_20pct"]), metr=False)
    d = result.deciles
    assert list(d["decile"]) == list(range(1, 11))
    np.testing.assert_allclose(d["persons_m"].sum(), sim.population.persons_weight.sum() / 1e6, rtol=1e-12)
    wl = result.winners_losers.set_index("group")
    cols = ["gain_more_5pct", "gain_less_5pct", "no_change", "lose_less_5pct", "lose_more_5pct"]
    np.testing.assert_allclose(wl[cols].sum(axis=1).to_numpy(), 1.0, rtol=1e-12)
    assert wl[["lose_less_5pct", "lose_more_5pct"]].to_numpy().max() == 0.0  # nobody loses from more dibao
    # the gains go to the bottom: decile 1 gains more than decile 10, in percent
    assert d.loc[0, "change_pct"] > d.loc[9, "change_pct"] >= 0


# -- CLI --------------------------------------------------------------------------------------------

runner = CliRunner()


def make_app() -> typer.Typer:
    a = typer.Typer()

    @a.callback()
    def _group() -> None:  # a group, so commands are named as in the real CLI
        pass

    simulate_cmd.register(a)
    return a


def test_cli_simulate_json_contract():
    out = runner.invoke(make_app(), ["simulate", "--population", "synthetic:5000", "--reform", "dibao_plus_20pct",
                              "--format", "json"])
    assert out.exit_code == 0, out.output
    d = json.loads(out.stdout)
    assert set(d) >= {"year", "population", "reform", "budget_neutral", "net_cost_bn_yuan",
                      "identity_residual_bn_yuan", "summary", "deciles", "winners_losers", "by_area",
                      "by_province", "fiscal", "effective_rates", "validation", "assumptions", "warnings"}
    assert {"measure", "baseline", "reform", "change"} <= set(d["summary"][0])
    assert d["net_cost_bn_yuan"] > 0


def test_cli_bad_reform_exits_2_with_the_line(tmp_path):
    p = write(tmp_path, "name: x\nchanges:\n  dibao.standard.urbn:\n    2024-01-01: 900\n")
    out = runner.invoke(make_app(), ["simulate", "--population", "synthetic:2000", "--reform", str(p)])
    assert out.exit_code == 2
    text = out.output
    assert "reform.yaml:4" in text and "did you mean" in text and "Traceback" not in text


def test_cli_household():
    out = runner.invoke(make_app(), ["household", "--wage", "120000", "--children", "1", "--province", "Zhejiang",
                              "--area", "urban", "--spouse", "--format", "json"])
    assert out.exit_code == 0, out.output
    d = json.loads(out.stdout)
    steps = {s["step"]: s["amount"] for s in d["steps"]}
    assert steps["income tax (IIT)"] == pytest.approx(-519.796, abs=0.01)


# -- the compiled person pass gives the NumPy rules' numbers ------------------------------------------

@pytest.mark.parametrize("name", [None] + sorted(example_reforms()))
@pytest.mark.parametrize("threads", [1, 3])
def test_fused_person_pass_equals_the_numpy_rules(sim, name, threads, monkeypatch):
    from prosperity.simulate import kernel
    from prosperity.simulate.engine import evaluate

    if kernel.household_pass() is None:
        pytest.skip("numba not available: only the NumPy rules run")
    monkeypatch.setattr(kernel, "THREADS", threads)
    monkeypatch.setattr(kernel, "PARALLEL_MIN_PERSONS", 0)
    p = sim.reform_params(load_reforms([name]) if name else None)
    extra = np.where(sim.fixed.primary, 100.0, 0.0)
    for bump in (None, extra):
        fast = evaluate(sim.population, sim.fixed, p, None, bump, fused=True)
        slow = evaluate(sim.population, sim.fixed, p, None, bump, fused=False)
        assert set(fast) == set(slow)
        for key in slow:
            np.testing.assert_array_equal(np.asarray(fast[key]), np.asarray(slow[key]), err_msg=f"{name}: {key}")
    assert slow["iit"].sum() > 0 and slow["resident_pension"].sum() > 0  # the comparison is not of zeros


@pytest.mark.parametrize("name", [None] + sorted(example_reforms()))
def test_fused_pass_visiting_only_earners_equals_the_numpy_rules(sim, name, monkeypatch):
    from prosperity.simulate import kernel
    from prosperity.simulate.engine import evaluate

    if kernel.household_pass() is None:
        pytest.skip("numba not available: only the NumPy rules run")
    monkeypatch.setattr(kernel, "THREADS", 2)
    monkeypatch.setattr(kernel, "PARALLEL_MIN_PERSONS", 0)
    visited = []
    real = kernel.visiting
    monkeypatch.setattr(kernel, "visiting", lambda pop, fixed, earners_only: visited.append(earners_only)
                        or real(pop, fixed, earners_only))
    p = sim.reform_params(load_reforms([name]) if name else None)
    primary_bump = np.where(sim.fixed.primary, 100.0, 0.0)
    child_bump = np.where(sim.population.age < 16, 50.0, 0.0)  # on non-earners: every person is visited
    for bump in (None, primary_bump, child_bump):
        fast = evaluate(sim.population, sim.fixed, p, None, bump, per_person=False, fused=True)
        slow = evaluate(sim.population, sim.fixed, p, None, bump, per_person=False, fused=False)
        for key in fast:
            np.testing.assert_array_equal(np.asarray(fast[key]), np.asarray(slow[key]), err_msg=f"{name}: {key}")
    assert visited[-1] is False and visited[0] is True  # both ways of visiting were compared
    assert slow["iit"].sum() > 0 and slow["resident_pension_recipients"].sum() > 0


def test_a_replaced_rule_runs_the_numpy_path(sim):
    from prosperity.simulate.engine import evaluate

    def no_tax(taxable_base_wage, si_employee, housing_fund, sad, p):
        return {"taxable_income": np.zeros_like(taxable_base_wage), "iit": np.zeros_like(taxable_base_wage)}

    out = evaluate(sim.population, sim.fixed, sim.params, {"income_tax": no_tax})
    assert out["iit"].sum() == 0 and sim.baseline["iit"].sum() > 0
    assert np.dot(sim.population.household_weight, out["disposable"] - sim.baseline["disposable"]) > 0

    from prosperity.simulate import rules

    same = evaluate(sim.population, sim.fixed, sim.params, {"dibao": rules.dibao})  # NumPy dibao and budgets
    for key in ("dibao", "disposable", "central", "local", "dibao_eligible"):
        np.testing.assert_array_equal(same[key], sim.baseline[key], err_msg=key)


def test_reform_sorted_from_the_baseline_order_equals_a_fresh_sort(sim):
    from prosperity.measures.estimate import SortedIncome
    from prosperity.simulate.outputs import _sorted_from, _sorted_subset

    pw = sim.population.persons_weight
    base = SortedIncome.from_arrays(sim.baseline["disposable_pc"], pw)
    state = sim.evaluate(load_reforms(["dibao_plus_20pct"]))
    fresh = SortedIncome.from_arrays(state["disposable_pc"], pw)
    warm = _sorted_from(state["disposable_pc"], pw, base.order)
    np.testing.assert_array_equal(warm.y, fresh.y)
    np.testing.assert_array_equal(state["disposable_pc"][warm.order], warm.y)
    np.testing.assert_allclose(warm.cumw[-1], fresh.cumw[-1], rtol=1e-12)
    urban = sim.population.urban
    sub = _sorted_subset(warm, urban)
    direct = SortedIncome.from_arrays(state["disposable_pc"][urban], pw[urban])
    np.testing.assert_array_equal(sub.y, direct.y)
    np.testing.assert_array_equal(state["disposable_pc"][urban][sub.order], sub.y)


def test_output_subset_and_reused_buffers_give_the_full_evaluation_numbers(sim):
    from prosperity.simulate import kernel
    from prosperity.simulate.engine import evaluate

    if kernel.household_pass() is None:
        pytest.skip("numba not available: only the NumPy rules run")
    four = ("iit", "si_employee", "housing_fund", "resident_pension", "dibao", "disposable")
    full = evaluate(sim.population, sim.fixed, sim.params, per_person=False)
    sub = evaluate(sim.population, sim.fixed, sim.params, per_person=False, outputs=four)
    assert set(sub) == set(four)
    reform = sim.reform_params(load_reforms(["dibao_plus_20pct"]))
    again = evaluate(sim.population, sim.fixed, reform, per_person=False, outputs=four, buffers=sub)
    assert all(again[k] is sub[k] for k in four)  # written into the previous result's arrays
    fresh = evaluate(sim.population, sim.fixed, reform, per_person=False, fused=False)
    for key in four:
        np.testing.assert_array_equal(again[key], fresh[key], err_msg=key)
    assert again["dibao"].sum() > full["dibao"].sum() > 0  # the buffers hold the reform, not the baseline
    with pytest.raises(ValueError, match="unknown output"):
        kernel.run(sim.population, sim.fixed, sim.params, np.zeros(31), {}, outputs=("nope",))


def test_kernel_combination_codes_give_back_every_row():
    from prosperity.simulate.kernel import _combinations

    rng = np.random.default_rng(0)
    a, b, c = (rng.integers(0, 5, 2000).astype(float) for _ in range(3))
    for cols in ((a, b, c), (a, b, c + 0.5), (a * 100, b, c)):  # small integers (one key), fractions, > 255
        combos, inverse = _combinations(*cols)
        np.testing.assert_array_equal(combos[inverse], np.stack(cols, axis=1))
        assert len(combos) == len({tuple(r) for r in np.stack(cols, axis=1)})
