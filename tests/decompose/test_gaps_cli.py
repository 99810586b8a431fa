"""The three gaps on the bundled China data, and the decompose/gaps commands."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import prosperity
from prosperity.decompose import decompose
from prosperity.decompose.gaps import china_gaps, parse_targets, regional_gap, rich_poor_gap, urban_rural_gap

DATA = Path(prosperity.__file__).parent / "data"


def test_china_gaps_values():
    t = china_gaps()
    wide = t.wide()
    assert list(wide.index) == list(range(2015, 2025))
    # NBS 2024: urban 54188, rural 23119 yuan per head -> 2.34 (the published ratio)
    assert wide.loc[2024, "urban_rural_income_ratio"] == pytest.approx(54188 / 23119, abs=1e-12)
    # national quintiles 2022: 8601 / 19303 / 30598 / 47397 / 90116
    assert wide.loc[2022, "s80_s20"] == pytest.approx(90116 / 8601, abs=1e-12)
    assert wide.loc[2022, "middle_share"] == pytest.approx((19303 + 30598 + 47397) / (8601 + 19303 + 30598 + 47397 + 90116))
    assert wide.loc[2024, "gini_official"] == pytest.approx(0.465)
    assert (wide.gini_quintiles < wide.gini_official).all()  # five-point Lorenz is a lower bound
    assert wide.loc[2024, "max_min_ratio"] == pytest.approx(
        wide.loc[2024, "max_min_ratio"])  # defined for 2016-2024 only
    assert np.isnan(wide.loc[2015, "cv"])
    f = t.to_frame()
    ur = f[f.indicator == "urban_rural_income_ratio"].set_index("year")
    assert (ur.target == 1.9).all() and not ur.met.any()
    assert ur.loc[2024, "distance"] == pytest.approx(54188 / 23119 - 1.9)


def test_regional_theil_matches_table_decomposition():
    from prosperity.decompose.gaps import china_province_panel

    p = china_province_panel()
    p24 = p[p.year == 2024].assign(nation="CN")
    d = decompose(p24, income="mean", weight="population", levels=["nation", "province_en"])
    assert regional_gap(p24["mean"], p24["population"])["theil_between"] == pytest.approx(d.components[1].value, abs=1e-14)


def test_gap_helpers():
    r = urban_rural_gap(3.0, 1.0, national_income=2.0)
    assert r["urban_share_implied"] == pytest.approx(0.5)
    assert r["theil_urban_rural"] == pytest.approx(0.75 * np.log(1.5) + 0.25 * np.log(0.5))
    with pytest.raises(ValueError, match="five positive, ascending"):
        rich_poor_gap([1, 2, 3, 2, 5])
    assert parse_targets(["s80_s20<5", "middle_share>0.5"]) == {"s80_s20": ("<", 5.0), "middle_share": (">", 0.5)}
    with pytest.raises(ValueError, match="unknown indicators"):
        china_gaps(targets={"nope": ("<", 1)})


def test_cli_decompose_json(app, tmp_path):
    mex = pd.read_csv(DATA / "pysal_mexico_state_pcgdp_1940_2000.csv")
    mex["top"] = np.where(mex.hanson98 <= 3, "north", "south")
    path = tmp_path / "mex.csv"
    mex.to_csv(path, index=False)
    res = CliRunner().invoke(app, ["decompose", str(path), "--income", "pcgdp2000", "--levels", "top", "hanson98",
                                   "State", "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert [(r["level"], r["component"]) for r in rows] == [
        ("top", "between"), ("hanson98", "between"), ("State", "between"), ("State", "within")]
    assert sum(r["value"] for r in rows) == pytest.approx(0.10660832349588023, abs=1e-14)
    assert sum(r["share"] for r in rows) == pytest.approx(1.0)
    res = CliRunner().invoke(app, ["decompose", str(path), "--income", "pcgdp2000", "--levels", "hanson98",
                                   "--measure", "gini", "--format", "json"])
    rows = json.loads(res.stdout)
    assert [r["component"] for r in rows] == ["within", "between", "overlap"]
    assert sum(r["share"] for r in rows) == pytest.approx(1.0)
    res = CliRunner().invoke(app, ["decompose", str(path), "--income", "pcgdp2000", "--levels", "region"])
    assert res.exit_code == 2 and "region" in res.output


def test_cli_gaps(app):
    res = CliRunner().invoke(app, ["gaps", "--format", "json", "--target", "s80_s20<10"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    s = [r for r in rows if r["indicator"] == "s80_s20" and r["year"] == 2024][0]
    assert s["target"] == 10 and s["met"] is False
