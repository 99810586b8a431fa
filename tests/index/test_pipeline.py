"""Pipeline, data preparation (COINr conventions), Monte Carlo / Sobol, China panel, CLI."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from prosperity.index import build_index, leave_one_out, sobol_indices, uncertainty
from prosperity.index import prepare as pp
from prosperity.index.china import china_provincial_panel
from prosperity.index.sensitivity import saltelli_jansen
from prosperity.index.weights import entropy_weights


@pytest.fixture(scope="module")
def china():
    return china_provincial_panel(2010, 2018)


# ----------------------------------------------------------------------------- COINr
def test_coinr_winsorise_published_example():
    # COINr reference page of winsorise(): x = c(1:10, 30, 100) -> 100 becomes 30, nwin = 1
    x = np.r_[np.arange(1, 11), 30, 100].astype(float)
    out, nwin, pts = pp.winsorise(x, skew_max=2, kurt_max=3.5)
    assert out.tolist() == list(range(1, 11)) + [30, 30] and nwin == 1 and pts == [11]


def test_coinr_skew_kurt_are_type2():
    from scipy import stats

    x = np.array([1.0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 30, 100])
    assert np.isclose(pp.skewness(x), stats.skew(x, bias=False))
    assert np.isclose(pp.kurtosis(x), stats.kurtosis(x, bias=False))
    assert not pp.passes_skew_kurt(x)  # |skew| > 2 and kurtosis > 3.5


def test_treat_falls_back_to_log_of_the_original():
    x = np.r_[np.ones(20), np.geomspace(2, 1e6, 10)]
    out, rep = pp.treat_column(x, "coinr", winmax=1)
    assert rep.action == "log" and np.allclose(out, pp.log_ct(x))


# COINr "Presenting results" vignette, build_example_coin() (ASEM, 51 countries): the first rows of
# get_results(coin, dset = "Aggregated"). Pillars aggregate to Conn (5 pillars) and Sust (3 pillars)
# and then to the Index, all by equal-weight arithmetic means.
ASEM = pd.DataFrame(
    [["CHE", 68.38, 62.79, 73.98, 63.41, 32.87, 74.78, 85.94, 56.93, 77.21, 87.85, 56.88],
     ["NLD", 64.82, 61.94, 67.70, 64.87, 46.62, 84.55, 71.74, 41.92, 58.73, 86.58, 57.78],
     ["DNK", 64.80, 57.10, 72.51, 50.52, 30.43, 78.13, 75.35, 51.04, 69.83, 86.40, 61.29],
     ["NOR", 64.47, 57.44, 71.50, 58.18, 25.70, 80.03, 89.46, 33.80, 70.90, 87.00, 56.59],
     ["BEL", 63.54, 63.99, 63.09, 71.97, 48.22, 80.84, 75.60, 43.32, 53.01, 86.17, 50.09],
     ["SWE", 63.00, 53.87, 72.12, 51.51, 23.87, 80.98, 74.51, 38.50, 66.37, 87.74, 62.27]],
    columns=["uCode", "Index", "Conn", "Sust", "Physical", "ConEcFin", "Political", "Instit", "P2P",
             "Environ", "Social", "SusEcFin"])

ASEM_YAML = """
name: ASEM (top levels)
defaults: {normalisation: none, weighting: equal, aggregation: arithmetic}
dimensions:
  - code: Conn
    indicators: [{code: Physical, direction: "+"}, {code: ConEcFin, direction: "+"}, {code: Political, direction: "+"},
                 {code: Instit, direction: "+"}, {code: P2P, direction: "+"}]
  - code: Sust
    indicators: [{code: Environ, direction: "+"}, {code: Social, direction: "+"}, {code: SusEcFin, direction: "+"}]
