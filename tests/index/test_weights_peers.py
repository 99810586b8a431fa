"""MEREC, Gini and variance weights against pymcdm (run here, and pymcdm's own published test values);
the entropy 'epsilon' variant against a hand-computed case."""

import numpy as np
import pandas as pd
import pytest

from prosperity.index import build_index, loads
from prosperity.index import normalise as nz
from prosperity.index import weights as wt
from prosperity.index.china import china_provincial_panel

pymcdm = pytest.importorskip("pymcdm")

# the 14 bundled provincial indicators of the affluence x sharing framework, with its directions
DIRECTIONS = {"gdp_pc": 1, "consumption_pc": 1, "wage_avg": 1, "capital_pc": 1, "atkinson": -1,
              "unemployment_rate": -1, "consumption_share": 1, "durables_ur_ratio": -1, "health_ur_ratio": -1,
              "education_ur_ratio": -1, "urbanisation": 1, "pub_education_pc": 1, "pub_health_pc": 1,
              "pub_transport_pc": 1}


@pytest.fixture(scope="module")
def provinces_2018():
    d = china_provincial_panel(2018, 2018)
    cols = list(DIRECTIONS)
    X = d[cols].to_numpy(dtype=float)
    assert X.shape == (31, 14) and not np.isnan(X).any()
    return d[["province"] + cols].reset_index(drop=True), X, np.array(list(DIRECTIONS.values()))


# ------------------------------------------------------------------ pymcdm's published test values
def test_pymcdm_published_values():
    # pymcdm tests/test_weights.py: MEREC (Keshavarz-Ghorabaee et al. 2021, Table), Gini, variance
    M = np.array([[450, 8000, 54, 145], [10, 9100, 2, 160], [100, 8200, 31, 153], [220, 9300, 1, 162],
                  [5, 8400, 23, 158]], dtype=float)
    assert np.round(wt.merec_weights(M, [1, 1, -1, -1]), 4).tolist() == [0.5752, 0.0141, 0.4016, 0.0091]
    G = np.array([[5, 6, 7], [5.5, 6.1, 8], [4, 5, 9]])
    assert np.round(wt.gini_weights(G), 4).tolist() == [0.412, 0.2562, 0.3319]
    V = np.array([[100, 4, 500], [110, 5, 550], [120, 6, 600], [121, 8, 400]], dtype=float)
    Zv = np.column_stack([nz.minmax(V[:, j]) for j in range(3)])
    assert np.round(wt.variance_weights(Zv), 4).tolist() == [0.3761, 0.312, 0.312]


def test_gini_weights_hand_computed():
    # column [1, 2, 3]: sum |xi - xk| = 8, G = 8 / (2 * 9 * 2) = 2/9; column [2, 2, 4]: 8 / (2 * 9 * 8/3) = 1/6
    X = np.array([[1.0, 2.0], [2.0, 2.0], [3.0, 4.0]])
    g = np.array([2 / 9, 1 / 6])
    assert np.allclose(wt.gini_weights(X), g / g.sum(), rtol=0, atol=1e-15)


# ------------------------------------------------------------------ pymcdm run here, real data
def test_merec_gini_variance_equal_pymcdm_on_provincial_indicators(provinces_2018):
    _, X, types = provinces_2018
    assert np.max(np.abs(wt.merec_weights(X, types) - pymcdm.weights.merec_weights(X, types))) < 1e-12
    assert np.max(np.abs(wt.gini_weights(X) - pymcdm.weights.gini_weights(X))) < 1e-12
    Z = np.column_stack([nz.minmax(X[:, j], int(t)) for j, t in enumerate(types)])
    assert np.max(np.abs(wt.variance_weights(Z) - pymcdm.weights.variance_weights(X))) < 1e-12
    # the three really differ from each other (and MEREC is not a dispersion measure)
    w = [wt.merec_weights(X, types), wt.gini_weights(X), wt.variance_weights(Z)]
    assert min(np.abs(a - b).max() for a, b in [(w[0], w[1]), (w[0], w[2]), (w[1], w[2])]) > 0.01


@pytest.mark.parametrize("method, peer", [("merec", "merec_weights"), ("gini", "gini_weights"),
                                          ("variance", "variance_weights")])
def test_pipeline_weighting_equals_pymcdm(provinces_2018, method, peer):
    df, X, types = provinces_2018
    neg = [c for c, t in DIRECTIONS.items() if t < 0]
    res = build_index(df, region="province", year=None, negative=neg, positive=["rest"], weighting=method)
    f = getattr(pymcdm.weights, peer)
    ref = f(X, types) if method == "merec" else f(X)
    assert np.max(np.abs(res.weights["effective"].to_numpy() - ref)) < 1e-12
    assert res.steps[[s["step"] for s in res.steps].index("weighting")]["method"] == method


