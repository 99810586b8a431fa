"""Generalized Pareto interpolation against R gpinter (Blanchet, Fournier & Piketty).

Reference values: gpinter's R functions (tabulation_fit @ b1ddba0 with clean_input_tabulation,
quintic-spline @ 2214df5, generalized-pareto-distribution @ 939dcc7, histogram-interpolation @ 54820b7,
distribution-functions @ 65cae36, thresholds-fit @ 519e132, cubic-spline @ a0183b1) run in R 4.2.2 on
the tabulations of gpinter's vignette; printed with 15 digits. gpinter is not installable here
(GitHub only), so the values are recorded. R's fitted_cdf inverts by uniroot (tol sqrt(eps) in p),
so cdf and density carry ~1e-9 relative noise on R's side.
"""

import numpy as np
import pytest

from prosperity.grouped import GroupedDataError, GroupedTable, fit_grouped
from prosperity.grouped.gpinter import GeneralizedParetoInterpolation, tabulation_fit, thresholds_fit

US_LABOR = dict(p=[0.10, 0.50, 0.90, 0.99], threshold=[4310, 23686, 76252, 211861],
                bracketavg=[12643, 43908, 108329, 471463], average=37208)
US_TOTAL = dict(p=[0.1, 0.5, 0.9, 0.99], threshold=[5665, 31829, 96480, 351366],
                bracketavg=[18030.88, 54936.66, 151099.1, 1068912], average=53587.59)
FRANCE = dict(p=[0.264, 0.329, 0.432, 0.589, 0.761, 0.915, 0.984],
              threshold=[11682.243, 14018.692, 17523.364, 23364.486, 35046.729, 58411.215, 116822.43],
              bracketavg=[12867.991, 15882.009, 20246.495, 28734.813, 44450.935, 76572.43, 226254.673],
              average=27727.804)
TS = [0.5, 0.9, 0.95, 0.99, 0.999]
QP = [0.05, 0.1, 0.25, 0.5, 0.75, 0.95, 0.999]
CDF_AT = [1e4, 1e5, 1e6]
DENS_AT = [2e3, 1e4, 5e4, 1e5, 1e6]
B_AT = [0.1, 0.5, 0.9, 0.99]

R = {
    "us_labor": dict(
        ak=[0.5453370905348963, 0.3172626798240863, -0.0257428137960506, -0.0337910132942063],
        top=(211861.0, 1.0072595746171e05, 6.1199853059025e-01),
        bottom=(4310.0, 10748.44682230862054, -2.49383916990919),
        top_share=[0.8607675768651902, 0.3887400559019568, 0.2719170457939354, 0.1267101161040639, 0.0479279065527814],
        quantile=[765.168134781205, 4310.000000000005, 9698.313645393666, 23685.999999999996, 47501.115789906755,
                  101688.054753710880, 720856.283870515879],
        cdf=[0.256969048801140, 0.947955639333702, 0.999432511006929],
        density=[1.47364593563390e-05, 2.29192268731738e-05, 7.18723496368889e-06, 1.24790086209036e-06,
                 9.73284537540071e-10],
        gini=0.543131906770416, gini_fine=0.543132727864687, bracket_95_99=0.145206929689872,
        invpareto=[9.56036091776231, 2.70433505024065, 1.89689975344909, 2.22534114348559]),
    "us_total": dict(
        ak=[0.6448130592458100, 0.1761351401865436, -0.0449872469067132, -0.0297573719394146],
        top=(351366.0, 2.04059176210659e05, 7.15615199289440e-01),
        bottom=(5665.0, 22852.55009552863703, -4.03398942551256),
        top_share=[0.8633100126353875, 0.4532399945584418, 0.3479117360508366, 0.1994700638711316, 0.0984479080827533],
        quantile=[345.81839826327, 5665.00000000001, 14329.23769444730, 31828.99999999998, 58391.83884658643,
                  136720.96612979844, 1547680.18544986472],
        cdf=[0.180739154831979, 0.907058084672195, 0.998094097107705],
        density=[9.57514232464080e-06, 1.70034555564925e-05, 8.02441259947771e-06, 1.89747108705191e-06,
                 2.85215949845054e-09],
        gini=0.579471173643962, gini_fine=0.579472490364017, bracket_95_99=0.148441672179705,
        invpareto=[10.48838972246739, 2.90695296741965, 2.51741697761194, 3.04216116528065]),
    "france": dict(
        ak=[0.5398024839113805, 0.4038296444439283, 0.1446408176017349, 0.1396593959123263, 0.0607328970046910,
            -0.0113853239808663, -0.0247323176757694],
        top=(116822.43, 5.09075191322394e04, 5.34803292552091e-01),
        bottom=(11682.243, 14323.58329471136130, -1.22609872904641),
        top_share=[0.8152408522809554, 0.3516092267676533, 0.2394076421394163, 0.1026874716986129, 0.0332891590714689],
        quantile=[1518.81788187860, 3553.02445567735, 10927.27658030475, 19778.14586292081, 34132.80258971222,
                  72736.49533958350, 440962.47328678012],
        cdf=[0.232557240927514, 0.976969374412980, 0.999794885419459],
        density=[2.55210174022302e-05, 1.89672524257800e-05, 5.25833341707484e-06, 5.49497810537498e-07,
                 3.92013252740732e-10],
        gini=0.481865535446237, gini_fine=0.481865181596659, bracket_95_99=0.136720170440803,
        invpareto=[8.62119853960056, 2.28584000962576, 1.78915506769935, 1.97694889455875]),
}


