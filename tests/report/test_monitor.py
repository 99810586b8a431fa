"""The monitoring report (issue 10): every section computed from the bundled data, one self-contained
HTML file that loads nothing from the network, the tables behind the figures, both languages."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from prosperity.report import build_monitor


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("monitor")
    return build_monitor(2024, out=out, persons=20_000, draws=20, store=out / "store.duckdb")


def test_the_run_is_recorded_in_the_store(report):
    from prosperity.report import store as st

    assert report.run_id == 1
    info = st.show_run(report.store, 1)
    assert info["parameters"] == {"year": 2024, "lang": "en", "persons": 20000, "draws": 20}
    assert "china_income_quintiles_2015_2024_nbs.csv" in info["inputs"]
    assert {t["table_name"] for t in info["tables"]} == set(report.tables)
    head = st.result_table(report.store, 1, "headline")
    assert float(head.loc[head["indicator"] == "gini_official", "value"].iloc[0]) == pytest.approx(0.465)


def test_every_section_is_there_with_computed_findings(report):
    keys = [s.key for s in report.sections]
    assert keys == ["headline", "gaps", "distribution", "regions", "decomposition", "index", "scenarios", "methods"]
    head = report.summary().set_index("indicator")
    assert head.loc["disp_income_pc_yuan", "value"] == 41314  # NBS 2024 national per-capita disposable income
    assert head.loc["gini_official", "value"] == pytest.approx(0.465)
    assert head.loc["urban_rural_income_ratio", "value"] == pytest.approx(54188 / 23119, rel=1e-3)
    # the trend is the least-squares slope of the last five years, and the text quotes it
    text = " ".join(next(s for s in report.sections if s.key == "headline").findings)
    assert "2.344 in 2024" in text and "Target 1.9" in text
    dist = next(s for s in report.sections if s.key == "distribution").tables["distribution"].set_index("year")
    assert dist.loc[2024, "gini_official"] == pytest.approx(0.465)
    assert 0.35 < dist.loc[2024, "gini_reconstructed"] < 0.47  # five points of a Lorenz curve: below the survey's Gini
    idx = next(s for s in report.sections if s.key == "index")
    for name in ("affluence_sharing", "five_concepts", "zhejiang_2025"):
        frame = idx.tables[f"index_{name}"]
        assert len(frame) == 31 and frame["score"].notna().all() and (frame["year"] == 2018).all()
    sc = next(s for s in report.sections if s.key == "scenarios").tables["scenarios"].set_index("reform")
    assert sc.loc["east_west_transfer", "net_cost_bn_yuan"] == pytest.approx(0.0, abs=1e-6)  # budget-neutral
    assert sc.loc["dibao_plus_20pct", "net_cost_bn_yuan"] > 0
    dec = next(s for s in report.sections if s.key == "decomposition").tables["nested_decomposition"]
    assert dec["share"].sum() == pytest.approx(1.0, abs=1e-9)  # the levels add up exactly


def test_the_html_is_self_contained(report):
    page = report.html_path.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=", page)  # plotly.js is inline
    assert not re.search(r"<link[^>]+href=\"?https?:", page)  # no external stylesheets or fonts
    assert "Plotly.newPlot" in page and page.count('class="figure"') >= 12
    assert "cdn.plot.ly" not in page.split("</script>", 1)[1]  # no figure asks for a CDN resource
    assert "geo" not in {m for m in re.findall(r'"type":"(\w+)"', page.split("</script>", 1)[1])}  # no base-map download


def test_tables_are_written_as_csv_and_parquet(report):
    for name, csv in report.tables.items():
        assert csv.exists() and csv.with_suffix(".parquet").exists()
        a = pd.read_csv(csv)
        b = pd.read_parquet(csv.with_suffix(".parquet"))
        assert len(a) == len(b) > 0, name
    prov = pd.read_csv(report.out / "tables" / "provenance.csv")
    assert prov["sha256"].str.fullmatch(r"[0-9a-f]{64}").all()


def test_chinese_report_and_cli(tmp_path):
    from prosperity.cli import _register, app

    _register()
    out = CliRunner().invoke(app, ["monitor", "--lang", "zh", "--out", str(tmp_path), "--persons", "20000",
                                   "--draws", "0", "--quiet"],
                             env={"COLUMNS": "100", "PROSPERITY_STORE": str(tmp_path / "store.duckdb")})
    assert out.exit_code == 0, out.output
    assert "report:" in out.stdout and "headline indicators" in out.stdout and "run 1 recorded in" in out.stdout
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "共同富裕监测报告（2024年）" in page and "城乡居民收入比" in page
    bad = CliRunner().invoke(app, ["monitor", "--year", "1999", "--out", str(tmp_path)])
    assert bad.exit_code == 2 and "covers 2015-2024" in bad.output
    bad = CliRunner().invoke(app, ["monitor", "--lang", "fr"])
    assert bad.exit_code == 2 and "--lang must be en or zh" in bad.output


def test_an_early_year_uses_each_source_s_nearest_year_and_says_so(tmp_path):
    rep = build_monitor(2015, out=tmp_path, persons=10_000, draws=0, store=False)
    head = rep.summary().set_index("indicator")
    assert head.loc["disp_income_pc_yuan", "value"] == 21966  # NBS 2015
    dist = next(s for s in rep.sections if s.key == "distribution")
    assert any("2015: the middle-income share is not computed" in f for f in dist.findings)
    regions = next(s for s in rep.sections if s.key == "regions")
    assert any(f.startswith("2017: per-capita disposable income is highest") for f in regions.findings)


def test_without_a_project_every_data_set_is_bundled_and_the_report_says_so(report):
    sources = pd.read_csv(report.out / "tables" / "data_sources.csv").set_index("data_set")
    assert (sources["origin"] == "bundled").all()
    assert sources.loc["frameworks", "file"] == "affluence_sharing, five_concepts, zhejiang_2025"
    methods = next(s for s in report.sections if s.key == "methods")
    assert any(f.startswith("No project file: every section runs on the bundled data") for f in methods.findings)
    head = report.summary().set_index("indicator")
    assert head["target_year"].isna().all()  # the illustrative targets have no target year
    assert head.loc["urban_rural_income_ratio", "target"] == 1.9 and head.loc["gini_official", "target"] == 0.4


def test_the_lisa_map_and_the_reconciliation_are_new_tables_in_the_store_and_the_page(report):
    """Issues 14 and 9: the spatial tables and the scenarios' reconciliation are recorded under new names;
    the tables that were there stay; the page carries the LISA map with its caption."""
    from prosperity.report import store as st

    names = {t["table_name"] for t in st.show_run(report.store, report.run_id)["tables"]}
    assert {"province_lisa", "province_moran", "scenario_reconciliation"} <= names
    assert {"province_income", "scenarios", "scenario_deciles", "simulation_validation", "transition_matrix"} <= names
    regions = next(s for s in report.sections if s.key == "regions")
    stored = st.result_table(report.store, report.run_id, "province_lisa")
    assert stored["cluster"].tolist() == regions.tables["province_lisa"]["cluster"].tolist()
    assert len(stored) == 62  # 31 provinces x (income, growth)
    page = report.html_path.read_text(encoding="utf-8")
    assert "LISA clusters of per-capita disposable income, 2024 (local Moran, 999 permutations, seed 12345, p" in page
    assert "The baseline is reconciled with the NBS household survey of 2024" in page
