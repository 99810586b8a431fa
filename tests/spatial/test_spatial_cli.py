"""``prosperity spatial``: the JSON/CSV/--out contract equals the API, weights from .gal / .gwt / the
bundled provinces, located errors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import prosperity
from prosperity.dynamics import RegionPanel, china_province_weights, lisa_markov
from prosperity.spatial import moran, moran_local, read_gal

runner = CliRunner()
DATA = Path(prosperity.__file__).parent / "data"
GPI = str(DATA / "china_prov_gpi_panel_1985_2018.csv")


@pytest.fixture(scope="module")
def china_2018(tmp_path_factory):
    df = pd.read_csv(GPI)
    d = df[df.year == 2018][["province", "gdp", "pop_total"]]
    path = tmp_path_factory.mktemp("sp") / "china2018.csv"
    d.to_csv(path, index=False)
    return path, (d.set_index("province")["gdp"] / d.set_index("province")["pop_total"])


def test_cross_section_json_equals_api(cli, china_2018):
    path, y = china_2018
    res = runner.invoke(cli, ["spatial", str(path), "--region", "province", "--value", "gdp", "--per", "pop_total",
                              "--china", "--format", "json", "--seed", "7"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    w = china_province_weights()
    m = moran(y, w, seed=7)
    g = out["moran"][0]
    assert g["I"] == pytest.approx(m.I, rel=1e-14) and g["p_sim"] == m.p_sim and g["z_rand"] == pytest.approx(m.z_rand, rel=1e-14)
    lm = moran_local(y, w, seed=7).to_frame()
    regions = {r["region"]: r for r in out["lisa"]["regions"]}
    assert regions["Hainan"]["cluster"] == "island" and regions["Hainan"]["p_sim"] is None
    for _, r in lm.iterrows():
        assert regions[r.region]["I"] == pytest.approx(r.I, rel=1e-13, abs=1e-15)
        assert regions[r.region]["cluster"] == r.cluster
    assert any("Hainan" in n for n in out["notes"])


def test_panel_csv_out_and_lisa_markov(cli, tmp_path):
    base = ["spatial", GPI, "--region", "province", "--value", "gdp", "--per", "pop_total", "--time", "year", "--china",
            "--incomplete", "drop", "--permutations", "99"]
    res = runner.invoke(cli, base + ["--format", "csv", "--table", "lisa_markov", "--out", str(tmp_path / "lm.xlsx")])
    assert res.exit_code == 0, res.output
    tab = pd.read_csv(io.StringIO(res.stdout))
    df = pd.read_csv(GPI).assign(v=lambda d: d.gdp / d.pop_total)
    panel = RegionPanel.from_long(df, region="province", time="year", value="v", incomplete="drop")
    ref = lisa_markov(panel, china_province_weights(), permutations=99, seed=12345)
    assert list(tab["count"]) == list(ref.counts.ravel().astype(int))
    np.testing.assert_allclose(tab["probability"], ref.p.ravel(), rtol=1e-14)
    assert pd.read_excel(tmp_path / "lm.xlsx").shape == tab.shape
    res = runner.invoke(cli, base + ["--format", "csv"])
    mt = pd.read_csv(io.StringIO(res.stdout))
    assert set(mt["inference"]) == {"normality", "randomisation", "permutation"} and mt["time"].nunique() == 34
    text = runner.invoke(cli, base + ["--year", "2000"]).stdout
    assert "local Moran (LISA) 2000" in text and "LISA Markov" in text and "dropped 2 region(s)" in text


def test_gal_weights_file(cli, tmp_path):
    usjoin = pd.read_csv(DATA / "pysal_usjoin_state_pcincome_1929_2009.csv")
    libpysal = pytest.importorskip("libpysal")
    gal = libpysal.examples.get_path("states48.gal")
    d = pd.DataFrame({"id": range(48), "income": usjoin["2009"]})
    d.to_csv(tmp_path / "us.csv", index=False)
    res = runner.invoke(cli, ["spatial", str(tmp_path / "us.csv"), "--region", "id", "--value", "income", "--weights", gal,
                              "--permutations", "0", "--format", "json"])
    assert res.exit_code == 0, res.output
    m = moran(d["income"].to_numpy(), read_gal(gal).matrix(row_standardize=False), permutations=0)
    assert json.loads(res.stdout)["moran"][0]["I"] == pytest.approx(m.I, rel=1e-14)


def test_errors_are_located(cli, china_2018, tmp_path):
    path, _ = china_2018
    base = ["spatial", str(path), "--region", "province", "--value", "gdp"]
    res = runner.invoke(cli, base)
    assert res.exit_code == 2 and "exactly one source of spatial weights" in res.output
    bad = tmp_path / "bad.gal"
    bad.write_text("2\n0 1\n1\n1 2\n0\n")
    res = runner.invoke(cli, base + ["--weights", str(bad)])
    assert res.exit_code == 2 and "bad.gal line 5" in res.output
    ok = tmp_path / "ok.gal"
    ok.write_text("2\n0 1\n1\n1 1\n0\n")
    res = runner.invoke(cli, base + ["--weights", str(ok)])
    assert res.exit_code == 2 and "not in the weights" in res.output and "Beijing" in res.output
    res = runner.invoke(cli, base + ["--china", "--table", "lisa_markov"])
    assert res.exit_code == 2 and "needs a panel" in res.output
    res = runner.invoke(cli, base + ["--china", "--out", str(tmp_path / "x.txt")])
    assert res.exit_code == 2 and "extension" in res.output