"""


def test_coinr_asem_upper_levels_reproduced():
    from prosperity.index import loads

    res = build_index(ASEM, loads(ASEM_YAML), region="uCode", year=None)
    dims = res.to_frame()
    # published values are rounded to 2 decimals: agreement within rounding (inputs rounded too)
    assert np.allclose(dims["Conn"], ASEM["Conn"], atol=0.006)
    assert np.allclose(dims["Sust"], ASEM["Sust"], atol=0.006)
    assert np.allclose(dims["score"], ASEM["Index"], atol=0.006)
    assert dims["rank"].tolist() == [1, 2, 3, 4, 5, 6]


# ----------------------------------------------------------------------------- imputation
@settings(max_examples=40, deadline=None)
@given(arrays(float, (12, 3), elements=st.one_of(st.floats(-5, 5), st.just(np.nan))),
       st.sampled_from(["mean", "median", "linear", "latest", "em"]))
def test_imputation_never_alters_observed_values(X, method):
    units = np.repeat(np.arange(4), 3)
    times = np.tile([2000, 2001, 2002], 4)
    if method == "em" and np.isnan(X).all(axis=0).any():
        return
    out, rep = pp.impute(X, method, groups=times, units=units, times=times)
    obs = ~np.isnan(X)
    assert np.array_equal(out[obs], X[obs])
    assert rep.n_imputed == int((np.isnan(X) & ~np.isnan(out)).sum())


def test_linear_interpolation_and_ends():
    X = np.array([[1.0], [np.nan], [3.0], [np.nan]])
    u, t = np.zeros(4), np.array([1, 2, 3, 4])
    assert np.allclose(pp.impute(X, "linear", units=u, times=t)[0][:3, 0], [1, 2, 3])
    assert np.isnan(pp.impute(X, "linear", units=u, times=t)[0][3, 0])
    assert pp.impute(X, "linear", units=u, times=t, ends="nearest")[0][3, 0] == 3.0
    assert pp.impute(X, "latest", units=u, times=t)[0][3, 0] == 3.0


def test_em_recovers_a_strong_linear_relation():
    rng = np.random.default_rng(3)
    a = rng.normal(size=300)
    X = np.column_stack([a, 2 * a + 0.01 * rng.normal(size=300)])
    truth = X[:20, 1].copy()
    X[:20, 1] = np.nan
    out, _ = pp.impute(X, "em")
    assert np.max(np.abs(out[:20, 1] - truth)) < 0.05


# ----------------------------------------------------------------------------- pipeline
def test_quick_mode_equals_flat_entropy_and_pymcdm_topsis():
    pymcdm = pytest.importorskip("pymcdm")
    X = np.array([[250.0, 16, 12, 5], [200, 16, 8, 3], [300, 32, 16, 4], [275, 32, 8, 4], [225, 16, 16, 2]])
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"]).assign(region=list("VWXYZ"))
    res = build_index(df, negative=["c"], positive=["rest"], year=None)
    Z = res.normalised.to_numpy()
    w = entropy_weights(Z)
    assert np.allclose(res.weights["effective"], w)
    assert np.allclose(res.scores["score"], Z @ w)
    top = build_index(df, negative=["c"], positive=["rest"], year=None, aggregation="topsis")
    ref = pymcdm.methods.TOPSIS()(X, w, np.array([1, 1, -1, 1]))
    assert np.allclose(top.scores["score"], ref, atol=1e-12)


def test_china_affluence_sharing_panel(china):
    res = build_index(china, "affluence_sharing", region="province", imputation="linear,mean")
    assert len(res.scores) == 31 * 9 and res.scores["rank"].min() == 1
    assert not res.warnings
    s18 = res.scores[res.scores.year == 2018].set_index("region")
    assert s18.loc["Beijing", "rank"] <= 3 and s18.loc["Gansu", "rank"] >= 25
    # global scheme + arithmetic: the index is sum_j w_j z_j with w = effective weights
    g = build_index(china, "affluence_sharing", region="province", imputation="linear,mean", scheme="global")
    assert np.allclose(g.scores["score"], g.normalised.to_numpy() @ g.weights["effective"].to_numpy())
    assert np.isclose(res.weights["effective"].sum(), 1.0)
    # influence: the variance shares decompose var(index) exactly for an arithmetic index
    assert np.isclose(g.influence["variance_share"].sum(), 1.0)
    assert res.coupling is not None and set(res.coupling.columns) >= {"C", "T", "D", "level"}
    imp = [s for s in res.steps if s["step"] == "imputation"]
    assert imp and all(s["observed_values_changed"] == 0 for s in imp)


def test_by_year_scope_warns(china):
    with pytest.warns(UserWarning, match="NOT comparable across years"):
        res = build_index(china, "five_concepts", region="province", imputation="linear,latest,mean",
                          scope="by_year")
    assert res.weights_by_year.shape == (9, len(res.framework.indicators))


def test_zhejiang_target_mode_realisation():
    z = china_provincial_panel(2016, 2023)
    res = build_index(z, "zhejiang_2025", region="province")
    assert res.config.mode == "target" and res.config.normalisation == "realisation"
    row = (res.keys.region == "Zhejiang") & (res.keys.year == 2023)
    j = res.framework.codes.index("disp_income_pc")
    assert np.isclose(res.normalised.to_numpy()[row.to_numpy(), j][0], 63830 / 75000)


def test_errors_are_clear(china):
    with pytest.raises(ValueError, match="region column 'prov'"):
        build_index(china, "affluence_sharing", region="prov")
    df = pd.DataFrame({"region": ["a", "b", "a"], "x": [1.0, 2, 3]})
    with pytest.raises(ValueError, match="share a \\(region, year\\)"):
        build_index(df, year=None)
    df = pd.DataFrame({"region": ["a", "b"], "year": [1, 1], "x": ["1,5", "oops"]})
    from prosperity.index import loads

    fw = loads("name: t\ndimensions:\n  - code: d\n    indicators: [{code: x, direction: '+'}]\n")
    with pytest.raises(ValueError, match="non-numeric value 'oops' at region=b"):
        build_index(df, fw)


# ----------------------------------------------------------------------------- uncertainty
def test_sobol_estimators_on_an_additive_model():
    rng = np.random.default_rng(0)
    a = np.array([1.0, 2.0, 3.0])
    n = 40000
    A, B = rng.random((n, 3)), rng.random((n, 3))
    f = lambda M: M @ a  # noqa: E731
    yAB = np.array([f(np.where(np.arange(3) == i, B, A)) for i in range(3)])
    S1, ST, _ = saltelli_jansen(f(A), f(B), yAB)
    expect = a**2 / np.sum(a**2)  # additive: S_i = S_Ti = a_i^2 / sum a^2
    assert np.allclose(S1, expect, atol=0.02) and np.allclose(ST, expect, atol=0.02)


def test_uncertainty_is_seeded_and_brackets_nominal(china):
    res = build_index(china, "affluence_sharing", region="province", imputation="linear,mean")
    kw = dict(normalisations=["minmax", "rank"], weightings=["entropy", "equal"],
              aggregations=["arithmetic", "geometric"], exclude_one=True)
    u1 = uncertainty(res, 300, seed=7, **kw)
    u2 = uncertainty(res, 300, seed=7, **kw)
    assert np.array_equal(u1.ranks, u2.ranks)
    s = u1.summary
    assert np.allclose(s["nominal_score"], res.scores["score"])
    assert (s.rank_q05 <= s.median_rank).all() and (s.median_rank <= s.rank_q95).all()
    sob = sobol_indices(res, 200, seed=1, n_boot=20, **kw)
    assert set(sob.indices.index) == {"normalisation", "weighting", "aggregation", "weights", "exclusion"}
    assert (sob.indices["ST"] >= -0.05).all()
    loo = leave_one_out(res)
    assert len(loo) == len(res.framework.indicators) and (loo["max_abs_rank_change"] >= 0).all()


# ----------------------------------------------------------------------------- CLI
def test_cli_json_contract(tmp_path):
    from typer.testing import CliRunner

    from prosperity.cli import _register, app

    _register()
    d = china_provincial_panel(2016, 2017)[["province", "year", "gdp_pc", "atkinson", "pub_health_pc"]]
    path = tmp_path / "panel.csv"
    d.to_csv(path, index=False)
    out = CliRunner().invoke(app, ["index", str(path), "--region", "province", "--negative", "atkinson",
                                   "--positive", "rest", "--format", "json", "--uncertainty", "50"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert set(doc["weights"]) == {"gdp_pc", "atkinson", "pub_health_pc"}
    assert np.isclose(sum(doc["weights"].values()), 1.0)
    first = doc["scores"][0]
    assert set(first) >= {"region", "year", "score", "rank"} and "uncertainty" in doc
    bad = CliRunner().invoke(app, ["index", str(path), "--region", "province", "--negative", "nope"])
    assert bad.exit_code == 2 and "not indicators of the data: nope" in bad.output


def test_quick_mode_refuses_a_mostly_numeric_column_with_stray_text():
    df = pd.DataFrame({"region": ["X", "Y", "Z"], "a": [1.0, 2.0, 3.0], "b": ["2", "x", "4"]})
    with pytest.raises(ValueError, match=r"column 'b' is mostly numeric but 1 value\(s\) are not numbers "
                                         r"\(data row 2: 'x'; data rows count"):
        build_index(df, year=None)


def test_quick_mode_leaves_text_columns_out_and_says_so():
    df = pd.DataFrame({"region": ["X", "Y", "Z"], "a": [1.0, 2.0, 3.0], "c": [3.0, 1.0, 2.0], "name": ["p", "q", "r"]})
    with pytest.warns(UserWarning, match="non-numeric columns are not indicators and were left out: name"):
        res = build_index(df, year=None, positive=["rest"])
    assert set(res.weights_dict()) == {"a", "c"}
    assert "non-numeric columns are not indicators and were left out: name" in res.warnings
