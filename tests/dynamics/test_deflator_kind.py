"""``deflator_kind`` / ``--deflator-kind``: a price level (ratio) or a chain index (previous year = 100),
and the refusal of a deflator that reads as an index with base 100 when no kind is given."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from prosperity.dynamics import growth_incidence
from prosperity.dynamics.incidence import deflator_level
from prosperity.io.errors import ProsperityInputError

P = [0.2, 0.5, 0.8]


@pytest.fixture(scope="module")
def incomes():
    rng = np.random.default_rng(3)
    y = np.exp(rng.normal(10, 0.6, 400))
    w = rng.uniform(0.5, 2.0, 400)
    return y, w


# ---------------------------------------------------------------- the level a deflator gives


def test_level_is_the_value_as_given():
    assert deflator_level(1.12) == 1.12
    assert deflator_level(1.12, "level") == 1.12
    assert deflator_level("2") == 2.0
    assert deflator_level(120.0, "level") == 120.0  # explicitly a level: prices x 120, as asked


def test_chain_is_the_product_of_chain_over_100():
    assert deflator_level(110.0, "chain") == 110.0 / 100.0
    assert deflator_level([125.0, 120.0], "chain", years=2) == 1.5
    assert deflator_level("102.5,103.1,99.5", "chain", years=3) == pytest.approx(1.025 * 1.031 * 0.995, rel=1e-15)
    assert deflator_level((102.5, 103.1, 99.5), "chain", years=3) == np.prod([102.5, 103.1, 99.5]) / 100.0**3


@pytest.mark.parametrize("value", [90.0, 100.0, 103.2, 115.0, 250.0])
def test_auto_refuses_a_value_that_reads_as_an_index(value):
    with pytest.raises(ProsperityInputError) as info:
        deflator_level(value)
    text = str(info.value)
    assert f"deflator {value:g} looks like an index with 100 as its base" in text
    assert "pass deflator_kind='chain'" in text and "deflator_kind='level'" in text
    assert "previous year = 100" in text and "product of chain/100" in text
    assert f"level = {value:g}/100 = {value / 100:g}" in text


def test_auto_refuses_several_values():
    with pytest.raises(ProsperityInputError, match=r"deflator 102,103 gives 2 values, which reads as a chain index"):
        deflator_level([102.0, 103.0], years=2)


def test_chain_refusals():
    with pytest.raises(ProsperityInputError, match=r"1.05 would mean prices fell to 1.05 % of the previous year's"):
        deflator_level(1.05, "chain")
    with pytest.raises(ProsperityInputError, match=r"gives 1 year-on-year index value\(s\) \(103\), but the surveys are 2 years apart"):
        deflator_level(103.0, "chain", years=2)
    with pytest.raises(ProsperityInputError, match="not a whole number"):
        deflator_level([103.0, 104.0], "chain", years=2.5)
    with pytest.raises(ProsperityInputError, match="must be positive chain indices"):
        deflator_level([103.0, -1.0], "chain", years=2)
    with pytest.raises(ProsperityInputError, match="deflator_kind must be level or chain, got 'base'"):
        deflator_level(1.1, "base")
    with pytest.raises(ProsperityInputError, match="with deflator_kind='level' is one ratio"):
        deflator_level([1.1, 1.2], "level")


# ---------------------------------------------------------------- growth_incidence(deflator=, deflator_kind=)


def test_growth_incidence_deflates_the_after_incomes(incomes):
    y, w = incomes
    nominal = growth_incidence((y, w), (y * 1.5, w), percentiles=P, years=2)
    by_level = growth_incidence((y, w), (y * 1.5, w), percentiles=P, years=2, deflator=1.5)
    by_chain = growth_incidence((y, w), (y * 1.5, w), percentiles=P, years=2, deflator=[125, 120], deflator_kind="chain")
    deflated_first = growth_incidence((y, w), (y * 1.5 / 1.5, w), percentiles=P, years=2)
    assert nominal.mean_growth == pytest.approx(np.sqrt(1.5) - 1, rel=1e-12)
    for r in (by_level, by_chain):
        assert r.mean_growth == deflated_first.mean_growth
        np.testing.assert_array_equal(r.curve["quantile_1"], deflated_first.curve["quantile_1"])
        assert abs(r.mean_growth) < 1e-14 and np.abs(r.curve["growth"]).max() < 1e-14


def test_growth_incidence_refuses_an_index_without_a_kind(incomes):
    y, w = incomes
    with pytest.raises(ProsperityInputError, match="looks like an index with 100 as its base"):
        growth_incidence((y, w), (y * 1.05, w), percentiles=P, deflator=105)
    r = growth_incidence((y, w), (y * 1.05, w), percentiles=P, deflator=105, deflator_kind="chain")
    assert abs(r.mean_growth) < 1e-14
    with pytest.raises(ProsperityInputError, match="without a deflator"):
        growth_incidence((y, w), (y, w), percentiles=P, deflator_kind="chain")


# ---------------------------------------------------------------- the CLI


def app() -> typer.Typer:
    """The package's own command line, every command registered."""
    from prosperity.cli import _register
    from prosperity.cli import app as cli

    _register()
    return cli


