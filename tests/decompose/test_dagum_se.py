"""Design-based standard errors of Dagum's Gini decomposition (prosperity.decompose.dagum).

Three checks: the linearized variables are the exact derivatives of G, Gw, Gnb, Gt and of the shares
with respect to each observation's weight; on eusilc the Gini's SE is the one ``prosperity.measure``
gives with the same design; and every component's and share's SE agrees with a delete-one-PSU
stratified jackknife over all 6,000 PSUs, computed here exactly in O(n log n) (no grouping of PSUs).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from prosperity import measure as measure_table
from prosperity.decompose import dagum_decomposition, dagum_influence
from prosperity.io import ProsperityInputError
from prosperity.variance import Design

COMPONENTS = ["within", "net_between", "transvariation"]

# ------------------------------------------------------------------------- exactness (tiny sample)

# three groups with means 13.0, 22.6 and 47.1 (far from a kink) that overlap; distinct incomes; two rows
# of weight 0, one in group 'a' and one alone in group 'z' (a group of total weight 0)
Y = np.array([3.1, 7.4, 12.9, 18.2, 25.5, 20.5, 9.8, 16.3, 22.7, 31.4, 44.0, 14.6, 28.9, 41.2, 57.5, 83.3, 35.0])
W = np.array([1.3, 0.7, 2.2, 1.1, 0.9, 0.0, 2.6, 1.4, 0.8, 1.9, 1.2, 0.6, 1.7, 2.4, 1.0, 1.5, 0.0])
G = np.array(list("aaaaaabbbbbcccccz"))


def estimates(w) -> np.ndarray:
    d = dagum_decomposition(Y, w, groups=G)
    return np.array([d.gini] + [getattr(d, c) for c in COMPONENTS] + [getattr(d, c) / d.gini for c in COMPONENTS])


def test_influence_is_the_derivative_with_respect_to_each_weight():
    u = dagum_influence(Y, W, groups=G)
    assert list(u.columns) == ["gini", *COMPONENTS, *[f"share {c}" for c in COMPONENTS]]
    numeric = np.empty(u.shape)
    for i in range(Y.size):
        up, down = W.copy(), W.copy()
        if W[i] > 0:  # central differences, step 1e-5 of the weight
            h = 1e-5 * W[i]
            up[i] += h
            down[i] -= h
            numeric[i] = (estimates(up) - estimates(down)) / (2 * h)
        else:  # a weight cannot go below 0: one-sided second-order difference
            h = 1e-5
            up[i] += h
            down[i] += 2 * h
            numeric[i] = (4 * estimates(up) - 3 * estimates(W) - estimates(down)) / (2 * h)
    scale = np.abs(u.to_numpy()).max(axis=0)
    err = np.abs(numeric - u.to_numpy()).max(axis=0) / scale
    assert np.all(err <= 1e-6), err  # observed below 1e-9
    # the components' variables add up to the Gini's; the shares' to 0
    np.testing.assert_allclose(u[COMPONENTS].sum(axis=1), u["gini"], rtol=0, atol=1e-13 * scale[0])
    np.testing.assert_allclose(u.iloc[:, 4:].sum(axis=1), 0.0, rtol=0, atol=1e-13 * scale[4:].max())


def test_design_variance_of_the_influence_is_the_reported_se():
    strata = np.array([0] * 9 + [1] * 8)
    psu = np.array([0, 0, 1, 1, 2, 2, 3, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7])
    design = Design.build(Y.size, strata=strata, psu=psu)
    d = dagum_decomposition(Y, W, groups=G, design=design)
    u = dagum_influence(Y, W, groups=G)
    assert d.gini_se == pytest.approx(design.se(W * u["gini"]), rel=1e-12)
    for c in COMPONENTS:
        assert d.se[c] == pytest.approx(design.se(W * u[c]), rel=1e-12)
        assert d.share_se[c] == pytest.approx(design.se(W * u[f"share {c}"]), rel=1e-12)


# -------------------------------------------------------------------- eusilc: measure and jackknife


def own_cell_sums(y, w, cell):
    """sum_{r in cell(i)} w_r |y_i - y_r| for every i: one lexsort, cumulative sums within each cell."""
    order = np.lexsort((y, cell))
    ys, ws, cs = y[order], w[order], cell[order]
    starts = np.flatnonzero(np.r_[True, cs[1:] != cs[:-1]])
    seg = np.repeat(np.arange(starts.size), np.diff(np.r_[starts, cs.size]))
    cw, cy = np.cumsum(ws), np.cumsum(ws * ys)
    cw_in, cy_in = cw - np.r_[0.0, cw][starts][seg], cy - np.r_[0.0, cy][starts][seg]
    n_c, y_c = np.bincount(cs, ws), np.bincount(cs, ws * ys)
    out = np.empty_like(ys)
    out[order] = ys * (2 * cw_in - n_c[cs]) - (2 * cy_in - y_c[cs])
    return out


def jackknife(y, w, group, strata, psu):
    """Delete-one-PSU stratified jackknife (JKn) of G, Gw, Gnb, Gt and the shares, all 6,000 replicates
    at once and exactly. Replicate (h, p) multiplies the weights by c = 1 + delta, delta = (l - 1) on
    stratum h and -l on PSU p, l = n_h / (n_h - 1). The pair sums T = sum_ab w_a w_b |y_a - y_b| (all
    pairs) and W (pairs in the same group) are quadratic forms Q(c) = c'Kc, so
    Q(1 + delta) = Q(1) + 2 delta'K1 + delta'K delta, which needs only the per-observation sums over the
    whole sample, the stratum and the PSU (own_cell_sums), added up by PSU. G = T / (2NY),
    Gw = W / (2NY), Gnb = sum_{j<k} |Y_j N_k - Y_k N_j| / (NY) from the replicate's group totals.
    V = sum_h (n_h - 1) / n_h sum_p (theta_p - mean_h)^2."""
    s_codes = pd.factorize(strata, sort=True)[0]
    p_codes = pd.factorize(pd.Series(s_codes).astype(str) + "/" + pd.Series(psu).astype(str))[0]
    g = pd.factorize(group, sort=True)[0]
    n_psu, k = p_codes.max() + 1, g.max() + 1
    h_of = np.zeros(n_psu, dtype=int)
    h_of[p_codes] = s_codes
    n_h = np.bincount(h_of)
    lam = (n_h / (n_h - 1))[h_of]

    def quad(cell):
        k1 = w * own_cell_sums(y, w, cell)
        kh = w * own_cell_sums(y, w, cell * (s_codes.max() + 1) + s_codes)
        kp = w * own_cell_sums(y, w, cell * n_psu + p_codes)
        g_p, h_p, q_p = (np.bincount(p_codes, v, n_psu) for v in (k1, kh, kp))
        g_h, h_h = (np.bincount(h_of, v)[h_of] for v in (g_p, h_p))
        return (k1.sum() + 2 * ((lam - 1) * g_h - lam * g_p) + (lam - 1) ** 2 * h_h
                - 2 * lam * (lam - 1) * h_p + lam**2 * q_p)

    def replicate(by_psu):  # totals by group: full - stratum + l (stratum - PSU)
        by_h = np.zeros((n_h.size, k))
        np.add.at(by_h, h_of, by_psu)
        return by_psu.sum(0) - by_h[h_of] + lam[:, None] * (by_h[h_of] - by_psu)

    n_p, y_p = np.zeros((n_psu, k)), np.zeros((n_psu, k))
    np.add.at(n_p, (p_codes, g), w)
    np.add.at(y_p, (p_codes, g), w * y)
    n_j, y_j = replicate(n_p), replicate(y_p)
    ny = n_j.sum(1) * y_j.sum(1)
    gini = quad(np.zeros_like(g)) / (2 * ny)
    within = quad(g) / (2 * ny)
    net = np.abs(y_j[:, :, None] * n_j[:, None, :] - y_j[:, None, :] * n_j[:, :, None]).sum((1, 2)) / (2 * ny)
    thetas = [gini, within, net, gini - within - net]
    thetas += [t / gini for t in thetas[1:]]
    ses = []
    for theta in thetas:
        mean_h = np.bincount(h_of, theta) / n_h
        ses.append(float(np.sqrt(np.sum(((n_h - 1) / n_h)[h_of] * (theta - mean_h[h_of]) ** 2))))
    return ses, thetas, (h_of, p_codes, n_h)


@pytest.mark.parametrize("group", ["db040", "rb090"])
def test_gini_se_equals_the_se_of_measure(eusilc, group):
    d = dagum_decomposition(eusilc["eqIncome"], eusilc["rb050"], groups=eusilc[group], strata=eusilc["db040"],
                            psu=eusilc["db030"])
    m = measure_table(eusilc, "eqIncome", ["gini"], weight="rb050", strata="db040", psu="db030")
    # Gini 0.2648962, SE 0.0030824 both ways (observed relative gap 6e-14)
    assert d.gini == pytest.approx(m.value[0], rel=1e-12)
    assert d.gini_se == pytest.approx(m.se[0], rel=1e-10)


# Linearized SE vs the exact delete-one-PSU jackknife, eusilc (14,827 persons, strata db040 = 9 states,
# PSUs db030 = 6,000 households, weights rb050):
#
# by state (db040, 9 groups)     value        SE         jackknife   SE/jk
#   Gini                         0.2648962    0.0030824  0.0030837   0.9996
#   within                       0.0382868    0.0005190  0.0005195   0.9989
#   net between                  0.0190170    0.0041163  0.0040307   1.0212
#   transvariation               0.2075924    0.0047404  0.0047165   1.0051
#   share within                 0.1445352    0.0010936  0.0010945   0.9993
#   share net between            0.0717903    0.0155028  0.0152045   1.0196
#   share transvariation         0.7836745    0.0155197  0.0152052   1.0207
#
# by gender (rb090, 2 groups)
#   Gini                         0.2648962    0.0030824  0.0030837   0.9996
#   within                       0.1319581    0.0015376  0.0015383   0.9996
#   net between                  0.0198799    0.0015390  0.0015394   0.9997
#   transvariation               0.1130582    0.0019951  0.0019959   0.9996
#   share within                 0.4981502    0.0003088  0.0003090   0.9995
#   share net between            0.0750480    0.0057717  0.0057755   0.9993
#   share transvariation         0.4268018    0.0054979  0.0055015   0.9993
#
# The state net between is where the ratio leaves 1 most: 27 of the 36 pairs of states have means
# within 2 SEs of each other, near the kink of |mu_j - mu_h| (see the module doc of dagum.py).
@pytest.mark.parametrize("group", ["db040", "rb090"])
def test_se_agrees_with_the_psu_jackknife(eusilc, group):
    y, w = eusilc["eqIncome"].to_numpy(), eusilc["rb050"].to_numpy()
    d = dagum_decomposition(y, w, groups=eusilc[group], strata=eusilc["db040"], psu=eusilc["db030"])
    jk, thetas, (h_of, p_codes, n_h) = jackknife(y, w, eusilc[group].to_numpy(), eusilc["db040"].to_numpy(),
                                                 eusilc["db030"].to_numpy())
    # the replicates are right: two recomputed by dagum_decomposition from replicate weights
    for p in (0, 4321):
        wr = np.where(h_of[p_codes] == h_of[p], w * n_h[h_of[p]] / (n_h[h_of[p]] - 1), w)
        wr[p_codes == p] = 0.0
        r = dagum_decomposition(y, wr, groups=eusilc[group])
        expected = [r.gini] + [getattr(r, c) for c in COMPONENTS] + [getattr(r, c) / r.gini for c in COMPONENTS]
        np.testing.assert_allclose([t[p] for t in thetas], expected, rtol=1e-10)
    ses = [d.gini_se] + [d.se[c] for c in COMPONENTS] + [d.share_se[c] for c in COMPONENTS]
    ratios = np.array(ses) / np.array(jk)
    assert np.all(np.abs(ratios - 1) < 0.10), ratios


# ------------------------------------------------------------------------------------ the API


def test_without_a_design_nothing_changes():
    d = dagum_decomposition(Y, W, groups=G)
    assert d.gini_se is None and d.se is None and d.share_se is None and not d.has_se
    assert list(d.to_frame().columns) == ["component", "value", "share"]
    g = d.gini
    assert repr(d) == (f"DagumDecomposition(gini={g:.6g}: within {d.within:.6g} ({100 * d.within / g:.2f} %), "
                       f"net between {d.net_between:.6g} ({100 * d.net_between / g:.2f} %), "
                       f"transvariation {d.transvariation:.6g} ({100 * d.transvariation / g:.2f} %), 3 groups)")


def test_design_object_columns_and_arrays_agree(eusilc):
    n = len(eusilc)
    y, w, g = eusilc["eqIncome"], eusilc["rb050"], eusilc["rb090"]
    by_columns = dagum_decomposition(y, w, groups=g, strata=eusilc["db040"], psu=eusilc["db030"])
    design = Design.build(n, strata=eusilc["db040"].to_numpy(), psu=eusilc["db030"].to_numpy())
    by_design = dagum_decomposition(y.to_numpy(), w.to_numpy(), groups=g.to_numpy(), design=design)
    assert by_design.gini_se == pytest.approx(by_columns.gini_se, rel=1e-12)
    assert by_design.se == pytest.approx(by_columns.se, rel=1e-12)
    assert by_design.share_se == pytest.approx(by_columns.share_se, rel=1e-12)
    frame = by_columns.to_frame()
    assert list(frame.columns) == ["component", "value", "share", "se", "share_se"]
    assert frame["se"].tolist() == [by_columns.se[c] for c in COMPONENTS]
    text = repr(by_columns)
    assert text.startswith(f"DagumDecomposition(gini=0.264896 (se {by_columns.gini_se:.3g}): within 0.131958 (se ")
    assert f"(se {by_columns.se['net_between']:.3g}; 7.50 %, se {100 * by_columns.share_se['net_between']:.2f})" in text
    # a sampling fraction of 0.5 in every stratum halves every variance
    half = dagum_decomposition(y, w, groups=g, strata=eusilc["db040"], psu=eusilc["db030"],
                               fpc=pd.Series(0.5, index=eusilc.index))
    assert half.gini_se == pytest.approx(by_columns.gini_se * np.sqrt(0.5), rel=1e-12)
    assert half.share_se["within"] == pytest.approx(by_columns.share_se["within"] * np.sqrt(0.5), rel=1e-12)
    # unweighted: the design SEs of independent units equal measure's for the Gini
    iid = dagum_decomposition(y, groups=g, design=Design.build(n))
    assert iid.gini_se == pytest.approx(measure_table(eusilc, "eqIncome", ["gini"]).se[0], rel=1e-10)


def test_design_errors():
    with pytest.raises(ProsperityInputError, match=r"^psu cannot be given with design=: they are part of it"):
        dagum_decomposition(Y, W, groups=G, design=Design.build(Y.size), psu=np.arange(Y.size))
    with pytest.raises(ProsperityInputError, match=r"^the design describes 3 units but the data have 17 rows"):
        dagum_decomposition(Y, W, groups=G, design=Design.build(3))
    with pytest.raises(ProsperityInputError, match=r"^unknown lonely_psu rule 'drop'"):
        dagum_decomposition(Y, W, groups=G, lonely_psu="drop")
    strata = pd.Series(["x"] * 2 + ["y"] * 15, name="region")
    with pytest.raises(ProsperityInputError, match=r"^1 stratum/strata of 'region' have a single PSU \('x'\)"):
        dagum_decomposition(Y, W, groups=G, strata=strata, psu=np.r_[0, 0, np.arange(1, 16)])
    ok = dagum_decomposition(Y, W, groups=G, strata=strata, psu=np.r_[0, 0, np.arange(1, 16)], lonely_psu="certainty")
    assert ok.gini_se > 0


# ---------------------------------------------------------------------------------------- the CLI


def test_cli_gini_with_a_design(app, design_json, eusilc, tmp_path):
    path = tmp_path / "silc.csv"
    eusilc[["eqIncome", "rb050", "db040", "db030", "rb090"]].to_csv(path, index=False)
    base = ["decompose", str(path), "--income", "eqIncome", "--weight", "rb050", "--levels", "db040", "rb090",
            "--measure", "gini"]
    rows = design_json(base, "--strata", "db040", "--psu", "db030")
    assert [(r["level"], r["component"]) for r in rows] == [(lv, c) for lv in ("db040", "rb090")
                                                            for c in ("within", "between", "overlap")]
    for level, chunk in (("db040", rows[:3]), ("rb090", rows[3:])):
        d = dagum_decomposition(eusilc["eqIncome"], eusilc["rb050"], groups=eusilc[level], strata=eusilc["db040"],
                                psu=eusilc["db030"])
        assert [r["se"] for r in chunk] == pytest.approx([d.se[c] for c in COMPONENTS], rel=1e-12)
        assert [r["share_se"] for r in chunk] == pytest.approx([d.share_se[c] for c in COMPONENTS], rel=1e-12)
    def cells(args):
        out = CliRunner().invoke(app, args, env={"COLUMNS": "80"}).stdout
        return [[c.strip() for c in line.strip("│┃").split("│" if line.startswith("│") else "┃")]
                for line in out.splitlines() if line.startswith(("│", "┃"))]

    head, *rows = cells(base + ["--strata", "db040", "--psu", "db030", "--percent"])
    assert head == ["level", "component", "value", "share", "se", "share_se"]
    assert rows[4] == ["rb090", "between", "0.0198799", "7.50 %", "0.0015", "0.58 %"]
    assert rows[6] == ["(all)", "total", "0.264896", "100.00 %", "0.0031", ""]  # the Gini and its SE
    head, *plain = cells(base)  # without a design: the same total row, no SE; shares as fractions
    assert len(plain) == 7 and plain[6] == ["(all)", "total", "0.264896", "1"]
