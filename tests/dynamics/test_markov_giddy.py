"""Markov chains, spatial Markov, mobility indices and ergodic results against giddy (PySAL) on the
US state incomes 1929-2009 (giddy's documented example). giddy's documented numbers are stored here;
when giddy is installed the whole matrices are also compared live to 1e-10."""

from __future__ import annotations

import numpy as np
import pytest

from prosperity.dynamics import (
    ergodic_distribution,
    homogeneity_test,
    markov,
    markov_from_classes,
    mean_first_passage_times,
    mobility_indices,
    spatial_markov,
)
from prosperity.dynamics.markov import classify, quantile_cutoffs

# giddy docs, Markov(q5) on usjoin (quintiles per year)
GIDDY_COUNTS = np.array(
    [[729, 71, 1, 0, 0], [72, 567, 80, 3, 0], [0, 81, 631, 86, 2], [0, 3, 86, 573, 56], [0, 0, 1, 57, 741]], float
)
GIDDY_P = np.array(
    [
        [0.91011236, 0.0886392, 0.00124844, 0.0, 0.0],
        [0.09972299, 0.78531856, 0.11080332, 0.00415512, 0.0],
        [0.0, 0.10125, 0.78875, 0.1075, 0.0025],
        [0.0, 0.00417827, 0.11977716, 0.79805014, 0.07799443],
        [0.0, 0.0, 0.00125156, 0.07133917, 0.92740926],
    ]
)
GIDDY_STEADY = np.array([0.20774716, 0.18725774, 0.20740537, 0.18821787, 0.20937187])
# giddy docs, markov_mobility(m.p, ...) with ini = [0.1, 0.2, 0.2, 0.4, 0.1] for B1, B2
GIDDY_MOBILITY = {"shorrocks": 0.19759, "determinant": 0.60685, "eigenvalue": 0.03978, "bartholomew1": 0.22777, "bartholomew2": 0.04637}
# giddy Spatial_Markov(rpci, w, fixed=True, k=5, m=5) (values printed by giddy 2.3.8 at full precision)
GIDDY_SM_P0 = np.array(
    [
        [0.9634146341463415, 0.03048780487804878, 0.00609756097560976, 0.0, 0.0],
        [0.06040268456375839, 0.8322147651006712, 0.10738255033557047, 0.0, 0.0],
        [0.0, 0.14, 0.74, 0.12, 0.0],
        [0.0, 0.03571428571428571, 0.3214285714285714, 0.5714285714285714, 0.07142857142857142],
        [0.0, 0.0, 0.0, 0.16666666666666666, 0.8333333333333333],
    ]
)
GIDDY_SM_S = np.array(
    [
        [0.43509425180358385, 0.26353269723062606, 0.20363043984175005, 0.06841982778682802, 0.02932278333721201],
        [0.13391287161229612, 0.33993304560752513, 0.2515303622306193, 0.2334301624671256, 0.04119355808243394],
        [0.1212486936587668, 0.2113744395374709, 0.2635100967535313, 0.29013417388666013, 0.1137325961635708],
        [0.0776412957952553, 0.19748805820569296, 0.2535263610085902, 0.22480415152429764, 0.24654013346616394],
        [0.01776781093669139, 0.19964349376114082, 0.1900983267207176, 0.2552469668219194, 0.3372434017595308],
    ]
)
GIDDY_SM_F40 = np.array([56.28155339805916, 1.5000000000000275, 10.572368421052674, 27.021739130434682, 110.54347826086884])
GIDDY_SM_CHI2 = [40.559854126076374, 55.47519738487663, 17.752899623367387, 40.03909614771082, 46.796680348736864]


def test_markov_matches_giddy_documented_example(us_pci):
    m = markov(us_pci, 5)  # per-year quintiles; relative or not gives the same classes
    np.testing.assert_array_equal(m.counts, GIDDY_COUNTS)
    np.testing.assert_allclose(m.p, GIDDY_P, atol=5e-9)
    np.testing.assert_allclose(m.ergodic, GIDDY_STEADY, atol=5e-9)
    np.testing.assert_allclose(markov(us_pci, 5, relative=False).p, m.p, atol=0)
    ini = np.array([0.1, 0.2, 0.2, 0.4, 0.1])
    mob = mobility_indices(m.p, ini)
    for key, val in GIDDY_MOBILITY.items():
        assert mob[key] == pytest.approx(val, abs=5e-6), key


