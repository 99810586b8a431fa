"""Dagum's Gini decomposition: identities, Mookherjee-Shorrocks equivalence, O(n^2) brute force."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import prosperity
from prosperity.decompose.dagum import dagum_decomposition
from prosperity.measures import gini

DATA = Path(prosperity.__file__).parent / "data"


def brute(y, w, g):
    """Dagum's terms straight from the double sums (O(n^2))."""
    y, w = np.asarray(y, float), np.asarray(w, float)
    labels = sorted(set(g))
    g = np.asarray(g)
    n, mu = w.sum(), np.average(y, weights=w)
    total = np.sum(np.outer(w, w) * np.abs(y[:, None] - y[None, :])) / (2 * n * n * mu)
    parts = {}
    for a in labels:
        for b in labels:
            ia, ib = g == a, g == b
            e = np.sum(np.outer(w[ia], w[ib]) * np.abs(y[ia][:, None] - y[ib][None, :])) / (w[ia].sum() * w[ib].sum())
            # Dagum's d_jh and p_jh (gross affluence and transvariation) from their definitions
            diff = y[ia][:, None] - y[ib][None, :]
            dd = np.sum(np.outer(w[ia], w[ib]) * np.clip(diff, 0, None)) / (w[ia].sum() * w[ib].sum())
            pp = np.sum(np.outer(w[ia], w[ib]) * np.clip(-diff, 0, None)) / (w[ia].sum() * w[ib].sum())
            parts[a, b] = (e, dd, pp)
    mu_j = {a: np.average(y[g == a], weights=w[g == a]) for a in labels}
    p = {a: w[g == a].sum() / n for a in labels}
    s = {a: p[a] * mu_j[a] / mu for a in labels}
    gw = sum(parts[a, a][0] / (2 * mu_j[a]) * p[a] * s[a] for a in labels if mu_j[a] > 0)
    gnb = gt = 0.0
    for i, a in enumerate(labels):
        for b in labels[i + 1:]:
            e, dd, pp = parts[a, b]
            gjh = e / (mu_j[a] + mu_j[b])
            djh = abs(dd - pp) / (dd + pp) if dd + pp > 0 else 0.0
            gnb += gjh * (p[a] * s[b] + p[b] * s[a]) * djh
            gt += gjh * (p[a] * s[b] + p[b] * s[a]) * (1 - djh)
    return total, gw, gnb, gt


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 40).flatmap(lambda n: st.tuples(
    st.lists(st.floats(0, 1e4), min_size=n, max_size=n),
    st.lists(st.floats(0.1, 50), min_size=n, max_size=n),
    st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=n, max_size=n))))
def test_identity_and_brute_force(data):
    y, w, g = map(np.asarray, data)
    if np.sum(w * y) <= 0:
        return
    d = dagum_decomposition(y, w, groups=g)
    total, gw, gnb, gt = brute(y, w, g)
    scale = max(1.0, total)
    assert d.gini == pytest.approx(total, abs=1e-10 * scale)
    assert d.gini == pytest.approx(gini(y, w), abs=1e-10 * scale)
    assert d.within + d.net_between + d.transvariation == pytest.approx(d.gini, abs=1e-10 * scale)
    assert d.within == pytest.approx(gw, abs=1e-10 * scale)
    assert d.net_between == pytest.approx(gnb, abs=1e-10 * scale)
    assert d.transvariation == pytest.approx(gt, abs=1e-10 * scale)
    # Mookherjee-Shorrocks: within = sum p s G_j; net between = Gini of group means; overlap = rest
    frame = pd.DataFrame({"y": y, "w": w, "g": g})
    ms_within = 0.0
    for _, part in frame.groupby("g"):
        if part.w.sum() > 0 and (part.w * part.y).sum() > 0:
            ms_within += (part.w.sum() / w.sum()) * ((part.w * part.y).sum() / (w * y).sum()) * gini(part.y, part.w)
    means = frame.groupby("g").apply(lambda p: np.average(p.y, weights=p.w), include_groups=False)
    sizes = frame.groupby("g").w.sum()
    assert d.within == pytest.approx(ms_within, abs=1e-10 * scale)
    assert d.net_between == pytest.approx(gini(means.to_numpy(), sizes.to_numpy()), abs=1e-10 * scale)


