"""A catalogue of bad inputs for every command except ``measure`` (see tests/test_bad_inputs_catalogue.py).

Each case is what an analyst might type and the start of what prosperity answers: one paragraph on
stderr starting ``error: ``, exit code 2, no traceback, nothing on stdout. Data rows count from 1
below the header. Keep the message starts stable; change one here only on purpose.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import importlib

import typer

from prosperity.cli import _COMMAND_MODULES


def build_app() -> typer.Typer:
    """The real CLI's commands on a fresh app (as ``prosperity.cli.main`` assembles them)."""
    a = typer.Typer(pretty_exceptions_enable=False)
    for name in _COMMAND_MODULES:
        importlib.import_module(f"prosperity.cli.{name}").register(a)
    return a


app = build_app()


def write_files(d: Path) -> None:
    pd.DataFrame({"population_share": [0.2] * 5, "mean": [10, 20, 30, 45, 90]}).to_csv(d / "g.csv", index=False)
    pd.DataFrame({"population_share": [0.2, -0.2, 0.4, 0.2, 0.4], "mean": [10, 20, 30, 45, 90]}).to_csv(d / "g_neg.csv", index=False)
    (d / "empty.csv").write_text("")
    (d / "header_only.csv").write_text("region,year,income\n")
    (d / "fake.parquet").write_bytes(b"not a parquet file")
    (d / "survey.sav").write_text("income\n1\n")
    rng = np.random.default_rng(0)
    micro = pd.DataFrame({"income": rng.lognormal(10, 1, 30).round(1), "w": 1.0,
                          "region": np.repeat(["N", "S", "E"], 10), "province": np.repeat(list("abcdef"), 5)})
    micro.to_csv(d / "m.csv", index=False)
    micro.assign(income=micro.income.where(micro.index != 2, -5.0)).to_csv(d / "m_neg.csv", index=False)
    micro.assign(w=np.where(micro.index == 6, 0.0, 1.0)).to_csv(d / "m_w0.csv", index=False)
    text = micro.astype({"income": object})
    text.loc[4, "income"] = "1,200"
    text.to_csv(d / "m_text.csv", index=False)
    nest = micro.copy()
    nest.loc[12, "region"] = "N"  # province 'c' now in N (row 13) and S (row 11)
    nest.to_csv(d / "m_nest.csv", index=False)
    design = micro.assign(psu=np.repeat(np.arange(15), 2), fpc=40)  # 5 PSUs of 2 rows in every region
    design.to_csv(d / "m_design.csv", index=False)
    design.assign(psu=design.psu.where(design.index != 3)).to_csv(d / "m_psu_missing.csv", index=False)
    design.assign(psu=np.where(design.region == "E", 99, design.psu)).to_csv(d / "m_lonely.csv", index=False)
    design.assign(fpc=np.where(design.index == 7, 50, 40)).to_csv(d / "m_fpc.csv", index=False)
    panel = pd.DataFrame([(r, y, 100 * (1 + i) * 1.05 ** (y - 2000)) for i, r in enumerate("ABCDEF")
                          for y in range(2000, 2010)], columns=["region", "year", "income"])
    panel.to_csv(d / "p.csv", index=False)
    bad = panel.astype({"income": object})
    bad.loc[5, "income"] = "n/a?"
    bad.to_csv(d / "p_text.csv", index=False)
    neg = panel.copy()
    neg.loc[7, "income"] = -3.0
    neg.to_csv(d / "p_neg.csv", index=False)
    pd.concat([panel, panel.iloc[[3]]]).to_csv(d / "p_dup.csv", index=False)
    ind = panel.assign(x2=panel.income * 0.3 + 1, x3=np.log(panel.income))
    ind.to_csv(d / "i.csv", index=False)
    (d / "broken.yaml").write_text("name: x\ndimensions: [\n  - code: a\n")
    (d / "misnamed.yaml").write_text("name: x\ndimensions:\n  - code: a\n    indicators:\n      - {code: incme, direction: '+'}\n")
    (d / "hh_neg.csv").write_text("size,share\n1,0.5\n2,0.6\n3,-0.1\n")
    (d / "hh_pct.csv").write_text("size,share\n1,25.39\n2,74.61\n")
    (d / "hh_plus.csv").write_text("size,share\n1,0.5\n2,0.3\n3+,0.2\n")
    (d / "hh_text.csv").write_text("size,share\n1,0.5\n2,50%\n")
    (d / "hh_one.csv").write_text("size,share\n3,1\n")
    (d / "hh_cols.csv").write_text("persons,households\n1,0.5\n2,0.5\n")