def test_framework_yaml_selects_the_new_weightings(provinces_2018):
    df, X, types = provinces_2018
    fw = loads("""
name: two dimensions
dimensions:
  - code: affluence
    weighting: merec
    indicators:
      - {code: gdp_pc, direction: "+"}
      - {code: wage_avg, direction: "+"}
      - {code: unemployment_rate, direction: "-"}
  - code: spread
    weighting: gini
    indicators:
      - {code: pub_health_pc, direction: "+"}
      - {code: atkinson, direction: "-"}
""")
    res = build_index(df, fw, region="province", year=None)
    gw = res.group_weights.set_index(["group", "child"])["weight"]
    a = pymcdm.weights.merec_weights(df[["gdp_pc", "wage_avg", "unemployment_rate"]].to_numpy(float),
                                     np.array([1, 1, -1]))
    b = pymcdm.weights.gini_weights(df[["pub_health_pc", "atkinson"]].to_numpy(float))
    assert np.allclose(gw["affluence"].to_numpy(), a, rtol=0, atol=1e-12)
    assert np.allclose(gw["spread"].to_numpy(), b, rtol=0, atol=1e-12)
    with pytest.raises(Exception, match="weighting must be one of .*merec, gini, variance"):
        loads("name: x\ndimensions:\n  - code: d\n    weighting: mérec\n    indicators: [{code: a, direction: '+'}]\n")


def test_bad_inputs_are_refused_with_location():
    with pytest.raises(ValueError, match=r"b is 0 at row 1 .*choose another weighting"):
        wt.merec_weights(np.array([[1.0, 2.0], [3.0, 0.0]]), [1, 1], names=["a", "b"])
    with pytest.raises(ValueError, match=r"b has 0 \(a 'moderate' indicator"):
        wt.merec_weights(np.array([[1.0, 2.0], [3.0, 4.0]]), [1, 0], names=["a", "b"])
    with pytest.raises(ValueError, match="complete data: a is missing at row 0"):
        wt.merec_weights(np.array([[np.nan, 2.0], [3.0, 4.0]]), [1, 1], names=["a", "b"])
    with pytest.raises(ValueError, match="one type per indicator"):
        wt.merec_weights(np.array([[1.0, 2.0], [3.0, 4.0]]), [1])
    with pytest.raises(ValueError, match=r"growth has 2 value\(s\), mean -0.5"):
        wt.gini_weights(np.array([[1.0, -2.0], [3.0, 1.0]]), names=["x", "growth"])
    with pytest.raises(ValueError, match="'moderate' indicator"):
        df = pd.DataFrame({"region": list("abc"), "x": [1.0, 2, 3], "y": [4.0, 5, 7]})
        fw = loads("name: m\ndimensions:\n  - code: d\n    indicators:\n      - {code: x, direction: '+'}\n"
                   "      - {code: y, direction: moderate, optimum: 5}\n")
        build_index(df, fw, year=None, weighting="merec")


# ------------------------------------------------------------------ entropy, epsilon variant
def test_entropy_epsilon_variant_hand_computed():
    # column 1: z = [0, 1, 3] -> p = [0, 1/4, 3/4]; column 2: z = [1, 1, 2] -> p = [1/4, 1/4, 1/2]
    Z = np.array([[0.0, 1.0], [1.0, 1.0], [3.0, 2.0]])
    for eps in (1e-12, 1e-3):
        h1 = eps * np.log(eps) + 0.25 * np.log(0.25) + 0.75 * np.log(0.75)
        h2 = 2 * 0.25 * np.log(0.25) + 0.5 * np.log(0.5)
        d = 1 + np.array([h1, h2]) / np.log(3)  # d = 1 - e, e = -h / ln n
        kw = {} if eps == 1e-12 else {"eps": eps}
        assert np.allclose(wt.entropy_diversity(Z, "epsilon", **kw), d, rtol=0, atol=1e-15)
        assert np.allclose(wt.entropy_weights(Z, "epsilon", **kw), d / d.sum(), rtol=0, atol=1e-15)
    # next to today's 0 ln 0 = 0: the default eps = 1e-12 moves the first column's e_j by eps ln(eps) / ln 3
    gap = wt.entropy_diversity(Z, "zero")[0] - wt.entropy_diversity(Z, "epsilon")[0]
    assert np.isclose(gap, -1e-12 * np.log(1e-12) / np.log(3), rtol=1e-3, atol=0)  # a 2.5e-11 difference of O(1) numbers
    assert wt.ENTROPY_EPSILON == 1e-12
    # a column without zeros is untouched
    assert wt.entropy_diversity(Z, "epsilon")[1] == wt.entropy_diversity(Z, "zero")[1]
    with pytest.raises(ValueError, match="0 < eps < 1"):
        wt.entropy_weights(Z, "epsilon", eps=0)
    with pytest.raises(ValueError, match="epsilon"):
        wt.entropy_weights(Z, "epsiIon")


def test_entropy_epsilon_variant_in_the_pipeline():
    df = pd.DataFrame({"region": list("abcd"), "x": [1.0, 2, 3, 5], "y": [2.0, 2, 3, 9]})
    res = build_index(df, year=None, positive=["rest"], entropy_variant="epsilon")
    Z = res.normalised.to_numpy()
    assert np.allclose(res.weights["effective"], wt.entropy_weights(Z, "epsilon"), rtol=0, atol=1e-15)
    step = next(s for s in res.steps if s["step"] == "weighting")
    assert step["entropy_variant"] == "epsilon"
