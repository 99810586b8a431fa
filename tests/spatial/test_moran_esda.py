"""Global and local Moran's I against PySAL esda, run in the same test session on real data: the US state
incomes 1929-2009 with libpysal's states48.gal, the Mexican states with mexico.gal, and the 31 Chinese
provinces with the package's own queen contiguity (Hainan an island). Analytical moments to 1e-12;
permutation results with esda's own random draws for the same seed."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import prosperity
from prosperity.dynamics import china_province_weights
from prosperity.spatial import moran, moran_local, read_gal, transform, weight_sums

esda = pytest.importorskip("esda")
libpysal = pytest.importorskip("libpysal")
from libpysal import examples  # noqa: E402

DATA = Path(prosperity.__file__).parent / "data"
YEARS = ["1929", "1945", "1970", "2009"]


@pytest.fixture(scope="module")
def usjoin():
    return pd.read_csv(DATA / "pysal_usjoin_state_pcincome_1929_2009.csv")


@pytest.fixture(scope="module")
def states48():
    path = examples.get_path("states48.gal")
    return read_gal(path), libpysal.io.open(path).read()


@pytest.fixture(scope="module")
def china():
    """GDP per capita 2018 of the 31 provinces (bundled GPI panel) and the package's queen contiguity,
    with the same neighbours handed to libpysal as a W."""
    df = pd.read_csv(DATA / "china_prov_gpi_panel_1985_2018.csv")
    d = df[df.year == 2018].set_index("province")
    y = (d["gdp"] / d["pop_total"]).astype(float)
    w = china_province_weights()
    y = y.reindex(list(w.ids))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # libpysal warns about the island
        wl = libpysal.weights.W({i: list(w.neighbors[i]) for i in w.ids}, id_order=list(w.ids))
    return y, w, wl


def _series(y, ids):
    return pd.Series(np.asarray(y, float), index=list(ids))


MORAN_FIELDS = ["I", "EI", "VI_norm", "VI_rand", "seI_norm", "seI_rand", "z_norm", "z_rand", "p_norm", "p_rand"]
PERM_FIELDS = ["p_sim", "EI_sim", "seI_sim", "z_sim", "p_z_sim"]


@pytest.mark.parametrize("year", YEARS)
def test_global_moran_equals_esda_us_states(usjoin, states48, year):
    ws, wl = states48
    y = usjoin[year].to_numpy(float)
    np.random.seed(20261207)
    ref = esda.Moran(y, wl, permutations=999)
    ours = moran(_series(y, ws.ids), ws, seed=20261207)
    for f in MORAN_FIELDS + PERM_FIELDS:
        assert getattr(ours, f) == pytest.approx(getattr(ref, f), rel=1e-12, abs=1e-12), f
    np.testing.assert_allclose(ours.sim, ref.sim, rtol=0, atol=1e-12)


def test_global_moran_binary_one_tailed_and_china_island(china):
    y, w, wl = china
    wl.transform = "b"
    np.random.seed(3)
    ref = esda.Moran(y.to_numpy(), wl, transformation="b", permutations=499, two_tailed=False)
    ours = moran(y, w, transformation="b", permutations=499, seed=3, two_tailed=False)
    for f in MORAN_FIELDS + PERM_FIELDS:
        assert getattr(ours, f) == pytest.approx(getattr(ref, f), rel=1e-12, abs=1e-12), f
    assert ours.I > 0.2 and ours.p_norm < 0.01 and ours.p_rand < 0.01  # GDP per capita is clustered
    s0, s1, s2 = weight_sums(transform(w.matrix(row_standardize=False), "b"))
    assert (s0, s1, s2) == (wl.s0, wl.s1, wl.s2)


def test_global_moran_frame_and_alignment_by_id(usjoin, states48):
    ws, _ = states48
    y = _series(usjoin["2009"], ws.ids)
    a = moran(y, ws, permutations=99, seed=1)
    b = moran(y.iloc[::-1], ws, permutations=0)  # shuffled rows: same I (weights aligned by id)
    assert b.I == pytest.approx(a.I, rel=1e-14)
    f = a.to_frame()
    assert list(f["inference"]) == ["normality", "randomisation", "permutation"]
    assert f.loc[1, "z"] == pytest.approx(a.z_rand) and f.loc[2, "p_value"] == a.p_sim
    assert np.isnan(b.p_sim)


@pytest.mark.parametrize("year", YEARS)
def test_local_moran_equals_esda_us_states(usjoin, states48, year):
    ws, wl = states48
    y = usjoin[year].to_numpy(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ref = esda.Moran_Local(y, wl, permutations=999, seed=777)
    ours = moran_local(_series(y, ws.ids), ws, seed=777)
    assert ours.stream == "esda"
    for f in ["Is", "EI", "VI", "EIc", "VIc", "EI_sim", "seI_sim", "z_sim", "p_z_sim"]:
        np.testing.assert_allclose(getattr(ours, f), getattr(ref, f), rtol=1e-12, atol=1e-12, err_msg=f)
    np.testing.assert_array_equal(ours.q, ref.q)
    np.testing.assert_allclose(ours.sim, ref.sim, rtol=0, atol=1e-12)  # the same conditional draws
    # pseudo p: equal, except where a replication redraws a region's own neighbour values (exact ties,
    # counted as >= here, resolved by rounding in esda): there the gap is at most ties / (R + 1)
    gap = np.abs(ours.p_sim - ref.p_sim)
    untied = ours.ties == 0
    assert untied.sum() >= 30
    np.testing.assert_allclose(ours.p_sim[untied], ref.p_sim[untied], rtol=0, atol=1e-12)
    assert np.all(gap <= ours.ties / 1000 + 1e-12)


def test_local_moran_china_island_and_clusters(china):
    y, w, wl = china
    wl.transform = "r"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # esda: alternative= deprecation; 0/0 z_sim of the island
        ref = esda.Moran_Local(y.to_numpy(), wl, permutations=999, seed=12345)
    ours = moran_local(y, w, seed=12345)
    np.testing.assert_allclose(ours.Is, ref.Is, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(ours.q, ref.q)
    hainan = list(w.ids).index("Hainan")
    assert ours.islands == ("Hainan",)
    assert np.isnan(ours.p_sim[hainan]) and ref.p_sim[hainan] == pytest.approx(1 / 1000)  # esda's 1/(R+1)
    keep = (ours.ties == 0) & ~np.isnan(ours.p_sim)
    np.testing.assert_allclose(ours.p_sim[keep], ref.p_sim[keep], atol=1e-12)
    f = ours.to_frame()
    assert f.loc[hainan, "cluster"] == "island"
    # esda's own cluster labels (quadrant where p_sim <= 0.05) agree away from the island
    sig = (ref.p_sim <= 0.05) & keep
    assert set(f.loc[sig, "cluster"]) <= {"HH", "LH", "LL", "HL"}
    assert (f.loc[sig, "quadrant"] == f.loc[sig, "cluster"]).all()
    assert (f.loc[keep & ~sig, "cluster"] == "ns").all()
    # Shanghai, Jiangsu, Zhejiang: the high-high cluster of the Yangtze delta
    assert set(f.loc[f.cluster == "HH", "region"]) >= {"Shanghai", "Jiangsu", "Zhejiang"}


def test_local_moran_mexico_mexico_gal():
    df = pd.read_csv(DATA / "pysal_mexico_state_pcgdp_1940_2000.csv")
    path = examples.get_path("mexico.gal")
    ws, wl = read_gal(path), libpysal.io.open(path).read()
    y = df["pcgdp2000"].to_numpy(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ref = esda.Moran_Local(y, wl, permutations=99, seed=5)
    ours = moran_local(_series(y, ws.ids), ws, permutations=99, seed=5)
    np.testing.assert_allclose(ours.Is, ref.Is, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours.z_sim, ref.z_sim, rtol=1e-10, atol=1e-12)
    np.random.seed(5)
    g = esda.Moran(y, wl, permutations=99)
    m = moran(_series(y, ws.ids), ws, permutations=99, seed=5)
    assert m.p_sim == pytest.approx(g.p_sim, abs=1e-12) and m.z_rand == pytest.approx(g.z_rand, rel=1e-12)


def test_bad_inputs_are_refused_with_the_region():
    w = china_province_weights()
    y = pd.Series(np.arange(31.0), index=list(w.ids))
    with pytest.raises(KeyError, match="Taiwan"):
        moran(y.rename(index={"Beijing": "Taiwan"}), w)
    with pytest.raises(ValueError, match="Tibet"):
        moran(y.where(y.index != "Tibet"), w)
    with pytest.raises(ValueError, match="all equal"):
        moran(y * 0 + 1, w)
    with pytest.raises(ValueError, match="transformation"):
        moran(y, w, transformation="x")


def test_general_weights_from_gwt_equal_esda():
    """Distance weights (juvenile.gwt, libpysal reads int ids from its .dbf): the neighbour weights enter
    the conditional permutations in esda's order, so the simulated I_i are esda's."""
    from prosperity.spatial import read_gwt

    path = examples.get_path("juvenile.gwt")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wl = libpysal.io.open(path).read()
        y = np.random.default_rng(1).lognormal(size=wl.n)
        ref = esda.Moran_Local(y, wl, permutations=199, seed=3)
        np.random.seed(2)
        g = esda.Moran(y, wl, permutations=99)
    ws = read_gwt(path, id_type=int)
    s = pd.Series(y, index=wl.id_order)
    ours = moran_local(s, ws, permutations=199, seed=3)
    np.testing.assert_allclose(ours.Is, ref.Is, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours.sim, ref.sim, rtol=0, atol=1e-12)
    keep = ours.ties == 0
    np.testing.assert_allclose(ours.p_sim[keep], ref.p_sim[keep], atol=1e-12)
    m = moran(s, ws, permutations=99, seed=2)
    for f in MORAN_FIELDS + PERM_FIELDS:
        assert getattr(m, f) == pytest.approx(getattr(g, f), rel=1e-12, abs=1e-12), f