P = ["--region", "region", "--time", "year", "--value", "income"]
D = ["--income", "income", "--levels", "region", "province"]
G = ["--income", "income"]

# id -> (arguments, with {d} for the folder of the files above; exact start of the message after "error: ")
CASES = {
    # grouped
    "grouped: missing file": (["grouped", "{d}/nope.csv"], "file '{d}/nope.csv' does not exist"),
    "grouped: empty file": (["grouped", "{d}/empty.csv"], "file 'empty.csv' is empty (no header line, no data). Fix:"),
    "grouped: header only": (["grouped", "{d}/header_only.csv"], "'header_only.csv' has a header but no data rows; give one row per group"),
    "grouped: negative population share": (["grouped", "{d}/g_neg.csv"], "column 'population_share': data row 2 is -0.2; every group needs a positive share"),
    "grouped: unknown method": (["grouped", "{d}/g.csv", "--method", "gqq"], "unknown method 'gqq'; choose one of gq, beta, gpinter"),
    "grouped: unknown unit": (["grouped", "{d}/g.csv", "--unit", "family"], "unit must be 'person' or 'household', got 'family'"),
    "grouped: malformed band": (["grouped", "{d}/g.csv", "--middle-band", "abc"], "--middle-band must be two numbers LOW,HIGH separated by a comma, got 'abc'. Fix:"),
    "grouped: reversed band": (["grouped", "{d}/g.csv", "--relative-band", "2,1"], "--relative-band needs 0 <= LOW < HIGH, got '2,1'. Fix:"),
    "grouped: negative poverty line": (["grouped", "{d}/g.csv", "--poverty-line", "-5"], "the poverty line must be positive, got -5.0"),
    "grouped: negative prosperity standard": (["grouped", "{d}/g.csv", "--prosperity-standard", "-5"], "--prosperity-standard must be a positive income, got -5. Fix:"),
    "grouped: unknown format": (["grouped", "{d}/g.csv", "--format", "xml"], "--format must be table, json or csv, got 'xml'."),
    # decompose
    "decompose: missing file": (["decompose", "{d}/m.cvs", "--income", "income", "--levels", "region"], "file '{d}/m.cvs' does not exist; did you mean 'm.csv'"),
    "decompose: unknown extension": (["decompose", "{d}/survey.sav", "--income", "income", "--levels", "region"], "cannot tell the format of 'survey.sav' from its extension '.sav'. Fix:"),
    "decompose: empty file": (["decompose", "{d}/empty.csv", "--income", "income", "--levels", "region"], "file 'empty.csv' is empty (no header line, no data). Fix:"),
    "decompose: not really Parquet": (["decompose", "{d}/fake.parquet", "--income", "income", "--levels", "region"], "cannot read 'fake.parquet' as Parquet (ArrowInvalid:"),
    "decompose: unknown column": (["decompose", "{d}/m.csv", "--income", "income", "--levels", "regon"], "requested column 'regon' is not in the data; did you mean 'region'? Fix: use one of the data's columns:"),
    "decompose: income as text": (["decompose", "{d}/m_text.csv", "--income", "income", "--levels", "region"], "the column 'income' is not numeric: 1 value cannot be read as numbers. 1 row: data row 5 (values '1,200')"),
    "decompose: levels do not nest": (["decompose", "{d}/m_nest.csv", "--income", "income", "--levels", "region", "province"], "province 'c' lies in two units of level 'region': 'S' (data row 11) and 'N' (data row 13)."),
    "decompose: unknown measure": (["decompose", "{d}/m.csv", "--income", "income", "--levels", "region", "--measure", "thiel"], "unknown decomposable measure 'thiel'; use 'theil', 'mld' or 'ge:ALPHA'"),
    "decompose: malformed GE parameter": (["decompose", "{d}/m.csv", "--income", "income", "--levels", "region", "--measure", "ge:abc"], "cannot read the GE parameter in 'ge:abc'"),
    "decompose: unknown format": (["decompose", "{d}/m.csv", "--income", "income", "--levels", "region", "--format", "xml"], "--format must be table, json or csv, got 'xml'."),
    "decompose: unknown strata column": (["decompose", "{d}/m_design.csv", *D, "--strata", "regon"], "strata column 'regon' is not in the data; did you mean 'region'? Fix: use one of the data's columns:"),
    "decompose: unknown PSU column": (["decompose", "{d}/m_design.csv", *D, "--psu", "pus"], "PSU column 'pus' is not in the data; did you mean 'psu'? Fix:"),
    "decompose: missing PSU": (["decompose", "{d}/m_psu_missing.csv", *D, "--strata", "region", "--psu", "psu"], "PSU column 'psu' has 1 missing value. 1 row: data row 4; data rows count from 1 below the header"),
    "decompose: stratum with one PSU": (["decompose", "{d}/m_lonely.csv", *D, "--strata", "region", "--psu", "psu"], "1 stratum/strata of 'region' have a single PSU ('E'), so their variance is not defined. Fix: merge each such stratum with a similar one, or choose a rule: lonely_psu='adjust'"),
    "decompose: fpc varies in a stratum": (["decompose", "{d}/m_fpc.csv", *D, "--strata", "region", "--psu", "psu", "--fpc", "fpc"], "fpc column 'fpc' must be constant within each stratum. 1 row: data row 8 (values 50)"),
    "decompose: unknown lonely-PSU rule": (["decompose", "{d}/m_design.csv", *D, "--strata", "region", "--lonely-psu", "drop"], "unknown lonely_psu rule 'drop'. Fix: use one of fail, adjust, remove, certainty."),
    "decompose: Gini with a stratum of one PSU": (["decompose", "{d}/m_lonely.csv", *D, "--measure", "gini", "--strata", "region", "--psu", "psu"], "1 stratum/strata of 'region' have a single PSU ('E'), so their variance is not defined. Fix: merge each such stratum with a similar one, or choose a rule: lonely_psu='adjust'"),
    # gaps
    "gaps: target without < or >": (["gaps", "--target", "urban_rural_income_ratio=1.9"], "target 'urban_rural_income_ratio=1.9' must look like indicator<value or indicator>value"),
    "gaps: target that is not a number": (["gaps", "--target", "s80_s20<abc"], "target 's80_s20<abc': 'abc' is not a number; write e.g. s80_s20<1.9"),
    "gaps: unknown indicator": (["gaps", "--target", "urban_rual_income_ratio<1.9"], "targets for unknown indicators ['urban_rual_income_ratio']; known:"),
    "gaps: unknown format": (["gaps", "--format", "xml"], "--format must be table, json or csv, got 'xml'."),
    # converge
    "converge: empty file": (["converge", "{d}/empty.csv", *P], "file 'empty.csv' is empty (no header line, no data). Fix:"),
    "converge: header only": (["converge", "{d}/header_only.csv", *P], "'{d}/header_only.csv' has a header but no data rows. Fix:"),
    "converge: unknown column": (["converge", "{d}/p.csv", "--region", "regoin", "--time", "year", "--value", "income"], "requested column 'regoin' is not in the data; did you mean 'region'?"),
    "converge: income as text": (["converge", "{d}/p_text.csv", *P], "column 'income' must be numeric; data row 6 (region 'A', time 2005) has 'n/a?'"),
    "converge: negative income": (["converge", "{d}/p_neg.csv", *P], "'income' has 1 value(s) <= 0 (data row 8: -3; data rows count from 1 below the header); log-based convergence"),
    "converge: duplicate region-year": (["converge", "{d}/p_dup.csv", *P], "(region, time) must be unique: ['A', 2003] appears more than once (data rows 4, 61;"),
    "converge: negative classes": (["converge", "{d}/p.csv", *P, "--classes", "-3"], "need at least 2 classes, got k=-3"),
    "converge: malformed cut-offs": (["converge", "{d}/p.csv", *P, "--cutoffs", "a,b"], "--cutoffs must be numbers separated by commas, got 'a,b'. Fix:"),
    "converge: decreasing cut-offs": (["converge", "{d}/p.csv", *P, "--cutoffs", "1.2,0.8"], "cut-offs must be increasing, got [1.2, 0.8]"),
    "converge: unknown --incomplete": (["converge", "{d}/p.csv", *P, "--incomplete", "fill"], "incomplete must be 'error' or 'drop', got 'fill'"),
    "converge: start outside the data": (["converge", "{d}/p.csv", *P, "--start", "1990"], "period '1990' is not in the data (periods 2000..2009)"),
    "converge: span too long": (["converge", "{d}/p.csv", *P, "--span", "50"], "span must be between 1 and 9 periods, got 50"),
    "converge: negative HP lambda": (["converge", "{d}/p.csv", *P, "--hp-lambda", "-1"], "--hp-lambda must be a positive smoothing parameter, got -1. Fix:"),
    "converge: missing geometry": (["converge", "{d}/p.csv", *P, "--geometry", "{d}/nope.geojson"], "--geometry file '{d}/nope.geojson' does not exist. Fix:"),
    "converge: geometry that is not GeoJSON": (["converge", "{d}/p.csv", *P, "--geometry", "{d}/broken.yaml"], "cannot read 'broken.yaml' as GeoJSON ("),
    "converge: unknown format": (["converge", "{d}/p.csv", *P, "--format", "xml"], "--format must be table, json or csv, got 'xml'."),
    # index
    "index: missing file": (["index", "{d}/nope.csv"], "file '{d}/nope.csv' does not exist"),
    "index: header only": (["index", "{d}/header_only.csv"], "'{d}/header_only.csv' has a header but no data rows. Fix:"),
    "index: not really Parquet": (["index", "{d}/fake.parquet"], "cannot read 'fake.parquet' as Parquet (ArrowInvalid:"),
    "index: unknown region column": (["index", "{d}/i.csv", "--region", "regoin"], "region column 'regoin' is not in the data (columns: region, year, income, x2, x3); name it with --region"),
    "index: unknown normalisation": (["index", "{d}/i.csv", "--normalisation", "minmux"], "unknown normalisation 'minmux'; choose one of"),
    "index: unknown weighting": (["index", "{d}/i.csv", "--positive", "rest", "--weighting", "entropi"], "unknown weighting 'entropi'; choose one of equal, entropy, critic"),
    "index: unknown aggregation": (["index", "{d}/i.csv", "--aggregation", "median"], "unknown aggregation 'median'; choose one of weighted-sum,"),
    "index: unknown imputation": (["index", "{d}/i.csv", "--positive", "rest", "--imputation", "x"], "unknown imputation 'x'; choose one of none, mean, median"),
    "index: malformed range": (["index", "{d}/i.csv", "--range", "1"], "--range must be two numbers a,b, got '1'"),
    "index: reversed range": (["index", "{d}/i.csv", "--range", "100,1"], "--range needs a < b, got '100,1'. Fix:"),
    "index: negative uncertainty draws": (["index", "{d}/i.csv", "--uncertainty", "-5"], "--uncertainty is a number of Monte Carlo draws, got -5. Fix:"),
    "index: --negative names no indicator": (["index", "{d}/i.csv", "--negative", "x9"], "--negative names columns that are not indicators of the data: x9 (indicator columns: income, x2, x3)"),
    "index: no direction declared": (["index", "{d}/i.csv", "--negative", "x2"], "no direction for 2 indicator column(s): income, x3. A direction is never guessed"),
    "index: --show-year outside the data": (["index", "{d}/i.csv", "--positive", "rest", "--show-year", "1990"], "year 1990 is not in the data (years 2000..2009)"),
    "index: --min-coverage above 1": (["index", "{d}/i.csv", "--min-coverage", "1.5"], "--min-coverage is a share between 0 and 1, got 1.5"),
    "index: --start after the data": (["index", "{d}/i.csv", "--start", "2050"], "no rows left with --start 2050: the data cover years 2000..2009. Fix:"),
    "index: unknown framework": (["index", "{d}/i.csv", "--framework", "affluence_sharng"], "framework 'affluence_sharng' not found (bundled: affluence_sharing,"),
    "index: malformed YAML": (["index", "{d}/i.csv", "--framework", "{d}/broken.yaml"], "invalid framework {d}/broken.yaml (1 problem): - line 3: <top>: malformed YAML:"),
    "index: framework names a missing column": (["index", "{d}/i.csv", "--framework", "{d}/misnamed.yaml"], "invalid framework {d}/misnamed.yaml (1 problem): - line 5: dimensions[a].indicators[incme].code: column 'incme' is not in the data"),
    "index: unknown format": (["index", "{d}/i.csv", "--format", "xml"], "--format must be table, json or csv, got 'xml'."),
    # data
    "data path: misspelt name": (["data", "path", "eusilk"], "unknown dataset 'eusilk'. Did you mean 'eusilc'?"),
    "data show: negative rows": (["data", "show", "ilocos", "--rows", "-3"], "--rows must be 0 (all rows) or a positive number, got -3."),
    # synth
    "synth: negative persons": (["synth", "--out", "{d}/s.parquet", "--persons", "-5"], "persons must be a positive integer, got -5"),
    "synth: year outside the tables": (["synth", "--out", "{d}/s.parquet", "--persons", "1000", "--year", "1990"], "year must be in 2016..2024"),
    "synth: unknown distribution": (["synth", "--out", "{d}/s.parquet", "--persons", "1000", "--distribution", "pareto"], "distribution must be one of ('gb2', 'lognormal'), got 'pareto'"),
    "synth: output not Parquet": (["synth", "--out", "{d}/s.csv", "--persons", "1000"], "--out '{d}/s.csv' must be a Parquet file (.parquet)"),
    "synth: zero chunk": (["synth", "--out", "{d}/s.parquet", "--persons", "1000", "--chunk-persons", "0"], "--chunk-persons must be a positive number of persons, got 0"),
    "synth: household-size share negative": (["synth", "--out", "{d}/s.parquet", "--persons", "1000", "--household-sizes", "{d}/hh_neg.csv"], "household sizes file 'hh_neg.csv': data row 3: the share of size 3 is -0.1 (data rows count from 1 below the header)"),
    "synth: household-size shares in percent": (["synth", "--out", "{d}/s.parquet", "--persons", "1000", "--household-sizes", "{d}/hh_pct.csv"], "household sizes file 'hh_pct.csv': the shares of sizes 1..2 sum to 100, not 1 (tolerance 1e-06); they are not rescaled silently. Fix: they look like percentages"),
    "synth: household size written 3+": (["synth", "--out", "{d}/s.parquet", "--persons", "1000", "--household-sizes", "{d}/hh_plus.csv"], "household sizes file 'hh_plus.csv': data row 3: size '3+' is not a positive whole number of persons"),
    "synth: household-size share as text": (["synth", "--out", "{d}/s.parquet", "--persons", "1000", "--household-sizes", "{d}/hh_text.csv"], "household sizes file 'hh_text.csv': data row 2: the share of size 2 is '50%', not a number"),
    "synth: a single household size": (["synth", "--out", "{d}/s.parquet", "--persons", "1000", "--household-sizes", "{d}/hh_one.csv"], "household sizes file 'hh_one.csv': data row 1: only one size is given (size 3)"),
    "synth: household-size file without size,share": (["synth", "--out", "{d}/s.parquet", "--persons", "1000", "--household-sizes", "{d}/hh_cols.csv"], "household sizes file 'hh_cols.csv' lacks the column(s) 'size', 'share'"),
    "synth: household-size file missing": (["synth", "--out", "{d}/s.parquet", "--persons", "1000", "--household-sizes", "{d}/hh_nope.csv"], "file '{d}/hh_nope.csv' does not exist"),
    # growth
    "growth: missing file": (["growth", "{d}/m.csv", "{d}/nope.csv", *G], "AFTER file: file '{d}/nope.csv' does not exist"),
    "growth: unknown column": (["growth", "{d}/m.csv", "{d}/m.csv", "--income", "incom"], "BEFORE file: income column 'incom' is not in the data; did you mean 'income'? Fix: use one of the data's columns:"),
    "growth: negative income": (["growth", "{d}/m.csv", "{d}/m_neg.csv", *G], "AFTER file: growth incidence needs non-negative incomes, but income column 'income' has 1 negative value. 1 row: data row 3 (values -5)"),
    "growth: zero weight": (["growth", "{d}/m_w0.csv", "{d}/m.csv", *G, "--weight", "w"], "BEFORE file: weight column 'w' has 1 zero weight; weights must be positive. 1 row: data row 7"),
    "growth: zero years": (["growth", "{d}/m.csv", "{d}/m.csv", *G, "--years", "0"], "--years must be a positive number of years between the two surveys, got 0."),
    "growth: unknown format": (["growth", "{d}/m.csv", "{d}/m.csv", *G, "--format", "xml"], "--format must be one of table, json, csv, got 'xml'."),
    "growth: zero deflator": (["growth", "{d}/m.csv", "{d}/m.csv", *G, "--deflator", "0"], "--deflator must be a positive price ratio (after-year prices / before-year prices, e.g. 1.12), got 0."),
    "growth: negative deflator": (["growth", "{d}/m.csv", "{d}/m.csv", *G, "--deflator", "-1.1"], "--deflator must be a positive price ratio"),
    "growth: unknown lonely-PSU rule": (["growth", "{d}/m_design.csv", "{d}/m_design.csv", *G, "--strata", "region", "--psu", "psu", "--lonely-psu", "bad"], "unknown lonely_psu rule 'bad'. Fix: use one of fail, adjust, remove, certainty."),
    "growth: stratum with one PSU": (["growth", "{d}/m_design.csv", "{d}/m_lonely.csv", *G, "--strata", "region", "--psu", "psu"], "AFTER file: 1 stratum/strata of 'region' have a single PSU ('E'), so their variance is not defined. Fix:"),
    "growth: unknown pro-poor method": (["growth", "{d}/m.csv", "{d}/m.csv", *G, "--pro-poor", "ravallion"], "--pro-poor must be one of percentiles, watts, got 'ravallion'."),
    "growth: malformed percentiles": (["growth", "{d}/m.csv", "{d}/m.csv", *G, "--percentiles", "10%,50%"], "--percentiles must be numbers separated by commas, e.g. 0.1,0.5,0.9, got '10%,50%'"),
    "growth: percentiles in percent": (["growth", "{d}/m.csv", "{d}/m.csv", *G, "--percentiles", "10,50,90"], "percentiles must lie strictly between 0 and 1 (e.g. 0.01 .. 0.99)"),
    "growth: one file": (["growth", "{d}/m.csv", *G], "two data files are needed. Usage: prosperity growth BEFORE AFTER"),
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("bad_inputs")
    write_files(d)
    return d


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input(case, folder):
    args, start = CASES[case]
    args = [a.replace("{d}", str(folder)) for a in args]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert result.stdout == "" and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr  # one paragraph
    assert result.stderr[len("error: "):].startswith(start.replace("{d}", str(folder))), result.stderr
    assert not (folder / "s.parquet").exists()  # a refused synth run writes nothing


def test_grouped_text_in_a_numeric_column(tmp_path):
    (tmp_path / "g.csv").write_text("population_share,mean\n0.5,10\n0.5,\"1,200\"\n")
    result = CliRunner().invoke(app, ["grouped", str(tmp_path / "g.csv")])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: column 'mean' must be numeric: data row 2 holds '1,200' (data rows count from 1 below the header)")
