"""Survey-design uncertainty of reform effects: the linearized SEs equal prosperity.measure()'s (the
convey/laeken-checked path) on the same design, the change's SE is that of the paired difference, the
fiscal cost's SE is the design SE of a total computed by hand, and the PSU bootstrap agrees."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import prosperity
from prosperity.simulate import PopulationError, Simulation, load_reforms, reform_uncertainty
from prosperity.synth import synthesize_population


@pytest.fixture(scope="module")
def setup():
    df = synthesize_population(2024, persons=20_000, seed=5)
    sim = Simulation(df, 2024, seed=5)
    d = df.sort_values("household_id", kind="stable")
    hh = d.groupby("household_id", sort=True).first()
    design = dict(strata=d["province_en"].to_numpy(), psu=d["household_id"].to_numpy() // 6)
    reform = load_reforms(["dibao_plus_20pct"])
    lin = reform_uncertainty(sim, reform, **design)
    return sim, hh, design, reform, lin


def _frame(sim, hh, y):
    return pd.DataFrame({"y": y, "w": sim.population.persons_weight, "s": hh["province_en"].to_numpy(),
                         "p": hh.index.to_numpy() // 6})


def test_values_are_the_simulation_summary(setup):
    sim, _, _, reform, lin = setup
    summary = sim.run(reform, metr=False).summary.set_index("measure")
    t = lin.table.set_index("measure").loc[summary.index]
    np.testing.assert_allclose(t["baseline"], summary["baseline"], rtol=1e-12)
    np.testing.assert_allclose(t["reform"], summary["reform"], rtol=1e-12)


def test_baseline_ses_equal_measure_on_the_same_design(setup):
    sim, hh, _, _, lin = setup
    t = lin.table.set_index("measure")
    m = prosperity.measure(_frame(sim, hh, sim.baseline["disposable_pc"]), income="y", weight="w", strata="s", psu="p",
                           measures=["mean", "median", "gini", "theil", "qsr", "arpr", "fgt:0"], relative_line=0.6)
    se = m.to_frame().set_index("measure")["se"]
    pairs = {"mean_income_pc": "mean", "median_income_pc": "median", "gini": "gini", "theil": "theil", "s80_s20": "qsr",
             "arpr_60pct_own_median": "arpr", "poverty_headcount_rel60": "fgt:0"}
    for ours, theirs in pairs.items():
        assert t.loc[ours, "se_baseline"] == pytest.approx(se[theirs], rel=1e-12), ours
    # recorded value to 1e-7: the synthetic population's GB2 fits move by ~1e-8 between scipy releases (see
    # tests/synth/test_household_sizes.py); the equality with measure() above is to 1e-12
    assert t.loc["gini", "se_baseline"] == pytest.approx(0.00438007017005547, rel=1e-7)


def test_reform_and_change_ses(setup):
    sim, hh, design, reform, lin = setup
    t = lin.table.set_index("measure")
    state = sim.evaluate(reform)
    m = prosperity.measure(_frame(sim, hh, state["disposable_pc"]), income="y", weight="w", strata="s", psu="p",
                           measures=["mean", "gini", "theil", "qsr"])
    se = m.to_frame().set_index("measure")["se"]
    for ours, theirs in {"mean_income_pc": "mean", "gini": "gini", "theil": "theil", "s80_s20": "qsr"}.items():
        assert t.loc[ours, "se_reform"] == pytest.approx(se[theirs], rel=1e-12), ours
    # the mean is linear: the change's SE is the SE of the mean of the per-capita change
    diff = state["disposable_pc"] - sim.baseline["disposable_pc"]
    m = prosperity.measure(_frame(sim, hh, diff), income="y", weight="w", strata="s", psu="p", measures=["mean"])
    assert t.loc["mean_income_pc", "se_change"] == pytest.approx(m.to_frame()["se"].iloc[0], rel=1e-10)
    # paired: the change is far more precise than either level
    assert t.loc["gini", "se_change"] < 0.05 * t.loc["gini", "se_baseline"]
    assert bool(t.loc["gini", "significant"]) and t.loc["gini", "ci_high"] < 0


def test_fiscal_cost_se_by_hand(setup):
    sim, hh, _, reform, lin = setup
    state = sim.evaluate(reform)
    x = sim.population.household_weight * (state["disposable"] - sim.baseline["disposable"])
    frame = pd.DataFrame({"x": x, "s": hh["province_en"].to_numpy(), "p": hh.index.to_numpy() // 6})
    t_hi = frame.groupby(["s", "p"])["x"].sum()
    var = 0.0
    for _, t in t_hi.groupby(level=0):
        n_h = len(t)
        var += n_h / (n_h - 1) * float(((t - t.mean()) ** 2).sum())
    row = lin.table.set_index("measure").loc["net_fiscal_cost_bn"]
    assert row["change"] == pytest.approx(x.sum() / 1e9, rel=1e-12)
    assert row["se_change"] == pytest.approx(np.sqrt(var) / 1e9, rel=1e-10)


def test_rounding_is_no_change(setup):
    t = setup[4].table.set_index("measure")
    # +20 % dibao moves no one across the NBS band of 33,333 yuan per capita: exactly 0, not "significant"
    assert t.loc["middle_income_share_nbs_absolute", "change"] == 0.0
    assert not t.loc["middle_income_share_nbs_absolute", "significant"]


def test_bootstrap_agrees_with_linearization(setup):
    sim, _, design, reform, lin = setup
    boot = reform_uncertainty(sim, reform, method="rescaled_bootstrap", replicates=300, seed=3, **design)
    a, b = lin.table.set_index("measure"), boot.table.set_index("measure")
    np.testing.assert_allclose(b["change"], a["change"], rtol=1e-12, atol=1e-15)
    for name in ("mean_income_pc", "gini", "theil", "poverty_headcount_wb365", "net_fiscal_cost_bn"):
        assert b.loc[name, "se_change"] == pytest.approx(a.loc[name, "se_change"], rel=0.15), name
    assert boot.replicates == 300 and "300 replicates" in repr(boot)


def test_bad_design_and_options(setup):
    sim, _, design, reform, _ = setup
    with pytest.raises(PopulationError, match="values given; the population has"):
        reform_uncertainty(sim, reform, psu=np.arange(5))
    psu = design["psu"].copy()
    psu[1] = psu[1] + 10**6  # person 1 is in the same household as person 0 (household 0 has > 1 member)
    assert sim.population.person_household[1] == sim.population.person_household[0]
    with pytest.raises(PopulationError, match="differs between members of the same household"):
        reform_uncertainty(sim, reform, psu=psu)
    with pytest.raises(ValueError, match="choose one of linearization"):
        reform_uncertainty(sim, reform, method="jackknife")
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        reform_uncertainty(sim, reform, confidence=95)
    with pytest.raises(ValueError, match="whole number of bootstrap replicates"):
        reform_uncertainty(sim, reform, method="bootstrap", replicates=1)


# -- run(keep_state=True): the budget-neutral solve and the evaluation are not repeated -------------

def test_kept_run_state_gives_the_same_uncertainty_and_solves_once(setup, monkeypatch):
    sim, _, design, _, _ = setup
    reform = load_reforms(["east_west_transfer"])
    path = "regional_transfers.east_west.levy_rate"
    solver, evaluations = Simulation.solve_budget_neutral, []
    solves = []

    def counting_solve(self, *a, **k):
        solves.append(a)
        return solver(self, *a, **k)

    monkeypatch.setattr(Simulation, "solve_budget_neutral", counting_solve)
    result = sim.run(reform, budget_neutral=path, metr=False, keep_state=True)
    assert len(solves) == 1 and sim.last_run.reform is not None
    kept_value = sim.last_run.reform.apply(sim.tree).leaf(path).at(sim.instant)
    assert kept_value == result.budget_neutral["value"] > 0
    evaluate = Simulation.evaluate
    monkeypatch.setattr(Simulation, "evaluate", lambda self, *a, **k: evaluations.append(a) or evaluate(self, *a, **k))
    kept = reform_uncertainty(sim, sim.last_run, **design)
    assert len(solves) == 1 and evaluations == []  # neither solved nor evaluated again
    # the previous way: solve again, evaluate again
    solved, _ = solver(sim, reform, path)
    evaluations.clear()  # the solve's own evaluations
    again = reform_uncertainty(sim, solved, **design)
    assert len(evaluations) == 1
    cols = ["baseline", "reform", "change", "se_baseline", "se_reform", "se_change"]
    np.testing.assert_allclose(kept.table[cols].to_numpy(), again.table[cols].to_numpy(), rtol=1e-12, atol=1e-12)
    assert kept.table.set_index("measure").loc["net_fiscal_cost_bn", "change"] == pytest.approx(0.0, abs=1e-3)
    assert kept.table.set_index("measure").loc["gini", "se_change"] > 0
    sim.run(reform, metr=False)
    assert sim.last_run is None  # kept only on request


def test_cli_budget_neutral_with_se_solves_once(cli, tmp_path, monkeypatch):
    import json

    from typer.testing import CliRunner

    df = synthesize_population(2024, persons=6_000, seed=3)
    df["cluster"] = df["household_id"] // 4
    path = tmp_path / "survey.csv"
    df.to_csv(path, index=False)
    solver, solves = Simulation.solve_budget_neutral, []
    monkeypatch.setattr(Simulation, "solve_budget_neutral",
                        lambda self, *a, **k: solves.append(a) or solver(self, *a, **k))
    res = CliRunner().invoke(cli, ["simulate", "--population", str(path), "--reform", "east_west_transfer",
                                   "--budget-neutral", "regional_transfers.east_west.levy_rate", "--psu", "cluster",
                                   "--se", "linearization", "--format", "json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert len(solves) == 1
    u = {r["measure"]: r for r in data["uncertainty"]}
    assert u["net_fiscal_cost_bn"]["change"] == pytest.approx(data["net_cost_bn_yuan"], rel=1e-9, abs=1e-9)
    assert data["budget_neutral"]["value"] > 0 and u["gini"]["se_change"] > 0
