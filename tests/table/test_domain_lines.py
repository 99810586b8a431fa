"""measure(domain=, line_within_groups=...): one reference sample for every line of a row
(src/prosperity/table/domain_lines.py).

With ``line_within_groups=True`` the domain's own row measures every line measure (fgt, headcount, pgap,
watts, sen) and every self-defined threshold (arpr, rmpg, poormed: 0.6 x median; middle_rel: the
median) against the domain's own median, and reports that line; before, its arpr / rmpg / middle_rel
used the domain's median while fgt:0 and the ``line`` column used the whole sample's (on eusilc,
age >= 65: arpr 0.144 next to a line of 10859 at which fgt:0 is 0.175). With the default every row uses
the whole sample's line (R convey's ``svyarpr`` / ``svyfgt`` on ``subset()``, which take the threshold
of the full design), unchanged.

References: the domain's weighted median by hand (NumPy); R laeken's ``arpr`` / ``rmpg`` on the
subset's rows (which measure the subset as a sample of its own, i.e. with its own median); the SEs
from a linearized variable written out here (Osier 2009: the kernel density with Osier's bandwidth,
the median's influence) and the with-replacement stratified cluster estimator by hand.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from prosperity import measure
from prosperity.table import ALL

KW = dict(weight="rb050", strata="db040", psu="db030")
DOMAIN = "age >= 65"
LINE_MEASURES = ["fgt:0", "headcount", "fgt:1", "fgt:2", "pgap", "watts", "sen", "arpr", "rmpg", "poormed"]
MEASURES = LINE_MEASURES + ["middle_rel", "arpt", "median", "gini"]


@pytest.fixture(scope="module")
def silc(eusilc):
    return eusilc[eusilc["eqIncome"] > 0].reset_index(drop=True)  # Watts needs positive incomes


def weighted_median(y, w) -> float:
    """Eurostat's (laeken's) weighted median: the first y_j with F_j >= 1/2 (sorted), the average with
    the next when F_j = 1/2 exactly."""
    o = np.argsort(y, kind="stable")
    y, w = np.asarray(y, float)[o], np.asarray(w, float)[o]
    cw = np.cumsum(w)
    j = int(np.searchsorted(cw, 0.5 * cw[-1], side="left"))
    return float(0.5 * (y[j] + y[j + 1])) if cw[j] == 0.5 * cw[-1] else float(y[j])


def weighted_quantile(y, w, p) -> float:
    o = np.argsort(y, kind="stable")
    y, w = np.asarray(y, float)[o], np.asarray(w, float)[o]
    cw = np.cumsum(w)
    j = int(np.searchsorted(cw, p * cw[-1], side="left"))
    return float(0.5 * (y[j] + y[j + 1])) if cw[j] == p * cw[-1] else float(y[j])


def rows(r, **group):
    f = r.to_frame()
    for k, v in group.items():
        f = f[f[k] == v]
    for c in r.by:
        if c not in group:
            f = f[f[c] == ALL]
    return f.set_index("measure")


def test_the_domain_row_takes_the_domains_own_line_for_every_measure(silc):
    r = measure(silc, "eqIncome", MEASURES, domain=DOMAIN, line_within_groups=True, **KW)
    old = silc[silc["age"] >= 65]
    m = weighted_median(old["eqIncome"], old["rb050"])
    assert m == 17144.43  # the domain's median, by hand (the whole sample's is 18098.73)
    f = rows(r)
    for name in LINE_MEASURES:
        assert f.loc[name, "line"] == pytest.approx(0.6 * m, rel=1e-15), name
    assert f.loc["middle_rel", "line"] == pytest.approx(m, rel=1e-15)
    assert f.loc["arpt", "value"] == pytest.approx(0.6 * m, rel=1e-15)
    # one line, so one share of poor: arpr = fgt:0 = headcount, value and SE (the same linearized variable)
    y, w = old["eqIncome"].to_numpy(), old["rb050"].to_numpy()
    share = w[y < 0.6 * m].sum() / w.sum()
    for name in ("arpr", "fgt:0", "headcount"):
        assert f.loc[name, "value"] == pytest.approx(share, rel=1e-14), name
        assert f.loc[name, "se"] == pytest.approx(f.loc["arpr", "se"], rel=1e-13), name
    assert f.loc["fgt:1", "value"] == pytest.approx(np.dot(w, np.clip(1 - y / (0.6 * m), 0, None)) / w.sum(), rel=1e-13)
    assert f.loc["fgt:1", "value"] == pytest.approx(f.loc["pgap", "value"], rel=1e-15)
    assert "poverty line: 0.6 x median of the domain = 10286.7 (each row's own: line_within_groups)" in r.describe()
    assert (f"domain: {DOMAIN} (2,320 of 14,824 units; design from the whole sample, relative lines the domain's own: "
            "line_within_groups)") in r.describe()


def test_the_domain_row_agrees_with_laeken_on_the_domains_rows(silc, r_laeken):
    out = r_laeken(
        "suppressMessages(library(laeken)); data(eusilc); d <- subset(eusilc, age >= 65 & eqIncome > 0); "
        "f <- subset(d, rb090 == 'female'); a <- arpr('eqIncome', weights = 'rb050', data = d); "
        "g <- rmpg('eqIncome', weights = 'rb050', data = d); af <- arpr('eqIncome', weights = 'rb050', data = f); "
        "cat(sprintf('{\"arpr\": %s, \"t\": %s, \"rmpg\": %s, \"arpr_f\": %s, \"t_f\": %s}', format(a$value, digits = 17), "
        "format(a$threshold, digits = 17), format(g$value, digits = 17), format(af$value, digits = 17), "
        "format(af$threshold, digits = 17)))")
    r = measure(silc, "eqIncome", ["arpr", "fgt:0", "rmpg"], by="rb090", domain=DOMAIN, line_within_groups=True, **KW)
    f, fem = rows(r), rows(r, rb090="female")
    assert 100 * f.loc["arpr", "value"] == pytest.approx(out["arpr"], rel=1e-13)
    assert 100 * f.loc["fgt:0", "value"] == pytest.approx(out["arpr"], rel=1e-13)
    assert f.loc["fgt:0", "line"] == pytest.approx(out["t"], rel=1e-15)
    assert 100 * f.loc["rmpg", "value"] == pytest.approx(out["rmpg"], rel=1e-13)
    # a group within the domain: its own units (old women) give its line
    assert 100 * fem.loc["arpr", "value"] == pytest.approx(out["arpr_f"], rel=1e-13)
    assert fem.loc["fgt:0", "line"] == fem.loc["arpr", "line"] == pytest.approx(out["t_f"], rel=1e-15)


def test_with_own_lines_every_point_is_the_subsets_as_a_sample_of_its_own(silc):
    """line_within_groups=True: values and lines of every row equal measuring the domain's rows alone;
    only the SEs differ (the domain variance keeps the full design's PSUs and strata)."""
    kw = dict(by="rb090", line_within_groups=True, relative_line=0.5, **KW)
    dom = measure(silc, "eqIncome", MEASURES, domain=DOMAIN, **kw).to_frame()
    sub = measure(silc[silc["age"] >= 65], "eqIncome", MEASURES, **kw).to_frame()
    assert dom[["rb090", "measure"]].astype(str).equals(sub[["rb090", "measure"]].astype(str))
    np.testing.assert_allclose(dom["value"], sub["value"], rtol=1e-13)
    np.testing.assert_allclose(dom["line"], sub["line"], rtol=1e-15)
    old = silc[silc["age"] >= 65]
    for group, units in ((ALL, old), ("female", old[old["rb090"] == "female"]), ("male", old[old["rb090"] == "male"])):
        own = dom[(dom["rb090"] == group) & dom["measure"].isin(["fgt:0", "fgt:1", "watts"])]
        assert len(own) == 3 and np.all(own["line"] == 0.5 * weighted_median(units["eqIncome"], units["rb050"])), group
    assert np.all(np.abs(dom["se"] / sub["se"] - 1) > 1e-6)


def _stratified_variance(t_units, strata, psu) -> float:
    """sum_h n_h/(n_h - 1) sum_i (t_hi - mean_h t)^2, t_hi the PSU totals of t_units (with replacement)."""
    import pandas as pd

    tot = pd.DataFrame({"h": strata, "i": psu, "t": t_units}).groupby(["h", "i"])["t"].sum().reset_index()
    v = 0.0
    for _, g in tot.groupby("h"):
        n = len(g)
        v += n / (n - 1) * float(((g["t"] - g["t"].mean()) ** 2).sum())
    return v


def test_the_domain_rows_se_is_the_linearization_at_the_domains_own_median(silc):
    """u by hand (Osier 2009) on the domain's units, 0 outside; V from every PSU of the full design."""
    r = measure(silc, "eqIncome", ["arpr", "fgt:0", "fgt:1", "median"], domain=DOMAIN, line_within_groups=True, **KW)
    f = rows(r)
    inside = (silc["age"] >= 65).to_numpy()
    y, w = silc["eqIncome"].to_numpy(float), silc["rb050"].to_numpy(float)
    yd, wd = y[inside], w[inside]
    N = wd.sum()
    m = weighted_median(yd, wd)
    z = 0.6 * m
    h = 0.79 * (weighted_quantile(yd, wd, 0.75) - weighted_quantile(yd, wd, 0.25)) * N ** -0.2  # Osier's bandwidth

    def dens(x):
        return float(np.dot(wd, np.exp(-0.5 * ((x - yd) / h) ** 2)) / (N * h * math.sqrt(2 * math.pi)))

    u_med = -((yd <= m).astype(float) - 0.5) / (N * dens(m))
    p = wd[yd < z].sum() / N
    u_arpr = ((yd < z) - p) / N + dens(z) * 0.6 * u_med
    g1 = np.clip(1 - yd / z, 0, None)
    fgt1 = np.dot(wd, g1) / N
    d_fgt1 = np.dot(wd[yd < z], yd[yd < z]) / (z * z * N)  # d FGT(1) / dz
    u_fgt1 = (g1 - fgt1) / N + d_fgt1 * 0.6 * u_med
    strata, psu = silc["db040"].to_numpy(), silc["db030"].to_numpy()
    for name, u in (("median", u_med), ("arpr", u_arpr), ("fgt:0", u_arpr), ("fgt:1", u_fgt1)):
        t = np.zeros(y.size)
        t[inside] = wd * u
        se = math.sqrt(_stratified_variance(t, strata, psu))
        assert f.loc[name, "se"] == pytest.approx(se, rel=1e-9), name
    # the line's own error matters: at a fixed line the SE differs
    fixed = measure(silc, "eqIncome", ["fgt:1"], poverty_line=z, domain=DOMAIN, **KW)
    assert abs(fixed.se[0] / f.loc["fgt:1", "se"] - 1) > 0.01


def test_the_default_keeps_the_whole_samples_line_for_every_measure_of_the_domain(silc):
    """convey's subset(): svyarpr / svyfgt(type_thresh="relq") take the full design's threshold."""
    r = measure(silc, "eqIncome", MEASURES, domain=DOMAIN, **KW)
    m = weighted_median(silc["eqIncome"], silc["rb050"])
    f = rows(r)
    for name in LINE_MEASURES:
        assert f.loc[name, "line"] == pytest.approx(0.6 * m, rel=1e-15), name
    assert f.loc["middle_rel", "line"] == pytest.approx(m, rel=1e-15)
    assert f.loc["arpr", "value"] == pytest.approx(f.loc["fgt:0", "value"], rel=1e-15)
    assert f.loc["arpr", "se"] == pytest.approx(f.loc["fgt:0", "se"], rel=1e-13)
    assert f.loc["arpt", "value"] < 0.6 * m  # arpt is the domain's own threshold (the measure itself)
    assert "0.6 x median of the whole sample = 10862.3" in r.describe()
    assert "design and relative lines from the whole sample" in r.describe()


def test_the_bootstrap_follows_the_same_rule(silc):
    """Each replicate re-estimates the domain's own line: arpr and fgt:0 are the same numbers on every
    replicate, so their bootstrap SEs and intervals are equal."""
    kw = dict(domain=DOMAIN, line_within_groups=True, by="rb090", se_method="bootstrap", replicates=40, seed=4, **KW)
    r = measure(silc, "eqIncome", ["arpr", "fgt:0", "rmpg"], **kw)
    lin = measure(silc, "eqIncome", ["arpr", "fgt:0", "rmpg"], **dict(kw, se_method="linearization", replicates=None, seed=None))
    a, b = r.to_frame(), lin.to_frame()
    np.testing.assert_array_equal(a["value"], b["value"])
    np.testing.assert_array_equal(a["line"], b["line"])
    for part in (a[a["measure"] == "arpr"], ):
        fgt0 = a[a["measure"] == "fgt:0"]
        np.testing.assert_allclose(part[["value", "se", "ci_low", "ci_high"]].to_numpy(),
                                   fgt0[["value", "se", "ci_low", "ci_high"]].to_numpy(), rtol=1e-13)
    assert np.all(np.abs(a["se"] / b["se"] - 1) < 0.5)  # the bootstrap's spread near the linearized SE
