"""``--out FILE.{csv,parquet,xlsx,json}``: the same tidy frame as --format csv, for measure, decompose
and index; a wrong extension or a missing directory is refused before any work."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from prosperity.cli import _register, app

_register()
EUSILC = Path(__file__).resolve().parents[2] / "src" / "prosperity" / "data" / "laeken_eusilc_synthetic_austria2006.csv.gz"


def _read(path: Path) -> pd.DataFrame:
    return {".csv": pd.read_csv, ".parquet": pd.read_parquet, ".xlsx": pd.read_excel,
            ".json": lambda p: pd.read_json(p, orient="records")}[path.suffix](path)


@pytest.mark.parametrize("ext", [".csv", ".parquet", ".xlsx", ".json"])
def test_measure_out_equals_csv_output(tmp_path, ext):
    args = ["measure", str(EUSILC), "--income", "eqIncome", "--weight", "rb050", "--measures", "gini,arpr"]
    csv = CliRunner().invoke(app, args + ["--format", "csv"])
    out = tmp_path / f"r{ext}"
    res = CliRunner().invoke(app, args + ["--out", str(out)])
    assert res.exit_code == 0, res.output
    got = _read(out).set_index("measure")["value"]
    want = pd.read_csv(pd.io.common.StringIO(csv.stdout)).set_index("measure")["value"]
    assert got["gini"] == pytest.approx(0.2648962, abs=5e-8)
    assert got.tolist() == pytest.approx(want.tolist(), rel=1e-14)


def test_decompose_csv_and_out(tmp_path):
    args = ["decompose", str(EUSILC), "--income", "eqIncome", "--weight", "rb050", "--levels", "db040"]
    csv = CliRunner().invoke(app, args + ["--format", "csv"])
    assert csv.exit_code == 0, csv.output
    frame = pd.read_csv(pd.io.common.StringIO(csv.stdout))
    assert frame["share"].sum() == pytest.approx(1.0, abs=1e-12)  # fractions, not percent
    res = CliRunner().invoke(app, args + ["--out", str(tmp_path / "d.parquet")])
    assert res.exit_code == 0 and pd.read_parquet(tmp_path / "d.parquet")["share"].tolist() == frame["share"].tolist()


def test_bad_out_is_refused_before_work(tmp_path):
    for command in (["measure", str(EUSILC), "--income", "eqIncome"], ["index", "china"],
                    ["decompose", str(EUSILC), "--income", "eqIncome", "--levels", "db040"]):
        bad = CliRunner().invoke(app, command + ["--out", str(tmp_path / "r.txt")])
        assert bad.exit_code == 2 and "the extension says the format; use one of .csv, .parquet, .xlsx, .json" in bad.output
        bad = CliRunner().invoke(app, command + ["--out", str(tmp_path / "nope" / "r.csv")])
        assert bad.exit_code == 2 and "does not exist" in bad.output


def test_index_out(tmp_path):
    res = CliRunner().invoke(app, ["index", "china", "--framework", "affluence_sharing", "--out", str(tmp_path / "i.xlsx")])
    assert res.exit_code == 0, res.output
    frame = pd.read_excel(tmp_path / "i.xlsx")
    assert {"region", "year", "score", "rank"} <= set(frame.columns) and len(frame) == 31 * 40


def test_grouped_csv_and_out(tmp_path):
    table = tmp_path / "q.csv"
    table.write_text("population_share,mean\n0.2,9542\n0.2,21608\n0.2,33925\n0.2,53359\n0.2,98809\n")  # NBS 2024
    js = CliRunner().invoke(app, ["grouped", str(table), "--method", "gq", "--format", "json"])
    csv = CliRunner().invoke(app, ["grouped", str(table), "--method", "gq", "--format", "csv"])
    assert csv.exit_code == 0, csv.output
    frame = pd.read_csv(pd.io.common.StringIO(csv.stdout)).set_index("measure")
    import json

    assert frame.loc["gini", "value"] == pytest.approx(json.loads(js.stdout)["measures"]["gini"], rel=1e-14)
    res = CliRunner().invoke(app, ["grouped", str(table), "--method", "all", "--out", str(tmp_path / "g.json")])
    assert res.exit_code == 0, res.output
    assert {"gq", "beta", "gpinter"} <= set(pd.read_json(tmp_path / "g.json", orient="records")["method"])


def test_simulate_out_xlsx_has_every_table(tmp_path):
    path = tmp_path / "s.xlsx"
    res = CliRunner().invoke(app, ["simulate", "-p", "synthetic:20000", "-r", "dibao_plus_20pct", "--out", str(path),
                                   "--format", "json"])
    assert res.exit_code == 0, res.output
    import json

    doc = json.loads(res.stdout)
    sheets = pd.read_excel(path, sheet_name=None)
    assert list(sheets) == ["summary", "deciles", "winners_losers", "by_area", "by_province", "fiscal",
                            "effective_rates", "validation"]
    gini = sheets["summary"].set_index("measure").loc["gini", "reform"]
    assert gini == pytest.approx(next(r["reform"] for r in doc["summary"] if r["measure"] == "gini"), rel=1e-12)


def test_gaps_out(tmp_path):
    res = CliRunner().invoke(app, ["gaps", "--out", str(tmp_path / "g.parquet"), "--format", "csv"])
    assert res.exit_code == 0, res.output
    frame = pd.read_parquet(tmp_path / "g.parquet")
    csv = pd.read_csv(pd.io.common.StringIO(res.stdout))
    assert len(frame) == len(csv) and set(frame.columns) == {"year", "gap", "indicator", "value", "target", "distance", "met"}
    ratio = frame[(frame["year"] == 2024) & (frame["indicator"] == "urban_rural_income_ratio")]["value"].iloc[0]
    assert ratio == pytest.approx(54188 / 23119, rel=1e-4)
