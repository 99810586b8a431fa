"""Design-based standard errors of the nested GE decomposition (prosperity.decompose.linearize).

Three checks: the linearized variables are the exact derivatives of every component and share with
respect to each observation's weight; on eusilc the total's SE is the one ``prosperity.measure`` gives
for Theil with the same design; and every component's and share's SE agrees with a delete-one-PSU
stratified jackknife computed here. (R convey's svygeidec would be a third peer, but r-cran-convey is
not packaged by Debian, so it is not compared.) The non-nested subgroup decomposition's SEs are those of
the one-level nested decomposition of each grouping, equal the Theil SE of ``prosperity.measure`` for the
total, and agree with the same jackknife for gender, state and their cross.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from prosperity import measure as measure_table
from prosperity.decompose import decompose, nested_decomposition, nested_influence, subgroup_decomposition
from prosperity.io import ProsperityInputError
from prosperity.variance import Design

MEASURES = ["theil", "mld", "ge:2", "ge:-1", "ge:0.5"]
ALPHA = {"theil": 1.0, "mld": 0.0, "ge:2": 2.0, "ge:-1": -1.0, "ge:0.5": 0.5}


# ------------------------------------------------------------------------- exactness (tiny sample)


def tiny(measure):
    rng = np.random.default_rng(3)
    y = rng.lognormal(1.0, 0.8, 14)
    if ALPHA[measure] > 0:
        y[[3, 12, 13]] = 0.0  # a zero income, and a province ('c2') whose incomes are all 0
    w = rng.uniform(0.5, 3.0, 14)
    region = np.array(list("AAAAABBBBBCCCC"))
    province = np.array(["a1", "a1", "a2", "a2", "a2", "b1", "b1", "b2", "b3", "b3", "c1", "c1", "c2", "c2"])
    return y, w, [region, province]


def estimates(y, w, levels, measure) -> np.ndarray:
    d = nested_decomposition(y, w, levels=levels, names=["region", "province"], measure=measure)
    return np.array([d.total] + [c.value for c in d.components] + [c.share for c in d.components])


@pytest.mark.parametrize("measure", MEASURES)
def test_influence_is_the_derivative_with_respect_to_each_weight(measure):
    y, w, levels = tiny(measure)
    u = nested_influence(y, w, levels=levels, names=["region", "province"], measure=measure)
    assert list(u.columns) == ["total", "between:region", "between:province", "within:province",
                               "share between:region", "share between:province", "share within:province"]
    numeric = np.empty(u.shape)
    for i in range(y.size):  # central differences, step 1e-5 of the weight
        h = 1e-5 * w[i]
        up, down = w.copy(), w.copy()
        up[i] += h
        down[i] -= h
        numeric[i] = (estimates(y, up, levels, measure) - estimates(y, down, levels, measure)) / (2 * h)
    scale = np.abs(u.to_numpy()).max(axis=0)
    assert np.all(np.abs(numeric - u.to_numpy()) <= 1e-6 * scale), np.abs(numeric - u.to_numpy()).max(axis=0) / scale
    # the components' variables add up to the total's; the shares' to 0
    np.testing.assert_allclose(u.iloc[:, 1:4].sum(axis=1), u["total"], rtol=0, atol=1e-13 * scale[0])
    np.testing.assert_allclose(u.iloc[:, 4:].sum(axis=1), 0.0, rtol=0, atol=1e-13 * scale[4:].max())


def test_design_variance_of_the_influence_is_the_reported_se():
    y, w, levels = tiny("theil")
    strata = np.array([0] * 7 + [1] * 7)
    psu = np.array([0, 0, 1, 1, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7])
    design = Design.build(14, strata=strata, psu=psu)
    d = nested_decomposition(y, w, levels=levels, names=["region", "province"], design=design)
    u = nested_influence(y, w, levels=levels, names=["region", "province"])
    assert d.total_se == pytest.approx(design.se(w * u["total"]), rel=1e-12)
    for c in d.components:
        key = f"{c.component}:{c.level}"
        assert c.se == pytest.approx(design.se(w * u[key]), rel=1e-12)
        assert c.share_se == pytest.approx(design.se(w * u[f"share {key}"]), rel=1e-12)


# -------------------------------------------------------------------- eusilc: measure and jackknife


def ge_of_ratio(alpha, z):
    if alpha == 1:
        return np.where(z > 0, z * np.log(np.where(z > 0, z, 1.0)), 0.0)
    if alpha == 0:
        return -np.log(z)
    return (z**alpha - 1) / (alpha * (alpha - 1))


def ge_total(alpha, n, y, m):
    """GE from N = sum w, Y = sum w y and M = sum w f(y) (arrays of replicates)."""
    mu = y / n
    if alpha == 1:
        return m / y - np.log(mu)
    if alpha == 0:
        return np.log(mu) - m / n
    return (m / (n * mu**alpha) - 1) / (alpha * (alpha - 1))


def smoothed_ge(alpha, n_cell, y_cell, to_unit):
    """B = GE with everyone at their unit's mean, (1/N) sum_u N_u phi(mu_u / mu), for R replicates at
    once: n_cell, y_cell (R x C) by cell, ``to_unit``: the unit of every cell (each unit a sum of cells)."""
    one_hot = np.zeros((to_unit.size, to_unit.max() + 1))
    one_hot[np.arange(to_unit.size), to_unit] = 1.0
    n, mu = n_cell.sum(1), y_cell.sum(1) / n_cell.sum(1)
    nu, yu = n_cell @ one_hot, y_cell @ one_hot
    return ((nu / n[:, None]) * ge_of_ratio(alpha, (yu / nu) / mu[:, None])).sum(1)


def components_from_sums(alpha, n_leaf, y_leaf, m, parent):
    """Textbook components for R replicates at once: n_leaf, y_leaf (R x L) by lowest unit, m = sum
    w f(y) (R,), ``parent``: the top-level unit of every lowest unit. B_j = GE of the smoothed
    distribution. Returns total, [components..., shares...]."""
    total = ge_total(alpha, n_leaf.sum(1), y_leaf.sum(1), m)
    b = [smoothed_ge(alpha, n_leaf, y_leaf, parent), smoothed_ge(alpha, n_leaf, y_leaf, np.arange(parent.size))]
    comps = [b[0], b[1] - b[0], total - b[1]]
    return total, comps + [c / total for c in comps]


def psu_layout(strata, psu):
    """(h_of, p_codes, n_h): the stratum of every PSU, the PSU of every row, the PSUs of every stratum."""
    s_codes = pd.factorize(strata, sort=True)[0]
    p_codes = pd.factorize(pd.Series(s_codes).astype(str) + "/" + pd.Series(psu).astype(str))[0]
    h_of = np.zeros(p_codes.max() + 1, dtype=int)
    h_of[p_codes] = s_codes
    return h_of, p_codes, np.bincount(h_of)


def psu_cell_sums(alpha, y, w, cell, p_codes):
    """N, Y by PSU and cell (PSUs x cells) and M = sum w f(y) by PSU."""
    f = y * np.log(np.where(y > 0, y, 1.0)) if alpha == 1 else (np.log(y) if alpha == 0 else y**alpha)
    n_psu, n_cell = p_codes.max() + 1, cell.max() + 1
    n_p, y_p = np.zeros((n_psu, n_cell)), np.zeros((n_psu, n_cell))
    np.add.at(n_p, (p_codes, cell), w)
    np.add.at(y_p, (p_codes, cell), w * y)
    return n_p, y_p, np.bincount(p_codes, w * f, minlength=n_psu)


def replicate_sums(by_psu, h_of, n_h):
    """The sums of every delete-one-PSU replicate (PSU p of stratum h removed, the other PSUs of h
    weighted n_h / (n_h - 1)) from the sums by PSU (first axis): the full sums minus the stratum's plus
    n_h / (n_h - 1) (stratum - PSU), so all 6,000 replicates at once."""
    by_h = np.zeros((n_h.size,) + by_psu.shape[1:])
    np.add.at(by_h, h_of, by_psu)
    c = (n_h / (n_h - 1))[h_of].reshape((-1,) + (1,) * (by_psu.ndim - 1))
    return by_psu.sum(0) - by_h[h_of] + c * (by_h[h_of] - by_psu)


def jackknife_se(theta, h_of, n_h) -> float:
    """JKn: V = sum_h (n_h - 1) / n_h sum_p (theta_p - mean_h)^2 over the replicates theta_p."""
    mean_h = np.bincount(h_of, theta) / n_h
    return float(np.sqrt(np.sum(((n_h - 1) / n_h)[h_of] * (theta - mean_h[h_of]) ** 2)))


def jackknife_ses(alpha, y, w, leaf, parent, strata, psu):
    """Delete-one-PSU stratified jackknife (JKn) SEs of the nested decomposition's total, components and
    shares. The estimates are functions of the sums by lowest unit, so every replicate is cheap."""
    h_of, p_codes, n_h = psu_layout(strata, psu)
    sums = [replicate_sums(s, h_of, n_h) for s in psu_cell_sums(alpha, y, w, leaf, p_codes)]
    total, rest = components_from_sums(alpha, *sums, parent)
    return [jackknife_se(theta, h_of, n_h) for theta in [total] + rest], (h_of, p_codes, n_h)


@pytest.fixture(scope="module")
def silc(eusilc):
    """eusilc with an age band per state ('Vienna/18-34'), a level that cuts across households."""
    band = pd.cut(eusilc["age"], [-2, 17, 34, 64, 200], labels=["0-17", "18-34", "35-64", "65+"]).astype(str)
    return eusilc.assign(state_age=eusilc["db040"] + "/" + band)


def test_total_se_equals_the_theil_se_of_measure(silc):
    d = decompose(silc, "eqIncome", ["db040", "state_age"], "rb050", strata="db040", psu="db030")
    m = measure_table(silc, "eqIncome", ["theil"], weight="rb050", strata="db040", psu="db030")
    # Theil 0.12073350, SE 0.00314069 both ways (observed relative gap 1e-14)
    assert d.total == pytest.approx(m.value[0], rel=1e-12)
    assert d.total_se == pytest.approx(m.se[0], rel=1e-10)


# Linearized SE vs delete-one-PSU jackknife, eusilc (14,827 persons, strata db040 = 9 states, PSUs
# db030 = 6,000 households, weights rb050):
#
# Theil by state                 value        SE         jackknife   SE/jk
#   total                        0.1207335    0.0031407  0.0031425   0.9994
#   between states               0.0006176    0.0002490  0.0002482   1.0032
#   within states                0.1201159    0.0031290  0.0031392   0.9968
#   share between                0.0051157    0.0020549  0.0020550   0.9999
#   share within                 0.9948843    0.0020549  0.0020550   0.9999
#
# Theil, state > state x age band (0-17, 18-34, 35-64, 65+; bands cut across households)
#   between states               0.0006176    0.0002490  0.0002482   1.0032
#   between bands within states  0.0041498    0.0004445  0.0004448   0.9993
#   within bands                 0.1159661    0.0029827  0.0030043   0.9928
#   share between states         0.0051157    0.0020549  0.0020550   0.9999
#   share between bands          0.0343712    0.0034406  0.0034692   0.9918
#   share within bands           0.9605132    0.0037303  0.0037464   0.9957
#
# GE(2), state > state x age band
#   total                        0.1368811    0.0048866  0.0048918   0.9989
#   between states               0.0006135    0.0002471  0.0002460   1.0047
#   between bands within states  0.0041000    0.0004353  0.0004348   1.0011
#   within bands                 0.1321676    0.0047278  0.0047539   0.9945
#   share between states         0.0044817    0.0017967  0.0017970   0.9999
#   share between bands          0.0299534    0.0029706  0.0030010   0.9899
#   share within bands           0.9655650    0.0032602  0.0032846   0.9925
#
# Every ratio lies within 1.1 % of 1; the test allows 3 %.
@pytest.mark.parametrize("levels,measure", [(["db040"], "theil"), (["db040", "state_age"], "theil"),
                                            (["db040", "state_age"], "ge:2")])
def test_se_agrees_with_the_psu_jackknife(silc, levels, measure):
    alpha = ALPHA[measure]
    y, w = silc["eqIncome"].to_numpy(), silc["rb050"].to_numpy()
    d = decompose(silc, "eqIncome", levels, "rb050", measure=measure, strata="db040", psu="db030")
    leaf, leaf_labels = pd.factorize(silc[levels[-1]], sort=True)
    parent = pd.factorize(pd.Series(leaf_labels).str.split("/").str[0], sort=True)[0]
    jk, (h_of, p_codes, n_h) = jackknife_ses(alpha, y, w, leaf, parent, silc["db040"].to_numpy(),
                                             silc["db030"].to_numpy())
    # the replicate sums are right: two replicates recomputed from replicate weights
    for p in (0, 4321):
        wr = np.where(h_of[p_codes] == h_of[p], w * n_h[h_of[p]] / (n_h[h_of[p]] - 1), w)
        wr[p_codes == p] = 0.0
        r = decompose(silc.assign(wr=wr), "eqIncome", levels, "wr", measure=measure)
        single = components_from_sums(alpha, *_sums(alpha, y, wr, leaf), parent)
        vals = [float(single[0][0])] + [float(v[0]) for v in single[1]]
        expected = [r.total, *[c.value for c in r.components], *[c.share for c in r.components]]
        if len(levels) == 1:  # one level: B_1 = B_2, so the middle component is 0
            vals = vals[:2] + vals[3:5] + vals[6:]
        np.testing.assert_allclose(vals, expected, rtol=1e-9, atol=1e-15)
    if len(levels) == 1:
        jk = jk[:2] + jk[3:5] + jk[6:]
    ses = [d.total_se] + [c.se for c in d.components] + [c.share_se for c in d.components]
    ratios = np.array(ses) / np.array(jk)
    assert np.all(np.abs(ratios - 1) < 0.03), ratios


def _sums(alpha, y, w, leaf):
    f = y * np.log(np.where(y > 0, y, 1.0)) if alpha == 1 else (np.log(y) if alpha == 0 else y**alpha)
    n_leaf = leaf.max() + 1
    return (np.bincount(leaf, w, n_leaf)[None, :], np.bincount(leaf, w * y, n_leaf)[None, :],
            np.array([np.sum(w * f)]))


# ------------------------------------------------------------------------------------ the API


def test_design_object_columns_and_arrays_agree(silc):
    n = len(silc)
    by_columns = decompose(silc, "eqIncome", ["db040"], "rb050", strata="db040", psu="db030")
    design = Design.build(n, strata=silc["db040"].to_numpy(), psu=silc["db030"].to_numpy())
    by_design = decompose(silc, "eqIncome", ["db040"], "rb050", design=design)
    by_arrays = nested_decomposition(silc["eqIncome"], silc["rb050"], levels=[silc["db040"]], strata=silc["db040"],
                                     psu=silc["db030"])
    for other in (by_design, by_arrays):
        assert other.total_se == pytest.approx(by_columns.total_se, rel=1e-12)
        for a, b in zip(other.components, by_columns.components):
            assert (a.se, a.share_se) == pytest.approx((b.se, b.share_se), rel=1e-12)
    # a sampling fraction of 0.5 in every stratum halves every variance
    half = decompose(silc.assign(f=0.5), "eqIncome", ["db040"], "rb050", strata="db040", psu="db030", fpc="f")
    assert half.total_se == pytest.approx(by_columns.total_se * np.sqrt(0.5), rel=1e-12)
    assert half.components[0].share_se == pytest.approx(by_columns.components[0].share_se * np.sqrt(0.5), rel=1e-12)
    # independent units (no strata, no PSUs): the SE measure gives without a design
    iid = decompose(silc, "eqIncome", ["db040"], "rb050", design=Design.build(n))
    m = measure_table(silc, "eqIncome", ["theil"], weight="rb050")
    assert iid.total_se == pytest.approx(m.se[0], rel=1e-10)


def test_without_a_design_nothing_changes():
    d = nested_decomposition([1.0, 2, 3, 7], levels=[["a", "a", "b", "b"]], names=["g"])
    assert d.total_se is None and all(c.se is None and c.share_se is None for c in d.components)
    assert list(d.to_frame().columns) == ["level", "component", "value", "share"]
    assert list(d.to_records()[0]) == ["level", "component", "value", "share"]
    assert "se" not in repr(d)
    assert repr(d.components[0]) == (f"Component(level='g', component='between', value={d.components[0].value!r}, "
                                     f"share={d.components[0].share!r})")


def test_with_a_design_frame_records_and_repr_carry_the_ses():
    y = np.array([1.0, 2, 3, 7, 4, 4.5, 9, 1.5])
    g = ["a"] * 4 + ["b"] * 4
    d = nested_decomposition(y, levels=[g], names=["g"], strata=[0, 0, 0, 0, 1, 1, 1, 1], psu=[0, 0, 1, 1, 2, 2, 3, 3])
    assert list(d.to_frame().columns) == ["level", "component", "value", "share", "se", "share_se"]
    rec = d.to_records()
    assert [list(r) for r in rec] == [["level", "component", "value", "share", "se", "share_se"]] * 2
    assert rec[0]["share_se"] == pytest.approx(rec[1]["share_se"])  # the two shares add up to 1
    text = repr(d)
    assert f"se={d.total_se:.3g}" in text.splitlines()[0]
    assert f"(se {d.components[0].se:.3g})" in text and f"(se {100 * d.components[0].share_se:.2f})" in text
    assert "se=" in repr(d.components[0])


def test_design_errors(silc):
    small = silc.iloc[:40]
    n = len(small)
    with pytest.raises(ProsperityInputError, match=r"^strata cannot be given with design=: they are part of it"):
        decompose(small, "eqIncome", ["db040"], "rb050", design=Design.build(n), strata="db040")
    with pytest.raises(ProsperityInputError, match=r"^the design describes 41 units but the data have 40 rows"):
        decompose(small, "eqIncome", ["db040"], "rb050", design=Design.build(41))
    with pytest.raises(ProsperityInputError, match=r"^PSU column 'db03' is not in the data; did you mean 'db030'"):
        decompose(small, "eqIncome", ["db040"], "rb050", psu="db03")
    with pytest.raises(ProsperityInputError, match=r"^unknown lonely_psu rule 'drop'"):
        decompose(small, "eqIncome", ["db040"], "rb050", strata="db040", lonely_psu="drop")
    holes = small.assign(db040=small["db040"].where(small.index != 5))
    with pytest.raises(ProsperityInputError, match=r"^strata column 'db040' has 1 missing value. 1 row: data row 6;"):
        decompose(holes, "eqIncome", ["db030"], "rb050", strata="db040", psu="db030")
    lonely = small.assign(s=np.where(small.index < 3, "x", "y"), p=np.where(small.index < 3, 0, small.index))
    message = (r"^1 stratum/strata of 's' have a single PSU \('x'\), so their variance is not defined. Fix: merge "
               r"each such stratum with a similar one, or choose a rule: lonely_psu='adjust'")
    with pytest.raises(ProsperityInputError, match=message):
        decompose(lonely, "eqIncome", ["db040"], "rb050", strata="s", psu="p")
    ok = decompose(lonely, "eqIncome", ["db040"], "rb050", strata="s", psu="p", lonely_psu="certainty")
    assert ok.total_se > 0
    with pytest.raises(ProsperityInputError, match=r"^strata column 'strata' has shape \(3,\)"):
        nested_decomposition([1.0, 2, 3, 4], levels=[[0, 0, 1, 1]], strata=[0, 0, 1])
    with pytest.raises(ProsperityInputError, match=r"^1 stratum/strata of 'strata' have a single PSU \('B'\)"):
        nested_decomposition([1.0, 2, 3, 4, 5], levels=[[0, 0, 1, 1, 1]], strata=np.array(list("AABBB")),
                             psu=np.array([1, 2, 3, 3, 3]))
    with pytest.raises(ProsperityInputError, match=r"^fpc column 'f' must be constant within each stratum. 1 row: data row 2"):
        nested_decomposition([1.0, 2, 3, 4], levels=[[0, 0, 1, 1]], strata=[0, 0, 1, 1],
                             fpc=pd.Series([10, 11, 10, 10], name="f"))


# ---------------------------------------------------------------------------------------- the CLI


def test_cli_with_a_design(app, design_json, silc, tmp_path):
    path = tmp_path / "silc.csv"
    silc[["eqIncome", "rb050", "db040", "db030"]].to_csv(path, index=False)
    base = ["decompose", str(path), "--income", "eqIncome", "--weight", "rb050", "--levels", "db040"]
    rows = design_json(base, "--strata", "db040", "--psu", "db030")
    assert len(rows) == 2
    d = decompose(silc, "eqIncome", ["db040"], "rb050", strata="db040", psu="db030")
    assert [r["se"] for r in rows] == pytest.approx([c.se for c in d.components], rel=1e-12)
    table = CliRunner().invoke(app, base + ["--strata", "db040", "--psu", "db030"], env={"COLUMNS": "80"}).stdout
    head, *rows = [[c.strip() for c in line.strip("│┃").split("│" if line.startswith("│") else "┃")]
                   for line in table.splitlines() if line.startswith(("│", "┃"))]
    assert head == ["level", "component", "value", "share", "se", "share_se"]  # shares as fractions
    assert rows[0] == ["db040", "between", "0.000617631", "0.005116", "0.00025", "0.002055"]
    assert rows[2] == ["(all)", "total", "0.120734", "1", "0.0031", ""]  # the whole sample, labelled


# ---------------------------------------------------------------------------- non-nested subgroups


def cross_labels(*columns):
    """The cross-classification as subgroup_decomposition names it ('a x b')."""
    return pd.Series([" x ".join(map(str, t)) for t in zip(*columns)])


def assert_one_level_nested(s, y, w, groupings: dict, measure, **design):
    """Every row of the subgroup table (each grouping, then their cross) has the SEs of
    nested_decomposition with that grouping as the only level, to 1e-12."""
    levels = list(groupings.values()) + [cross_labels(*groupings.values())]
    assert list(s.table["grouping"]) == list(groupings) + [" x ".join(groupings)]
    for row, level in zip(s.table.itertuples(index=False), levels):
        d = nested_decomposition(y, w, levels=[level], measure=measure, **design)
        between, within = d.components
        np.testing.assert_allclose([row.between_se, row.within_se, row.between_share_se, row.total_se],
                                   [between.se, within.se, between.share_se, d.total_se], rtol=1e-12, atol=0)
        # the values come from two formulas: equal up to rounding (a small between term only absolutely)
        np.testing.assert_allclose([row.between, row.within], [between.value, within.value], rtol=0,
                                   atol=1e-12 * d.total)
    assert s.total_se == s.table["total_se"].iloc[0]


@pytest.mark.parametrize("measure", MEASURES)
def test_subgroup_ses_are_those_of_the_one_level_nested_decomposition(measure):
    y, w, (region, _) = tiny(measure)  # zero incomes for alpha > 0, one group ('c2' below) all zeros
    parity = np.where(np.arange(14) % 2, "odd", "even")  # cuts across the regions
    design = dict(strata=np.array([0] * 7 + [1] * 7), psu=np.array([0, 0, 1, 1, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7]))
    groupings = {"region": region, "parity": parity}
    s = subgroup_decomposition(y, w, groups=groupings, measure=measure, **design)
    assert_one_level_nested(s, y, w, groupings, measure, **design)


def test_subgroup_ses_on_eusilc_are_the_nested_ones_and_the_total_is_measures(silc):
    y, w = silc["eqIncome"], silc["rb050"]
    groupings = {"rb090": silc["rb090"], "db040": silc["db040"]}
    s = subgroup_decomposition(y, w, groups=groupings, strata=silc["db040"], psu=silc["db030"])
    assert_one_level_nested(s, y, w, groupings, "theil", strata=silc["db040"], psu=silc["db030"])
    m = measure_table(silc, "eqIncome", ["theil"], weight="rb050", strata="db040", psu="db030")
    # Theil 0.12073350, SE 0.00314069 both ways
    assert s.total == pytest.approx(m.value[0], rel=1e-12)
    assert s.total_se == pytest.approx(m.se[0], rel=1e-10)


def subgroup_jackknife(alpha, silc):
    """JKn SEs of the total and, for gender, state and gender x state, of between, within and the
    between share. Every estimate is a function of the 18 gender x state cells' N and Y and of M, so
    the PSU sums are taken once and each grouping's units are sums of cells."""
    y, w = silc["eqIncome"].to_numpy(), silc["rb050"].to_numpy()
    gender = pd.factorize(silc["rb090"], sort=True)[0]
    state = pd.factorize(silc["db040"], sort=True)[0]
    k = state.max() + 1
    h_of, p_codes, n_h = psu_layout(silc["db040"].to_numpy(), silc["db030"].to_numpy())
    n_c, y_c, m = (replicate_sums(s, h_of, n_h) for s in psu_cell_sums(alpha, y, w, gender * k + state, p_codes))
    total = ge_total(alpha, n_c.sum(1), y_c.sum(1), m)
    thetas = [total]
    cells = np.arange(n_c.shape[1])
    for of_cell in (cells // k, cells % k, cells):  # gender, state, gender x state
        between = smoothed_ge(alpha, n_c, y_c, of_cell)
        thetas += [between, total - between, between / total]
    return [jackknife_se(theta, h_of, n_h) for theta in thetas], thetas, (h_of, p_codes, n_h)


# Linearized SE vs delete-one-PSU jackknife of subgroup_decomposition, eusilc (strata db040, PSUs db030,
# weights rb050), groupings gender rb090, state db040 and their cross (18 cells):
#
# Theil                          value        SE         jackknife   SE/jk
#   total                        0.1207335    0.0031407  0.0031425   0.9994
#   gender between               0.0007906    0.0001224  0.0001225   0.9997
#   gender within                0.1199429    0.0031335  0.0031354   0.9994
#   gender share between         0.0065487    0.0010149  0.0010164   0.9986
#   state between                0.0006176    0.0002490  0.0002482   1.0032
#   state within                 0.1201159    0.0031290  0.0031392   0.9968
#   state share between          0.0051157    0.0020549  0.0020550   0.9999
#   gender x state between       0.0014184    0.0002788  0.0002777   1.0041
#   gender x state within        0.1193151    0.0031213  0.0031326   0.9964
#   gender x state share betw.   0.0117481    0.0022950  0.0022985   0.9985
#
# GE(2)
#   total                        0.1368811    0.0048866  0.0048918   0.9989
#   gender between               0.0007910    0.0001225  0.0001225   0.9997
#   gender within                0.1360901    0.0048875  0.0048928   0.9989
#   gender share between         0.0057788    0.0009174  0.0009196   0.9977
#   state between                0.0006135    0.0002471  0.0002460   1.0047
#   state within                 0.1362677    0.0048685  0.0048825   0.9971
#   state share between          0.0044817    0.0017967  0.0017970   0.9999
#   gender x state between       0.0014139    0.0002780  0.0002764   1.0059
#   gender x state within        0.1354672    0.0048687  0.0048838   0.9969
#   gender x state share betw.   0.0103294    0.0020302  0.0020353   0.9975
#
# Every ratio lies within 0.6 % of 1; the test allows 5 %.
@pytest.mark.parametrize("measure", ["theil", "ge:2"])
def test_subgroup_se_agrees_with_the_psu_jackknife(silc, measure):
    groupings = {"rb090": silc["rb090"], "db040": silc["db040"]}
    s = subgroup_decomposition(silc["eqIncome"], silc["rb050"], groups=groupings, measure=measure,
                               strata=silc["db040"], psu=silc["db030"])
    jk, thetas, (h_of, p_codes, n_h) = subgroup_jackknife(ALPHA[measure], silc)
    # the replicates are right: two recomputed by subgroup_decomposition from replicate weights
    w = silc["rb050"].to_numpy()
    for p in (0, 4321):
        wr = np.where(h_of[p_codes] == h_of[p], w * n_h[h_of[p]] / (n_h[h_of[p]] - 1), w)
        wr[p_codes == p] = 0.0
        r = subgroup_decomposition(silc["eqIncome"], wr, groups=groupings, measure=measure)
        expected = [r.total, *r.table[["between", "within", "between_share"]].to_numpy().ravel()]
        np.testing.assert_allclose([theta[p] for theta in thetas], expected, rtol=1e-9, atol=1e-15)
    ses = [s.total_se, *s.table[["between_se", "within_se", "between_share_se"]].to_numpy().ravel()]
    ratios = np.array(ses) / np.array(jk)
    assert np.all(np.abs(ratios - 1) < 0.05), ratios


def test_subgroup_without_a_design_nothing_changes():
    y, g, h = [1.0, 2, 3, 7, 4, 5], ["a", "a", "b", "b", "b", "a"], [0, 1, 0, 1, 0, 1]
    s = subgroup_decomposition(y, groups={"g": g, "h": h}, elmo=True)
    assert s.total_se is None
    assert list(s.table.columns) == ["grouping", "n_groups", "between", "within", "total", "between_share",
                                     "elmo_max", "elmo_share"]
    assert "se" not in repr(s)


def test_subgroup_design_object_columns_fpc_and_elmo(silc):
    y, w, groupings = silc["eqIncome"], silc["rb050"], {"rb090": silc["rb090"], "db040": silc["db040"]}
    by_columns = subgroup_decomposition(y, w, groups=groupings, strata=silc["db040"], psu=silc["db030"], elmo=True)
    # ELMO keeps its columns and gets no SE; the SE columns follow the point estimates
    assert list(by_columns.table.columns) == ["grouping", "n_groups", "between", "within", "total", "between_share",
                                              "elmo_max", "elmo_share", "between_se", "within_se",
                                              "between_share_se", "total_se"]
    ses = ["between_se", "within_se", "between_share_se", "total_se"]
    design = Design.build(len(silc), strata=silc["db040"].to_numpy(), psu=silc["db030"].to_numpy())
    by_design = subgroup_decomposition(y, w, groups=groupings, design=design)
    np.testing.assert_allclose(by_design.table[ses], by_columns.table[ses], rtol=1e-12)
    # a sampling fraction of 0.5 in every stratum halves every variance
    half = subgroup_decomposition(y, w, groups=groupings, strata=silc["db040"], psu=silc["db030"],
                                  fpc=np.full(len(silc), 0.5))
    np.testing.assert_allclose(half.table[ses], by_columns.table[ses] * np.sqrt(0.5), rtol=1e-12)
    text = repr(by_columns).splitlines()
    row = by_columns.table.iloc[0]
    assert text[0] == f"SubgroupDecomposition(theil, total={by_columns.total:.6g}, se={by_columns.total_se:.3g})"
    share = f"{100 * row.between_share:.2f} %, se {100 * row.between_share_se:.2f}"
    assert f"between {row['between']:.6g} (se {row.between_se:.3g}; {share}), within {row.within:.6g} (se " in text[1]


def test_subgroup_design_errors():
    y, g = [1.0, 2, 3, 4], [0, 0, 1, 1]
    with pytest.raises(ProsperityInputError, match=r"^psu cannot be given with design=: they are part of it"):
        subgroup_decomposition(y, groups={"g": g}, design=Design.build(4), psu=[0, 1, 2, 3])
    with pytest.raises(ProsperityInputError, match=r"^the design describes 5 units but the data have 4 rows"):
        subgroup_decomposition(y, groups={"g": g}, design=Design.build(5))
    with pytest.raises(ProsperityInputError, match=r"^1 stratum/strata of 'strata' have a single PSU \('B'\)"):
        subgroup_decomposition(y, groups={"g": g}, strata=np.array(list("AABB")), psu=np.array([1, 2, 3, 3]))
    ok = subgroup_decomposition(y, groups={"g": g}, strata=np.array(list("AABB")), psu=np.array([1, 2, 3, 3]),
                                lonely_psu="certainty")
    assert ok.total_se > 0
