"""Copeland and the outranking matrix (COINr ``a_copeland`` / ``outrankMatrix``), and TOPSIS/VIKOR per
dimension versus on the flat indicator set (hand-worked, and flat = pymcdm)."""

import numpy as np
import pandas as pd
import pytest

from prosperity.index import aggregate as ag
from prosperity.index import build_index, loads, uncertainty

SQ5, SQ3, SQ13 = np.sqrt(5.0), np.sqrt(3.0), np.sqrt(13.0)


# ------------------------------------------------------------------ Copeland / outranking (COINr)
def test_outranking_equals_coinr_test_values():
    # COINr tests/testthat/test-aggregate.R: x1 = 1:4, x2 = c(3:1, 5), x3 = c(2, 3, 1, 4), equal weights
    X = np.column_stack([[1, 2, 3, 4], [3, 2, 1, 5], [2, 3, 1, 4]]).astype(float)
    r = ag.outranking(X)
    assert r.matrix.shape == (4, 4) and np.all(np.diag(r.matrix) == 0)
    assert np.isclose(r.matrix[1, 0], 2 / 3) and np.isclose(r.matrix[2, 0], 1 / 3) and r.matrix[3, 0] == 1
    assert r.n_dominant == 3 and r.frac_dominant == 0.5
    # hand-worked full matrix: unit 1 beats 2 on x2, beats 3 on x2 and x3, loses everything to 4, ...
    E = np.array([[0, 1, 2, 0], [2, 0, 2, 0], [1, 1, 0, 0], [3, 3, 3, 0]]) / 3
    assert np.allclose(r.matrix, E, rtol=0, atol=1e-15)
    # Copeland: +1 where e > 0.5, -1 where e < 0.5, row sums
    assert r.copeland.tolist() == [-1.0, 1.0, -3.0, 3.0]
    assert ag.copeland(X).tolist() == [-1.0, 1.0, -3.0, 3.0]
    assert list(r.to_frame().shape) == [4, 4]


def test_copeland_ties_weights_and_missing_hand_worked():
    # weights 0.5 / 0.5 (given as 1, 1: COINr rescales); A = (1, 0), B = (0, 1), C = (1, 1)
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    r = ag.outranking(X, [1, 1])
    # e_AB = 0.5 (one win each): a draw, 0 in Copeland; e_CA = 0.5/2 (tie) + 0.5 = 0.75
    assert r.matrix[0, 1] == 0.5 and r.matrix[2, 0] == 0.75 and r.matrix[0, 2] == 0.25
    assert r.copeland.tolist() == [-1.0, -1.0, 2.0]
    assert r.n_dominant == 0
    # unequal weights turn the draw: 0.7 on the first indicator -> A beats B
    assert ag.copeland(X, [0.7, 0.3]).tolist() == [0.0, -2.0, 2.0]
    # a missing value: the pair (a, b) with a < b counts only the indicators both have, weights not
    # rescaled, and e_ba = 1 - e_ab (COINr): A = (1, NaN), B = (0, 1) -> e_AB = 0.5, e_BA = 0.5
    Xm = np.array([[1.0, np.nan], [0.0, 1.0], [2.0, 2.0]])
    rm = ag.outranking(Xm, [1, 1])
    assert rm.matrix[0, 1] == 0.5 and rm.matrix[1, 0] == 0.5
    assert rm.matrix[0, 2] == 0.0 and rm.matrix[2, 0] == 1.0 and rm.matrix[1, 2] == 0.0
    assert rm.copeland.tolist() == [-1.0, -1.0, 2.0]


def test_copeland_batch_and_errors():
    X = np.column_stack([[1, 2, 3, 4], [3, 2, 1, 5], [2, 3, 1, 4]]).astype(float)
    W = np.array([[1, 1, 1], [1, 0, 0], [0, 1, 0]], dtype=float)
    out = ag.copeland_batch(X, W, max_cells=16)  # one draw per chunk
    assert out.tolist() == [[-1, 1, -3, 3], [-3, -1, 1, 3], [1, -1, -3, 3]]
    with pytest.raises(ValueError, match="3 weights for 2 indicators"):
        ag.outranking(X[:, :2], [1, 1, 1])
    with pytest.raises(ValueError, match=">= 0"):
        ag.copeland(X, [1, -1, 1])
    with pytest.raises(ValueError, match="sum to 0"):
        ag.copeland(X, [0, 0, 0])