@pytest.fixture(scope="module")
def files(tmp_path_factory, incomes):
    y, w = incomes
    d = tmp_path_factory.mktemp("deflator")
    pd.DataFrame({"y": y, "w": w}).to_csv(d / "before.csv", index=False)
    # prices 25 % then 20 % higher (x 1.5), real incomes unchanged
    pd.DataFrame({"y": y * 1.5, "w": w}).to_csv(d / "after.csv", index=False)
    return d


def run(files, *args):
    base = ["growth", str(files / "before.csv"), str(files / "after.csv"), "--income", "y", "--weight", "w",
            "--no-se", "--percentiles", "0.2,0.5,0.8", "--format", "json"]
    return CliRunner().invoke(app(), base + [str(a) for a in args])


def test_cli_chain(files):
    r = run(files, "--years", 2, "--deflator", "125,120", "--deflator-kind", "chain")
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    for key in ("growth_of_mean", "growth_of_median", "growth_bottom40"):
        assert abs(out["summary"][key]["value"]) < 1e-14
    assert out["prices"] == ("before-year prices (AFTER incomes divided by the deflator 1.5 = product of the chain "
                             "indices 125, 120 / 100)")
    level = run(files, "--years", 2, "--deflator", 1.5, "--deflator-kind", "level")
    assert json.loads(level.stdout)["summary"] == out["summary"]
    same = run(files, "--years", 2, "--deflator", 1.5)  # the existing form: a ratio, no kind needed
    assert same.exit_code == 0 and json.loads(same.stdout)["summary"] == out["summary"]
    assert json.loads(same.stdout)["prices"] == "before-year prices (AFTER incomes divided by the deflator 1.5)"


def test_cli_refuses_a_chain_looking_deflator(files):
    r = run(files, "--deflator", 104.5)
    assert r.exit_code == 2 and r.stdout == ""
    message = " ".join(r.stderr.split())
    assert message.startswith("error: --deflator 104.5 looks like an index with 100 as its base (a chain index, "
                              "previous year = 100, or a level index with the before year = 100), not a ratio of "
                              "price levels: dividing the incomes by it would make them 104.5 times smaller.")
    assert "pass --deflator-kind chain if it is the year-on-year index (level = 104.5/100 = 1.045)" in message
    assert "give --deflator 1.045 if it is a level index with base 100" in message
    assert "or pass --deflator-kind level if prices really rose 104.5-fold" in message
    assert "--deflator-kind chain: --deflator is a chain index, one value per year" in message
    # with the kind, the same value is a chain link: level 1.045
    ok = run(files, "--deflator", 104.5, "--deflator-kind", "chain")
    assert ok.exit_code == 0, ok.stderr
    ratio = run(files, "--deflator", 1.045)
    assert json.loads(ok.stdout)["summary"] == json.loads(ratio.stdout)["summary"]


@pytest.mark.parametrize("args, message", [
    (["--deflator", "103,104"], "--deflator 103,104 gives 2 values, which reads as a chain index"),
    (["--deflator", "103,104", "--deflator-kind", "chain"], "gives 2 year-on-year index value(s) (103,104), but the surveys are 1 year apart"),
    (["--deflator", "1.03", "--deflator-kind", "chain"], "1.03 would mean prices fell to 1.03 % of the previous year's"),
    (["--deflator", "1.1", "--deflator-kind", "base"], "--deflator-kind must be level or chain, got 'base'"),
    (["--deflator-kind", "chain"], "--deflator-kind chain was given without --deflator"),
    (["--deflator", "abc"], "--deflator must be a number"),
])
def test_cli_refusals(files, args, message):
    r = run(files, *args)
    assert r.exit_code == 2 and r.stdout == ""
    assert message in " ".join(r.stderr.split())
