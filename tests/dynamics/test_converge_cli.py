"""``prosperity converge``: the JSON contract and located errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner


runner = CliRunner()


@pytest.fixture(scope="module")
def us_long_csv(tmp_path_factory, usjoin_long):
    long = usjoin_long.copy()
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


def test_converge_csv_is_the_json_in_long_form(cli, us_long_csv, tmp_path):
    import io

    import pandas as pd

    args = ["converge", str(us_long_csv), "--region", "Name", "--time", "year", "--value", "income", "--no-clubs"]
    js = json.loads(runner.invoke(cli, args + ["--format", "json"]).stdout)
    res = runner.invoke(cli, args + ["--format", "csv", "--out", str(tmp_path / "c.parquet")])
    assert res.exit_code == 0, res.output
    long = pd.read_csv(io.StringIO(res.stdout))
    beta = long[(long["section"] == "beta") & (long["key"] == "beta")]["value"].astype(float).iloc[0]
    assert beta == pytest.approx(js["beta"]["beta"], rel=1e-14)
    p = long[(long["section"] == "markov") & long["key"].str.fullmatch(r"p\[\d\]\[\d\]")]
    assert len(p) == 25
    assert float(p[p["key"] == "p[0][0]"]["value"].iloc[0]) == pytest.approx(js["markov"]["p"][0][0], rel=1e-14)
    assert pd.read_parquet(tmp_path / "c.parquet").shape[0] == len(long)
