"""Normalisation, weights, aggregation, coupling: hand-worked cases and agreement with pymcdm."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from prosperity.index import aggregate as ag
from prosperity.index import normalise as nz
from prosperity.index import weights as wt
from prosperity.index.coupling import coupling_coordination, coupling_degree

pymcdm = pytest.importorskip("pymcdm")

# a small decision matrix (5 alternatives x 4 criteria, third is a cost criterion)
X = np.array([
    [250.0, 16.0, 12.0, 5.0],
    [200.0, 16.0, 8.0, 3.0],
    [300.0, 32.0, 16.0, 4.0],
    [275.0, 32.0, 8.0, 4.0],
    [225.0, 16.0, 16.0, 2.0],
])
TYPES = np.array([1, 1, -1, 1])


def minmax_matrix(X, types):
    return np.column_stack([nz.minmax(X[:, j], int(t)) for j, t in enumerate(types)])


# ----------------------------------------------------------------------------- normalisation
def test_minmax_direction_and_range():
    x = np.array([2.0, 4.0, 6.0, np.nan])
    assert np.allclose(nz.minmax(x)[:3], [0, 0.5, 1])
    assert np.allclose(nz.minmax(x, -1)[:3], [1, 0.5, 0])
    assert np.allclose(nz.minmax(x, low=1, high=100)[:3], [1, 50.5, 100])
    assert np.isnan(nz.minmax(x)[3])


def test_coinr_conventions():
    x = np.array([1.0, 2.0, 2.0, 5.0])
    assert np.allclose(nz.rank(x), [1, 2, 2, 4])  # ties = "min"
    assert np.allclose(nz.percentile(x), [0, 1 / 3, 1 / 3, 1])  # COINr n_prank
    assert np.allclose(nz.zscore(x), (x - x.mean()) / x.std(ddof=1))
    # goalposts c(0, 4, 1): clamp to [0, 1]; direction -1 flips
    assert np.allclose(nz.goalposts(x, 1, low=0, high=4), [0.25, 0.5, 0.5, 1.0])
    assert np.allclose(nz.goalposts(x, -1, low=0, high=4), [0.75, 0.5, 0.5, 0.0])
    # distance to target, capped: 1 - (t - x)/(t - min)
    assert np.allclose(nz.distance_target(x, 1, target=4), [0, 1 / 3, 1 / 3, 1])


def test_realisation_degree_zhejiang_style():
    income = np.array([63830.0, 80000.0])
    assert np.allclose(nz.realisation(income, 1, target=75000), [63830 / 75000, 1.0])
    ratio = np.array([1.96, 1.85])  # urban/rural income ratio, target < 1.9
    assert np.allclose(nz.realisation(ratio, -1, target=1.9), [1.9 / 1.96, 1.0])


def test_moderate_indicators():
    x = np.array([20.0, 30.0, 40.0, 50.0, 60.0])
    assert np.allclose(nz.moderate(x, optimum=40), [0, 0.5, 1, 0.5, 0])
    # interval [30, 45]: M = max(30 - 20, 60 - 45) = 15
    assert np.allclose(nz.moderate(x, interval=(30, 45)), [1 - 10 / 15, 1, 1, 1 - 5 / 15, 0])


def test_vector_and_sum_match_pymcdm():
    from pymcdm import normalizations as pn

    for j, t in enumerate(TYPES):
        assert np.allclose(nz.vector(X[:, j], int(t)), pn.vector_normalization(X[:, j], t == -1))
        assert np.allclose(nz.sum_(X[:, j], int(t)), pn.sum_normalization(X[:, j], t == -1))
        assert np.allclose(nz.minmax(X[:, j], int(t)), pn.minmax_normalization(X[:, j], t == -1))


# ----------------------------------------------------------------------------- weights
def test_entropy_raw_equals_pymcdm():
    assert np.allclose(wt.entropy_weights(X, "raw"), pymcdm.weights.entropy_weights(X), atol=1e-12)


def test_entropy_zero_handling_variants_named_and_different():
    Z = minmax_matrix(X, TYPES)
    w0 = wt.entropy_weights(Z, "zero")
    ws = wt.entropy_weights(Z, "shift")
    wr = wt.entropy_weights(Z, "rescale")
    wm = wt.entropy_weights(Z, "max_weight")
    # hand check of the 0 ln 0 = 0 convention on the first column
    p = Z[:, 0] / Z[:, 0].sum()
    e = -np.sum(p[p > 0] * np.log(p[p > 0])) / np.log(5)
    d = 1 - np.array([e] + [0] * 3)
    assert np.isclose(w0[0] * wt.entropy_diversity(Z).sum(), d[0])
    assert not np.allclose(w0, wr) and not np.allclose(w0, ws)
    assert np.allclose(wm, (1 - 0) / 4)  # every min-max column has a zero -> e_j = 0 for all
    with pytest.raises(ValueError, match="strictly positive"):
        wt.entropy_weights(Z, "raw")
    with pytest.raises(ValueError):
        pymcdm.weights.entropy_weights(Z)  # pymcdm 1.4 refuses zeros too


def test_critic_equals_pymcdm_on_benefit_criteria():
    Xb = X[:, [0, 1, 3]]
    ours = wt.critic_weights(minmax_matrix(Xb, [1, 1, 1]))
    assert np.allclose(ours, pymcdm.weights.critic_weights(Xb), atol=1e-12)


def test_cv_and_std():
    w = wt.cv_weights(X)
    cv = X.std(axis=0, ddof=1) / X.mean(axis=0)
    assert np.allclose(w, cv / cv.sum())
    with pytest.raises(ValueError, match="positive mean"):
        wt.cv_weights(-X)


def test_pca_weights_sum_to_one_and_favour_correlated_block():
    rng = np.random.default_rng(0)
    f = rng.normal(size=200)
    Z = np.column_stack([f + 0.1 * rng.normal(size=200) for _ in range(3)] + [rng.normal(size=200)])
    for variant in ("handbook", "first"):
        w = wt.pca_weights(Z, variant)
        assert np.isclose(w.sum(), 1) and np.all(w >= 0)
    assert wt.pca_weights(Z, "first")[:3].min() > wt.pca_weights(Z, "first")[3]


def test_ahp_hand_worked_and_pymcdm():
    A = [[1, 3, 5], [1 / 3, 1, 3], [1 / 5, 1 / 3, 1]]
    r = wt.ahp(A)
    assert np.allclose(r.weights, [0.6370, 0.2583, 0.1047], atol=5e-5)
    assert np.isclose(r.lambda_max, 3.0385, atol=5e-5)
    assert np.isclose(r.ci, (r.lambda_max - 3) / 2)
    assert r.ri == 0.58 and np.isclose(r.cr, r.ci / 0.58) and r.consistent
    # pymcdm uses the Tummala-Ling RI table
    from pymcdm.weights.subjective import AHP

    p = AHP(matrix=np.array(A, dtype=float))
    assert np.allclose(r.weights, p(), atol=1e-12)
    assert np.isclose(wt.ahp(A, ri_table="tummala_ling").cr, p.get_cr(), atol=1e-12)
    # a perfectly consistent matrix: CR = 0 and the weights come back exactly
    w = np.array([0.5, 0.3, 0.2])
    c = wt.ahp(w[:, None] / w[None, :])
    assert np.allclose(c.weights, w) and abs(c.cr) < 1e-12


def test_ahp_inconsistent_warns_and_bad_matrix_errors():
    A = np.array([[1, 9, 1 / 9], [1 / 9, 1, 9], [9, 1 / 9, 1]])
    with pytest.warns(UserWarning, match="CR"):
        r = wt.ahp(A)
    assert r.cr > 0.1
    with pytest.raises(ValueError, match="not reciprocal"):
        wt.ahp([[1, 2], [2, 1]])
    g = wt.group_ahp([[[1, 2], [0.5, 1]], [[1, 8], [1 / 8, 1]]])
    assert np.allclose(g.weights, [0.8, 0.2])  # geometric mean judgement = 4


def test_combined_weights():
    assert np.allclose(wt.combine_weights([0.5, 0.5], [0.8, 0.2], alpha=0.5), [0.65, 0.35])
    assert np.allclose(wt.combine_weights([0.5, 0.5], [0.8, 0.2], method="multiplicative"), [0.8, 0.2])


# ----------------------------------------------------------------------------- aggregation
def test_topsis_minmax_and_vector_equal_pymcdm():
    from pymcdm import normalizations as pn
    from pymcdm.methods import TOPSIS

    w = np.array([0.3, 0.2, 0.3, 0.2])
    ours = ag.topsis(minmax_matrix(X, TYPES), w).score
    assert np.allclose(ours, TOPSIS()(X, w, TYPES), atol=1e-12)
    Zv = np.column_stack([nz.vector(X[:, j], int(t)) for j, t in enumerate(TYPES)])
    assert np.allclose(ag.topsis(Zv, w).score, TOPSIS(pn.vector_normalization)(X, w, TYPES), atol=1e-12)
    # batch form agrees with the one-shot form
    assert np.allclose(ag.topsis_batch(Zv, np.vstack([w, w]))[1], ag.topsis(Zv, w).score)


def test_vikor_equals_pymcdm():
    from pymcdm.methods import VIKOR

    w = np.array([0.3, 0.2, 0.3, 0.2])
    res = ag.vikor(minmax_matrix(X, TYPES), w)
    assert np.allclose(res.Q, VIKOR()(X, w, TYPES), atol=1e-12)
    assert np.allclose(ag.vikor_batch(minmax_matrix(X, TYPES), w[None, :])[0], 1 - res.Q)


def test_grey_relational_hand_worked():
    Z = np.array([[1.0, 0.0], [0.5, 1.0]])
    # reference = (1, 1); deltas [[0,1],[0.5,0]]; min 0, max 1; xi = 0.5/(d + 0.5)
    xi = ag.grey_relational_coefficients(Z)
    assert np.allclose(xi, [[1, 1 / 3], [0.5, 1]])
    assert np.allclose(ag.gra(Z, [0.5, 0.5]), [2 / 3, 0.75])


def test_weighted_means_and_missing_reweighting():
    Z = np.array([[0.25, 1.0], [0.5, np.nan]])
    w = [0.5, 0.5]
    assert np.allclose(ag.weighted_mean(Z, w), [0.625, 0.5])
    assert np.allclose(ag.weighted_mean(Z, w, "geometric"), [0.5, 0.5])
    assert np.allclose(ag.weighted_mean(Z, w, "harmonic"), [0.4, 0.5])
    assert np.allclose(ag.weighted_mean(Z, w, "generalised", p=2), [np.sqrt((0.0625 + 1) / 2), 0.5])
    assert np.isnan(ag.weighted_mean(Z, w, missing="propagate")[1])
    with pytest.raises(ValueError, match=r"\[1, 100\]"):
        ag.weighted_mean(np.array([[0.0, 1.0]]), w, "geometric")


def test_obstacle_degree_rows_sum_to_one():
    Z = np.array([[0.2, 0.8], [1.0, 1.0]])
    O = ag.obstacle_degree(Z, [0.5, 0.5])
    assert np.allclose(O[0], [0.8, 0.2]) and np.allclose(O[1], 0)


@settings(max_examples=60, deadline=None)
@given(arrays(float, (6, 3), elements=st.floats(0.01, 1.0)), arrays(float, 3, elements=st.floats(0.05, 1.0)))
def test_mean_inequality_and_topsis_bounds(Z, w):
    a = ag.weighted_mean(Z, w)
    g = ag.weighted_mean(Z, w, "geometric")
    h = ag.weighted_mean(Z, w, "harmonic")
    assert np.all(h <= g + 1e-12) and np.all(g <= a + 1e-12)
    c = ag.topsis(Z, w / w.sum()).score
    assert np.all((c >= -1e-12) & (c <= 1 + 1e-12) | np.isnan(c))


# ----------------------------------------------------------------------------- coupling
def test_coupling_hand_worked_two_systems():
    r = coupling_coordination([[0.4, 0.9]])
    assert np.isclose(r.C[0], 2 * 0.6 / 1.3)  # 2 sqrt(U1 U2)/(U1 + U2)
    assert np.isclose(r.T[0], 0.65) and np.isclose(r.D[0], np.sqrt(0.6))
    assert r.level[0] == "中级协调" and r.level_en[0] == "intermediate coordination"
    assert np.isclose(r.relative[0], 2.25)
    # corrected form (王淑佳等 2021): sqrt((1 - |U1 - U2|) min/max)
    assert np.isclose(coupling_degree([[0.4, 0.9]], "corrected")[0], np.sqrt(0.5 * 0.4 / 0.9))


def test_coupling_hand_worked_three_systems():
    U = [[0.2, 0.5, 0.8]]
    assert np.isclose(coupling_degree(U)[0], 3 * 0.08 ** (1 / 3) / 1.5)
    # corrected: 1 - (0.3 + 0.6 + 0.3)/3 = 0.6; prod(U/max)^(1/2) = 0.15625^0.5
    assert np.isclose(coupling_degree(U, "corrected")[0], np.sqrt(0.6 * np.sqrt(0.15625)))
    r = coupling_coordination(U)
    assert np.isclose(r.D[0], np.sqrt(0.861774 * 0.5), atol=1e-6) and r.level[0] == "初级协调"


def test_coupling_zero_misuse_and_validation():
    assert coupling_degree([[0.0, 0.5]])[0] == 0.0
    assert np.isnan(coupling_degree([[0.0, 0.0]])[0])
    assert coupling_coordination([[0.0, 0.0]]).D[0] == 0.0
    assert coupling_degree([[0.0, 0.5]], floor=1e-10)[0] > 0
    with pytest.warns(UserWarning, match="misuse"):
        c = coupling_degree([[0.5, 0.5]], "missing_factor")
    assert np.isclose(c[0], 0.5)  # at most 1/n without the factor n
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        coupling_degree([[1.5, 0.2]])
