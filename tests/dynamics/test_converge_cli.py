"""``prosperity converge``: the JSON contract and located errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from prosperity.cli import _register, app

runner = CliRunner()


@pytest.fixture(scope="module")
def cli():
    if not any(getattr(c, "name", None) == "converge" for c in app.registered_commands):
        _register()
    return app


@pytest.fixture(scope="module")
def us_long_csv(tmp_path_factory, usjoin):
    long = usjoin.drop(columns="STATE_FIPS").melt(id_vars="Name", var_name="year", value_name="income")
    long["year"] = long["year"].astype(int)
    long["pop"] = 1.0 + np.arange(len(long)) % 7
    path = tmp_path_factory.mktemp("conv") / "us.csv"
    long[long["year"] <= 1969].to_csv(path, index=False)
    return path


def test_converge_json(cli, us_long_csv, us_panel):
    res = runner.invoke(cli, ["converge", str(us_long_csv), "--region", "Name", "--time", "year", "--value", "income",
                              "--weight", "pop", "--format", "json", "--no-clubs"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    from prosperity.dynamics import beta_convergence, markov

    sub = us_panel.select(times=range(1929, 1970))
    assert out["beta"]["beta"] == pytest.approx(beta_convergence(sub).beta, rel=1e-12)
    np.testing.assert_allclose(out["markov"]["p"], markov(sub, 5).p, atol=1e-15)
    assert {r["measure"] for r in out["sigma"]["trend"]} >= {"sd_log", "cv_weighted"}
    assert [b["effects"] for b in out["beta_panel"]] == ["time", "region", "twoway"]


def test_converge_table_with_clubs(cli, us_long_csv):
    res = runner.invoke(cli, ["converge", str(us_long_csv), "--region", "Name", "--time", "year", "--value", "income",
                              "--classes", "4", "--start", "1940"])
    assert res.exit_code == 0, res.output
    assert "sigma-convergence" in res.stdout and "Phillips-Sul" in res.stdout
    assert "1940..1969" in res.stdout


def test_converge_errors_are_located(cli, us_long_csv):
    res = runner.invoke(cli, ["converge", str(us_long_csv), "--region", "State", "--time", "year", "--value", "income"])
    assert res.exit_code == 2 and "State" in res.output
    res = runner.invoke(cli, ["converge", str(us_long_csv), "--region", "Name", "--time", "year", "--value", "income", "--spatial"])
    assert res.exit_code == 2 and "could not match" in res.output
