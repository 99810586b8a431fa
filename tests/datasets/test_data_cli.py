"""``prosperity data`` sub-commands."""

from __future__ import annotations

import io

import pandas as pd
from typer.testing import CliRunner

import typer

from prosperity.cli import _COMMAND_MODULES, data_cmd


def _app() -> typer.Typer:
    app = typer.Typer()
    data_cmd.register(app)
    return app


def test_registered_in_cli():
    assert "data_cmd" in _COMMAND_MODULES


def test_data_list_csv():
    result = CliRunner().invoke(_app(), ["data", "list", "--csv"])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(io.StringIO(result.output))
    assert "nbs_official_gini" in set(frame["name"])


def test_data_path_and_show():
    runner = CliRunner()
    path = runner.invoke(_app(), ["data", "path", "eusilc"])
    assert path.exit_code == 0 and path.output.strip().endswith("laeken_eusilc_synthetic_austria2006.csv.gz")
    shown = runner.invoke(_app(), ["data", "show", "nbs_official_gini", "--csv", "-n", "0"])
    assert shown.exit_code == 0
    assert pd.read_csv(io.StringIO(shown.output))["gini"].iloc[0] == 0.462
    text = runner.invoke(_app(), ["data", "show", "province_boundaries", "-n", "3"])
    assert text.exit_code == 0 and "Natural Earth" in text.output


def test_data_unknown_name_exits_2_with_suggestion():
    result = CliRunner().invoke(_app(), ["data", "path", "eusilk"])
    assert result.exit_code == 2
    assert "eusilc" in result.output
