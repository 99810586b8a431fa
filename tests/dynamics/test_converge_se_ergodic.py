"""``prosperity converge --se`` and a Markov chain without a steady state (issue 13: explained, no nan)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from typer.testing import CliRunner

from prosperity.dynamics import beta_convergence, markov, panel_beta_convergence

runner = CliRunner()


@pytest.fixture(scope="module")
def short_csv(tmp_path_factory, usjoin_long):
    long = usjoin_long.copy()
    path = tmp_path_factory.mktemp("conv_se") / "us.csv"
    long[long["year"] <= 1935].to_csv(path, index=False)
    return path


ARGS = ["--region", "Name", "--time", "year", "--value", "income", "--no-clubs", "--format", "json"]


@pytest.mark.parametrize("se,cross,panel", [("classical", "classical", "classical"), ("hc1", "HC1", "HC1"),
                                            ("cluster", "HC1", "cluster"), (None, "robust", "cluster")])
def test_se_option_is_the_api(cli, short_csv, us_panel, se, cross, panel):
    res = runner.invoke(cli, ["converge", str(short_csv)] + ARGS + ([] if se is None else ["--se", se]))
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    sub = us_panel.select(times=range(1929, 1936))
    assert out["beta"]["se"] == pytest.approx(beta_convergence(sub, se=cross).se, rel=1e-12)
    for b, e in zip(out["beta_panel"], ("time", "region", "twoway")):
        assert b["se"] == pytest.approx(panel_beta_convergence(sub, effects=e, se=panel).se, rel=1e-12)
    assert out["se"].startswith("standard errors:")
    if se == "classical":  # classical differs from the robust default
        assert out["beta"]["se"] != pytest.approx(beta_convergence(sub).se, rel=1e-6)


def test_se_bad_value(cli, short_csv):
    res = runner.invoke(cli, ["converge", str(short_csv)] + ARGS + ["--se", "hac"])
    assert res.exit_code == 2 and "--se must be classical, hc1 or cluster" in res.output


def test_chain_without_steady_state_is_explained(cli, short_csv, us_panel):
    # relative income never exceeds 2 in 1929-1935: the top class is never entered -> no steady state
    cut = ["--cutoffs", "0.5,0.6,2.0"]
    res = runner.invoke(cli, ["converge", str(short_csv)] + ARGS + cut)
    assert res.exit_code == 0, res.output
    m = json.loads(res.stdout)["markov"]
    assert m["ergodic"] is None and m["irreducible"] is False
    assert m["structure"]["never_left"] == [">2"]
    assert m["structure"]["closed"] == [["<=0.5", "(0.5,0.6]", "(0.6,2]"]]
    assert "not irreducible" in m["structure"]["explanation"]
    assert m["sojourn"][3] is None
    ref = markov(us_panel.select(times=range(1929, 1936)), cutoffs=[0.5, 0.6, 2.0])
    np.testing.assert_allclose(m["prais"], 1 - np.diag(ref.p))
    table = runner.invoke(cli, ["converge", str(short_csv)] + ARGS[:-2] + cut)
    assert table.exit_code == 0
    text = " ".join(table.stdout.split())
    assert "ergodic: none (the chain is not irreducible (not ergodic)" in text
    section = text.split("Markov chain of relative income classes")[1].split("rank mobility")[0]
    assert not re.search(r"\bnan\b", section)
