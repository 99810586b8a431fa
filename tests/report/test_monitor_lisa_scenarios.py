"""The monitoring report's province LISA map (issue 14) and its scenarios on the CLI's reconciled
baseline (issue 9): the cluster labels are moran_local's (and esda's) on the same values, the map
draws the 31 provinces, a rerun gives the same labels; the scenarios' numbers are those of
``prosperity simulate --population synthetic:N`` (reconciled), and a project can give its own
population, validated with located errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from prosperity.report import sections as S

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "project"
PERSONS = 20_000


def _income_2024():
    from prosperity.datasets.china import provincial_income_consumption_2016_2024

    p = provincial_income_consumption_2016_2024()
    return p[p["year"] == 2024].set_index("province_en")["disp_income_pc_yuan"]


@pytest.fixture(scope="module")
def regions():
    from prosperity.datasets.china import provincial_income_consumption_2016_2024

    return S.regions(2024, provincial_income_consumption_2016_2024(), "en")


@pytest.fixture(scope="module")
def scenarios():
    """Two of the shipped reforms (the section's default maps), one of them budget-neutral."""
    return S.scenarios(2024, PERSONS, "en", reforms=[
        ("dibao_plus_20pct", "dibao_plus_20pct", None),
        ("east_west_transfer", "east_west_transfer", "regional_transfers.east_west.levy_rate")])


# ------------------------------------------------------------------------------------ LISA
def test_the_report_s_clusters_are_moran_local_s_on_the_same_values(regions):
    from prosperity.dynamics.weights import china_province_weights
    from prosperity.spatial import moran, moran_local

    lisa = regions.tables["province_lisa"]
    mine = lisa[lisa["series"] == "disp_income_pc_yuan"].set_index("region")
    income = _income_2024()
    assert len(mine) == 31 and (mine["value"] == income.loc[mine.index]).all()
    ref_fit = moran_local(pd.Series(income.to_numpy(), index=income.index), china_province_weights(), seed=12345)
    ref = ref_fit.to_frame().set_index("region")
    assert (mine["cluster"] == ref.loc[mine.index, "cluster"]).all()
    assert np.array_equal(mine["p_sim"].to_numpy(), ref.loc[mine.index, "p_sim"].to_numpy(), equal_nan=True)
    assert np.array_equal(mine["I"].to_numpy(), ref.loc[mine.index, "I"].to_numpy())
    assert (mine[["permutations", "seed", "alpha"]].drop_duplicates().values.tolist() == [[999, 12345, 0.05]])
    # what the 2024 incomes show: the Yangtze delta is the one high-high cluster; Hainan has no land neighbour
    assert set(mine.index[mine["cluster"] == "HH"]) == {"Shanghai", "Jiangsu", "Zhejiang"}
    assert mine.loc["Hainan", "cluster"] == "island"
    if ref_fit.stream == "esda":  # esda's own draws (numba); the NumPy stream draws others
        assert set(mine.index[mine["cluster"] == "LL"]) == {"Inner Mongolia", "Sichuan", "Yunnan", "Tibet", "Gansu",
                                                            "Qinghai", "Xinjiang"}
    glob = regions.tables["province_moran"]
    glob = glob[glob["series"] == "disp_income_pc_yuan"].set_index("inference")
    g = moran(income, china_province_weights(), permutations=999, seed=12345)
    assert glob.loc["permutation", "I"] == g.I and glob.loc["permutation", "p_value"] == g.p_sim
    assert g.I == pytest.approx(0.432766, abs=5e-7) and g.p_sim == pytest.approx(0.002)  # 1 of 999 as extreme
    text = " ".join(regions.findings)
    assert ("2024: global Moran's I of per-capita disposable income across provinces is 0.433 (permutation p = "
            "0.002, 999 permutations, seed 12345;") in text
    assert "high-high Shanghai, Jiangsu, Zhejiang;" in text


def test_the_lisa_map_draws_the_31_provinces_in_their_cluster_colours(regions):
    sec = regions
    maps = [f for f in sec.figures if "LISA clusters of per-capita disposable income" in (f.layout.title.text or "")]
    assert len(maps) == 1
    fig = maps[0]
    assert "999 permutations, seed 12345, p ≤ 0.05" in fig.layout.title.text
    polygons = [tr for tr in fig.data if tr.fill == "toself"]
    assert len({tr.legendgroup for tr in polygons}) == 31
    lisa = sec.tables["province_lisa"]
    cluster = lisa[lisa["series"] == "disp_income_pc_yuan"].set_index("region")["cluster"]
    for tr in polygons:
        assert tr.fillcolor == S.CLUSTER_COLOURS[cluster[tr.legendgroup]], tr.legendgroup
    legend = [tr.name for tr in fig.data if tr.showlegend is not False and tr.fill != "toself"]
    assert legend == ["HH: high, among high", "LL: low, among low", "not significant (p > 0.05)", "no land neighbour"]
    assert fig.layout.geo.scope is None and "mapbox" not in fig.to_json()  # plain axes: no tiles, no base map
    growth = [f for f in sec.figures if "LISA clusters of nominal growth" in (f.layout.title.text or "")]
    assert len(growth) == 1


def test_a_rerun_gives_the_same_labels_and_p_values(regions):
    first = regions.tables["province_lisa"]
    again, glob, notes = S.province_lisa(_income_2024(), "disp_income_pc_yuan", 2024)
    mine = first[first["series"] == "disp_income_pc_yuan"].reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, again)
    assert notes == []
    other, _, _ = S.province_lisa(_income_2024(), "disp_income_pc_yuan", 2024, seed=1)
    assert not np.array_equal(other["p_sim"], again["p_sim"], equal_nan=True)  # the seed matters
    # the rows' order does not (a project's provinces come sorted by name): the weights' order is used
    shuffled, glob2, _ = S.province_lisa(_income_2024().sort_index(ascending=False), "disp_income_pc_yuan", 2024)
    pd.testing.assert_frame_equal(shuffled, again)
    pd.testing.assert_frame_equal(glob2, glob)


