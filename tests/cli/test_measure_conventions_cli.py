"""``prosperity measure --poor-if le|lt --domain ... --bandwidth osier|convey``: the options reach
measure(poor_if=, domain=, bandwidth=) and give the same numbers as the API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import prosperity
from prosperity import measure

EUSILC = str(Path(prosperity.__file__).parent / "data" / "laeken_eusilc_synthetic_austria2006.csv.gz")
BASE = ["measure", EUSILC, "--income", "eqIncome", "--weight", "rb050", "--strata", "db040", "--psu", "rb030",
        "--format", "json", "--se"]


def run(cli, *args):
    out = CliRunner().invoke(cli, [*BASE, *args])
    assert out.exit_code == 0, out.output
    return {r["measure"]: r for r in json.loads(out.stdout)}


def api(**kw):
    return measure(EUSILC, "eqIncome", kw.pop("measures"), weight="rb050", strata="db040", psu="rb030", **kw)


def test_poor_if_reaches_measure(cli):
    # an absolute line at an income some persons have exactly: y <= z counts them, y < z does not
    z = "12000"
    le = run(cli, "--measures", "headcount", "--poverty-line", z, "--poor-if", "le")
    lt = run(cli, "--measures", "headcount", "--poverty-line", z, "--poor-if", "lt")
    ref_le = api(measures=["headcount"], poverty_line=12000.0, poor_if="le")
    ref_lt = api(measures=["headcount"], poverty_line=12000.0, poor_if="lt")
    assert le["headcount"]["value"] == pytest.approx(ref_le.value_of("headcount"), rel=1e-15)
    assert lt["headcount"]["value"] == pytest.approx(ref_lt.value_of("headcount"), rel=1e-15)
    assert le["headcount"]["se"] == pytest.approx(ref_le.se_of("headcount"), rel=1e-15)


def test_poor_if_le_is_conveys_arpr(cli):
    r = run(cli, "--measures", "arpr", "--poor-if", "le")
    assert round(r["arpr"]["value"], 6) == 0.144442  # convey svyarpr (y <= t)


def test_domain_comparison_and_column_value(cli):
    pos = run(cli, "--measures", "watts", "--domain", "eqIncome > 0")
    ref = api(measures=["watts"], domain="eqIncome > 0")
    assert pos["watts"]["value"] == pytest.approx(ref.value_of("watts"), rel=1e-15)
    assert pos["watts"]["se"] == pytest.approx(ref.se_of("watts"), rel=1e-15)
    tyrol = run(cli, "--measures", "arpr", "--domain", "db040=Tyrol")
    by = api(measures=["arpr"], by="db040")
    # the domain of Tyrol against the whole sample's line: the by= group's value and SE
    assert tyrol["arpr"]["value"] == pytest.approx(by.value_of("arpr", db040="Tyrol"), rel=1e-14)
    assert tyrol["arpr"]["se"] == pytest.approx(by.se_of("arpr", db040="Tyrol"), rel=1e-9)


def test_bandwidth_option(cli):
    c = run(cli, "--measures", "median,qsr", "--bandwidth", "convey")
    o = run(cli, "--measures", "median,qsr", "--bandwidth", "osier")
    assert round(c["median"]["se"], 3) == 84.394 and round(c["qsr"]["se"], 4) == 0.0426  # convey 0.2.5 printed
    assert round(o["median"]["se"], 3) != 84.394 and c["median"]["value"] == o["median"]["value"]


def test_bad_values_are_one_paragraph_with_the_fix(cli):
    for args, words in [(["--poor-if", "leq"], "poor_if must be 'lt'"),
                        (["--bandwidth", "silverman"], "unknown bandwidth rule 'silverman'"),
                        (["--domain", "db040=Tirol"], "has no value 'Tirol'")]:
        out = CliRunner().invoke(cli, [*BASE, "--measures", "arpr", *args])
        assert out.exit_code == 2, out.output
        assert words in out.output and "Traceback" not in out.output
