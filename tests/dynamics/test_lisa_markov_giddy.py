"""giddy's remaining pieces against giddy itself (run in the same session) on the US state incomes:
LISA Markov, Prais mobility, the steady-state homogeneity test of the spatial Markov chain, Kendall's
tau p-value without tie correction; and the structure of chains without a steady state."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from prosperity.dynamics import (
    chain_structure,
    lisa_markov,
    markov,
    prais,
    rank_mobility,
    spatial_markov,
    tau_p_value_untied,
)

giddy_markov = pytest.importorskip("giddy.markov")
giddy_rank = pytest.importorskip("giddy.rank")
libpysal = pytest.importorskip("libpysal")
from libpysal import examples  # noqa: E402


@pytest.fixture(scope="module")
def wl():
    return libpysal.io.open(examples.get_path("states48.gal")).read()


@pytest.fixture(scope="module")
def w_pos(us_weights):
    """states48 contiguity as a 0/1 matrix in usjoin's row order."""
    return us_weights.matrix(row_standardize=False)


def test_lisa_markov_equals_giddy_documented_and_live(us_pci, wl, w_pos):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = giddy_markov.LISA_Markov(us_pci, wl)
    ours = lisa_markov(us_pci, w_pos, independence="giddy")
    # giddy's documented example (LISA_Markov(pci, w))
    np.testing.assert_array_equal(ours.counts, [[1087, 44, 4, 34], [41, 470, 36, 1], [5, 34, 1422, 39], [30, 1, 40, 552]])
    np.testing.assert_allclose(ours.steady_state, [0.28561505, 0.14190226, 0.40493672, 0.16754598], atol=5e-9)
    assert ours.chi2[0] == pytest.approx(1058.208, abs=5e-4) and ours.chi2[2] == 9
    # live, to the last digits
    np.testing.assert_array_equal(ours.q, ref.q)
    np.testing.assert_array_equal(ours.move_types, ref.move_types)
    np.testing.assert_allclose(ours.p, ref.p, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.steady_state, ref.steady_state, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.expected, ref.expected_t, rtol=1e-12)
    assert ours.chi2[0] == pytest.approx(ref.chi_2[0], rel=1e-12)
    assert ours.chi2[1] == pytest.approx(ref.chi_2[1], abs=1e-12)
    assert ours.chi2[2] == ref.chi_2[2]
    assert list(ours.to_frame()["from_quadrant"][:4]) == ["HH"] * 4


def test_lisa_markov_regional_independence_is_giddys_chi2_on_the_time_chains(us_pci, w_pos):
    """The default test: 2-class chains of each region over time (own y / period mean < 1, lag likewise),
    built here with giddy's Markov and chi2 on the (regions x periods) arrays."""
    ours = lisa_markov(us_pci, w_pos)
    w = w_pos / w_pos.sum(axis=1, keepdims=True)
    ybar = us_pci.mean(axis=0)
    m_own = giddy_markov.Markov(us_pci / ybar < 1, summary=False)
    m_lag = giddy_markov.Markov((w @ us_pci) / ybar < 1, summary=False)
    a = np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 1, 0, 0]])
    expected = np.diag(ours.counts.sum(axis=1)) @ a @ np.kron(m_own.p, m_lag.p) @ a.T
    ref = giddy_markov.chi2(ours.counts, expected)
    np.testing.assert_allclose(ours.expected, expected, rtol=1e-12)
    assert ours.chi2[0] == pytest.approx(ref[0], rel=1e-12) and ours.chi2[2] == ref[2]
    assert ours.chi2[0] < 100  # far from giddy's transposed 1058.2


def test_lisa_markov_significant_moves_equal_giddy_same_seed(us_pci, wl, w_pos):
    np.random.seed(10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = giddy_markov.LISA_Markov(us_pci, wl, permutations=99)
    ours = lisa_markov(us_pci, w_pos, permutations=99, seed=10)
    np.testing.assert_array_equal(ours.significant_moves[0, :3], [11, 11, 11])  # giddy docs
    np.testing.assert_array_equal(ours.significant_moves[0, -3:], [59, 59, 43])
    np.testing.assert_allclose(ours.p_values, ref.p_values, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(ours.significant_moves, ref.significant_moves)
    f = ours.quadrants_frame()
    assert len(f) == 48 * 81 and f["significant"].sum() == int((ref.p_values <= 0.05).sum())


def test_prais_equals_giddy(us_pci):
    m = markov(us_pci, 5)
    np.testing.assert_allclose(prais(m.p), giddy_markov.prais(m.p), rtol=0, atol=1e-15)
    np.testing.assert_allclose(m.summary_frame()["prais"], 1 - np.diag(m.p))
    # giddy docs: prais(m.p) = [0.08988764 0.21468144 0.21125 0.20194986 0.07259074]
    np.testing.assert_allclose(m.prais, [0.08988764, 0.21468144, 0.21125, 0.20194986, 0.07259074], atol=5e-9)


def test_steady_state_homogeneity_equals_giddy_shtest(us_panel, us_weights, us_pci, wl):
    rpci = us_pci / us_pci.mean(axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = giddy_markov.Spatial_Markov(rpci, wl, fixed=True, k=5, m=5)
    ours = spatial_markov(us_panel, us_weights, k=5, m=5)
    assert len(ours.shtest) == 5
    for (x, p, d), (rx, rp, rd) in zip(ours.shtest, ref.shtest):
        assert x == pytest.approx(rx, rel=1e-12)
        assert p == pytest.approx(rp, abs=1e-12)
        assert d == rd == 4


def test_kendall_untied_p_equals_giddy_tau(us_panel):
    # giddy's documented example: tau -0.47140, tau_p 0.24821 (scipy, tie-corrected: 0.28275)
    x1, x2 = [12, 2, 1, 12, 2], [1, 4, 7, 1, 0]
    t = giddy_rank.Tau(x1, x2)
    assert tau_p_value_untied(t.tau, 5) == pytest.approx(t.tau_p, rel=1e-12)
    assert round(t.tau_p, 5) == 0.24821
    r = rank_mobility(us_panel, pairs="first").to_frame()
    y = us_panel.values
    for k in (0, 40, 79):
        ref = giddy_rank.Tau(y[:, 0], y[:, k + 1])
        assert r.loc[k, "tau"] == pytest.approx(ref.tau, rel=1e-12)
        assert r.loc[k, "tau_p_value_untied"] == pytest.approx(ref.tau_p, rel=1e-12, abs=1e-300)


def test_chain_structure_explains_missing_steady_state():
    p = np.array([[0.5, 0.5, 0, 0], [0.5, 0.5, 0, 0], [0, 0, 1, 0], [0.2, 0, 0, 0.8]])
    s = chain_structure(p, ["a", "b", "c", "d"])
    assert not s.irreducible
    assert s.communicating == (("a", "b"), ("c",), ("d",))
    assert s.closed == (("a", "b"), ("c",)) and s.transient == ("d",) and s.empty == ()
    assert "not irreducible" in s.explanation and "{a, b}" in s.explanation and "transient d" in s.explanation
    s2 = chain_structure(np.array([[0.9, 0.1, 0], [0.2, 0.8, 0], [0, 0, 0]]), ["Q1", "Q2", "Q3"])
    assert s2.empty == ("Q3",) and s2.closed == (("Q1", "Q2"),) and "Q3" in s2.explanation
    assert chain_structure(np.array([[0.5, 0.5], [0.5, 0.5]])).irreducible
    assert list(s.to_frame()["kind"]) == ["closed", "closed", "closed", "transient"]