def test_provinces_outside_the_weights_or_without_values_are_named_not_dropped_silently():
    values = _income_2024().copy()
    values.loc["Hong Kong"] = 100_000.0
    values.loc["Tibet"] = np.nan
    local, glob, notes = S.province_lisa(values, "disp_income_pc_yuan", 2024)
    assert len(local) == 30 and "Tibet" not in set(local["region"])
    assert notes == ["Hong Kong: not among the 31 provinces of the contiguity weights, left out of the spatial statistics",
                     "Tibet: no value of disp_income_pc_yuan in 2024, left out of the spatial statistics"]


# ------------------------------------------------------------------------------------ scenarios
def _cli_json(cli, *args):
    out = CliRunner().invoke(cli, ["simulate", *args, "--format", "json"], env={"COLUMNS": "120"})
    assert out.exit_code == 0, out.output
    return json.loads(out.stdout)


def test_the_scenarios_are_the_cli_s_reconciled_numbers(scenarios, cli):
    sec = scenarios
    table = sec.tables["scenarios"].set_index("reform")
    prov = sec.tables["scenario_provinces_east_west_transfer"].set_index("group")
    dec = sec.tables["scenario_deciles"]
    for reform, extra in (("east_west_transfer", ["--budget-neutral", "regional_transfers.east_west.levy_rate"]),
                          ("dibao_plus_20pct", [])):
        js = _cli_json(cli, "--population", f"synthetic:{PERSONS}", "--year", "2024", "--reform", reform, *extra)
        summary = pd.DataFrame(js["summary"]).set_index("measure")
        row = table.loc[reform]
        assert row["net_cost_bn_yuan"] == pytest.approx(js["net_cost_bn_yuan"], rel=1e-12, abs=1e-9)
        for ours, measure in (("gini", "gini"), ("poverty_rel60", "poverty_headcount_rel60")):
            assert row[f"{ours}_baseline"] == pytest.approx(summary.loc[measure, "baseline"], rel=1e-13)
            assert row[f"{ours}_reform"] == pytest.approx(summary.loc[measure, "reform"], rel=1e-13)
        wl = pd.DataFrame(js["winners_losers"]).set_index("group").loc["all"]
        assert row["gain_more_5pct"] == pytest.approx(wl["gain_more_5pct"], rel=1e-13)
        d = dec[dec["reform"] == reform]
        assert np.allclose(d["change_pct"], pd.DataFrame(js["deciles"])["change_pct"], rtol=1e-12, atol=1e-12)
        if js["budget_neutral"]:
            assert row["budget_neutral_value"] == pytest.approx(js["budget_neutral"]["value"], rel=1e-12)
            cli_prov = pd.DataFrame(js["by_province"]).set_index("group")
            assert np.allclose(prov["change_pct"], cli_prov.loc[prov.index, "change_pct"], rtol=1e-12, atol=1e-12)
    assert table["reconciled"].all()
    # the reconciliation moves the numbers: on the unreconciled population the baseline Gini differs
    none = _cli_json(cli, "--population", f"synthetic:{PERSONS}", "--year", "2024", "--reform", "dibao_plus_20pct",
                     "--reconcile", "none")
    gini_none = pd.DataFrame(none["summary"]).set_index("measure").loc["gini", "baseline"]
    assert abs(gini_none - table.loc["dibao_plus_20pct", "gini_baseline"]) > 1e-3


