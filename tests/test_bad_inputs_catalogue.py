"""A catalogue of bad inputs and the exact message each one produces (Python API and CLI).

This file is documentation: every case shows what an analyst did wrong and what prosperity says
back (what is wrong, where, how to fix it). Keep the messages stable; change a text here only on
purpose. Through the CLI the same paragraph goes to stderr, prefixed by ``error: ``, with exit code 2.
Data rows count from 1 below the header (spreadsheet row = data row + 1).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from prosperity.cli import measure_cmd
from prosperity.io import ProsperityInputError
from prosperity.table import measure


def base() -> pd.DataFrame:
    return pd.DataFrame({
        "income": [100.0, 250, 80, 400, 120, 300, 90, 500, 210, 150, 60, 330],
        "weight": [1.0, 2, 1, 3, 2, 1, 2, 1, 1, 2, 1, 3],
        "region": ["North"] * 6 + ["South"] * 6,
        "province": ["Alpha", "Alpha", "Beta", "Beta", "Gamma", "Gamma", "Delta", "Delta", "Beta", "Eps", "Eps", "Eps"],
        "stratum": ["s1"] * 4 + ["s2"] * 4 + ["s3"] * 4,
        "psu": [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6],
    })


def changed(col, rows, value):
    def make():
        f = base()
        if isinstance(value, str):
            f[col] = f[col].astype(object)
        f.loc[rows, col] = value
        return f
    return make


# id -> (data, Python keyword arguments, CLI arguments, exact message)
CASES = {
    "negative income for MLD": (
        changed("income", [2, 7], -40.0), dict(measures=["gini", "mld"]), ["--measures", "gini,mld"],
        "mld needs positive incomes, but income column 'income' has 2 negative values. 2 rows: data rows 3, 8 "
        "(values -40, -40); data rows count from 1 below the header, so the CSV line or spreadsheet row is one more. "
        "Fix: leave mld out (gini accepts any income), or decide explicitly what these incomes mean and recode or "
        "remove the rows before measuring (e.g. bottom-code at a small positive amount).",
    ),
    "missing income": (
        changed("income", [4], np.nan), dict(measures=["gini"]), ["--measures", "gini"],
        "income column 'income' has 1 missing value. 1 row: data row 5; data rows count from 1 below the header, "
        "so the CSV line or spreadsheet row is one more. Fix: fill them in, or exclude these rows on purpose with "
        "drop_missing=True (CLI: --drop-missing); the number of excluded rows is then reported.",
    ),
    "zero weight": (
        changed("weight", [3], 0.0), dict(measures=["gini"]), ["--measures", "gini"],
        "weight column 'weight' has 1 zero weight; weights must be positive. 1 row: data row 4 (values 0); data "
        "rows count from 1 below the header, so the CSV line or spreadsheet row is one more. Fix: a weight is the "
        "number of population units a row represents: correct these rows, or remove them from the data if they "
        "represent nobody (e.g. df[df[weight] > 0]).",
    ),
    "negative weight": (
        changed("weight", [1, 9], -2.0), dict(measures=["gini"]), ["--measures", "gini"],
        "weight column 'weight' has 2 negative weights; weights must be positive. 2 rows: data rows 2, 10 (values "
        "-2, -2); data rows count from 1 below the header, so the CSV line or spreadsheet row is one more. Fix: a "
        "weight is the number of population units a row represents: correct these rows, or remove them from the "
        "data if they represent nobody (e.g. df[df[weight] > 0]).",
    ),
    "missing weight": (
        changed("weight", [0], np.nan), dict(measures=["gini"]), ["--measures", "gini"],
        "weight column 'weight' has 1 missing value. 1 row: data row 1; data rows count from 1 below the header, "
        "so the CSV line or spreadsheet row is one more. Fix: fill them in, or exclude these rows on purpose with "
        "drop_missing=True (CLI: --drop-missing); the number of excluded rows is then reported.",
    ),
    "hierarchy that does not nest": (
        base, dict(measures=["gini"], hierarchy=["region", "province"]), ["--measures", "gini", "--hierarchy", "region,province"],
        "hierarchy does not nest: province 'Beta' lies in 2 different region values (data rows count from 1 below "
        "the header): 'North' (e.g. data row 3), 'South' (e.g. data row 9). Fix: give each province a name that is "
        "unique across region values (e.g. combine them as 'region / province'), correct the misassigned rows, or "
        "pass 'province' as a group column instead of a hierarchy level.",
    ),
    "unknown column": (
        base, dict(measures=["gini"], by="provnce"), ["--measures", "gini", "--by", "provnce"],
        "group column 'provnce' is not in the data; did you mean 'province'? Fix: use one of the data's columns: "
        "'income', 'weight', 'region', 'province', 'stratum', 'psu'.",
    ),
    "unknown measure": (
        base, dict(measures=["gini", "thiel"]), ["--measures", "gini,thiel"],
        None,  # the list of known measures grows: checked by prefix below
    ),
    "Atkinson with a negative epsilon": (
        base, dict(measures=["atkinson:-1"]), ["--measures", "atkinson:-1"],
        "invalid measure 'atkinson:-1': the Atkinson parameter epsilon must be a finite number >= 0, got -1.0. "
        "Fix: atkinson takes epsilon: Atkinson index A(epsilon), epsilon >= 0 (1: geometric mean).",
    ),
    "FGT with a negative alpha": (
        base, dict(measures=["fgt:-2"]), ["--measures", "fgt:-2"],
        "invalid measure 'fgt:-2': the FGT parameter alpha must be >= 0 (0 headcount, 1 gap, 2 severity), got -2.0. "
        "Fix: fgt takes alpha: Foster-Greer-Thorbecke FGT(alpha): 0 headcount, 1 poverty gap, 2 severity.",
    ),
    "relative line of 7 (meant 70 %?)": (
        base, dict(measures=["fgt:0"], relative_line=7), ["--measures", "fgt:0", "--relative-line", "7"],
        "the relative line must be a fraction of the median in (0, 2], got 7. Fix: write 0.6 for 60 % of the "
        "median, not 60; for an absolute line use poverty_line (CLI --poverty-line).",
    ),
    "quantile 1.5": (
        base, dict(measures=["quantile:1.5"]), ["--measures", "quantile:1.5"],
        "invalid measure 'quantile:1.5': p must lie strictly between 0 and 1 (a population share), got 1.5. "
        "Fix: quantile takes p: Weighted p-quantile (Eurostat/laeken rule), e.g. quantile:0.9.",
    ),
    "stratum with a single PSU": (
        changed("psu", [4, 5, 6, 7], 3), dict(measures=["gini"], strata="stratum", psu="psu", se=True),
        ["--measures", "gini", "--strata", "stratum", "--psu", "psu", "--se"],
        "1 stratum/strata of 'stratum' have a single PSU ('s2'), so their variance is not defined. Fix: merge each "
        "such stratum with a similar one, or choose a rule: lonely_psu='adjust' (centre at the population mean, as "
        "R survey), 'remove' or 'certainty' (contribute 0) (CLI: --lonely-psu).",
    ),
    "incomes written as text": (
        changed("income", [5, 8], "1,200"), dict(measures=["gini"]), ["--measures", "gini"],
        "income column 'income' is not numeric: 2 values cannot be read as numbers. 2 rows: data rows 6, 9 (values "
        "'1,200', '1,200'); data rows count from 1 below the header, so the CSV line or spreadsheet row is one more. "
        "Fix: remove thousands separators, currency signs and units, write decimals with a point, and leave missing "
        "values empty (or NA); in pandas, convert with pd.to_numeric after cleaning.",
    ),
    "absolute and relative line together": (
        base, dict(measures=["fgt:0"], poverty_line=100, relative_line=0.6),
        ["--measures", "fgt:0", "--poverty-line", "100", "--relative-line", "0.6"],
        "give either an absolute poverty line or a relative line, not both. Fix: drop poverty_line=100 (CLI "
        "--poverty-line) or relative_line=0.6 (CLI --relative-line).",
    ),
    "misspelt equivalence scale": (
        base, dict(measures=["gini"], equivalence="oecd-modifed", household_size="psu"),
        ["--measures", "gini", "--equivalence", "oecd-modifed", "--household-size", "psu"],
        "unknown equivalence scale 'oecd-modifed'. Fix: use one of per_capita, oecd_modified, oecd, square_root or "
        "power:THETA (e.g. power:0.5), or give a precomputed scale column.",
    ),
}

# The middle sentence of "invalid measure ..." messages comes from each kernel's own parameter check
# (measures/catalog.py); the "Fix:" part is the measure's description from the catalogue.


def app() -> typer.Typer:
    a = typer.Typer()

    @a.callback()
    def _group() -> None:
        pass

    measure_cmd.register(a)
    return a


def python_message(make, kwargs) -> str:
    with pytest.raises(ProsperityInputError) as err:
        measure(make(), "income", weight="weight", **kwargs)
    return str(err.value)


def cli_message(tmp_path, make, args) -> str:
    path = tmp_path / "data.csv"
    make().to_csv(path, index=False)
    result = CliRunner().invoke(app(), ["measure", str(path), "--income", "income", "--weight", "weight", *args])
    assert result.exit_code == 2, result.output
    assert result.stdout == "" and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1  # one paragraph
    return result.stderr[len("error: "):].strip()


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input(case, tmp_path):
    make, kwargs, args, expected = CASES[case]
    got = python_message(make, kwargs)
    if expected is None:
        assert got.startswith("unknown measure 'thiel'; did you mean 'theil'? Fix: known measures: "), got
    else:
        assert got == expected
    assert cli_message(tmp_path, make, args) == " ".join(got.split())


def test_excel_without_sheet(tmp_path):
    path = tmp_path / "survey.xlsx"
    with pd.ExcelWriter(path) as xl:
        base().to_excel(xl, sheet_name="households", index=False)
        base().to_excel(xl, sheet_name="persons", index=False)
    expected = ("the workbook 'survey.xlsx' has 2 sheets ('households', 'persons') and no sheet was named. "
                "Fix: name the sheet with sheet='...' (CLI: --sheet NAME).")
    with pytest.raises(ProsperityInputError) as err:
        measure(path, "income", ["gini"])
    assert str(err.value) == expected
    result = CliRunner().invoke(app(), ["measure", str(path), "--income", "income"])
    assert result.exit_code == 2 and result.stderr.strip() == "error: " + expected
    ok = CliRunner().invoke(app(), ["measure", str(path), "--income", "income", "--sheet", "persons", "--format", "json"])
    assert ok.exit_code == 0


def test_empty_group(tmp_path):
    """A categorical column with a category nobody is in (e.g. a province list used as categories)."""
    frame = base()
    frame["province"] = pd.Categorical(frame["province"], categories=["Alpha", "Beta", "Delta", "Eps", "Gamma", "Zeta"])
    expected = ("group column 'province' has 1 category with no observations ('Zeta'). Fix: remove unused categories "
                "(pandas: df[col] = df[col].cat.remove_unused_categories()) or check that the data are complete.")
    with pytest.raises(ProsperityInputError) as err:
        measure(frame, "income", ["gini"], by="province")
    assert str(err.value) == expected
    path = tmp_path / "labelled.parquet"  # Parquet keeps a categorical's categories, used or not
    frame.to_parquet(path)
    result = CliRunner().invoke(app(), ["measure", str(path), "--income", "income", "--by", "province"])
    assert result.exit_code == 2 and result.stderr.strip() == "error: " + expected


def test_missing_file_and_unknown_format(tmp_path):
    (tmp_path / "survey.csv").write_text("income\n1\n")
    with pytest.raises(ProsperityInputError) as err:
        measure(tmp_path / "survy.csv", "income")
    assert str(err.value).startswith(f"file '{tmp_path / 'survy.csv'}' does not exist; did you mean 'survey.csv'?")
    (tmp_path / "survey.sav").write_text("")
    with pytest.raises(ProsperityInputError) as err:
        measure(tmp_path / "survey.sav", "income")
    assert str(err.value).startswith("cannot tell the format of 'survey.sav' from its extension '.sav'. Fix: use one of")