def test_copeland_in_the_pipeline_and_yaml():
    df = pd.DataFrame({"region": list("ABCD"), "x1": [1.0, 2, 3, 4], "x2": [3.0, 2, 1, 5], "x3": [2.0, 3, 1, 4]})
    res = build_index(df, year=None, positive=["rest"], weighting="equal", aggregation="copeland")
    assert res.scores["score"].tolist() == [-1.0, 1.0, -3.0, 3.0]
    assert res.scores["rank"].tolist() == [3.0, 2.0, 4.0, 1.0]
    fw = loads("name: c\ndefaults: {aggregation: copeland, weighting: equal}\ndimensions:\n  - code: d\n"
               "    indicators: [{code: x1, direction: '+'}, {code: x2, direction: '+'}, {code: x3, direction: '-'}]\n")
    # x3 reversed: the minmax of -x3 flips its comparisons
    Z = np.column_stack([df.x1, df.x2, -df.x3])
    assert build_index(df, fw, year=None).scores["score"].tolist() == ag.copeland(Z).tolist()
    with pytest.raises(Exception, match="aggregation must be one of .*copeland"):
        loads("name: c\ndefaults: {aggregation: copland}\ndimensions:\n  - code: d\n"
              "    indicators: [{code: x1, direction: '+'}]\n")


# ------------------------------------------------------------------ per dimension vs flat
TWO_DIMS = """
name: two dimensions
defaults: {normalisation: minmax, aggregation: topsis}
dimensions:
  - code: A
    weight: 0.5
    indicators:
      - {code: a1, direction: "+", weight: 0.5}
      - {code: a2, direction: "+", weight: 0.5}
  - code: B
    weight: 0.5
    indicators:
      - {code: b1, direction: "+", weight: 0.5}
      - {code: b2, direction: "+", weight: 0.5}
"""


@pytest.fixture(scope="module")
def small():
    # min-max: a1 -> 0, .5, 1; a2 -> 1, 0, .5; b1 -> 0, 0, 1; b2 -> 0, 1, 1
    df = pd.DataFrame({"region": ["u1", "u2", "u3"], "a1": [0.0, 1, 2], "a2": [2.0, 0, 1],
                       "b1": [0.0, 0, 1], "b2": [0.0, 1, 1]})
    return df, loads(TWO_DIMS)


def test_topsis_per_dimension_and_flat_hand_worked(small):
    df, fw = small
    per = build_index(df, fw, year=None)
    flat = build_index(df, fw, year=None, mcda_scope="flat")
    # per dimension: C_A = (1/2, 1/(1+sqrt5), sqrt5/(1+sqrt5)), C_B = (0, 1/2, 1); index = their mean
    cA = np.array([0.5, 1 / (1 + SQ5), SQ5 / (1 + SQ5)])
    cB = np.array([0.0, 0.5, 1.0])
    assert np.allclose(per.dimensions["A"], cA, rtol=0, atol=1e-15)
    assert np.allclose(per.scores["score"], (cA + cB) / 2, rtol=0, atol=1e-15)
    # flat, weights 1/4 each: C = (1/(1+sqrt3), sqrt5/(3+sqrt5), sqrt13/(1+sqrt13))
    assert np.allclose(flat.scores["score"], [1 / (1 + SQ3), SQ5 / (3 + SQ5), SQ13 / (1 + SQ13)], rtol=0, atol=1e-15)
    # dimension scores are the method within each dimension in both modes
    assert np.allclose(flat.dimensions["A"], cA, rtol=0, atol=1e-15)
    agg = lambda r: next(s for s in r.steps if s["step"] == "aggregation")  # noqa: E731
    assert agg(per)["mcda_scope"] == "per_dimension" and "within each dimension" in agg(per)["mcda"]
    assert agg(flat)["mcda_scope"] == "flat" and "flat set of all 4 indicators" in agg(flat)["mcda"]
    assert flat.to_dict()["config"]["mcda_scope"] == "flat"


def test_vikor_per_dimension_and_flat_hand_worked(small):
    df, fw = small
    per = build_index(df, fw, year=None, aggregation="vikor")
    flat = build_index(df, fw, year=None, aggregation="vikor", mcda_scope="flat")
    # per dimension, score = 1 - Q: A -> (1/4, 0, 1), B -> (0, 1/4, 1); flat -> (0, 1/10, 1)
    assert np.allclose(per.dimensions["A"], [0.25, 0.0, 1.0], rtol=0, atol=1e-15)
    assert np.allclose(per.dimensions["B"], [0.0, 0.25, 1.0], rtol=0, atol=1e-15)
    assert np.allclose(per.scores["score"], [0.125, 0.125, 1.0], rtol=0, atol=1e-15)
    assert np.allclose(flat.scores["score"], [0.0, 0.1, 1.0], rtol=0, atol=1e-15)


