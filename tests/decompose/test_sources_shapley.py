"""Lerman-Yitzhaki source decomposition and Shapley decompositions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prosperity.decompose.shapley import shapley, shapley_between_within, shapley_sources
from prosperity.decompose.sources import gini_by_source
from prosperity.measures import gini


def sample(n=400, seed=1):
    rng = np.random.default_rng(seed)
    wage = rng.lognormal(9, 0.6, n) * (rng.random(n) < 0.8)
    business = rng.lognormal(8, 1.0, n) * (rng.random(n) < 0.3)
    transfer = rng.uniform(0, 3000, n)
    w = rng.uniform(1, 4, n)
    return pd.DataFrame({"wage": wage, "business": business, "transfer": transfer}), w


def test_lerman_yitzhaki_identities():
    src, w = sample()
    d = gini_by_source(src, w)
    y = src.sum(axis=1).to_numpy()
    t = d.table.set_index("source")
    assert d.gini == pytest.approx(gini(y, w), abs=1e-13)
    assert t.contribution.sum() == pytest.approx(d.gini, abs=1e-13)
    assert t.share_of_gini.sum() == pytest.approx(1.0, abs=1e-12)
    assert t.marginal_effect.sum() == pytest.approx(0.0, abs=1e-12)
    assert t.share_of_income.sum() == pytest.approx(1.0, abs=1e-12)
    for k in src.columns:
        assert t.loc[k, "gini"] == pytest.approx(gini(src[k].to_numpy(), w), abs=1e-13)
        assert t.loc[k, "contribution"] == pytest.approx(
            t.loc[k, "share_of_income"] * t.loc[k, "gini_correlation"] * t.loc[k, "gini"], abs=1e-13)
        # the concentration coefficient is the Gini formula with units ordered by total income
        order = np.argsort(y, kind="stable")
        xs, ws = src[k].to_numpy()[order], w[order]
        cw = np.cumsum(ws)
        conc = (2 * np.dot(ws * xs, cw) - np.dot(ws * xs, ws)) / (ws.sum() * np.dot(ws, xs)) - 1
        assert t.loc[k, "concentration"] == pytest.approx(conc, abs=1e-12)


def test_marginal_effect_is_the_derivative():
    src, w = sample(seed=4)
    d = gini_by_source(src, w).table.set_index("source")
    g0 = gini(src.sum(axis=1).to_numpy(), w)
    eps = 1e-6
    for k in src.columns:
        bumped = src.copy()
        bumped[k] *= 1 + eps
        g1 = gini(bumped.sum(axis=1).to_numpy(), w)
        assert (g1 - g0) / (eps * g0) == pytest.approx(d.loc[k, "marginal_effect"], abs=1e-5)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000))
def test_tied_totals_share_a_rank(seed):
    rng = np.random.default_rng(seed)
    n = 12
    a = rng.integers(0, 4, n).astype(float)
    b = rng.integers(0, 4, n).astype(float)  # many ties in a + b with different compositions
    w = rng.integers(1, 4, n).astype(float)
    if (a + b).sum() == 0:
        return
    perm = rng.permutation(n)
    d1 = gini_by_source({"a": a, "b": b}, w).table
    d2 = gini_by_source({"a": a[perm], "b": b[perm]}, w[perm]).table
    np.testing.assert_allclose(d1.concentration, d2.concentration, atol=1e-12)
    assert d1.contribution.sum() == pytest.approx(gini(a + b, w), abs=1e-12)


def test_total_must_match_sources():
    with pytest.raises(ValueError, match="data row 2: total income 5.0 differs from the sum of the sources 4.0"):
        gini_by_source({"a": [1.0, 2.0], "b": [1.0, 2.0]}, total=[2.0, 5.0])


def test_shapley_generic():
    r = shapley(lambda s: 3.0 * ("a" in s) + 1.0 * ("b" in s) + 2.0 * ("a" in s and "b" in s), ["a", "b"])
    assert r.contributions == (4.0, 2.0) and r.total == 6.0
    # additivity and symmetry with 10 factors
    vals = {f"f{i}": float(i) for i in range(10)}
    r = shapley(lambda s: sum(vals[f] for f in s) ** 2, list(vals))
    assert sum(r.contributions) == pytest.approx(r.total, rel=1e-12)
    r2 = shapley(lambda s: len(s) ** 1.5, list("abcdefgh"))
    assert np.allclose(r2.contributions, r2.contributions[0])
    with pytest.raises(ValueError, match="limited to 16 factors"):
        shapley(lambda s: 0.0, [str(i) for i in range(17)])


def test_shapley_sources_and_between_within():
    src, w = sample(seed=2)
    y = src.sum(axis=1).to_numpy()
    r = shapley_sources(src, w, measure="gini")
    assert sum(r.contributions) == pytest.approx(gini(y, w), abs=1e-12)
    r = shapley_sources(src, w, measure="theil", eliminate="mean")
    assert r.total == pytest.approx(r.full, abs=1e-15)
    groups = np.where(src.business > 0, "business", "other")
    bw = shapley_between_within(y, w, groups=groups, measure="gini")
    fr = bw.to_frame().set_index("factor")
    assert fr.contribution.sum() == pytest.approx(gini(y, w), abs=1e-12)
    # two factors: phi_between = (v(B) + v(BW) - v(W)) / 2
    mu_g = pd.Series(w * y).groupby(groups).transform("sum") / pd.Series(w).groupby(groups).transform("sum")
    mu = np.average(y, weights=w)
    vb, vw = gini(mu_g.to_numpy(), w), gini(y * mu / mu_g.to_numpy(), w)
    assert fr.loc["between", "contribution"] == pytest.approx((vb + gini(y, w) - vw) / 2, abs=1e-12)
