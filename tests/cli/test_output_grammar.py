"""One output grammar (issue 13): --out on growth and household, --format on data/synth/demo, --encoding
and --sep on growth and simulate, shares as fractions in data and --percent in tables only, units in
the table footers, the whole sample labelled (all), synth's progress bar and its labelled --check table."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from prosperity.cli import _register, app
from prosperity.datasets import dataset_path

_register()
E = str(dataset_path("eusilc"))
E8, E16 = str(dataset_path("enigh_2008")), str(dataset_path("enigh_2016"))
GROWTH = ["growth", E8, E16, "--income", "income", "--weight", "factor", "--years", "8"]


def run(*args, **env):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "80", **env})


def cells(stdout: str) -> list[list[str]]:
    """The body rows of the rich tables in ``stdout``, as lists of stripped cells."""
    return [[c.strip() for c in line.strip().strip("│").split("│")] for line in stdout.splitlines()
            if line.startswith("│")]


# ------------------------------------------------------------------------------------ --out, --format


@pytest.mark.parametrize("ext", [".csv", ".parquet", ".json"])
def test_growth_out_is_the_curve(tmp_path, ext):
    csv = run(*GROWTH, "--format", "csv")
    res = run(*GROWTH, "--out", str(tmp_path / f"g{ext}"), "--format", "json")
    assert res.exit_code == 0, res.output
    want = pd.read_csv(io.StringIO(csv.stdout))
    got = {".csv": pd.read_csv, ".parquet": pd.read_parquet, ".json": pd.read_json}[ext](tmp_path / f"g{ext}")
    assert list(got.columns) == list(want.columns) and len(got) == 99
    np.testing.assert_allclose(got["growth"], want["growth"], rtol=1e-13)
    doc = json.loads(res.stdout)  # the JSON contract is unchanged by --out
    assert doc["summary"]["growth_of_mean"]["value"] == pytest.approx(0.02998, abs=5e-6)


def test_growth_out_xlsx_has_the_curve_and_the_summary(tmp_path):
    res = run(*GROWTH, "--out", str(tmp_path / "g.xlsx"))
    assert res.exit_code == 0, res.output
    sheets = pd.read_excel(tmp_path / "g.xlsx", sheet_name=None)
    assert list(sheets) == ["curve", "summary"]
    summary = sheets["summary"].set_index("statistic")
    assert summary.loc["growth_of_median", "value"] == pytest.approx(0.03525, abs=5e-6)
    assert summary.loc["premium_bottom40", "value"] == pytest.approx(
        summary.loc["growth_bottom40", "value"] - summary.loc["growth_of_mean", "value"], abs=1e-12)
    bad = run(*GROWTH, "--out", str(tmp_path / "g.txt"))
    assert bad.exit_code == 2 and "the extension says the format" in bad.output


def test_household_out(tmp_path):
    args = ["household", "--wage", "120000", "--children", "1", "--province", "Zhejiang"]
    csv = run(*args, "--format", "csv")
    assert csv.exit_code == 0, csv.output
    res = run(*args, "--out", str(tmp_path / "h.xlsx"), "--format", "json")
    assert res.exit_code == 0, res.output
    sheets = pd.read_excel(tmp_path / "h.xlsx", sheet_name=None)
    assert list(sheets) == ["steps", "members", "curve"]
    want = pd.read_csv(io.StringIO(csv.stdout))
    np.testing.assert_allclose(sheets["curve"]["disposable_income"], want["disposable_income"], rtol=1e-12)
    doc = json.loads(res.stdout)
    assert len(doc["curve"]) == len(want)
    assert run(*args, "--out", str(tmp_path / "h.parquet")).exit_code == 0
    assert pd.read_parquet(tmp_path / "h.parquet")["wage"].tolist() == want["wage"].tolist()


def test_data_formats():
    listed = json.loads(run("data", "list", "--format", "json").stdout)
    eusilc = next(d for d in listed if d["name"] == "eusilc")
    assert eusilc["rows"] == 14827 and eusilc["units"]["py*n, hy*n, eqIncome"] == "euro per year (net)"
    assert json.loads(run("data", "path", "eusilc", "--format", "json").stdout)["path"] == E
    shown = json.loads(run("data", "show", "nbs_official_gini", "--format", "json", "-n", "0").stdout)
    assert shown["shape"] == [10, 2] and shown["rows"][0]["gini"] == 0.462
    assert run("data", "show", "nbs_official_gini", "--format", "csv", "-n", "0").stdout == \
        run("data", "show", "nbs_official_gini", "--csv", "-n", "0").stdout
    assert run("data", "list", "--format", "yaml").exit_code == 2


def test_demo_formats():
    frame = pd.read_csv(io.StringIO(run("demo", "--format", "csv").stdout))
    assert list(frame.columns[:4]) == ["sample", "by", "group", "measure"] and frame["group"].notna().all()
    whole = frame[(frame["sample"] == "eusilc") & (frame["group"] == "(all)")].set_index("measure")["value"]
    assert whole["gini"] == pytest.approx(0.2648962, abs=5e-8)  # laeken: 26.48962 %
    doc = json.loads(run("demo", "--format", "json").stdout)
    assert [d["sample"] for d in doc] == ["eusilc", "ilocos"] and doc[0]["results"][0]["by"] == {}


# ------------------------------------------------------------------------------------ --encoding / --sep


def test_growth_reads_gbk_semicolon_files(tmp_path):
    paths = []
    for i, src in enumerate((E8, E16)):
        frame = pd.read_csv(src).rename(columns={"income": "收入"})
        paths.append(tmp_path / f"y{i}.csv")
        frame.to_csv(paths[-1], sep=";", index=False, encoding="gbk")
    base = json.loads(run(*GROWTH, "--format", "json").stdout)["summary"]
    args = ["growth", *map(str, paths), "--income", "收入", "--weight", "factor", "--years", "8", "--format", "json"]
    for extra in ([], ["--encoding", "gbk", "--sep", ";"]):
        res = run(*args, *extra)
        assert res.exit_code == 0, res.output
        got = json.loads(res.stdout)["summary"]
        assert got["growth_of_mean"]["value"] == pytest.approx(base["growth_of_mean"]["value"], rel=1e-12)
    bad = run(*args, "--sep", ",")
    assert bad.exit_code == 2 and "header was read as one column" in bad.output


def test_simulate_reads_a_gbk_semicolon_population(tmp_path):
    from prosperity.synth import synthesize_population

    pop = synthesize_population(2024, persons=5000, seed=3)
    pop.to_parquet(tmp_path / "p.parquet")
    pop.to_csv(tmp_path / "p.csv", sep=";", index=False, encoding="gbk")
    args = ["simulate", "-r", "dibao_plus_20pct", "--format", "json"]
    want = json.loads(run(*args, "-p", str(tmp_path / "p.parquet")).stdout)
    res = run(*args, "-p", str(tmp_path / "p.csv"), "--encoding", "gbk", "--sep", ";")
    assert res.exit_code == 0, res.output
    got = json.loads(res.stdout)
    assert got["net_cost_bn_yuan"] == pytest.approx(want["net_cost_bn_yuan"], rel=1e-9)
    bad = run(*args, "-p", "synthetic:5000", "--sep", ";")
    assert bad.exit_code == 2 and "apply to a --population FILE" in bad.output


# ------------------------------------------------------------------------------------ shares, units, (all)


def test_shares_are_fractions_in_data_and_percent_only_on_request():
    args = ["measure", E, "--income", "eqIncome", "--weight", "rb050", "--measures", "arpr,gini"]
    frame = pd.read_csv(io.StringIO(run(*args, "--format", "csv", "--percent").stdout)).set_index("measure")
    assert frame.loc["arpr", "value"] == pytest.approx(0.1444422, abs=5e-8)  # laeken: 14.44422 %
    plain, pct = cells(run(*args).stdout), cells(run(*args, "--percent").stdout)
    assert plain[0][:2] == ["0.1444", "0.2649"] and pct[0][:2] == ["14.44 %", "0.2649"]  # the Gini is no share
    dec = ["decompose", E, "--income", "eqIncome", "--weight", "rb050", "--levels", "db040"]
    assert cells(run(*dec).stdout)[0] == ["db040", "between", "0.000617631", "0.005116"]
    assert cells(run(*dec, "--percent").stdout)[0] == ["db040", "between", "0.000617631", "0.51 %"]
    gaps = {}
    for row in cells(run("gaps", "--percent").stdout):  # the first block of years: 2015 first
        gaps.setdefault(row[0], row)
    assert gaps["middle_share"][1] == "50.37 %" and gaps["s80_s20"][1] == "10.45"  # 2015; a ratio stays a ratio


def test_units_footer_from_metadata_option_or_input(tmp_path):
    args = ["--income", "eqIncome", "--weight", "rb050", "--measures", "gini"]
    assert "units (eusilc metadata): eqIncome: euro per year (net)" in " ".join(run("measure", E, *args).stdout.split())
    copy = tmp_path / "mine.csv"
    pd.read_csv(E).to_csv(copy, index=False)
    mine = " ".join(run("measure", str(copy), *args).stdout.split())
    assert "units: income as in the input file (--units to name them)" in mine
    named = " ".join(run("measure", str(copy), *args, "--units", "yuan per person per year, 2024 prices").stdout.split())
    assert "units: income in yuan per person per year, 2024 prices (--units)" in named
    sim = " ".join(run("simulate", "-p", "synthetic:5000").stdout.split())
    assert "units: yuan per person per year (per capita: household income / members), current prices of 2024" in sim
    gaps = " ".join(run("gaps").stdout.split())
    assert "provinces yuan per person per year, all residents, current prices" in gaps


def test_the_whole_sample_is_labelled_all():
    import prosperity

    r = prosperity.measure(pd.read_csv(E), income="eqIncome", weight="rb050", measures=["gini"], by=["db040", "rb090"],
                           margins=True)
    frame = r.to_frame()
    assert frame[["db040", "rb090"]].notna().all().all()
    first = frame.iloc[0]
    assert (first["db040"], first["rb090"]) == ("(all)", "(all)") and first["value"] == pytest.approx(0.2648962, abs=5e-8)
    assert r.to_json_records()[0]["by"] == {}  # the JSON contract keeps the empty "by"
    assert r.value_of("gini") == first["value"]
    rows = cells(run("simulate", "-p", "synthetic:5000", "-r", "dibao_plus_20pct").stdout)
    assert any(row[0] == "(all)" for row in rows)
    dec = cells(run("decompose", E, "--income", "eqIncome", "--levels", "db040").stdout)
    assert dec[-1][:2] == ["(all)", "total"]


# ------------------------------------------------------------------------------------ synth


def test_synth_check_is_a_labelled_table(tmp_path):
    res = run("synth", "--out", str(tmp_path / "p.parquet"), "--persons", "3000", "--check")
    assert res.exit_code == 0, res.output
    heads = [line for line in res.stdout.splitlines() if line.startswith("┃")]
    assert any("margin" in h and "target" in h and "achieved" in h and "relative error" in h for h in heads) or (
        any("margin" in h and "role" in h for h in heads) and any("achieved" in h for h in heads))
    rows = {r[0]: r for r in cells(res.stdout) if r[0]}
    assert {"cell_mean", "cell_population", "gini", "age_share"} <= set(rows)
    check = pd.read_csv(io.StringIO(run("synth", "--out", str(tmp_path / "p.parquet"), "--persons", "3000", "--check",
                                        "--format", "csv").stdout))
    assert list(check.columns) == ["margin", "key", "role", "target", "synthetic", "rel_error"]
    means = check[check["margin"] == "cell_mean"]
    assert len(means) == 62 and means["rel_error"].abs().max() < 1e-9  # cell means are matched exactly
    np.testing.assert_allclose(check["synthetic"] / check["target"] - 1, check["rel_error"], atol=1e-12)


def test_synth_progress_bar_on_a_terminal_only(tmp_path, monkeypatch):
    from prosperity.cli import layout, synth_cmd

    assert layout.progress_wanted(False) is False  # CliRunner: stdout is not a terminal
    seen = []
    real = synth_cmd._with_progress

    def spy(out, options, sizes):
        seen.append(options["persons"])
        return real(out, options, sizes)

    monkeypatch.setattr(layout, "progress_wanted", lambda quiet: not quiet)
    monkeypatch.setattr(synth_cmd, "_with_progress", spy)
    path = tmp_path / "p.parquet"
    assert run("synth", "--out", str(path), "--persons", "4000", "--chunk-persons", "1000").exit_code == 0
    assert seen == [4000] and len(pd.read_parquet(path)) == 4000
    assert run("synth", "--out", str(path), "--persons", "4000", "--quiet").exit_code == 0
    assert seen == [4000]  # --quiet: no bar


def test_write_population_reports_progress(tmp_path):
    from prosperity.synth import write_population

    for level in ("person", "household"):
        calls = []
        summary = write_population(tmp_path / "p.parquet", persons=6000, chunk_persons=1500, level=level,
                                   progress=lambda done, total: calls.append((done, total)))
        assert calls[-1] == (6000, 6000) and summary["persons"] == 6000
        assert [d for d, _ in calls] == sorted(d for d, _ in calls) and len(calls) >= 3
