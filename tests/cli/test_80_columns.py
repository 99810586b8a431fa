"""Every command's table output on the bundled data at COLUMNS=80: nothing is cut.

A cell is cut when rich shortens it with "…", when a line is wider than the terminal, or when rich
crops a table at the right edge (a line that starts a table row or rule but does not end with a box
character). Each case also checks a value that a cut would hide (a confidence interval, a long name).
"""

from __future__ import annotations

import pandas as pd
import pytest
from rich.cells import cell_len
from typer.testing import CliRunner

from prosperity.cli import _register, app
from prosperity.datasets import dataset_path, load_dataset

_register()
BOX = "│┃┏┓┗┛┡┩├┤└┘┌┐┳┻╇╈┼━─╭╮╰╯"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("eighty")
    # NBS 2024 national quintile groups (bundled nbs_income_quintiles) as a grouped table
    q = load_dataset("nbs_income_quintiles")
    q = q[(q["area"] == "national") & (q["year"] == 2024)]
    pd.DataFrame({"population_share": [0.2] * 5, "mean": q["disp_income_pc_yuan"].to_numpy()}).to_csv(
        d / "quintiles.csv", index=False)
    us = load_dataset("pysal_us_income").melt(id_vars=["Name", "STATE_FIPS"], var_name="year", value_name="income")
    us.to_csv(d / "us.csv", index=False)
    load_dataset("provincial_income_consumption_2016_2024").to_csv(d / "provinces.csv", index=False)
    return d


E = str(dataset_path("eusilc"))
DESIGN = ["--strata", "db040", "--psu", "db030"]
CASES = {
    "measure wide": (["measure", E, "--income", "eqIncome", "--weight", "rb050", "--by", "db040", "--measures",
                      "gini,arpr", "--se", *DESIGN], ["(all)", "0.2649", "Vorarlberg", "units (eusilc metadata)"]),
    "measure long": (["measure", E, "--income", "eqIncome", "--weight", "rb050", "--by", "db040", "--se"],
                     ["19,720–20,061", "Lower Austria"]),
    "measure narrow: one table per group": (
        ["measure", E, "--income", "eqIncome", "--by", "db040,rb090", "--margins", "--se"],
        ["db040 = Carinthia, rb090 = (all)", "0.09934–0.1381"]),
    "measure --percent": (["measure", E, "--income", "eqIncome", "--weight", "rb050", "--measures", "arpr,gini",
                           "--percent"], ["14.44 %", "0.2649"]),
    "measure --list": (["measure", "--list"], ["Foster-Greer-Thorbecke", "middle_abs_income"]),
    "measure --poor-if --domain --bandwidth": (
        ["measure", E, "--income", "eqIncome", "--weight", "rb050", "--measures", "arpr,median", "--se", *DESIGN,
         "--poor-if", "le", "--domain", "db040=Tyrol", "--bandwidth", "convey"], ["0.1531", "16,339"]),
    "data list": (["data", "list"], ["provincial_income_consumption_2016_2024", "BSD-3-Clause"]),
    "data show": (["data", "show", "eusilc"], ["eqIncome", "euro per year (net)"]),
    "data show (Chinese text)": (["data", "show", "nbs_income_quintiles", "-n", "3"], ["低收入组"]),
    "data path": (["data", "path", "eusilc"], ["laeken_eusilc_synthetic_austria2006.csv.gz"]),
    "data show (long names: one table per row)": (["data", "show", "provincial_gpi_panel_columns", "-n", "0"],
                                                   ["services_consumer_durables_urban_pc_yuan"]),
    "gaps": (["gaps"], ["urban_rural_to_province_theil", "2.344", "units:"]),
    "gaps --percent": (["gaps", "--percent"], ["50.12 %"]),
    "grouped": (["grouped", "{d}/quintiles.csv", "--method", "all"], ["0.000003052", "method: gpinter"]),
    "decompose": (["decompose", E, "--income", "eqIncome", "--weight", "rb050", "--levels", "db040", *DESIGN],
                  ["(all)", "0.120734", "euro per year (net)"]),
    "index affluence_sharing": (["index", "china", "--framework", "affluence_sharing"], ["Shanghai", "unit-free"]),
    "index zhejiang_2025": (["index", "china", "--framework", "zhejiang_2025"], ["coverage"]),
    "index five_concepts": (["index", "china", "--framework", "five_concepts"], ["scores"]),
    "growth": (["growth", str(dataset_path("enigh_2008")), str(dataset_path("enigh_2016")), "--income", "income",
                "--weight", "factor", "--years", "8"], ["premium_bottom40", "0.001217–0.02254", "pesos per household"]),
    "simulate": (["simulate", "-p", "synthetic:20000", "-r", "dibao_plus_20pct"],
                 ["middle_income_share_relative_75_200", "(all)", "yuan per person per year"]),
    "household": (["household", "--wage", "80000", "--spouse", "--children", "2"], ["disposable income per capita"]),
    "demo": (["demo"], ["Pangasinan", "pesos per household per year"]),
    "synth --check": (["synth", "--out", "{d}/pop.parquet", "--persons", "5000", "--check"],
                      ["quintile_group_relative_mean", "relative error"]),
    "runs list": (["runs", "list", "--store", "{d}/store.duckdb"], []),
    "converge": (["converge", "{d}/us.csv", "--region", "Name", "--time", "year", "--value", "income"], ["sigma"]),
    "spatial": (["spatial", "{d}/provinces.csv", "--region", "province_en", "--value", "disp_income_pc_yuan", "--time",
                 "year", "--china", "--permutations", "99"], ["Moran"]),
    "monitor": (["monitor", "--persons", "20000", "--draws", "0", "--out", "{d}/monitor", "--no-store", "-q"],
                ["headline indicators"]),
}
# Commands known not to fit yet (xfail, strict: a command that fits must leave this list). None today.
NOT_YET: dict[str, str] = {}
NOT_RUN = {"serve"}  # a web server: no table output


