"""Fixtures of the decomposition tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def app():
    """The real CLI (``prosperity``) with every command registered."""
    from prosperity.cli import _register, app

    _register()
    return app


@pytest.fixture(scope="module")
def design_json(app):
    """``design_json(args, *design)``: the JSON rows of ``prosperity decompose`` with the design options,
    checked to be the rows without them plus ``se`` and ``share_se``."""
    import json

    from typer.testing import CliRunner

    def run(args: list[str], *design: str) -> list[dict]:
        plain = json.loads(CliRunner().invoke(app, [*args, "--format", "json"]).stdout)
        res = CliRunner().invoke(app, [*args, *design, "--format", "json"])
        assert res.exit_code == 0, res.output
        rows = json.loads(res.stdout)
        assert [{k: r[k] for k in ("level", "component", "value", "share")} for r in rows] == plain
        assert [list(r) for r in rows] == [["level", "component", "value", "share", "se", "share_se"]] * len(plain)
        return rows

    return run