def test_matrices_and_groups_on_eusilc():
    df = pd.read_csv(DATA / "laeken_eusilc_synthetic_austria2006.csv.gz")
    d = dagum_decomposition(df.eqIncome, df.rb050, groups=df.db040)
    assert d.gini == pytest.approx(0.2648962, abs=5e-8)  # laeken gini(eqIncome, rb050) = 26.48962 %
    # group Ginis on the diagonal = laeken's Gini by federal state (SOURCES.md)
    laeken = {"Burgenland": 0.3205489, "Carinthia": 0.2549448, "Lower Austria": 0.2593737, "Salzburg": 0.2501652,
              "Styria": 0.2371190, "Tyrol": 0.2524881, "Upper Austria": 0.2549202, "Vienna": 0.2894944,
              "Vorarlberg": 0.2874120}
    for state, value in laeken.items():
        assert d.G.loc[state, state] == pytest.approx(value, abs=5e-8)
    assert np.allclose(d.D.to_numpy(), -d.D.to_numpy().T)
    assert (np.abs(d.D.to_numpy()) <= 1).all()
    assert d.within + d.net_between + d.transvariation == pytest.approx(d.gini, abs=1e-13)
    assert list(d.to_frame().component) == ["within", "net_between", "transvariation"]


def test_scales_to_a_million_rows_quickly():
    import time

    rng = np.random.default_rng(0)
    n = 1_000_000
    y = rng.lognormal(10, 0.7, n)
    g = rng.integers(0, 8, n)
    t0 = time.perf_counter()
    d = dagum_decomposition(y, groups=g)
    assert time.perf_counter() - t0 < 10  # O(n log n + n k); the pairwise form would need 10^12 steps
    assert d.within + d.net_between + d.transvariation == pytest.approx(d.gini, abs=1e-12)


def test_sparse_integer_groups_and_negative_incomes():
    # integer labels far apart are groups, not 50,001 codes (this used to build a 50,001 x 50,001 matrix)
    d = dagum_decomposition([1, 2, 3, 10, 11, 12], groups=[0, 0, 0, 50000, 50000, 50000])
    same = dagum_decomposition([1, 2, 3, 10, 11, 12], groups=["a"] * 3 + ["b"] * 3)
    assert list(d.groups["group"]) == [0, 50000]
    assert (d.gini, d.within, d.net_between) == pytest.approx((same.gini, same.within, same.net_between), rel=1e-15)
    # a negative income used to break the adding-up silently (G 0.568 vs components 0.523)
    with pytest.raises(ValueError, match=r"data row 1: income -1.0 is negative \(1 such rows\)"):
        dagum_decomposition([-1, 1, 5, 6], groups=list("aabb"))


def test_compiled_walk_equals_numpy_walk(monkeypatch):
    # the one-pass numba walk and the per-group NumPy passes give the same decomposition and SEs
    from prosperity.decompose import dagum

    rng = np.random.default_rng(1)
    n = 20_000
    y, w, g = rng.lognormal(10, 0.8, n), rng.uniform(1, 5, n), rng.integers(0, 7, n)
    y[:500] = y[500:1000]  # ties across groups
    monkeypatch.setattr(dagum, "WALK_NUMBA_MIN", 10**9)
    numpy_walk = dagum.dagum_decomposition(y, w, groups=g, psu=np.arange(n))
    monkeypatch.setattr(dagum, "WALK_NUMBA_MIN", 1)
    if dagum._compiled_walk() is None:
        pytest.skip("numba not available (or PROSPERITY_NO_NUMBA set)")
    compiled = dagum.dagum_decomposition(y, w, groups=g, psu=np.arange(n))
    for name in ("gini", "within", "net_between", "transvariation", "gini_se"):
        assert getattr(compiled, name) == pytest.approx(getattr(numpy_walk, name), rel=1e-12), name
    for c in compiled.se:
        assert compiled.se[c] == pytest.approx(numpy_walk.se[c], rel=1e-12)
        assert compiled.share_se[c] == pytest.approx(numpy_walk.share_se[c], rel=1e-12)