def _fit(name):
    t = {"us_labor": US_LABOR, "us_total": US_TOTAL, "france": FRANCE}[name]
    return tabulation_fit(t["p"], t["threshold"], t["average"], bracketavg=t["bracketavg"])


@pytest.mark.parametrize("name", list(R))
def test_tabulation_fit_equals_gpinter(name):
    d, r = _fit(name), R[name]
    np.testing.assert_allclose(d.ak, r["ak"], rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose([d.top["mu"], d.top["sigma"], d.top["xi"]], r["top"], rtol=1e-11)
    np.testing.assert_allclose([d.bottom["mu"], d.bottom["sigma"], d.bottom["xi"]], r["bottom"], rtol=1e-11)
    np.testing.assert_allclose(d.top_share(TS), r["top_share"], rtol=1e-11)
    np.testing.assert_allclose(d.quantile(QP), r["quantile"], rtol=1e-11)
    np.testing.assert_allclose(d.invpareto(B_AT), r["invpareto"], rtol=1e-11)
    np.testing.assert_allclose(d.top_share([0.95])[0] - d.top_share([0.99])[0], r["bracket_95_99"], rtol=1e-11)
    np.testing.assert_allclose(d.cdf(CDF_AT), r["cdf"], rtol=1e-8)
    np.testing.assert_allclose(d.density(DENS_AT), r["density"], rtol=1e-6)
    # gpinter's gini(): R integrate(abs.tol = 1e-4) == scipy quad on the same QUADPACK rule
    assert d.gini_gpinter() == pytest.approx(r["gini"], abs=1e-12)
    # the accurate Gini (our quadrature) against R integrate(rel.tol = 1e-12)
    assert d.measures()["gini"] == pytest.approx(r["gini_fine"], abs=1e-9)


def test_bottom_histogram_and_thresholds_only_equal_gpinter():
    t = US_LABOR
    d = tabulation_fit(t["p"], t["threshold"], t["average"], bracketavg=t["bracketavg"], bottom_model="hist")
    np.testing.assert_allclose(d.quantile(QP)[:2], [864.129502015348, 4310.000000000002], rtol=1e-11)
    np.testing.assert_allclose(d.density([2e3])[0], 9.30366979091788e-06, rtol=1e-9)
    assert d.gini_gpinter() == pytest.approx(0.543106401164632, abs=1e-12)
    assert d.measures()["gini"] == pytest.approx(0.543106505694635, abs=1e-9)
    th = thresholds_fit(t["p"], t["threshold"], t["average"])
    np.testing.assert_allclose(th.diagnostics["estimated_bracket_averages"],
                               [11367.2336497061, 47604.7347824785, 102608.9073913028, 416891.0961908888], rtol=1e-6)
    np.testing.assert_allclose(th.ak[2:], [0.3274476050043524, 0.4989835761646282, -0.1012977443259129,
                                           -0.0263592810102026], rtol=1e-5)
    np.testing.assert_allclose(th.top_share(TS), [0.872006195982518, 0.360237385162496, 0.248834078523991,
                                                  0.112043403620428, 0.036571522278949], rtol=1e-6)
    np.testing.assert_allclose(th.quantile([0.25, 0.75, 0.999]), [8116.61333082089, 53355.93065136663,
                                                                  640936.85086910741], rtol=1e-6)
    assert th.gini_gpinter() == pytest.approx(0.537222488973068, abs=1e-6)
    # (R's bracket integrals use integrate's default rel.tol; ours the same QUADPACK tolerance)


def test_grouped_table_maps_to_gpinter_rows():
    t = US_LABOR
    bottom_avg = (t["average"] - np.dot(np.diff(np.append(t["p"], 1.0)), t["bracketavg"])) / t["p"][0]
    table = GroupedTable.from_arrays([0.1, 0.4, 0.4, 0.09, 0.01], mean=[bottom_avg] + t["bracketavg"],
                                     threshold=[0] + t["threshold"])
    vign = GeneralizedParetoInterpolation.fit(table, bottom="gpd")
    np.testing.assert_allclose(vign.quantile(QP), R["us_labor"]["quantile"], rtol=1e-11)
    knot = fit_grouped(table, "gpinter").distribution  # rows from p = 0: p = 0 is a knot, as in gpinter
    assert knot.bottom["model"] == "knot" and knot.pk[0] == 0
    np.testing.assert_allclose(knot.top_share([0.9, 0.99]), vign.top_share([0.9, 0.99]), rtol=1e-12)
    # the complaint: the quantile function was negative and decreasing near p = 0
    q = knot.quantile(np.linspace(1e-6, 0.2, 2001))
    assert np.all(q > 0) and np.all(np.diff(q) >= 0)
    assert knot.diagnostics["quantile_increasing"] and knot.diagnostics["quantile_positive"]
    # thresholds only: refused before, now gpinter's thresholds_fit (needs the mean)
    thr = GroupedTable.from_arrays([0.1, 0.4, 0.4, 0.09, 0.01], threshold=[0] + t["threshold"], overall_mean=37208)
    d = fit_grouped(thr, "gpinter").distribution
    assert d.diagnostics["gpinter_function"] == "thresholds_fit"
    assert d.gini_gpinter() == pytest.approx(0.537222488973068, abs=1e-6)
    with pytest.raises(GroupedDataError, match="overall mean"):
        fit_grouped(GroupedTable.from_arrays([0.1, 0.4, 0.4, 0.09, 0.01], threshold=[0] + t["threshold"]), "gpinter")


def test_exact_for_a_pareto_distribution():
    # gpinter's own test (test-tabulation-fit.R): a Pareto tabulation is reproduced exactly
    rng = np.random.default_rng(19920902)
    for _ in range(3):
        alpha, mu = rng.uniform(1, 3), 5 * rng.exponential()
        p = np.arange(10) / 10
        q = mu * (1 - p) ** (-1 / alpha)
        d = tabulation_fit(p, q, alpha * mu / (alpha - 1), topavg=alpha * q / (alpha - 1))
        np.testing.assert_allclose(d.ak, 0.0, atol=1e-10)
        np.testing.assert_allclose(d.sk, 1 - 1 / alpha, rtol=1e-12)
        assert d.top["xi"] == pytest.approx(1 / alpha, rel=1e-10) and d.top["mu"] == pytest.approx(q[-1], rel=1e-12)
        pt = np.arange(100) / 100
        np.testing.assert_allclose(d.quantile(pt), mu * (1 - pt) ** (-1 / alpha), rtol=1e-10)
        np.testing.assert_allclose(d.top_share(pt), (1 - pt) ** (1 - 1 / alpha), rtol=1e-10)
        np.testing.assert_allclose(d.invpareto(pt), alpha / (alpha - 1), rtol=1e-10)
        qt = mu * (1 - pt[1:]) ** (-1 / alpha)
        np.testing.assert_allclose(d.density(qt), alpha * mu**alpha / qt ** (alpha + 1), rtol=1e-7)
        assert d.gini_gpinter() == pytest.approx(1 / (2 * alpha - 1), abs=1e-6)
        assert d.support() == (pytest.approx(mu), np.inf)


def test_detailed_tabulation_output():
    d = _fit("us_labor")
    tab = d.tabulation()
    f = tab.to_frame()
    assert list(f.columns) == ["fractile", "threshold", "top_share", "bottom_share", "bracket_share", "top_average",
                               "bottom_average", "bracket_average", "invpareto"]
    assert len(f) == 127 and f.fractile.iloc[-1] == pytest.approx(0.99999)
    row = f.set_index("fractile").loc[0.9]
    assert row.top_share == pytest.approx(R["us_labor"]["top_share"][1], rel=1e-12)
    assert row.threshold == pytest.approx(76252, rel=1e-12)
    assert row.invpareto == pytest.approx(R["us_labor"]["invpareto"][2], rel=1e-11)
    assert row.top_average == pytest.approx(0.09 / 0.1 * 108329 + 0.01 / 0.1 * 471463, rel=1e-9)
    # the brackets of the input come back: average of 50-90 % from the rows 51..90
    sub = f[(f.fractile >= 0.5 - 1e-9) & (f.fractile < 0.9 - 1e-9)]
    assert float(np.dot(sub.bracket_average, np.full(len(sub), 0.01))) / 0.4 == pytest.approx(43908, rel=1e-9)
    s = tab.summary()
    assert s["b90"] == pytest.approx(R["us_labor"]["invpareto"][2], rel=1e-11)
    assert s["p50_average"] == pytest.approx(23686 / 37208, rel=1e-12)


def test_inconsistent_rows_are_located():
    with pytest.raises(GroupedDataError, match=r"between p=0.5000 and p=0.9000 \(rows 2-3\).*\(20000.00\)"):
        tabulation_fit([0.1, 0.5, 0.9, 0.99], [4310, 23686, 76252, 211861], 37208,
                       bracketavg=[12643, 20000, 108329, 471463])
    with pytest.raises(GroupedDataError, match="rows 2 and 3"):
        tabulation_fit([0.1, 0.5, 0.9, 0.99], [4310, 23686, 23686, 211861], 37208,
                       bracketavg=[12643, 43908, 108329, 471463])
    with pytest.raises(GroupedDataError, match="average below the first bracket"):
        tabulation_fit([0.1, 0.5, 0.9, 0.99], [4310, 23686, 76252, 211861], 47208,
                       bracketavg=[12643, 43908, 108329, 471463])


def test_cli_tabulation_and_bounds(tmp_path):
    import json

    import pandas as pd
    from typer.testing import CliRunner

    from prosperity.cli import _register, app

    _register()
    csv = tmp_path / "us.csv"
    csv.write_text("population_share,mean,threshold\n0.1,1233.6,0\n0.4,12643,4310\n0.4,43908,23686\n"
                   "0.09,108329,76252\n0.01,471463,211861\n")
    res = CliRunner().invoke(app, ["grouped", str(csv), "-m", "gpinter", "-f", "json",
                                   "--tabulation", str(tmp_path / "tab.csv")])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    low, high = out["diagnostics"]["gini_bounds"]
    assert low == pytest.approx(0.490110, abs=5e-7) and high == pytest.approx(0.570303, abs=5e-7)
    tab = pd.read_csv(tmp_path / "tab.csv")
    assert len(tab) == 127 and tab.set_index("fractile").loc[0.9, "threshold"] == pytest.approx(76252, rel=1e-12)
    bad = CliRunner().invoke(app, ["grouped", str(csv), "-m", "gq", "--tabulation", str(tmp_path / "t2.csv")])
    assert bad.exit_code != 0 and "--tabulation needs --method gpinter" in bad.output


def test_shares_only_and_known_quantile_knots():
    # log-normal(0, 0.8) quintile means (exact), no thresholds: shares_fit, then the true median as a knot
    from scipy import stats

    s = 0.8
    z = stats.norm.ppf(np.linspace(0, 1, 6))
    mu = np.exp(s**2 / 2)
    cdf_shift = stats.norm.cdf(z - s)
    means = mu * np.diff(cdf_shift) / 0.2
    t = GroupedTable.from_arrays([0.2] * 5, mean=means)
    d = GeneralizedParetoInterpolation.fit(t)
    assert d.diagnostics["gpinter_function"] == "shares_fit"
    true_gini = 2 * stats.norm.cdf(s / np.sqrt(2)) - 1
    assert abs(d.measures()["gini"] - true_gini) < 0.005
    dm = GeneralizedParetoInterpolation.fit(t, quantiles={0.5: 1.0})  # the log-normal's median is exp(0) = 1
    assert dm.median() == pytest.approx(1.0, rel=1e-12)
    assert dm.diagnostics["quantile_increasing"]
    with pytest.raises(GroupedDataError, match=r"known quantile Q\(0.5\) = 2 does not fit the group means"):
        GeneralizedParetoInterpolation.fit(t, quantiles={0.5: 2.0})
