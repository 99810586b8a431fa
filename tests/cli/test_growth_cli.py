"""``prosperity growth BEFORE AFTER``: its JSON is ``growth_incidence`` on the same data, to 1e-12.

Two independent samples: laeken's eusilc split by household (PSU ``db030`` even / odd), the odd half's
incomes x 1.03 (written as Parquet, so the two files also differ in format). Bad inputs are in
tests/cli/test_bad_inputs_other_commands.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

import prosperity
from prosperity.cli import _COMMAND_MODULES, growth_cmd
from prosperity.dynamics import growth_incidence
from prosperity.dynamics.incidence import SUMMARY_KEYS

EUSILC = Path(prosperity.__file__).parent / "data" / "laeken_eusilc_synthetic_austria2006.csv.gz"
W = ["--income", "eqIncome", "--weight", "rb050"]
DESIGN = ["--strata", "db040", "--psu", "db030"]


def app() -> typer.Typer:
    a = typer.Typer()

    @a.callback()
    def _group() -> None:  # a group, so the command is named as in the real CLI
        pass

    growth_cmd.register(a)
    return a


def run(*args):
    return CliRunner().invoke(app(), [str(x) for x in args])


def run_json(*args) -> dict:
    r = run(*args, "--format", "json")
    assert r.exit_code == 0, r.stderr
    assert r.stderr == ""
    return json.loads(r.stdout)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("growth")
    df = pd.read_csv(EUSILC)
    before, after = df[df.db030 % 2 == 0].copy(), df[df.db030 % 2 == 1].copy()
    after["eqIncome"] *= 1.03
    before.to_csv(d / "before.csv", index=False)
    after.to_parquet(d / "after.parquet")
    # the same persons, 10 % richer: every growth rate is 10 % (or 0 in before-year prices)
    before.assign(eqIncome=before.eqIncome * 1.1).to_csv(d / "richer.csv", index=False)
    return d, before, after


def direct(frame_0, frame_1, design: bool, **kw):
    def arrays(f):
        return f.eqIncome.to_numpy(), f.rb050.to_numpy()

    if design:
        kw.update(design_before={"strata": frame_0.db040.to_numpy(), "psu": frame_0.db030.to_numpy()},
                  design_after={"strata": frame_1.db040.to_numpy(), "psu": frame_1.db030.to_numpy()})
    return growth_incidence(arrays(frame_0), arrays(frame_1), **kw)


def assert_matches(out: dict, g, se: bool = True) -> None:
    s = g.summary()
    for key in SUMMARY_KEYS:
        entry = out["summary"][key]
        assert set(entry) == ({"value", "se", "ci_low", "ci_high"} if se else {"value"}), key
        for part, name in (("value", key), ("se", f"{key}_se"), ("ci_low", f"{key}_ci_low"), ("ci_high", f"{key}_ci_high")):
            if part not in entry:
                continue
            if pd.isna(s.get(name)):  # no line: no pro-poor rate, null in JSON
                assert entry[part] is None, (key, part)
            else:
                assert entry[part] == pytest.approx(float(s[name]), rel=1e-12, abs=1e-15), (key, part)
    curve = pd.DataFrame(out["curve"])
    assert list(curve.columns) == ["p", "quantile_before", "quantile_after", "growth"] + (["se", "ci_low", "ci_high"] if se else [])
    for mine, theirs in (("p", "p"), ("quantile_before", "quantile_0"), ("quantile_after", "quantile_1"), ("growth", "growth"),
                         *([("se", "se"), ("ci_low", "ci_low"), ("ci_high", "ci_high")] if se else [])):
        np.testing.assert_allclose(curve[mine], g.curve[theirs], rtol=1e-12, atol=0)


def test_registered():
    assert "growth_cmd" in _COMMAND_MODULES


def test_json_equals_growth_incidence_with_a_design(files):
    d, before, after = files
    out = run_json("growth", d / "before.csv", d / "after.parquet", *W, *DESIGN, "--years", 2, "--line", 10000)
    g = direct(before, after, design=True, years=2.0, line=10000.0)
    assert_matches(out, g)
    assert len(out["curve"]) == 99 and out["curve"][0]["p"] == 0.01
    assert out["before"] == {"file": str(d / "before.csv"), "n": len(before), "weight_sum": pytest.approx(before.rb050.sum(), rel=1e-12)}
    assert out["after"]["n"] == len(after)
    assert (out["years"], out["line"], out["pro_poor"]) == (2.0, 10000.0, "percentiles")
    assert "same prices" in out["prices"]
    assert out["notes"] == list(g.notes) and "9 strata, 3,000 PSUs" in out["notes"][0]
    # the eusilc check of docs/dynamics.md (one year, no line): growth of the mean 0.0606, SE 0.015022
    one_year = run_json("growth", d / "before.csv", d / "after.parquet", *W, *DESIGN)
    assert one_year["summary"]["growth_of_mean"]["value"] == pytest.approx(0.0606, abs=5e-5)
    assert one_year["summary"]["growth_of_mean"]["se"] == pytest.approx(0.015022, abs=5e-7)
    assert one_year["summary"]["pro_poor_growth_rate"] == {"value": None, "se": None, "ci_low": None, "ci_high": None}


def test_json_equals_growth_incidence_without_a_design(files):
    d, before, after = files
    g = direct(before, after, design=False, se=True, line=12000.0, pro_poor="percentiles", percentiles=[0.1, 0.25, 0.5, 0.75, 0.9])
    out = run_json("growth", d / "before.csv", d / "after.parquet", *W, "--line", 12000, "--percentiles", "0.1,0.25,0.5,0.75,0.9")
    assert_matches(out, g)
    assert "each its own PSU" in out["notes"][0]


def test_no_se_drops_the_interval_keys(files):
    d, before, after = files
    out = run_json("growth", d / "before.csv", d / "after.parquet", *W, *DESIGN, "--no-se", "--step", "0.05")
    assert_matches(out, direct(before, after, design=False, se=False, percentiles=np.arange(1, 20) / 20), se=False)
    assert out["notes"] == []


def test_deflator_and_years(files):
    d, _, _ = files
    nominal = run_json("growth", d / "before.csv", d / "richer.csv", *W, "--no-se", "--percentiles", "0.2,0.5,0.8")
    real = run_json("growth", d / "before.csv", d / "richer.csv", *W, "--no-se", "--percentiles", "0.2,0.5,0.8", "--deflator", 1.1)
    halved = run_json("growth", d / "before.csv", d / "richer.csv", *W, "--no-se", "--percentiles", "0.2,0.5,0.8", "--deflator", 2)
    two_years = run_json("growth", d / "before.csv", d / "richer.csv", *W, "--no-se", "--percentiles", "0.2,0.5,0.8", "--years", 2)
    for key in ("growth_of_mean", "growth_of_median", "growth_bottom40", "mean_of_growth_rates"):
        assert nominal["summary"][key]["value"] == pytest.approx(0.1, rel=1e-12)
        assert real["summary"][key]["value"] == pytest.approx(0.0, abs=1e-12)  # 10 % richer, prices 10 % higher
        assert halved["summary"][key]["value"] == pytest.approx(1.1 / 2 - 1, rel=1e-12)  # -0.45
        assert two_years["summary"][key]["value"] == pytest.approx(np.sqrt(1.1) - 1, rel=1e-12)  # 0.0488088 a year
    for point in halved["curve"]:
        assert point["quantile_after"] == pytest.approx(point["quantile_before"] * 1.1 / 2, rel=1e-12)
    assert halved["prices"] == "before-year prices (AFTER incomes divided by the deflator 2)"


def test_csv_is_the_curve(files):
    d, _, _ = files
    r = run("growth", d / "before.csv", d / "after.parquet", *W, *DESIGN, "--format", "csv", "--percentiles", "0.1,0.5,0.9")
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "p,quantile_before,quantile_after,growth,se,ci_low,ci_high"
    assert [line.split(",")[0] for line in lines[1:]] == ["0.1", "0.5", "0.9"]
    assert r.stderr.startswith("note: linearized SEs")  # notes on stderr: stdout stays machine-readable
    r = run("growth", d / "before.csv", d / "after.parquet", *W, "--format", "csv", "--no-se", "--step", "0.25")
    assert r.stdout.splitlines()[0] == "p,quantile_before,quantile_after,growth" and len(r.stdout.splitlines()) == 4


def test_table(files):
    d, _, _ = files
    r = run("growth", d / "before.csv", d / "after.parquet", *W, *DESIGN, "--line", 10000)
    assert r.exit_code == 0, r.stderr
    for text in ("growth_of_mean", "premium_bottom40", "pro_poor_growth_rate", "95% CI", "0.06064", "curve at deciles"):
        assert text in r.stdout, text
    deciles = [line.split()[1] for line in r.stdout.splitlines() if line.startswith("│ 0.")]
    assert deciles[-9:] == [f"0.{k}" for k in range(1, 10)]
    r = run("growth", d / "before.csv", d / "after.parquet", *W, "--no-se", "--percentiles", "0.5")
    assert r.exit_code == 0 and "SE" not in r.stdout and "0.5" in r.stdout
