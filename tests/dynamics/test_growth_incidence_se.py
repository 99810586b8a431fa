"""Linearized standard errors of growth incidence between two independent samples: the linearized
variables are the derivatives of the estimates with respect to each unit's weight, hand-derived
variances, and a PSU bootstrap on eusilc split into two independent halves."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from prosperity.dynamics import growth_incidence
from prosperity.measures.estimate import SortedIncome
from prosperity.measures.prosperity import bottom_mean, bottom_mean_sorted
from prosperity.variance.bootstrap import replicate_multipliers
from prosperity.variance.design import Design

SMOOTH = ("growth_of_mean", "growth_bottom40", "premium_bottom40", "pro_poor_growth_rate", "headcount_0")


def _two_samples(seed=3, n0=23, n1=19):
    rng = np.random.default_rng(seed)
    y0, y1 = rng.lognormal(3.0, 0.7, n0), rng.lognormal(3.15, 0.6, n1)  # continuous: no ties
    w0, w1 = rng.uniform(0.5, 4.0, y0.size), rng.uniform(0.5, 4.0, y1.size)
    return y0, w0, y1, w1


def test_bottom40_influence_is_the_derivative_with_respect_to_each_weight():
    y, w = _two_samples()[:2]
    s = SortedIncome.from_arrays(y, w)
    u = s.unsort(bottom_mean_sorted(s, share=0.4).influence)
    # the bottom mean is a ratio of weight sums, smooth in each weight between the kinks where the 40 %
    # cut changes unit; a central difference at eps = 1e-4 has truncation error O(eps^2) ~ 1e-9 relative and
    # rounding error ~1e-15 * 20 / 2e-4 ~ 1e-10 (at eps = 1e-6 the rounding alone is ~1e-7 relative: it
    # failed on numpy 2.4.6 by 1.5e-7)
    eps = 1e-4
    for k in range(y.size):
        up, down = w.copy(), w.copy()
        up[k] += eps
        down[k] -= eps
        numeric = (bottom_mean(y, up) - bottom_mean(y, down)) / (2 * eps)
        assert u[k] == pytest.approx(numeric, rel=1e-7, abs=1e-9)


@pytest.mark.parametrize("pro_poor", ["watts", "percentiles"])
def test_summary_influence_is_the_derivative_with_respect_to_each_weight(pro_poor):
    y0, w0, y1, w1 = _two_samples()
    line = float(np.quantile(y0, 0.35))
    kw = dict(years=3.0, line=line, pro_poor=pro_poor)
    g = growth_incidence((y0, w0), (y1, w1), se=True, **kw)
    # the smooth summaries; the percentile pro-poor rate and the median are functions of quantiles,
    # whose linearization (kernel density) is not a derivative with respect to the weights
    keys = SMOOTH if pro_poor == "watts" else tuple(k for k in SMOOTH if k != "pro_poor_growth_rate")
    eps = 1e-6
    for period, (y, w) in enumerate(((y0, w0), (y1, w1))):
        for k in range(y.size):
            values = []
            for step in (eps, -eps):
                ww = w.copy()
                ww[k] += step
                pair = [(y0, w0), (y1, w1)]
                pair[period] = (y, ww)
                values.append(growth_incidence(*pair, **kw).summary())
            for key in keys:
                u = g.influence[key][period]
                numeric = (values[0][key] - values[1][key]) / (2 * eps)
                got = 0.0 if u is None else u[k]  # headcount_0 does not depend on the second sample
                assert got == pytest.approx(numeric, rel=1e-6, abs=1e-10), (key, period, k)


def test_standard_errors_are_the_design_variances_of_the_influence_variables():
    y0, w0, y1, w1 = _two_samples(n0=150, n1=130)
    g = growth_incidence((y0, w0), (y1, w1), se=True, years=2.0)
    d0, d1 = Design.build(y0.size), Design.build(y1.size)
    for key, se in g.se.items():
        u0, u1 = g.influence[key]
        assert se == pytest.approx(np.sqrt(d0.variance(w0 * u0) + d1.variance(w1 * u1)), rel=1e-12)
    # premium: the components' variables are combined unit by unit, not their variances added
    u_b, u_m = g.influence["growth_bottom40"], g.influence["growth_of_mean"]
    np.testing.assert_allclose(g.influence["premium_bottom40"][0], u_b[0] - u_m[0], rtol=0, atol=1e-15)
    assert g.se["premium_bottom40"] < np.hypot(g.se["growth_bottom40"], g.se["growth_of_mean"])
    # a curve point by the delta method from the two quantiles' standard errors
    z = stats.norm.ppf(0.975)
    np.testing.assert_allclose(g.curve["ci_high"] - g.curve["growth"], z * g.curve["se"], rtol=1e-12)
    s = g.summary()
    assert s["growth_bottom40_ci_low"] == pytest.approx(s["growth_bottom40"] - z * s["growth_bottom40_se"], rel=1e-12)
    assert "se and 95% CI: growth_bottom40" in repr(g) and "premium_bottom40" in repr(g)


def test_bottom40_growth_se_by_hand():
    # Unweighted samples, every unit its own PSU (with replacement): V = n/(n-1) sum u_k^2, and with
    # u = IF / n, IF(y) = [(y - q) 1{y <= q} + p q] / p - mu_p, this is the classical
    # V(mu_p) = [s_p^2 + (1 - p)(mu_p - q)^2] / (p (n - 1)) when p n units lie at or below q
    # (s_p^2 the variance, ddof 0, of the bottom group, mu_p its mean, q its largest income).
    y0 = np.arange(1.0, 11.0)  # bottom 40 %: 1, 2, 3, 4: mu = 5/2, s^2 = 5/4, q = 4
    y1 = np.array([2.0, 3, 5, 7, 8, 9, 11, 12, 13, 20])  # 2, 3, 5, 7: mu = 17/4, s^2 = 59/16, q = 7
    p, n = Fraction(2, 5), 10

    def v_bottom(mu, s2, q):
        return (s2 + (1 - p) * (mu - q) ** 2) / (p * (n - 1))

    v0 = v_bottom(Fraction(5, 2), Fraction(5, 4), 4)  # = 13/18: by hand, u = -0.6, -0.35, -0.1, 0.15 x 7
    v1 = v_bottom(Fraction(17, 4), Fraction(59, 16), 7)  # = 329/144: u = -0.975, -0.725, -0.225, 0.275 x 7
    assert v0 == Fraction(13, 18) and v1 == Fraction(329, 144)
    b0, b1 = Fraction(5, 2), Fraction(17, 4)
    # g = b1 / b0 - 1 = 0.7; V(g) = (b1 / b0)^2 [V0 / b0^2 + V1 / b1^2]
    var_g = (b1 / b0) ** 2 * (v0 / b0**2 + v1 / b1**2)
    g = growth_incidence(y0, y1, se=True)
    assert g.bottom40_growth == pytest.approx(0.7, abs=1e-14)
    assert g.se["growth_bottom40"] == pytest.approx(np.sqrt(float(var_g)), abs=1e-10)
    # over 5 years: (1 + g)^(1/5) - 1, d/d(ratio) = (1/5) ratio^(-4/5)
    g5 = growth_incidence(y0, y1, se=True, years=5)
    ratio = float(b1 / b0)
    assert g5.se["growth_bottom40"] == pytest.approx(ratio ** (-0.8) / 5 * np.sqrt(float(var_g)), abs=1e-10)
    # growth of the mean: V(mean) = s^2 / n (ddof 1), the classical formula
    m0, m1 = y0.mean(), y1.mean()
    var_m = (m1 / m0) ** 2 * (y0.var(ddof=1) / n / m0**2 + y1.var(ddof=1) / n / m1**2)
    assert g.se["growth_of_mean"] == pytest.approx(np.sqrt(var_m), abs=1e-10)


def test_designs_as_dict_or_design_and_weights_only():
    y0, w0, y1, w1 = _two_samples(n0=150, n1=130)
    strata0 = np.repeat(["a", "b"], [80, 70])
    psu0 = np.arange(y0.size) // 2
    by_dict = growth_incidence((y0, w0), (y1, w1), design_before={"strata": strata0, "psu": psu0})
    by_design = growth_incidence((y0, w0), (y1, w1), design_before=Design.build(y0.size, strata=strata0, psu=psu0))
    assert by_dict.se == by_design.se
    np.testing.assert_array_equal(by_dict.curve["se"], by_design.curve["se"])
    assert "before: 2 strata, 75 PSUs" in by_dict.notes[0]
    # weights only = every unit its own PSU, one stratum, with replacement
    plain = growth_incidence((y0, w0), (y1, w1), se=True)
    own = growth_incidence((y0, w0), (y1, w1), design_before={"psu": np.arange(y0.size)}, design_after={})
    assert plain.se == pytest.approx(own.se, rel=1e-13)
    assert "each its own PSU (with replacement)" in plain.notes[0]
    assert by_dict.se["growth_of_mean"] != pytest.approx(plain.se["growth_of_mean"], rel=1e-3)


def test_without_standard_errors_the_output_is_unchanged():
    y0, w0, y1, w1 = _two_samples()
    g = growth_incidence((y0, w0), (y1, w1))
    assert list(g.curve.columns) == ["p", "quantile_0", "quantile_1", "growth"]
    assert g.se is None and g.influence is None and g.notes == ()
    assert not any(k.endswith(("_se", "_ci_low", "_ci_high")) for k in g.summary().index)
    assert " se " not in repr(g) and "CI" not in repr(g)
    with_se = growth_incidence((y0, w0), (y1, w1), se=True)
    pd.testing.assert_frame_equal(with_se.curve[list(g.curve.columns)], g.curve)
    assert with_se.summary()[g.summary().index].equals(g.summary())


def test_fitted_distributions_have_no_standard_errors():
    d0, d1 = stats.lognorm(0.6, scale=100.0), stats.lognorm(0.5, scale=120.0)
    g = growth_incidence(d0, d1, se=True)
    assert g.se is None and "se" not in g.curve.columns
    assert "before and after is a fitted distribution" in g.notes[0] and "fitted distribution" in repr(g)
    y = np.random.default_rng(0).lognormal(4.6, 0.6, 50)
    mixed = growth_incidence(y, d1, se=True)
    assert mixed.se is None and "after is a fitted distribution" in mixed.notes[0]
    with pytest.raises(ValueError, match="design_after was given, but after is a fitted distribution"):
        growth_incidence(y, d1, design_after={"psu": np.arange(50)})


def test_bad_designs_are_located():
    y0, w0, y1, w1 = _two_samples()
    with pytest.raises(ValueError, match=r"design_before has an unknown key 'stratum'; did you mean 'strata'"):
        growth_incidence(y0, y1, design_before={"stratum": np.zeros(y0.size)})
    with pytest.raises(ValueError, match=r"PSU column \"design_after\['psu'\]\" has shape \(3,\); expected one value per row \(19 rows\)"):
        growth_incidence(y0, y1, design_after={"psu": [1, 2, 3]})
    with pytest.raises(ValueError, match="the design describes 5 units but the before sample has 23 rows"):
        growth_incidence(y0, y1, design_before=Design.build(5))
    lonely = {"strata": np.r_[np.zeros(22), 1.0], "psu": np.arange(y0.size)}
    with pytest.raises(ValueError, match=r"1 stratum/strata of \"design_before\['strata'\]\" have a single PSU \(1\)"):
        growth_incidence(y0, y1, design_before=lonely)
    assert growth_incidence(y0, y1, design_before={**lonely, "lonely_psu": "certainty"}).se is not None
    with pytest.raises(ValueError, match=r"strata column \"design_before\['strata'\]\" has 1 missing value"):
        growth_incidence(y0, y1, design_before={"strata": np.r_[np.nan, np.zeros(22)]})
    with pytest.raises(ValueError, match="se=False"):
        growth_incidence(y0, y1, se=False, design_before={})
    with pytest.raises(ValueError, match="confidence"):
        growth_incidence(y0, y1, se=True, confidence=95)


# ---------------------------------------------------------------------------------------------- eusilc
# eusilc split into two independent samples by household (PSU db030: even / odd), incomes of the odd
# half x 1.03; strata db040, weights rb050, 99 percentiles. Linearized SEs against 1000 replicates of
# the Rao-Wu rescaled bootstrap (prosperity.variance.bootstrap, PSUs drawn within strata, each half
# on its own, seeds 1 and 2), the whole growth_incidence re-run on each:
#
#   quantity               linearized   bootstrap   ratio
#   growth of the mean      0.015022    0.015452    0.972
#   growth of the median    0.017034    0.017533    0.972
#   growth bottom-40 mean   0.019784    0.020173    0.981
#   premium (B40 - mean)    0.015610    0.015615    1.000
#   mean of growth rates    0.015172    0.016122    0.941
#   g(0.1)                  0.025378    0.024756    1.025
#   g(0.5)                  0.017034    0.017533    0.972
#   g(0.9)                  0.024146    0.025231    0.957
#
# (4000 replicates, other seeds: ratios 0.97 to 1.04.) Quantile-based SEs depend on the kernel
# density at the quantile (prosperity.measures.quantiles, h = 0.79 IQR N^(-1/5), N = sum of weights),
# hence the wider tolerance for them.
EUSILC_LINEARIZED = {"growth_of_mean": 0.015022, "growth_of_median": 0.017034, "growth_bottom40": 0.019784,
                     "premium_bottom40": 0.015610, "mean_of_growth_rates": 0.015172,
                     "g(0.1)": 0.025378, "g(0.5)": 0.017034, "g(0.9)": 0.024146}
SMOOTH_EUSILC = ("growth_of_mean", "growth_bottom40", "premium_bottom40")


def _eusilc_halves(eusilc):
    odd = eusilc["db030"].to_numpy() % 2 == 1
    out = []
    for mask, factor in ((~odd, 1.0), (odd, 1.03)):
        h = eusilc[mask]
        out.append((h["eqIncome"].to_numpy() * factor, h["rb050"].to_numpy(), h["db040"].to_numpy(), h["db030"].to_numpy()))
    return out


def _eusilc_values(g) -> dict:
    s = g.summary()
    curve = g.curve.set_index(np.round(g.curve["p"], 2))
    out = {k: s[k] for k in EUSILC_LINEARIZED if not k.startswith("g(")}
    out.update({f"g({p})": curve.loc[p, "growth"] for p in (0.1, 0.5, 0.9)})
    return out


def test_eusilc_linearized_ses_match_a_psu_bootstrap(eusilc):
    halves = _eusilc_halves(eusilc)
    designs = [{"strata": h[2], "psu": h[3]} for h in halves]
    g = growth_incidence(halves[0][:2], halves[1][:2], design_before=designs[0], design_after=designs[1])
    lin = {k: (g.se[k] if not k.startswith("g(") else None) for k in EUSILC_LINEARIZED}
    curve = g.curve.set_index(np.round(g.curve["p"], 2))
    lin.update({f"g({p})": curve.loc[p, "se"] for p in (0.1, 0.5, 0.9)})
    for key, value in EUSILC_LINEARIZED.items():
        assert lin[key] == pytest.approx(value, abs=5e-7), key

    replicates = 1000
    built = [Design.build(len(h[0]), strata=h[2], psu=h[3]) for h in halves]
    mult = [np.vstack(list(replicate_multipliers(d.psu_stratum, d.fpc_h, replicates=replicates,
                                                 method="rescaled_bootstrap", seed=seed)))
            for d, seed in zip(built, (1, 2))]
    reps = []
    for r in range(replicates):
        pair = []
        for h, d, m in zip(halves, built, mult):
            w = h[1] * m[r][d.psu]
            keep = w > 0  # as prosperity.measure's bootstrap: units of undrawn PSUs leave the sample
            pair.append((h[0][keep], w[keep]))
        reps.append(_eusilc_values(growth_incidence(*pair)))
    boot = pd.DataFrame(reps).std(ddof=1)
    for key in EUSILC_LINEARIZED:
        tol = 0.10 if key in SMOOTH_EUSILC else 0.15
        assert lin[key] / boot[key] == pytest.approx(1.0, abs=tol), (key, lin[key], boot[key])


def test_eusilc_quantile_and_mean_ses_are_those_of_prosperity_measure(eusilc):
    # the delta method on prosperity.measure's own SEs (same quantile influence and kernel density)
    from prosperity import measure

    halves = _eusilc_halves(eusilc)
    g = growth_incidence(halves[0][:2], halves[1][:2], percentiles=[0.1, 0.5, 0.9],
                         design_before={"strata": halves[0][2], "psu": halves[0][3]},
                         design_after={"strata": halves[1][2], "psu": halves[1][3]})
    frames = [pd.DataFrame({"y": h[0], "w": h[1], "h": h[2], "c": h[3]}) for h in halves]
    res = [measure(f, "y", ["mean", "quantile:0.1", "median", "quantile:0.9"], weight="w", strata="h", psu="c",
                   quantile_convention="interpolated") for f in frames]

    def delta(name, growth):
        v = [r.value_of(name) for r in res]
        s = [r.se_of(name) for r in res]
        return (1 + growth) * np.hypot(s[0] / v[0], s[1] / v[1])

    assert g.se["growth_of_mean"] == pytest.approx(delta("mean", g.mean_growth), rel=1e-10)
    assert g.se["growth_of_median"] == pytest.approx(delta("median", g.median_growth), rel=1e-10)
    for name, row in zip(("quantile:0.1", "median", "quantile:0.9"), g.curve.itertuples()):
        assert row.se == pytest.approx(delta(name, row.growth), rel=1e-10)


def test_a_quantile_without_density_has_no_se_and_says_so():
    y0, w0, y1, w1 = _two_samples()  # 23 incomes: nothing within 8 bandwidths of the 0.94- and 0.95-quantiles
    g = growth_incidence((y0, w0), (y1, w1), se=True)
    missing = g.curve.loc[g.curve["se"].isna(), "p"].tolist()
    assert missing == [0.94, 0.95]
    assert np.isnan(g.se["mean_of_growth_rates"]) and "mean_of_growth_rates" not in g.influence
    assert np.isfinite(g.se["growth_bottom40"]) and np.isfinite(g.curve["se"].drop(index=[93, 94])).all()
    assert "kernel density at the quantile is 0" in g.notes[1] and "before p = 0.94, before p = 0.95)" in g.notes[1]