def test_spatial_markov_matches_giddy_stored(us_panel, us_weights):
    sm = spatial_markov(us_panel, us_weights, k=5, m=5)  # relative incomes, pooled quantiles (giddy fixed=True)
    np.testing.assert_allclose(sm.p[0], GIDDY_SM_P0, atol=1e-12)
    np.testing.assert_allclose(sm.ergodic, GIDDY_SM_S, atol=1e-10)
    np.testing.assert_allclose(sm.mean_first_passage[4][0], GIDDY_SM_F40, rtol=1e-10)
    h = sm.homogeneity
    assert h.lr == pytest.approx(170.6588284308426, rel=1e-12)
    assert h.q == pytest.approx(200.62372763076806, rel=1e-12)
    assert h.dof == 60
    np.testing.assert_allclose([c[0] for c in sm.chi2], GIDDY_SM_CHI2, rtol=1e-12)
    assert sm.counts.sum() == 48 * 80


def test_against_giddy_live(us_pci, us_panel, us_weights):
    giddy = pytest.importorskip("giddy")
    mc = pytest.importorskip("mapclassify")
    libpysal = pytest.importorskip("libpysal")
    from giddy.ergodic import mfpt
    from giddy.markov import Markov, Spatial_Markov
    from giddy.mobility import markov_mobility

    q5 = np.array([mc.Quantiles(y).yb for y in us_pci.T]).T
    gm = Markov(q5, summary=False)
    m = markov(us_pci, 5)
    np.testing.assert_array_equal(m.counts, gm.transitions)
    np.testing.assert_allclose(m.p, gm.p, atol=1e-12)
    np.testing.assert_allclose(m.ergodic, np.asarray(gm.steady_state, float), atol=1e-12)
    np.testing.assert_allclose(m.mean_first_passage, mfpt(gm.p), rtol=1e-10)
    for ours, theirs in [("shorrocks", "P"), ("determinant", "D"), ("eigenvalue", "L2"), ("bartholomew1", "B1"), ("bartholomew2", "B2")]:
        assert mobility_indices(m.p)[ours] == pytest.approx(markov_mobility(gm.p, theirs), abs=1e-12)
    # giddy on the same weights (our stored states48.gal, by position as giddy needs)
    w = libpysal.weights.W({i: list(nb) for i, nb in us_weights_by_position(us_weights, us_panel).items()}, id_order=list(range(48)))
    w.transform = "r"
    rpci = us_pci / us_pci.mean(axis=0)
    gsm = Spatial_Markov(rpci, w, fixed=True, k=5, m=5)
    sm = spatial_markov(us_panel, us_weights, k=5, m=5)
    np.testing.assert_array_equal(sm.counts, gsm.T)
    np.testing.assert_allclose(sm.p, gsm.P, atol=1e-12)
    np.testing.assert_allclose(sm.ergodic, np.array(list(gsm.S), float), atol=1e-10)
    np.testing.assert_allclose(sm.mean_first_passage, gsm.F, rtol=1e-10)
    np.testing.assert_allclose(sm.cutoffs, gsm.cutoffs, rtol=1e-14)
    np.testing.assert_allclose(sm.lag_cutoffs, gsm.lag_cutoffs, rtol=1e-14)
    assert sm.homogeneity.lr == pytest.approx(gsm.LR, rel=1e-12)
    assert sm.homogeneity.q == pytest.approx(gsm.Q, rel=1e-12)
    assert sm.homogeneity.dof == gsm.dof_hom


def us_weights_by_position(weights, panel):
    pos = {r: i for i, r in enumerate(panel.regions)}
    return {pos[r]: [pos[j] for j in weights.neighbors[r]] for r in panel.regions}


def test_spatial_markov_aligns_weights_by_id_not_position(us_panel, us_weights):
    rng = np.random.default_rng(0)
    order = rng.permutation(us_panel.n_regions)
    shuffled = us_panel.select(regions=[us_panel.regions[i] for i in order])
    a = spatial_markov(us_panel, us_weights)
    b = spatial_markov(shuffled, us_weights)
    np.testing.assert_array_equal(a.counts, b.counts)
    # positional weights on the shuffled panel would give something else
    wrong = spatial_markov(shuffled, us_weights.matrix(us_panel.regions))
    assert not np.array_equal(wrong.counts, a.counts)


