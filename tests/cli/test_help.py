"""Every command's --help at 80 columns: flags shown as flags (no "<bool>"), every option listed."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from prosperity.cli import _register, app

_register()
COMMANDS = ["measure", "grouped", "synth", "converge", "index", "demo", "decompose", "gaps", "growth", "simulate",
            "household", "serve", "monitor", "data", "runs"]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_shows_flags_as_flags(command):
    out = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "80"})
    assert out.exit_code == 0, out.output
    assert "<bool>" not in out.stdout
    assert "Usage:" in out.stdout and "--help" in out.stdout
    assert max(len(line) for line in out.stdout.splitlines()) <= 80


def test_help_lists_every_command():
    out = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "80"})
    for command in COMMANDS:
        assert f"  {command} " in out.stdout, command
