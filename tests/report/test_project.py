"""Project files for `prosperity monitor PROJECT.yaml` (issue 10): the example project runs end to
end through the CLI, the report's numbers come from the user's files, `runs diff` after one edited
file names that file (both hashes) and the numbers that moved, and every bad project file gets all
its problems at once, each located (file:line:column: key path) with a fix."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from prosperity.report.project import ProjectError, load_project

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "project"
FAST = ["--persons", "10000", "--draws", "0", "--quiet"]


def _app():
    from prosperity.cli import _register, app

    _register()
    return app


def _run(args):
    return CliRunner().invoke(_app(), args, env={"COLUMNS": "120"})


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """The example project run twice through the CLI into one store, with Shanghai's 2024 income in
    data/provinces.csv edited (88,366 -> 90,000 yuan) between the runs."""
    root = tmp_path_factory.mktemp("project")
    proj = root / "project"
    shutil.copytree(EXAMPLE, proj)
    store = root / "store.duckdb"
    first = _run(["monitor", str(proj / "PROJECT.yaml"), "--out", str(root / "run1"), "--store", str(store), *FAST])
    assert first.exit_code == 0, first.output
    csv = proj / "data" / "provinces.csv"
    before = hashlib.sha256(csv.read_bytes()).hexdigest()
    frame = pd.read_csv(csv)
    row = (frame["name"] == "Shanghai") & (frame["year"] == 2024)
    assert frame.loc[row, "income_per_head"].tolist() == [88366]  # NBS 2024
    frame.loc[row, "income_per_head"] = 90000
    frame.to_csv(csv, index=False)
    after = hashlib.sha256(csv.read_bytes()).hexdigest()
    second = _run(["monitor", str(proj / "PROJECT.yaml"), "--out", str(root / "run2"), "--store", str(store), *FAST])
    assert second.exit_code == 0, second.output
    return {"root": root, "proj": proj, "store": store, "first": first, "second": second, "before": before,
            "after": after, "frame": frame}


def test_the_example_project_runs_end_to_end(two_runs):
    root = two_runs["root"]
    out = two_runs["first"].stdout
    assert "run 1 recorded in" in out and "report:" in out
    page = (root / "run1" / "report.html").read_text(encoding="utf-8")
    assert "Common prosperity monitoring, example project (2024)" in page  # the project's title, {year} filled in
    assert "from the project PROJECT.yaml" in page
    head = pd.read_csv(root / "run1" / "tables" / "headline.csv").set_index("indicator")
    # the project's targets replace the illustrative ones, with their target years
    assert head.loc["urban_rural_income_ratio", "target"] == 2.0
    assert head.loc["urban_rural_income_ratio", "target_year"] == 2035
    assert head.loc["s80_s20", "target"] == 8.0 and head.loc["s80_s20", "status"].startswith("off track")
    # income 41,314 in 2024, slope of the last five years 2,234 a year: 60,000 is reached in 2033 < 2035
    assert head.loc["disp_income_pc_yuan", "status"] == "reached by 2033 at the current trend (target year 2035)"
    sources = pd.read_csv(root / "run1" / "tables" / "data_sources.csv").set_index("data_set")
    assert sources.loc["provinces", "origin"] == "project" and sources.loc["provinces", "file"] == "data/provinces.csv"
    assert sources.loc["index_panel", "origin"] == "bundled"  # not configured: the bundled panel, and it says so
    assert sources.loc["scenarios", "file"] == "dibao_plus_30pct, east_west_transfer"
    prov = pd.read_csv(root / "run1" / "tables" / "provenance.csv").set_index("file")
    assert prov.loc["data/provinces.csv", "sha256"] == two_runs["before"]
    assert prov.loc["data/provinces.csv", "key"] == "datasets.provinces"
    assert prov.loc["china_provinces_naturalearth.geojson", "origin"] == "bundled"
    sc = pd.read_csv(root / "run1" / "tables" / "scenarios.csv").set_index("reform")
    assert list(sc.index) == ["dibao_plus_30pct", "east_west_transfer"]  # the project's reform file is run
    assert sc.loc["east_west_transfer", "net_cost_bn_yuan"] == pytest.approx(0.0, abs=1e-6)
    dec = pd.read_csv(root / "run1" / "tables" / "nested_decomposition.csv")
    assert dec["share"].sum() == pytest.approx(1.0, abs=1e-9)
    index = pd.read_csv(root / "run1" / "tables" / "index_five_concepts.csv")
    assert len(index) == 31
    assert not (root / "run1" / "tables" / "index_zhejiang_2025.csv").exists()  # only the project's frameworks


def test_the_example_s_population_feeds_the_scenarios_reconciled(two_runs):
    """datasets.population (issue 9): the scenarios run on the project's 3,000 persons, reconciled with
    the survey as the project asks, and the data_sources and provenance tables say so."""
    root = two_runs["root"]
    sources = pd.read_csv(root / "run1" / "tables" / "data_sources.csv").set_index("data_set")
    assert sources.loc["population", "origin"] == "project"
    assert sources.loc["population", "file"] == ("data/population.csv (reconcile: survey, reconciled with the NBS "
                                                 "household survey; wages: gross)")
    assert "synthetic population" not in sources.index  # the scenarios did not use the bundled one
    prov = pd.read_csv(root / "run1" / "tables" / "provenance.csv").set_index("file")
    assert prov.loc["data/population.csv", "key"] == "datasets.population"
    rec = pd.read_csv(root / "run1" / "tables" / "scenario_reconciliation.csv")
    assert len(rec) == 10 and np.abs(rec["error_baseline"]).max() < 1e-3
    assert "project&#x27;s population (data/population.csv, 3,000 persons)" in \
        (root / "run1" / "report.html").read_text(encoding="utf-8")


def test_the_numbers_come_from_the_users_file(two_runs):
    root, frame = two_runs["root"], two_runs["frame"]
    inc1 = pd.read_csv(root / "run1" / "tables" / "province_income.csv")
    inc2 = pd.read_csv(root / "run2" / "tables" / "province_income.csv")
    sel = lambda f: f.loc[(f["province_en"] == "Shanghai") & (f["year"] == 2024), "disp_income_pc_yuan"].item()  # noqa: E731
    assert (sel(inc1), sel(inc2)) == (88366, 90000)
    # the regional gap of 2024 by hand from the edited file: population-weighted CV of the province means
    g = frame[frame["year"] == 2024]
    p = g["pop_10k"].to_numpy(float) / g["pop_10k"].sum()
    mu_i = g["income_per_head"].to_numpy(float)
    mu = p @ mu_i
    cv = np.sqrt(p @ (mu_i - mu) ** 2) / mu
    gaps = pd.read_csv(root / "run2" / "tables" / "three_gaps.csv")
    got = gaps.loc[(gaps["year"] == 2024) & (gaps["indicator"] == "cv_weighted"), "value"].item()
    assert got == pytest.approx(cv, rel=1e-12)
    old = pd.read_csv(root / "run1" / "tables" / "three_gaps.csv")
    assert old.loc[(old["year"] == 2024) & (old["indicator"] == "cv_weighted"), "value"].item() < got
    assert "highest in Shanghai (90,000 yuan)" in (root / "run2" / "report.html").read_text(encoding="utf-8")


def test_runs_diff_names_the_changed_file_and_what_moved(two_runs):
    import json

    store = two_runs["store"]
    out = _run(["runs", "diff", "1", "2", "--store", str(store)])
    assert out.exit_code == 0, out.output
    assert f"inputs changed: data/provinces.csv ({two_runs['before'][:12]} -> {two_runs['after'][:12]})" in out.stdout
    assert "code changed: no" in out.stdout and "parameters changed: none" in out.stdout
    js = json.loads(_run(["runs", "diff", "1", "2", "--store", str(store), "--format", "json"]).stdout)
    assert js["inputs_changed"] == [{"file": "data/provinces.csv", "sha256_a": two_runs["before"],
                                     "sha256_b": two_runs["after"]}]
    moved = pd.DataFrame(js["moved"])
    cell = moved[(moved["table_name"] == "province_income") & (moved["column_name"] == "disp_income_pc_yuan")]
    assert cell[["value_a", "value_b"]].values.tolist() == [[88366.0, 90000.0]]  # the one edited number
    assert {"three_gaps", "sigma_convergence", "beta_convergence"} <= set(moved["table_name"])
    assert "headline" in set(moved["table_name"])  # cv_weighted of 2024 is a headline indicator
    assert not moved["table_name"].isin(["distribution", "nested_decomposition", "scenarios"]).any()
    show = _run(["runs", "show", "2", "--store", str(store), "--format", "json"])
    info = json.loads(show.stdout)
    assert info["parameters"]["project"] == str((two_runs["proj"] / "PROJECT.yaml").resolve())
    assert info["inputs"]["data/provinces.csv"] == two_runs["after"]
    assert "PROJECT.yaml" in info["inputs"] and "china_cpi_national_2016_2025_nbs.csv" in info["inputs"]


def test_an_edited_national_series_moves_the_headline(tmp_path):
    """In process and cheap: the headline section on a copy whose national.csv says 2024 income is 50,000."""
    from prosperity.report import sections as S
    from prosperity.report.monitor import monitor_data

    proj = tmp_path / "p"
    shutil.copytree(EXAMPLE, proj)
    nat = pd.read_csv(proj / "data" / "national.csv")
    nat.loc[nat["年份"] == 2024, "全国居民人均可支配收入"] = 50000
    nat.to_csv(proj / "data" / "national.csv", index=False)
    project = load_project(proj / "PROJECT.yaml")
    data = monitor_data(project)
    gaps, _ = data.gaps(project.targets)
    head = S.headline(2024, gaps.to_frame(), data.survey_wide(), "en", targets=project.targets).tables["headline"]
    head = head.set_index("indicator")
    assert head.loc["disp_income_pc_yuan", "value"] == 50000
    # slope of 2020-2024 (32189, 35128, 36883, 39218, 50000) by least squares
    assert head.loc["disp_income_pc_yuan", "trend_per_year"] == pytest.approx(
        np.polyfit([2020, 2021, 2022, 2023, 2024], [32189, 35128, 36883, 39218, 50000], 1)[0], rel=1e-12)
    slope = head.loc["disp_income_pc_yuan", "trend_per_year"]
    reach = int(np.ceil(2024 + (60000 - 50000) / slope))
    assert reach == 2027
    assert head.loc["disp_income_pc_yuan", "status"] == f"reached by {reach} at the current trend (target year 2035)"


# ------------------------------------------------------------------------------ bad project files
GOOD = (EXAMPLE / "PROJECT.yaml").read_text(encoding="utf-8")


def _edit(old, new, text=GOOD):
    assert old in text, old
    return text.replace(old, new)


def _line_of(text, needle):
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


BAD = [
    # (id, PROJECT.yaml text, {relative file: new content} or None, [expected substrings])
    ("malformed-yaml", "datasets:\n  national: [a, b\nyear: 2020\n", None,
     ["PROJECT.yaml:3:5: <top>: malformed YAML: expected ',' or ']'"]),
    ("not-a-mapping", "- year: 2024\n", None, ["PROJECT.yaml:1:1: <top>: a project file must be a mapping"]),
    ("unknown-top-key", _edit("framework: [", "frameworks: ["), None,
     ["frameworks: unknown key 'frameworks'; did you mean 'framework'?"]),
    ("unknown-dataset", _edit("  provinces:\n", "  province:\n"), None,
     ["datasets.province: unknown key 'province'; did you mean 'provinces'?"]),
    ("unknown-dataset-key", _edit("    path: data/provinces.csv\n", "    paht: data/provinces.csv\n"), None,
     ["datasets.provinces.paht: unknown key 'paht'; did you mean 'path'?",
      "datasets.provinces: required key 'path' is missing"]),
    ("missing-file", _edit("path: data/provinces.csv", "path: data/provinces_2024.csv"), None,
     ["datasets.provinces.path: file 'data/provinces_2024.csv' does not exist (resolved: {root}/data/provinces_2024.csv)"
      "; did you mean 'provinces.csv'?"]),
    ("column-not-in-file", _edit("income: income_per_head", "income: income_pc"), None,
     ["datasets.provinces.columns.income: column 'income_pc' (role income) is not in data/provinces.csv; did you mean "
      "'income_per_head'?; the file's columns: 'name', 'name_zh', 'year', 'income_per_head', 'pop_10k'"]),
    ("unknown-role", _edit("population: pop_10k", "popultion: pop_10k"), None,
     ["datasets.provinces.columns.popultion: unknown role 'popultion'; did you mean 'population'?",
      "required role 'population' is not mapped and data/provinces.csv has no column 'population'"]),
    ("year-wrong-type", _edit("year: 2024\n", "year: next\n"), None,
     ["year: Input should be a valid integer, unable to parse string as an integer (got 'next')"]),
    ("columns-wrong-type", _edit("      income: disp_income_pc_yuan\n", "      - disp_income_pc_yuan\n"), None,
     ["datasets.quintiles.columns: Input should be a valid dictionary (got a list)"]),
    ("lang", _edit("lang: en", "lang: fr"), None, ["lang: Input should be 'en' or 'zh' (got 'fr')"]),
    ("year-not-in-data", _edit("year: 2024\n", "year: 2030\n"), None,
     ["year: 2030 is not a year of datasets.national (2015-2024)"]),
    ("target-indicator", _edit("indicator: gini_official", "indicator: gini_offical"), None,
     ["targets[1].indicator: unknown indicator 'gini_offical'; did you mean 'gini_official'?"]),
    ("target-value", _edit("target: 8.0", "target: high"), None,
     ["targets[2].target: Input should be a valid number, unable to parse string as a number (got 'high')"]),
    ("framework", _edit("[affluence_sharing, five_concepts]", "[affluence, five_concepts]"), None,
     ["framework[0]: 'affluence' is neither a bundled framework", "did you mean 'affluence_sharing'?"]),
    ("scenario-file", _edit("reforms/dibao_plus_30pct.yaml", "reforms/dibao_plus_40pct.yaml"), None,
     ["scenarios[0]: 'reforms/dibao_plus_40pct.yaml' is neither a shipped reform"]),
    ("reform-content", GOOD, {"reforms/dibao_plus_30pct.yaml": "name: x\nchanges:\n  dibao.standard.urbn:\n"
                                                                "    2024-01-01: {multiply: 1.3}\n"},
     ["scenarios[0]: ", "dibao.standard.urbn"]),
    ("budget-parameter", _edit("budget_neutral: regional_transfers.east_west.levy_rate",
                               "budget_neutral: regional_transfers.east_west.levy"), None,
     ["scenarios[1].budget_neutral: 'regional_transfers.east_west.levy' is not a parameter of the microsimulation; "
      "did you mean 'regional_transfers.east_west.levy_rate'?"]),
    ("bad-values", GOOD, {"data/provinces.csv": "name,name_zh,year,income_per_head,pop_10k\n"
                                                "Beijing,北京市,2023,81752,2186\nBeijing,北京市,2024,-5,2183\n"
                                                "Tianjin,天津市,2024,abc,1364\n"},
     ["datasets.provinces.columns.income: column 'income_per_head' (income) of data/provinces.csv: values that are "
      "not numbers; 1 row: data row 3 (values 'abc')",
      "column 'income_per_head' (income) of data/provinces.csv: values must be positive; 1 row: data row 2 (values -5)"]),
    ("province-name", GOOD, {"data/provinces.csv": "name,name_zh,year,income_per_head,pop_10k\n"
                                                   "Beijng,北京市,2024,85415,2183\n"},
     ["datasets.provinces.columns.province: column 'name' (province) of data/provinces.csv: 1 province name(s) not "
      "in the bundled boundaries: 'Beijng' (did you mean 'Beijing'?)"]),
    ("duplicate-rows", GOOD, {"data/provinces.csv": "name,name_zh,year,income_per_head,pop_10k\n"
                                                    "Beijing,北京市,2024,85415,2183\nBeijing,北京市,2024,85415,2183\n"},
     ["datasets.provinces.path: data/provinces.csv: 2 rows repeat the same province, year"]),
    ("format-mismatch", _edit("    path: data/national.csv\n", "    path: data/national.csv\n    format: parquet\n"),
     None, ["datasets.national.format: format 'parquet' but 'national.csv' is read as csv"]),
    ("duplicate-key", _edit("lang: en\n", "lang: en\nlang: zh\n"), None,
     ["lang: duplicate key 'lang' (YAML keeps only the last)"]),
]


@pytest.mark.parametrize("name,text,files,expected", BAD, ids=[b[0] for b in BAD])
def test_bad_project_files_are_refused_with_located_messages(tmp_path, name, text, files, expected):
    root = tmp_path / "p"
    shutil.copytree(EXAMPLE, root)
    (root / "PROJECT.yaml").write_text(text, encoding="utf-8")
    for rel, content in (files or {}).items():
        (root / rel).write_text(content, encoding="utf-8")
    with pytest.raises(ProjectError) as err:
        load_project(root / "PROJECT.yaml")
    message = str(err.value)
    for e in expected:
        assert e.format(root=root) in message, message
    assert isinstance(err.value, ValueError)  # the package's input error (a ValueError)
    # every issue is located: file:line:column: key path
    for issue in err.value.issues:
        assert issue.line is not None and issue.column is not None, issue
    first = err.value.issues[0]
    if name not in ("malformed-yaml", "not-a-mapping", "bad-values", "province-name", "duplicate-rows",
                    "reform-content"):
        needle = {"year-not-in-data": "year: 2030", "year-wrong-type": "year: next"}.get(name)
        if needle:
            assert first.line == _line_of(text, needle)


def test_all_problems_are_reported_at_once_and_the_cli_exits_2_without_a_traceback(tmp_path):
    root = tmp_path / "p"
    shutil.copytree(EXAMPLE, root)
    text = _edit("lang: en", "lang: fr")
    text = _edit("path: data/provinces.csv", "path: data/nope.csv", text)
    text = _edit("indicator: gini_official", "indicator: gini_offical", text)
    (root / "PROJECT.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ProjectError) as err:
        load_project(root / "PROJECT.yaml")
    assert [i.key for i in err.value.issues] == ["lang", "datasets.provinces.path", "targets[1].indicator"]
    assert [i.line for i in err.value.issues] == [_line_of(text, "lang: fr"), _line_of(text, "data/nope.csv"),
                                                  _line_of(text, "gini_offical")]
    out = _run(["monitor", str(root / "PROJECT.yaml"), "--out", str(tmp_path / "o"), "--no-store", "--quiet"])
    assert out.exit_code == 2
    assert "has 3 problems (nothing ran)" in out.output and "Traceback" not in out.output
    assert f"PROJECT.yaml:{_line_of(text, 'lang: fr')}:7: lang:" in out.output
    assert not (tmp_path / "o").exists()  # nothing ran
    missing = _run(["monitor", str(tmp_path / "nope.yaml"), "--no-store", "--quiet"])
    assert missing.exit_code == 2 and "the project file does not exist" in missing.output


def test_an_index_panel_and_a_framework_file_from_the_project(tmp_path):
    """The composite index on the project's own panel (here the bundled panel written to a Parquet file
    with renamed keys): the same scores as on the bundled panel; one edited indicator moves them."""
    from prosperity.index.china import china_provincial_panel
    from prosperity.report import sections as S

    root = tmp_path / "p"
    shutil.copytree(EXAMPLE, root)
    panel = china_provincial_panel().rename(columns={"province": "prov", "year": "jahr"})
    panel.to_parquet(root / "data" / "panel.parquet", index=False)
    fw = (Path(S.__file__).parent.parent / "index" / "frameworks" / "affluence_sharing.yaml").read_text(encoding="utf-8")
    (root / "ours.yaml").write_text(fw.replace("name: Affluence x sharing", "name: Our index", 1), encoding="utf-8")
    text = _edit("framework: [affluence_sharing, five_concepts]", "framework: ours.yaml")
    text = _edit("datasets:\n", "datasets:\n  index_panel:\n    path: data/panel.parquet\n"
                 "    columns: {region: prov, year: jahr}\n", text)
    (root / "PROJECT.yaml").write_text(text, encoding="utf-8")
    project = load_project(root / "PROJECT.yaml")
    assert [k for k, _ in project.frameworks] == ["ours"]
    assert "ours.yaml" in {i.file for i in project.inputs} and "data/panel.parquet" in {i.file for i in project.inputs}
    from prosperity.report.monitor import monitor_data

    sec = S.composite_index("en", 0, frameworks=project.frameworks, panel=monitor_data(project).index_panel)
    ours = sec.tables["index_ours"].set_index("region")
    bundled = S.composite_index("en", 0).tables["index_affluence_sharing"].set_index("region")
    assert np.allclose(ours["score"], bundled.loc[ours.index, "score"], rtol=0, atol=1e-15)
    assert "Our index" in sec.findings[0]
    # Beijing's 2018 GDP per head halved in the user's panel: its score falls
    panel.loc[(panel["prov"] == "Beijing") & (panel["jahr"] == 2018), "gdp_pc"] /= 2
    panel.to_parquet(root / "data" / "panel.parquet", index=False)
    project = load_project(root / "PROJECT.yaml")
    sec2 = S.composite_index("en", 0, frameworks=project.frameworks, panel=monitor_data(project).index_panel)
    assert sec2.tables["index_ours"].set_index("region").loc["Beijing", "score"] < ours.loc["Beijing", "score"]
    # a panel without a column the framework needs: the framework's own located message, under framework
    panel.drop(columns=["wage_avg"]).to_parquet(root / "data" / "panel.parquet", index=False)
    with pytest.raises(ProjectError) as err:
        load_project(root / "PROJECT.yaml")
    assert "framework: in ours.yaml: line" in str(err.value) and "column 'wage_avg' is not in the data" in str(err.value)


def test_excel_and_semicolon_files(tmp_path):
    """The package's reader: an Excel workbook, and a GBK CSV with ';' named by encoding/sep."""
    root = tmp_path / "p"
    shutil.copytree(EXAMPLE, root)
    frame = pd.read_csv(root / "data" / "provinces.csv")
    frame.to_excel(root / "data" / "provinces.xlsx", index=False)
    nat = pd.read_csv(root / "data" / "national.csv")
    nat.to_csv(root / "data" / "national_gbk.csv", index=False, sep=";", encoding="gbk")
    text = _edit("path: data/provinces.csv", "path: data/provinces.xlsx\n    format: xlsx")
    text = _edit("path: data/national.csv", "path: data/national_gbk.csv\n    encoding: gbk\n    sep: \";\"", text)
    (root / "PROJECT.yaml").write_text(text, encoding="utf-8")
    project = load_project(root / "PROJECT.yaml")
    p = project.data["provinces"]
    assert len(p) == 279 and p.loc[(p["province"] == "Shanghai") & (p["year"] == 2024), "income"].item() == 88366
    n = project.data["national"].set_index("year")
    assert n.loc[2024, "income"] == 41314 and n.loc[2024, "gini_official"] == 0.465