def cut_lines(text: str) -> list[str]:
    """Lines that show a cut: an ellipsis, wider than 80 cells, or a table row cropped at the edge."""
    bad = []
    for line in text.splitlines():
        stripped = line.rstrip()
        if "…" in line or cell_len(line) > 80:
            bad.append(line)
        elif stripped[:1] in BOX and stripped[-1:] not in BOX:
            bad.append(line)
    return bad


@pytest.mark.parametrize("case", [pytest.param(k, marks=pytest.mark.xfail(reason=NOT_YET[k], strict=True))
                                  if k in NOT_YET else k for k in CASES])
def test_nothing_is_cut_at_80_columns(case, files):
    args, expected = CASES[case]
    args = [a.replace("{d}", str(files)) for a in args]
    res = CliRunner().invoke(app, args, env={"COLUMNS": "80"})
    assert res.exit_code == 0, res.output
    assert res.stdout.strip(), "no output"
    assert cut_lines(res.stdout) == []
    for text in expected:
        assert text in res.stdout, text


@pytest.mark.parametrize("width", ["40", "60"])
@pytest.mark.parametrize("case", ["measure narrow: one table per group", "data list", "gaps", "grouped", "decompose",
                                  "growth", "synth --check", "data show (long names: one table per row)"])
def test_narrower_terminals(case, width, files):
    """The same layouts hold on narrower terminals (split blocks, wrapped text, one table per row)."""
    args, _ = CASES[case]
    res = CliRunner().invoke(app, [a.replace("{d}", str(files)) for a in args], env={"COLUMNS": width})
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert [x for x in lines if "…" in x or cell_len(x) > int(width)] == []
    assert [x for x in lines if x.rstrip()[:1] in BOX and x.rstrip()[-1:] not in BOX] == []


def test_every_command_has_a_case():
    """A new command gets a case here (or is listed as not run, with the reason)."""
    names = {c.name or c.callback.__name__ for c in app.registered_commands} | {g.name for g in app.registered_groups}
    covered = {args[0] for args, _ in CASES.values()} | NOT_RUN
    assert names - covered == set()
    subcommands = {(args[0], args[1]) for args, _ in CASES.values() if args[0] in ("data", "runs")}
    assert {("data", "list"), ("data", "show"), ("data", "path"), ("runs", "list")} <= subcommands


def test_the_detector_sees_cuts():
    """cut_lines flags each kind of cut (so the test above can fail)."""
    assert cut_lines("│ 0.09934–0.13… │") and cut_lines("x" * 81) and cut_lines("│ cropped at the ed")
    assert cut_lines("│ 中文 │" + "中" * 38) and not cut_lines("│ fits │\nplain text")
