"""Bad tables give located errors; the CLI prints the documented JSON shape."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from prosperity.cli import _register, app
from prosperity.grouped import (GroupedDataError, GroupedTable, Mixture, calibrate_person_shares, fit_grouped)
from prosperity.grouped.parametric import LogNormal


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        (dict(population_share=[0.2, 0.3, 0.4], mean=[1, 2, 3]), "sums to 0.9"),
        (dict(population_share=[20, 30, 50], mean=[1, 2, 3]), "divide by 100"),
        (dict(population_share=[0.2, 0.3, 0.5], mean=[1, 3, 2]), "column 'mean': data row 3"),
        (dict(population_share=[0.2, 0.3, 0.5], income_share=[0.1, 0.1, 0.8]), "column 'income_share': data row 2"),
        (dict(population_share=[0.2, -0.3, 1.1], mean=[1, 2, 3]), "data row 2"),
        (dict(population_share=[0.5, 0.5], mean=[1, 2], threshold=[0, 3]), "data row 2: the group mean 2"),
        (dict(population_share=[0.5, 0.5], mean=[1, float("nan")]), "column 'mean': data row 2 is missing"),
        (dict(population_share=[1.0], mean=[1]), "at least 2 groups"),
    ],
)
def test_bad_tables(kwargs, fragment):
    with pytest.raises(GroupedDataError, match=fragment.replace("(", r"\(")):
        GroupedTable.from_arrays(**kwargs)


def test_too_few_groups_for_gq_and_line_outside_support():
    t = GroupedTable.from_arrays([0.3, 0.4, 0.3], mean=[1, 2, 4])
    with pytest.raises(GroupedDataError, match="at least 4 groups"):
        fit_grouped(t, "gq")
    t5 = GroupedTable.from_arrays([0.2] * 5, mean=[1, 2, 3, 4, 8])
    with pytest.raises(ValueError, match="outside the support"):
        fit_grouped(t5, "lognormal").measures(poverty_line=1e9)


def test_household_shares_flagged():
    t = GroupedTable.from_arrays([0.2] * 5, mean=[8601, 19303, 30598, 47397, 90116], overall_mean=36883, unit="household")
    assert any("household shares" in n for n in t.notes)
    cal = calibrate_person_shares(t, 36883)
    assert np.dot(cal.person_share, t.mean) == pytest.approx(36883, rel=1e-12)
    assert cal.person_share[0] > 0.2 > cal.person_share[-1]  # poorer households are larger


def test_mixture_of_identical_components_is_the_component():
    d = LogNormal(0.0, 0.7)
    mix = Mixture([d, d], [0.3, 0.7])
    assert mix.measures()["gini"] == pytest.approx(d.measures()["gini"], abs=1e-9)
    two = Mixture([LogNormal(0.0, 0.5), LogNormal(1.0, 0.5)], [0.5, 0.5])
    y = two.sample(400_000, seed=3)
    ys = np.sort(y)
    n = ys.size
    g_sample = np.sum((2 * np.arange(1, n + 1) - n - 1) * ys) / (n * ys.sum())
    assert two.measures()["gini"] == pytest.approx(g_sample, abs=3e-3)
    assert two.mean == pytest.approx((np.exp(0.125) + np.exp(1.125)) / 2)


def test_cli_json_shape(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("population_share,mean\n0.2,8601\n0.2,19303\n0.2,30598\n0.2,47397\n0.2,90116\n")
    _register()
    runner = CliRunner()
    res = runner.invoke(app, ["grouped", str(path), "--method", "gq", "--poverty-line", "10000", "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert set(out) == {"method", "parameters", "diagnostics", "measures"}
    assert out["method"] == "gq" and set(out["parameters"]) == {"a", "b", "c"}
    assert {"gini", "headcount", "mean", "poverty_gap", "fgt2", "watts", "top10_share", "palma"} <= set(out["measures"])
    assert out["measures"]["mean"] == pytest.approx(39203.0)
    res = runner.invoke(app, ["grouped", str(path), "--method", "all", "--format", "json"])
    assert res.exit_code == 0, res.output
    outs = json.loads(res.stdout)
    assert isinstance(outs, list) and [o["method"] for o in outs][:4] == ["gq", "beta", "gpinter", "histogram"]
    bad = tmp_path / "bad.csv"
    bad.write_text("population_share,mean\n0.5,3\n0.5,2\n")
    res = runner.invoke(app, ["grouped", str(bad)])
    assert res.exit_code == 2 and "data row 2" in res.output


def test_nonfinite_measures_are_explained():
    # NBS 2022 national household quintiles: the Beta curve has L'(p) < 0 below p = 2.34e-5, so its
    # implied incomes there are negative and MLD / Watts are undefined; the JSON says why.
    from prosperity.grouped import GroupedTable, fit_grouped
    from prosperity.grouped.distribution import nonpositive_share

    table = GroupedTable.from_arrays([0.2] * 5, mean=np.array([8601, 19303, 30598, 47397, 90116.0]), overall_mean=36883)
    beta = fit_grouped(table, "beta")
    assert nonpositive_share(beta.distribution) == pytest.approx(2.341e-5, rel=1e-3)
    out = beta.to_dict(poverty_line=10000)
    assert out["measures"]["mld"] is None and out["measures"]["watts"] is None
    assert set(out["diagnostics"]["measure_notes"]) == {"mld", "watts"}
    assert "lowest 0.002341 % of the population" in out["diagnostics"]["measure_notes"]["watts"]
    assert out["measures"]["gini"] == pytest.approx(0.4176, abs=1e-4)  # the rest is unaffected
    gq = fit_grouped(table, "gq").to_dict(poverty_line=10000)
    assert gq["measures"]["watts"] == pytest.approx(0.0639, abs=1e-3)
    assert "measure_notes" not in gq["diagnostics"]