def test_the_scenarios_section_states_the_reconciliation(scenarios):
    sec = scenarios
    rec = sec.tables["scenario_reconciliation"]
    assert len(rec) == 10 and set(rec["area"]) == {"urban", "rural"}
    assert np.abs(rec["baseline"] / rec["published"] - 1).max() < 1e-3  # the baseline matches the survey
    assert rec["urban_share_after"].iloc[0] == pytest.approx((41314 - 23119) / (54188 - 23119), rel=1e-12)
    notes = " ".join(sec.notes)
    assert "The baseline is reconciled with the NBS household survey of 2024" in notes
    assert "from 0.6695 to the survey's 0.5856" in notes
    assert f"prosperity simulate --population synthetic:{PERSONS} --year 2024" in notes
    from prosperity.report.monitor import data_sources, monitor_data

    sources = data_sources(None, monitor_data(None)).set_index("data_set")
    assert sources.loc["population", "origin"] == "bundled"
    assert "reconciled with the NBS household survey" in sources.loc["population", "file"]


# ------------------------------------------------------------------------------------ a project's population
POP_COLUMNS = ["--column", "household_id=hh_id,province_en=prov,area=urban_rural,weight=wt,wage_income_pc_yuan=wage,"
               "net_business_income_pc_yuan=business,net_property_income_pc_yuan=property,"
               "net_transfer_income_pc_yuan=transfers,disp_income_pc_yuan=disp"]


@pytest.mark.parametrize("reconcile", ["survey", "none"])
def test_a_project_population_gives_the_cli_s_numbers_for_the_same_file(tmp_path, cli, reconcile):
    from prosperity.report.monitor import monitor_data
    from prosperity.report.project import load_project

    root = tmp_path / "p"
    shutil.copytree(EXAMPLE, root)
    text = (root / "PROJECT.yaml").read_text(encoding="utf-8")
    assert "    reconcile: survey " in text
    (root / "PROJECT.yaml").write_text(text.replace("    reconcile: survey ", f"    reconcile: {reconcile} "),
                                       encoding="utf-8")
    project = load_project(root / "PROJECT.yaml")
    data = monitor_data(project)
    assert data.origin["population"] == "project" and len(data.population) == 3000
    spec = project.spec.datasets.population
    sec = S.scenarios(2024, 1000, "en", reforms=project.scenarios, population=data.population,
                      reconcile=spec.reconcile, wages=spec.wages, population_file=spec.path)
    table = sec.tables["scenarios"].set_index("reform")
    js = _cli_json(cli, "--population", str(root / "data" / "population.csv"), *POP_COLUMNS, "--year", "2024",
                   "--reconcile", reconcile, "--reform", str(root / "reforms" / "dibao_plus_30pct.yaml"))
    summary = pd.DataFrame(js["summary"]).set_index("measure")
    assert table.loc["dibao_plus_30pct", "net_cost_bn_yuan"] == pytest.approx(js["net_cost_bn_yuan"], rel=1e-12)
    assert table.loc["dibao_plus_30pct", "gini_reform"] == pytest.approx(summary.loc["gini", "reform"], rel=1e-13)
    notes = " ".join(sec.notes)
    assert "the project's population (data/population.csv, 3,000 persons)" in notes
    if reconcile == "survey":
        assert "scenario_reconciliation" in sec.tables and "reconciled with the NBS household survey" in notes
    else:
        assert "scenario_reconciliation" not in sec.tables and "not reconciled" in notes
        assert not table["reconciled"].any()


