"""``prosperity measure`` and ``prosperity demo``: the output contract other tools script against."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

import prosperity
from prosperity.cli import _COMMAND_MODULES, demo_cmd, measure_cmd

EUSILC = str(Path(prosperity.__file__).parent / "data" / "laeken_eusilc_synthetic_austria2006.csv.gz")
LAEKEN_GINI = 0.2648962
LAEKEN_GINI_BY_DB040 = {
    "Burgenland": 0.3205489, "Carinthia": 0.2549448, "Lower Austria": 0.2593737, "Salzburg": 0.2501652,
    "Styria": 0.2371190, "Tyrol": 0.2524881, "Upper Austria": 0.2549202, "Vienna": 0.2894944, "Vorarlberg": 0.2874120,
}
BASE = ["measure", EUSILC, "--income", "eqIncome", "--weight", "rb050"]


def app() -> typer.Typer:
    a = typer.Typer()

    @a.callback()
    def _group() -> None:  # a group, so commands are named as in the real CLI
        pass

    measure_cmd.register(a)
    demo_cmd.register(a)
    return a


def run(*args):
    return CliRunner().invoke(app(), list(args))


def test_registered():
    assert "measure_cmd" in _COMMAND_MODULES and "demo_cmd" in _COMMAND_MODULES


def test_json_contract():
    r = run(*BASE, "--by", "db040", "--measures", "gini,arpr", "--format", "json")
    assert r.exit_code == 0, r.stderr
    records = json.loads(r.stdout)
    whole = [x for x in records if x["by"] == {}]
    assert [x["measure"] for x in whole] == ["gini", "arpr"]
    assert abs(whole[0]["value"] - LAEKEN_GINI) < 1e-6
    assert abs(whole[1]["value"] - 0.1444422) < 1e-6  # a fraction, not percent
    assert whole[0]["se"] is None  # no --se
    assert set(whole[0]) >= {"by", "measure", "value", "se", "ci_low", "ci_high", "n", "weight_sum"}
    ginis = {x["by"]["db040"]: x["value"] for x in records if x["by"] and x["measure"] == "gini"}
    assert ginis.keys() == LAEKEN_GINI_BY_DB040.keys()
    for state, g in LAEKEN_GINI_BY_DB040.items():
        assert abs(ginis[state] - g) < 1e-6, state


def test_json_with_se_and_design():
    r = run(*BASE, "--strata", "db040", "--psu", "db030", "--measures", "gini", "--se", "--format", "json")
    assert r.exit_code == 0, r.stderr
    (rec,) = json.loads(r.stdout)
    assert rec["by"] == {} and 0.002 < rec["se"] < 0.004
    assert rec["ci_low"] < rec["value"] < rec["ci_high"]


def test_csv_is_the_tidy_frame():
    r = run(*BASE, "--by", "db040", "--measures", "gini,mean", "--format", "csv")
    assert r.exit_code == 0, r.stderr
    frame = pd.read_csv(io.StringIO(r.stdout))
    assert list(frame.columns) == ["db040", "measure", "value", "se", "ci_low", "ci_high", "n", "weight_sum"]
    assert len(frame) == 20 and (frame["db040"] == "(all)").sum() == 2 and frame["db040"].notna().all()
    vienna = frame[(frame.db040 == "Vienna") & (frame.measure == "gini")]["value"].iloc[0]
    assert abs(vienna - LAEKEN_GINI_BY_DB040["Vienna"]) < 1e-6


def test_table_format():
    r = run(*BASE, "--by", "db040", "--measures", "gini", "--se", "--strata", "db040", "--psu", "db030")
    assert r.exit_code == 0, r.stderr
    assert "Vienna" in r.stdout and "0.2895" in r.stdout and "0.2649" in r.stdout and "(all)" in r.stdout


def test_by_repeated_or_comma_separated():
    a = run(*BASE, "--by", "db040", "--by", "rb090", "--measures", "mean", "--format", "json")
    b = run(*BASE, "--by", "db040,rb090", "--measures", "mean", "--format", "json")
    assert a.exit_code == b.exit_code == 0
    assert json.loads(a.stdout) == json.loads(b.stdout)
    keys = {tuple(sorted(x["by"])) for x in json.loads(a.stdout)}
    assert keys == {(), ("db040", "rb090")}
    m = run(*BASE, "--by", "db040,rb090", "--margins", "--measures", "mean", "--format", "json")
    assert {tuple(sorted(x["by"])) for x in json.loads(m.stdout)} == {(), ("db040",), ("rb090",), ("db040", "rb090")}


def test_line_options():
    national = json.loads(run(*BASE, "--by", "db040", "--measures", "fgt:0", "--relative-line", "0.6", "--format", "json").stdout)
    own = json.loads(run(*BASE, "--by", "db040", "--measures", "fgt:0", "--relative-line", "0.6", "--line-within-groups", "--format", "json").stdout)
    assert len({x["line"] for x in national}) == 1
    assert len({x["line"] for x in own}) == 10
    absolute = json.loads(run(*BASE, "--measures", "fgt:0", "--poverty-line", "10000", "--format", "json").stdout)
    assert absolute[0]["line"] == 10000


def test_help_says_national_line():
    text = " ".join(run("measure", "--help").stdout.split())
    assert "WHOLE SAMPLE's line" in text and "--line-within-groups" in text


def test_drop_missing_reported_on_stderr(tmp_path, eusilc):
    frame = eusilc[["eqIncome", "rb050", "db040"]].copy()
    frame.loc[[0, 5, 9], "eqIncome"] = None
    path = tmp_path / "gaps.csv"
    frame.to_csv(path, index=False)
    bad = run("measure", str(path), "--income", "eqIncome", "--weight", "rb050", "--format", "json")
    assert bad.exit_code == 2 and "3 missing values" in bad.stderr and "--drop-missing" in bad.stderr
    ok = run("measure", str(path), "--income", "eqIncome", "--weight", "rb050", "--drop-missing", "--format", "json")
    assert ok.exit_code == 0
    assert "excluded 3 rows with missing income 'eqIncome'" in ok.stderr
    assert json.loads(ok.stdout)[0]["n"] == 14824


def test_bootstrap_options():
    r = run(*BASE, "--strata", "db040", "--psu", "db030", "--measures", "gini", "--se", "--se-method", "rescaled_bootstrap",
            "--replicates", "50", "--seed", "3", "--format", "json")
    assert r.exit_code == 0, r.stderr
    (rec,) = json.loads(r.stdout)
    assert 0.001 < rec["se"] < 0.006


def test_list_measures():
    r = run("measure", "--list")
    assert r.exit_code == 0 and "gini" in r.stdout and "atkinson" in r.stdout


def test_demo_runs():
    results = demo_cmd.run_demo()
    eusilc = results[0][1]
    assert abs(eusilc.value_of("gini") - LAEKEN_GINI) < 1e-6
    assert abs(eusilc.value_of("gini", db040="Vienna") - LAEKEN_GINI_BY_DB040["Vienna"]) < 1e-6
    ilocos = results[1][1]
    # ineq's saved test output: Theil (ineq "Theil", parameter 0) and Atkinson(0.5) for two provinces
    assert abs(ilocos.value_of("theil", province="Pangasinan") - 0.2837236) < 1e-6
    assert abs(ilocos.value_of("atkinson:0.5", province="La Union") - 0.1672924) < 1e-6
    r = run("demo")
    assert r.exit_code == 0 and "Vienna" in r.stdout and "Pangasinan" in r.stdout


def test_real_entry_point_exit_code():
    """Through the installed console entry: stderr paragraph, exit 2, no traceback."""
    out = subprocess.run([sys.executable, "-c", "from prosperity.cli import main; main()", *BASE, "--measures", "gni"],
                         capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.startswith("error: unknown measure 'gni'; did you mean 'gini' or 'sgini'?")
    assert "Traceback" not in out.stderr and out.stdout == ""