def test_flat_equals_pymcdm_on_the_same_matrix_and_weights():
    pymcdm = pytest.importorskip("pymcdm")
    from pymcdm.methods import TOPSIS, VIKOR

    from prosperity.index.china import china_provincial_panel

    d = china_provincial_panel(2018, 2018).reset_index(drop=True)
    fw = loads("""
name: affluence and sharing (2018 cross-section)
defaults: {weighting: entropy, aggregation: topsis}
dimensions:
  - code: affluence
    weight: 0.6
    indicators:
      - {code: gdp_pc, direction: "+"}
      - {code: wage_avg, direction: "+"}
      - {code: consumption_pc, direction: "+"}
  - code: sharing
    weight: 0.4
    dimensions:
      - code: gaps
        indicators:
          - {code: atkinson, direction: "-"}
          - {code: health_ur_ratio, direction: "-"}
      - code: services
        indicators:
          - {code: pub_health_pc, direction: "+"}
          - {code: pub_education_pc, direction: "+"}
""")
    codes = ["gdp_pc", "wage_avg", "consumption_pc", "atkinson", "health_ur_ratio", "pub_health_pc", "pub_education_pc"]
    types = np.array([1, 1, 1, -1, -1, 1, 1])
    X = d[codes].to_numpy(float)
    for method, peer in (("topsis", TOPSIS()), ("vikor", VIKOR())):
        flat = build_index(d, fw, region="province", year=None, aggregation=method, mcda_scope="flat")
        per = build_index(d, fw, region="province", year=None, aggregation=method)
        w = flat.weights.loc[codes, "effective"].to_numpy()
        assert np.isclose(w.sum(), 1.0) and np.allclose(w, per.weights.loc[codes, "effective"])
        ref = peer(X, w, types)
        got = flat.scores["score"].to_numpy()
        assert np.max(np.abs(got - (ref if method == "topsis" else 1.0 - ref))) < 1e-12
        # the sub-dimension 'sharing' is flat over its four indicators too
        ws = w[3:] / w[3:].sum()
        ref_s = peer(X[:, 3:], ws, types[3:])
        got_s = flat.dimensions["sharing"].to_numpy()
        assert np.max(np.abs(got_s - (ref_s if method == "topsis" else 1.0 - ref_s))) < 1e-12
        assert np.max(np.abs(per.scores["score"].to_numpy() - got)) > 1e-3  # the two modes really differ


def test_flat_is_honoured_by_uncertainty_and_bad_scope_is_refused(small):
    df, fw = small
    flat = build_index(df, fw, year=None, mcda_scope="flat")
    u = uncertainty(flat, n=8, seed=1, aggregations=["topsis"])
    # the Monte Carlo engine's nominal run is the flat index (1/(1+sqrt3), ...), not the per-dimension one
    assert np.allclose(u.summary["nominal_score"], flat.scores["score"], rtol=0, atol=1e-12)
    assert np.isclose(u.summary["nominal_score"].iloc[0], 1 / (1 + SQ3), rtol=0, atol=1e-15)
    with pytest.raises(ValueError, match="mcda_scope must be one of per_dimension, flat"):
        build_index(df, fw, year=None, mcda_scope="global")
    with pytest.raises(Exception, match="mcda_scope"):
        loads(TWO_DIMS.replace("aggregation: topsis}", "aggregation: topsis, mcda_scope: flatt}"))
    fw_flat = loads(TWO_DIMS.replace("aggregation: topsis}", "aggregation: topsis, mcda_scope: flat}"))
    assert np.allclose(build_index(df, fw_flat, year=None).scores["score"], flat.scores["score"], rtol=0, atol=0)


def test_cli_mcda_scope_copeland_and_new_weightings(cli, small, tmp_path):
    import json

    from typer.testing import CliRunner

    df, _ = small
    path = tmp_path / "small.csv"
    df.to_csv(path, index=False)
    fw = tmp_path / "two.yaml"
    fw.write_text(TWO_DIMS, encoding="utf-8")
    run = lambda *a: CliRunner().invoke(cli, ["index", str(path), "--framework", str(fw), "--format", "json", *a])  # noqa: E731
    flat = run("--mcda-scope", "flat")
    assert flat.exit_code == 0, flat.output
    d = json.loads(flat.output)
    assert np.allclose([r["score"] for r in d["scores"]], [1 / (1 + SQ3), SQ5 / (3 + SQ5), SQ13 / (1 + SQ13)],
                       rtol=0, atol=1e-12)
    step = next(s for s in d["steps"] if s["step"] == "aggregation")
    assert step["mcda_scope"] == "flat" and d["config"]["mcda_scope"] == "flat"
    per = json.loads(run().output)
    assert np.isclose(per["scores"][0]["score"], 0.25, rtol=0, atol=1e-12)
    bad = run("--mcda-scope", "flatt")
    assert bad.exit_code != 0 and "mcda_scope must be one of per_dimension, flat" in bad.output
    # Copeland within each dimension (variance weights: equal here), dimensions averaged:
    # A -> (0, -1, 1), B -> (-2, 0, 2) by hand, index (-1, -0.5, 1.5)
    cop = json.loads(run("--aggregation", "copeland", "--weighting", "variance").output)
    assert [r["score"] for r in cop["scores"]] == [-1.0, -0.5, 1.5]
    assert [r["A"] for r in cop["dimensions"]] == [0.0, -1.0, 1.0]
    assert np.allclose(list(cop["weights"].values()), 0.25, rtol=0, atol=1e-15)