GOOD = (EXAMPLE / "PROJECT.yaml").read_text(encoding="utf-8")
HEADER = "hh_id,age,prov,urban_rural,wt,wage,business,property,transfers,disp\n"
ROW = "{h},{age},{prov},{area},{wt},1000,0,0,0,{disp}\n"


def _pop(*rows):
    return HEADER + "".join(ROW.format(**{"h": 1, "age": 30, "prov": "Beijing", "area": "urban", "wt": 10,
                                          "disp": 1000, **r}) for r in rows)


BAD_POPULATION = [
    ("unknown-key", GOOD.replace("reconcile: survey", "reconcile: sometimes"), None,
     ["datasets.population.reconcile: Input should be 'auto', 'survey' or 'none' (got 'sometimes')"]),
    ("unknown-role", GOOD.replace("wage_income: wage", "wages_income: wage"), None,
     ["datasets.population.columns.wages_income: unknown role 'wages_income'; did you mean 'wage_income'?",
      "required role 'wage_income' is not mapped and data/population.csv has no column 'wage_income'"]),
    ("age", GOOD, _pop({"age": 30}, {"age": 140}),
     ["datasets.population.columns.age: column 'age' (age) of data/population.csv: ages must lie between 0 and 130 "
      "(years); 1 row: data row 2 (values 140)"]),
    ("area", GOOD, _pop({"area": "town"}),
     ["column 'urban_rural' (area) of data/population.csv: areas of the population must be urban or rural; 1 row: "
      "data row 1 (values 'town')"]),
    ("province", GOOD, _pop({"prov": "Hong Kong"}),
     ["column 'prov' (province) of data/population.csv: the microsimulation has parameters for the 31 mainland "
      "provinces only"]),
    ("household-weight", GOOD, _pop({"wt": 10}, {"wt": 12}),
     ["datasets.population.columns.weight: column 'wt' (weight) of data/population.csv differs between members of "
      "the same household ('hh_id')", "2 rows: data rows 1, 2"]),
    ("disp-not-the-sum", GOOD, _pop({"disp": 1000}, {"h": 2, "disp": 1500}),
     ["datasets.population.columns.disp_income: column 'disp' (disp_income) of data/population.csv is not the sum of "
      "wage, business, property and transfer income", "1 row: data row 2 (values 500)"]),
    ("negative-wage", GOOD, HEADER + "1,30,Beijing,urban,10,-5,0,0,0,-5\n",
     ["column 'wage' (wage_income) of data/population.csv: values must not be negative; 1 row: data row 1"]),
]


@pytest.mark.parametrize("name,text,population,expected", BAD_POPULATION, ids=[b[0] for b in BAD_POPULATION])
def test_a_bad_population_is_refused_with_located_messages(tmp_path, name, text, population, expected):
    from prosperity.report.project import ProjectError, load_project

    root = tmp_path / "p"
    shutil.copytree(EXAMPLE, root)
    (root / "PROJECT.yaml").write_text(text, encoding="utf-8")
    if population is not None:
        (root / "data" / "population.csv").write_text(population, encoding="utf-8")
    with pytest.raises(ProjectError) as err:
        load_project(root / "PROJECT.yaml")
    message = str(err.value)
    for e in expected:
        assert e in message, message
    lines = text.splitlines()
    block = (lines.index("  population:                     # the policy scenarios' population: one row per person") + 1,
             next(k for k, line in enumerate(lines, 1) if line.startswith("framework:")))
    for issue in err.value.issues:  # each located in the population's block of the project file
        assert issue.line is not None and issue.column is not None, issue
        assert issue.key.startswith("datasets.population")
        assert block[0] <= issue.line < block[1], issue