def test_unknown_region_in_weights_is_named(us_panel, us_weights):
    from prosperity.dynamics import SpatialWeights

    partial = SpatialWeights.from_neighbors({r: () for r in us_panel.regions[:-1]})
    with pytest.raises(KeyError, match="Wyoming"):
        spatial_markov(us_panel, partial)


def test_classes_cutoff_belongs_to_lower_class():
    assert classify([1.0, 2.0, 2.0001, 3.0], [2.0]).tolist() == [0, 0, 1, 1]
    np.testing.assert_allclose(quantile_cutoffs(np.arange(1000), 4), [249.75, 499.5, 749.25])


def test_user_cutoffs_relative_income():
    y = np.array([[0.5, 0.7, 0.95], [1.0, 1.05, 1.3], [1.5, 1.4, 1.0]])
    m = markov(y, cutoffs=[0.8, 1.2], relative=False)
    assert m.k == 3
    np.testing.assert_array_equal(m.ids, [[0, 0, 1], [1, 1, 2], [2, 2, 1]])
    np.testing.assert_array_equal(m.counts, [[1, 1, 0], [0, 1, 1], [0, 1, 1]])


def test_ergodic_and_first_passage_two_state_chain():
    # P = [[1-a, a], [b, 1-b]]: pi = (b, a)/(a+b); m_12 = 1/a, m_21 = 1/b
    a, b = 0.3, 0.1
    p = np.array([[1 - a, a], [b, 1 - b]])
    pi = ergodic_distribution(p)
    np.testing.assert_allclose(pi, [b / (a + b), a / (a + b)], rtol=1e-14)
    np.testing.assert_allclose(mean_first_passage_times(p), [[1 / pi[0], 1 / a], [1 / b, 1 / pi[1]]], rtol=1e-12)


def test_reducible_chain_has_no_ergodic_distribution():
    p = np.array([[1.0, 0.0], [0.5, 0.5]])
    assert np.isnan(ergodic_distribution(p)).all()
    m = markov_from_classes(np.array([[0, 0, 0], [1, 1, 0]]), k=3)
    assert m.empty_classes == ["Q3"]
    assert np.isnan(m.ergodic).all()


def test_homogeneity_identical_regimes_is_zero():
    c = np.array([[5, 2], [1, 6]], float)
    h = homogeneity_test(np.stack([c, 2 * c]))
    assert h.lr == pytest.approx(0, abs=1e-12) and h.q == pytest.approx(0, abs=1e-12)
    assert h.dof == 2  # rows: (2 regimes - 1) x (2 cells - 1) each


def test_markov_frames_and_repr(us_pci):
    m = markov(us_pci, 5)
    f = m.to_frame()
    assert len(f) == 25 and f["count"].sum() == 48 * 80
    np.testing.assert_allclose(f.groupby("from_class")["probability"].sum(), 1.0)
    assert "ergodic" in repr(m) and "shorrocks" in repr(m)
    assert m.summary_frame()["transitions"].sum() == 3840


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra.numpy import arrays  # noqa: E402


# Values on a 0.1 grid: rescaling by a float can merge values one ulp apart (hypothesis found 0.1 vs
# 0.1 + 1 ulp), which changes quantile classes through rounding, not through the method.
@settings(max_examples=40, deadline=None)
@given(arrays(float, (6, 8), elements=st.integers(1, 1000).map(lambda i: i / 10)), st.integers(2, 4))
def test_markov_properties(values, k):
    m = markov(values, k)
    rows = m.p.sum(axis=1)
    assert np.all((np.abs(rows - 1) < 1e-12) | (rows == 0))
    assert m.counts.sum() == 6 * 7
    pi = m.ergodic
    if not np.isnan(pi).any():
        np.testing.assert_allclose(pi @ m.p, pi, atol=1e-10)
        np.testing.assert_allclose(pi.sum(), 1.0, atol=1e-12)
        mob = m.mobility()
        assert -1e-12 <= mob["shorrocks"] <= k / (k - 1) + 1e-12
    # relative classes are invariant to rescaling each period
    scaled = markov(values * np.linspace(1, 3, 8), k)
    np.testing.assert_array_equal(scaled.counts, m.counts)
