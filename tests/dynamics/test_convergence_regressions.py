"""sigma and beta convergence: US state incomes 1929-2009 reference values, statsmodels for the
regressions (stored; compared live when statsmodels is installed) and hand computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from prosperity.dynamics import (
    RegionPanel,
    beta_convergence,
    dispersion,
    panel_beta_convergence,
    sigma_convergence,
    speed_and_half_life,
)
from prosperity.dynamics.regression import ols


def test_cross_section_beta_usjoin(us_panel):
    r = beta_convergence(us_panel, se="classical")
    assert r.beta == pytest.approx(-0.0091532, abs=5e-8)
    assert r.se == pytest.approx(0.000488, abs=5e-7)
    assert r.speed == pytest.approx(0.016472, abs=5e-7)
    assert r.half_life == pytest.approx(42.08, abs=5e-3)
    assert r.n == 48 and r.span == 80
    assert r.to_frame().loc[0, "beta"] == r.beta


def test_panel_beta_usjoin_effects(us_panel):
    # reference notes: pooled +0.00108 (spurious on nominal data), year FE -0.03096, two-way -0.07690 (half-life 8.66)
    assert panel_beta_convergence(us_panel, effects="none").beta == pytest.approx(0.00108, abs=5e-6)
    assert panel_beta_convergence(us_panel, effects="time").beta == pytest.approx(-0.03096, abs=5e-6)
    tw = panel_beta_convergence(us_panel, effects="twoway")
    assert tw.beta == pytest.approx(-0.0768956971828459, rel=1e-10)
    assert tw.se == pytest.approx(0.011949401740516697, rel=1e-8)  # statsmodels OLS + dummies, cov_type="cluster"
    assert tw.half_life == pytest.approx(8.66, abs=5e-3)


def test_panel_beta_vs_statsmodels_live(us_panel):
    sm = pytest.importorskip("statsmodels.api")
    us_panel = us_panel.select(times=range(1929, 1961))  # keep the dummy regressions small
    d = us_panel.to_frame().sort_values(["region", "time"])
    d["ly"] = np.log(d["pcincome"])
    d["g"] = d.groupby("region")["ly"].shift(-1) - d["ly"]
    d = d.dropna()
    yd = pd.get_dummies(d["time"].astype(str), drop_first=True, prefix="y").astype(float)
    rd = pd.get_dummies(d["region"], drop_first=True, prefix="r").astype(float)
    groups = pd.factorize(d["region"])[0]
    for effects, extra in [("none", []), ("time", [yd]), ("region", [rd]), ("twoway", [yd, rd])]:
        x = sm.add_constant(pd.concat([d[["ly"]]] + extra, axis=1))
        fit = sm.OLS(d["g"], x).fit(cov_type="cluster", cov_kwds={"groups": groups})
        ours = panel_beta_convergence(us_panel, effects=effects)
        assert ours.beta == pytest.approx(fit.params["ly"], rel=1e-9), effects
        assert ours.se == pytest.approx(fit.bse["ly"], rel=1e-8), effects
    for se, cov in [("classical", "nonrobust"), ("HC1", "HC1"), ("HC3", "HC3")]:
        x = np.column_stack([np.ones(48), np.log(us_panel.values[:, 0])])
        g = np.log(us_panel.values[:, -1] / us_panel.values[:, 0]) / 31
        fit = sm.OLS(g, x).fit(cov_type=cov)
        assert beta_convergence(us_panel, se=se).se == pytest.approx(fit.bse[1], rel=1e-10), se


def test_ols_hac_newey_west_vs_statsmodels_stored():
    rng = np.random.default_rng(3)
    t = np.arange(40.0)
    y = 1 + 0.05 * t + np.cumsum(rng.normal(0, 0.3, 40)) * 0.3
    x = np.column_stack([np.ones(40), t])
    fit = ols(y, x, se="hac", lags=3)
    try:
        import statsmodels.api as sm

        ref = sm.OLS(y, x).fit(cov_type="HAC", cov_kwds={"maxlags": 3, "use_correction": False}).bse[1]
        assert fit.se[1] == pytest.approx(ref, rel=1e-10)
    except ImportError:
        pass
    assert fit.coef[1] == pytest.approx(np.polyfit(t, y, 1)[0], rel=1e-12)


def test_conditional_beta_controls_aligned_by_region(us_panel):
    ctrl = pd.DataFrame({"south": [1.0 if r in {"Alabama", "Georgia", "Mississippi", "Texas"} else 0.0 for r in us_panel.regions]},
                        index=list(us_panel.regions))
    r1 = beta_convergence(us_panel, controls=ctrl)
    r2 = beta_convergence(us_panel, controls=ctrl.iloc[::-1])  # order of the controls frame is irrelevant
    assert r1.beta == pytest.approx(r2.beta, rel=1e-13)
    assert r1.effects == "conditional" and "south" in r1.coefficients.index
    with pytest.raises(KeyError, match="Wyoming"):
        beta_convergence(us_panel, controls=ctrl.drop(index="Wyoming"))


def test_speed_and_half_life_formula():
    lam, half = speed_and_half_life(-0.02, 10)
    assert lam == pytest.approx(-np.log(0.8) / 10, rel=1e-15)
    assert half == pytest.approx(np.log(2) / lam, rel=1e-15)
    assert np.isnan(speed_and_half_life(-0.2, 10)[0])  # 1 + b T <= 0: undefined


def test_sigma_measures_by_hand():
    y = np.array([1.0, 2.0, 3.0, 6.0])
    p = np.array([1.0, 1.0, 2.0, 4.0])
    assert dispersion(y, "sd_log") == pytest.approx(np.std(np.log(y)), rel=1e-15)
    assert dispersion(y, "cv", ddof=1) == pytest.approx(np.std(y, ddof=1) / 3.0, rel=1e-15)
    mu = (p @ y) / p.sum()
    assert dispersion(y, "cv_weighted", p) == pytest.approx(np.sqrt(p @ (y - mu) ** 2 / p.sum()) / mu, rel=1e-15)
    assert dispersion(y, "gini") == pytest.approx(np.abs(np.subtract.outer(y, y)).sum() / (2 * 16 * 3.0), rel=1e-14)
    assert dispersion(y, "theil") == pytest.approx(np.mean(y / 3 * np.log(y / 3)), rel=1e-14)
    s = p / p.sum()
    assert dispersion(y, "theil_weighted", p) == pytest.approx(s @ (y / mu * np.log(y / mu)), rel=1e-14)


def test_sigma_convergence_usjoin_trend(us_panel):
    r = sigma_convergence(us_panel)
    assert list(r.series.columns) == ["sd_log", "cv", "gini", "theil"]
    assert r.series.loc[1929, "sd_log"] == pytest.approx(np.std(np.log(us_panel.values[:, 0])), rel=1e-14)
    assert r.trend.loc["sd_log", "slope"] < 0 and r.trend.loc["sd_log", "converging"]
    tt = np.arange(1929, 2010.0)
    assert r.trend.loc["cv", "slope"] == pytest.approx(np.polyfit(tt, r.series["cv"], 1)[0], rel=1e-10)
    assert len(r.to_frame()) == 81 * 4


def test_weighted_sigma_needs_weights(us_panel):
    with pytest.raises(ValueError, match="weights"):
        sigma_convergence(us_panel, ["cv_weighted"])


def test_panel_input_errors_are_located():
    df = pd.DataFrame({"r": ["a", "a", "b", "b"], "t": [1, 2, 1, 2], "v": [1.0, 2.0, 3.0, "x"]})
    with pytest.raises(ValueError, match=r"'v' must be numeric; data row 4 \(region 'b', time 2\)"):
        RegionPanel.from_long(df, region="r", time="t", value="v")
    gap = pd.DataFrame({"r": ["a", "a", "b"], "t": [1, 2, 1], "v": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match="unbalanced.*'b': 1 periods"):
        RegionPanel.from_long(gap, region="r", time="t", value="v")
    dropped = RegionPanel.from_long(gap, region="r", time="t", value="v", incomplete="drop")
    assert dropped.regions == ("a",) and "dropped 1 region" in dropped.notes[0]
    dup = pd.DataFrame({"r": ["a", "a"], "t": [1, 1], "v": [1.0, 2.0]})
    with pytest.raises(ValueError, match="more than once"):
        RegionPanel.from_long(dup, region="r", time="t", value="v")
    with pytest.raises(KeyError, match="not found"):
        RegionPanel.from_long(dup, region="region", time="t", value="v")


def test_polars_input(us_panel):
    pl = pytest.importorskip("polars")
    frame = pl.from_pandas(us_panel.to_frame())
    r = beta_convergence(frame, region="region", time="time", value="pcincome", se="classical")
    assert r.beta == pytest.approx(-0.0091532, abs=5e-8)
