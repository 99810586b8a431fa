"""Rank mobility (Kendall / spatial tau, Theta) against giddy; kernel densities against statsmodels;
contiguity weights of the Chinese provinces from the bundled boundaries."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import prosperity
from prosperity.dynamics import (
    RegionPanel,
    bandwidth,
    china_province_weights,
    density_path,
    kernel_density,
    rank_mobility,
    theta,
)

DATA = Path(prosperity.__file__).parent / "data"

# giddy documentation, Theta on Mexico pcgdp 1940-2000 by esquivel99 regimes
GIDDY_THETA_MEXICO = [0.41538462, 0.28070175, 0.61363636, 0.62222222, 0.33333333, 0.47222222]


def test_theta_matches_giddy_documented():
    mx = pd.read_csv(DATA / "pysal_mexico_state_pcgdp_1940_2000.csv")
    y = mx[[f"pcgdp{d}" for d in range(1940, 2010, 10)]].to_numpy(float)
    res = theta(y, mx["esquivel99"].to_numpy(), permutations=99, rng=0)
    np.testing.assert_allclose(res.table["theta"], GIDDY_THETA_MEXICO, atol=5e-9)
    assert ((res.table["p_value_left"] > 0) & (res.table["p_value_left"] <= 1)).all()
    by_id = theta(RegionPanel(tuple(mx["State"]), np.arange(7), y), dict(zip(mx["State"], mx["esquivel99"])), permutations=0)
    np.testing.assert_allclose(by_id.table["theta"], GIDDY_THETA_MEXICO, atol=5e-9)


def test_spatial_tau_matches_giddy(us_panel, us_weights):
    rm = rank_mobility(us_panel, us_weights)
    t = rm.table
    assert len(t) == 80
    # first pair, by hand from giddy's definition; all pairs live against giddy below
    assert t.loc[0, "neighbor_pairs"] == 107
    assert (t.loc[0, "concordant_spatial"], t.loc[0, "discordant_spatial"]) == (102, 3)
    # 2 neighbour pairs tied in one period only: tau-b denominator sqrt(105 * 107)
    assert t.loc[0, "tau_spatial"] == pytest.approx(99 / np.sqrt(105 * 107), rel=1e-13)
    from scipy.stats import kendalltau

    assert t.loc[10, "tau"] == pytest.approx(kendalltau(us_panel.values[:, 10], us_panel.values[:, 11]).statistic, rel=1e-14)
    giddy_rank = pytest.importorskip("giddy.rank")
    libpysal = pytest.importorskip("libpysal")
    pos = {r: i for i, r in enumerate(us_panel.regions)}
    w = libpysal.weights.W({pos[r]: [pos[j] for j in us_weights.neighbors[r]] for r in us_panel.regions}, id_order=list(range(48)))
    y = us_panel.values
    ref = [giddy_rank.SpatialTau(y[:, i], y[:, i + 1], w) for i in range(0, 80, 8)]
    np.testing.assert_allclose(t["tau_spatial"].to_numpy()[::8], [r.tau_spatial for r in ref], atol=1e-12)
    np.testing.assert_allclose(t["tau"].to_numpy()[::8], [r.tau for r in ref], atol=1e-12)


def test_spatial_tau_permutation_pvalue_is_reproducible(us_panel, us_weights):
    a = rank_mobility(us_panel.select(times=[1929, 1930, 1931]), us_weights, permutations=49, rng=7)
    b = rank_mobility(us_panel.select(times=[1929, 1930, 1931]), us_weights, permutations=49, rng=7)
    pd.testing.assert_frame_equal(a.table, b.table)
    assert (a.table["tau_spatial_p_value"] <= 0.5 + 1e-12).all()


def test_density_matches_statsmodels():
    kde = pytest.importorskip("statsmodels.nonparametric.kde")
    bws = pytest.importorskip("statsmodels.nonparametric.bandwidths")
    rng = np.random.default_rng(1)
    y = rng.lognormal(0, 0.5, 40)
    grid = np.linspace(0, 4, 60)
    for rule, ref in (("silverman", bws.bw_silverman), ("scott", bws.bw_scott)):
        assert bandwidth(y, None, rule) == pytest.approx(ref(y), rel=1e-13)
        k = kde.KDEUnivariate(y)
        k.fit(bw=rule, fft=False)
        np.testing.assert_allclose(kernel_density(y, grid, None, rule), k.evaluate(grid), atol=1e-13)


def test_density_stored_values():
    y = np.array([0.6, 0.8, 1.0, 1.1, 1.5])
    # Silverman: A = min(sd(ddof=1) = 0.3435113, IQR/1.349 = 0.3/1.349 = 0.2223869) -> h = 0.9 A 5^-0.2
    h = 0.9 * (0.3 / 1.349) * 5 ** -0.2
    assert bandwidth(y) == pytest.approx(h, rel=1e-14)
    f1 = np.mean(np.exp(-0.5 * ((1.0 - y) / h) ** 2)) / (h * np.sqrt(2 * np.pi))
    assert kernel_density(y, [1.0])[0] == pytest.approx(f1, rel=1e-14)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0.1, 10), min_size=3, max_size=12), st.integers(1, 4))
def test_integer_weights_equal_replication(values, k):
    y = np.array(values)
    grid = np.linspace(0, 11, 7)
    w = np.full(y.size, float(k))
    np.testing.assert_allclose(kernel_density(y, grid, w, 0.5), kernel_density(np.repeat(y, k), grid, None, 0.5), rtol=1e-12, atol=1e-15)


def test_density_path_tidy_and_integrates_to_one(us_panel):
    d = density_path(us_panel, times=[1929, 1969, 2009], points=400)
    f = d.to_frame()
    assert set(f["time"]) == {1929, 1969, 2009} and len(f) == 1200
    for _, g in f.groupby("time"):
        assert np.trapezoid(g["density"], g["x"]) == pytest.approx(1.0, abs=2e-3)
    assert d.bandwidths.loc[2009] < d.bandwidths.loc[1929]  # relative incomes concentrate
    assert not d.peaks().empty


def test_china_queen_contiguity():
    w = china_province_weights()
    assert len(w.ids) == 31
    assert set(w.neighbors["Beijing"]) == {"Tianjin", "Hebei"}
    assert set(w.neighbors["Shanghai"]) == {"Jiangsu", "Zhejiang"}
    assert len(w.neighbors["Inner Mongolia"]) == 8
    assert w.islands == ["Hainan"]
    assert sum(len(v) for v in w.neighbors.values()) == 136
    for i, nb in w.neighbors.items():  # symmetric
        assert all(i in w.neighbors[j] for j in nb)
    linked = china_province_weights(islands="nearest")
    assert linked.neighbors["Hainan"] == ("Guangdong",)
    by_code = china_province_weights(id_field="adcode")
    assert set(by_code.neighbors["110000"]) == {"120000", "130000"}
    m = w.matrix(["Hainan", "Beijing", "Tianjin", "Hebei"])
    np.testing.assert_allclose(m.sum(axis=1), [0, 1, 1, 1])
    np.testing.assert_allclose(m[1], [0, 0, 0.5, 0.5])


def test_china_contiguity_agrees_with_libpysal_queen():
    libpysal = pytest.importorskip("libpysal")
    gpd = pytest.importorskip("geopandas")
    g = gpd.read_file(DATA / "china_provinces_naturalearth.geojson")
    g = g[g["nbs31"].astype(bool)]
    with pytest.warns(UserWarning):
        q = libpysal.weights.Queen.from_dataframe(g, ids=list(g["name_en"]), use_index=False)
    w = china_province_weights()
    assert all(set(q.neighbors[i]) == set(w.neighbors[i]) for i in w.ids)


def test_china_contiguity_agrees_with_bundled_adjacency_loader():
    datasets = pytest.importorskip("prosperity.datasets")
    edges = datasets.province_adjacency()
    theirs = {tuple(sorted(p)) for p in zip(edges["province_a"], edges["province_b"])}
    w = china_province_weights()
    ours = {tuple(sorted((i, j))) for i in w.ids for j in w.neighbors[i]}
    assert ours == theirs and len(ours) == 68
