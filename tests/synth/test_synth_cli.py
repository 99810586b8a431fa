"""``prosperity synth`` writes a Parquet file equal to the Python API's population."""

from __future__ import annotations

import pandas as pd
import typer
from typer.testing import CliRunner

from prosperity.cli import _COMMAND_MODULES, synth_cmd
from prosperity.synth import synthesize_population


def test_cli_writes_the_api_population(tmp_path):
    app = typer.Typer()
    synth_cmd.register(app)
    app.command("noop")(lambda: None)  # keep typer in multi-command mode
    out = tmp_path / "p.parquet"
    result = CliRunner().invoke(app, ["synth", "--persons", "3000", "--seed", "4", "--year", "2024", "--out", str(out),
                                      "--chunk-persons", "500", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert '"rows": 3000' in result.output
    back = pd.read_parquet(out)
    pd.testing.assert_frame_equal(back, synthesize_population(year=2024, persons=3000, seed=4), check_categorical=False)
    assert "synth_cmd" in _COMMAND_MODULES


def test_cli_bad_level_exits_2(tmp_path):
    app = typer.Typer()
    synth_cmd.register(app)
    app.command("noop")(lambda: None)
    result = CliRunner().invoke(app, ["synth", "--persons", "1000", "--level", "family", "--out", str(tmp_path / "x.parquet")])
    assert result.exit_code == 2
