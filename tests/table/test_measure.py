"""Table-level API: values against laeken, groups from one sort, domain SEs, lines, bootstrap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prosperity.io import load
from prosperity.measures.estimate import SortedIncome
from prosperity.measures.gini import gini_sorted
from prosperity.measures.poverty import arpr
from prosperity.table import _DomainVariance, measure
from prosperity.variance.bootstrap import replicate_multipliers
from prosperity.variance.design import Design

# laeken 0.5.2 on eusilc (src/prosperity/data/SOURCES.md), as fractions
LAEKEN_GINI = 0.2648962
LAEKEN_ARPR = 0.1444422
LAEKEN_QSR = 3.970004
LAEKEN_GINI_BY_DB040 = {
    "Burgenland": 0.3205489, "Carinthia": 0.2549448, "Lower Austria": 0.2593737, "Salzburg": 0.2501652,
    "Styria": 0.2371190, "Tyrol": 0.2524881, "Upper Austria": 0.2549202, "Vienna": 0.2894944, "Vorarlberg": 0.2874120,
}


@pytest.fixture(scope="module")
def silc(eusilc):
    return load(eusilc, "eqIncome", weight="rb050", strata="db040", psu="db030", groups=["db040", "rb090"])


def test_eusilc_matches_laeken(silc):
    r = measure(silc, measures=["gini", "arpr", "qsr"], by="db040", se=False)
    assert abs(r.value_of("gini") - LAEKEN_GINI) < 1e-6
    assert abs(r.value_of("arpr") - LAEKEN_ARPR) < 1e-6
    assert abs(r.value_of("qsr") - LAEKEN_QSR) < 1e-5
    for state, g in LAEKEN_GINI_BY_DB040.items():
        assert abs(r.value_of("gini", db040=state) - g) < 1e-6, state
    frame = r.to_frame()
    assert list(frame.columns[:3]) == ["db040", "measure", "value"]
    assert (frame["db040"] == "(all)").sum() == 3 and frame["db040"].notna().all()  # the whole sample's rows, labelled
    assert frame["se"].isna().all()


def test_groups_equal_separate_runs(eusilc):
    """Cutting groups out of the one global sort gives exactly what each subset gives alone."""
    r = measure(eusilc, "eqIncome", ["gini", "mean", "median", "theil"], weight="rb050", by="db040", se=False)
    for state, sub in eusilc.groupby("db040"):
        alone = measure(sub, "eqIncome", ["gini", "mean", "median", "theil"], weight="rb050", se=False)
        got = [r.value_of(m, db040=state) for m in alone.measure]
        np.testing.assert_allclose(got, alone.value, rtol=1e-12)


def test_crossed_groups_and_margins(silc):
    crossed = measure(silc, measures=["mean"], by=["db040", "rb090"], se=False)
    assert len(crossed) == 1 + 9 * 2
    with_margins = measure(silc, measures=["mean"], by=["db040", "rb090"], margins=True, se=False)
    assert len(with_margins) == 1 + 9 + 2 + 18
    records = with_margins.to_json_records()
    assert records[0]["by"] == {}
    assert {tuple(sorted(r["by"])) for r in records} == {(), ("db040",), ("rb090",), ("db040", "rb090")}
    sub = silc.to_frame()
    both = sub[(sub.db040 == "Vienna") & (sub.rb090 == "female")]
    expected = np.average(both.eqIncome, weights=both.rb050)
    assert abs(crossed.value_of("mean", db040="Vienna", rb090="female") - expected) < 1e-9 * expected


def test_domain_variance_equals_design_variance(silc):
    """The sparse per-group PSU sums equal Design.variance with the group's units."""
    dv = _DomainVariance(silc, "fail")
    s_all = SortedIncome.from_arrays(silc.income(), silc.weight)
    codes = dv.unit_codes(s_all.order)
    design = Design.build(silc.n, strata=silc.strata, psu=silc.psu)
    states = silc.labels["db040"].codes[s_all.order]
    for g in range(9):
        pos = np.flatnonzero(states == g)
        s = SortedIncome(s_all.y[pos], s_all.w[pos], np.cumsum(s_all.w[pos]), s_all.order[pos])
        wu = s.w * gini_sorted(s).influence
        for whole in (True, False):
            got = dv.variance(dv.prepare(codes[pos], whole), wu)
            assert got == pytest.approx(design.variance(wu, index=s.order), rel=1e-10)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(20, 200), n_strata=st.integers(1, 4), n_psu=st.integers(2, 6), seed=st.integers(0, 10**6),
    clustered=st.booleans(), line=st.floats(-2, 2),
)
def test_domain_variance_property(n, n_strata, n_psu, seed, clustered, line):
    rng = np.random.default_rng(seed)
    strata = np.repeat(np.arange(n_strata), -(-n // n_strata))[:n]
    psu = rng.integers(0, n_psu, n) if clustered else None
    if clustered:  # every stratum needs >= 2 PSUs
        psu[::n_strata * 2] = 0
        psu[n_strata::n_strata * 2] = 1
        psu = np.where(np.arange(n) % 2 == 0, psu, (psu + 1) % n_psu)
    frame = pd.DataFrame({"y": rng.lognormal(size=n), "w": rng.uniform(1, 3, n), "h": strata, "g": rng.integers(0, 3, n)})
    if clustered:
        frame["p"] = psu
    smp = load(frame, "y", weight="w", strata="h", psu="p" if clustered else None, groups=["g"])
    try:
        dv = _DomainVariance(smp, "fail")
    except ValueError:
        return  # a stratum with one PSU: covered elsewhere
    design = Design.build(n, strata=strata, psu=psu)
    s_all = SortedIncome.from_arrays(smp.income(), smp.weight)
    codes = dv.unit_codes(s_all.order)
    line_wu = rng.normal(size=n) * s_all.w
    line_terms = dv.line_totals(codes, line_wu)
    for g in range(3):
        pos = np.flatnonzero(smp.labels["g"].codes[s_all.order] == g)
        if pos.size == 0:
            continue
        wu = rng.normal(size=pos.size)
        for whole in (True, False):
            prep = dv.prepare(codes[pos], whole)
            assert dv.variance(prep, wu) == pytest.approx(design.variance(wu, index=s_all.order[pos]), rel=1e-9, abs=1e-12)
            both = np.concatenate([wu, line * line_wu])
            idx = np.concatenate([s_all.order[pos], s_all.order])
            assert dv.variance(prep, wu, (line, line_terms)) == pytest.approx(design.variance(both, index=idx), rel=1e-9, abs=1e-12)


def test_national_and_group_lines(eusilc, silc):
    """By groups, ARPR uses the national threshold unless line_within_groups."""
    national = measure(silc, measures=["arpr", "fgt:0"], by="db040", relative_line=0.6)
    own = measure(silc, measures=["arpr", "fgt:0"], by="db040", relative_line=0.6, line_within_groups=True)
    y, w = eusilc.eqIncome.to_numpy(), eusilc.rb050.to_numpy()
    threshold = national.line[0]
    assert threshold == pytest.approx(0.6 * 18098.7, rel=1e-5)
    for state, sub in eusilc.groupby("db040"):
        ys, ws = sub.eqIncome.to_numpy(), sub.rb050.to_numpy()
        assert national.value_of("arpr", db040=state) == pytest.approx(arpr(ys, ws, line=threshold), abs=1e-14)
        assert national.value_of("fgt:0", db040=state) == pytest.approx(arpr(ys, ws, line=threshold), abs=1e-14)
        assert own.value_of("arpr", db040=state) == pytest.approx(arpr(ys, ws), abs=1e-14)
    assert national.value_of("arpr") == pytest.approx(arpr(y, w), abs=1e-14)
    # the national line's own error is part of a group's SE: it differs from a fixed line's
    fixed = measure(silc, measures=["fgt:0"], by="db040", poverty_line=threshold)
    assert not np.allclose(national.se[national.measure.index("fgt:0")::2], fixed.se)


def test_default_line_is_said(silc):
    r = measure(silc, measures=["fgt:1"], se=False)
    assert "default" in r.line_rule and "0.6 x median" in r.line_rule


def test_confidence_interval_normal(silc):
    r = measure(silc, measures=["gini"], confidence=0.9)
    z = 1.6448536269514722
    assert r.ci_low[0] == pytest.approx(r.value[0] - z * r.se[0], rel=1e-12)
    assert r.ci_high[0] == pytest.approx(r.value[0] + z * r.se[0], rel=1e-12)


def test_linearization_close_to_bootstrap(silc):
    """Linearized SEs within 10 % of a 2000-replicate bootstrap (strata db040, PSUs db030).

    RMPG is the exception, reported rather than hidden: its linearized SE (density-based, Osier
    2009 with convey's bandwidth) is 8-16 % below the bootstrap on eusilc (0.92, 0.84, 0.89 for
    seeds 1-3), so it is held to 20 %.
    """
    ms = ["gini", "qsr", "mean", "median", "theil", "rmpg"]
    lin = measure(silc, measures=ms)
    boot = measure(silc, measures=ms, se_method="bootstrap", replicates=2000, seed=2026)
    ratio = dict(zip(ms, lin.se / boot.se))
    for m in ms[:-1]:
        assert abs(ratio[m] - 1) < 0.10, (m, ratio[m])
    assert abs(ratio["rmpg"] - 1) < 0.20, ratio["rmpg"]
    # ARPR by state against the national line (its error included)
    lin_a = measure(silc, measures=["arpr"], by="db040", relative_line=0.6)
    boot_a = measure(silc, measures=["arpr"], by="db040", relative_line=0.6, se_method="bootstrap", replicates=2000, seed=7)
    np.testing.assert_array_less(np.abs(lin_a.se / boot_a.se - 1), 0.10)


def test_rescaled_bootstrap_reproducible(silc):
    a = measure(silc, measures=["gini", "arpr"], by="db040", se_method="rescaled_bootstrap", replicates=200, seed=11)
    b = measure(silc, measures=["gini", "arpr"], by="db040", se_method="rescaled_bootstrap", replicates=200, seed=11)
    np.testing.assert_array_equal(a.se, b.se)
    np.testing.assert_array_equal(a.ci_low, b.ci_low)
    assert a.ci_method == "percentile" and a.seed == 11 and a.replicates == 200
    assert np.all(a.ci_low < a.value) and np.all(a.value < a.ci_high)
    lin = measure(silc, measures=["gini", "arpr"], by="db040")
    assert np.all(np.abs(a.se / lin.se - 1) < 0.35)  # 200 replicates: loose


def test_replicate_multipliers():
    psu_stratum = np.array([0, 0, 0, 1, 1, 2])  # stratum 2 has a single PSU
    chunks = list(replicate_multipliers(psu_stratum, replicates=5000, method="rescaled_bootstrap", seed=3, chunk=1000))
    m = np.vstack(chunks)
    assert m.shape == (5000, 6)
    np.testing.assert_array_equal(m[:, 5], 1.0)  # lonely PSU: no variance
    np.testing.assert_allclose(m.mean(axis=0), 1.0, atol=0.03)
    # Rao-Wu rescaling: the replicate variance of a stratum total equals the with-replacement variance
    t = np.array([1.0, 4.0, 7.0, 2.0, 3.0, 5.0])
    reps = m @ t
    v_h = [3 / 2 * np.sum((t[:3] - t[:3].mean()) ** 2), 2 / 1 * np.sum((t[3:5] - t[3:5].mean()) ** 2)]
    assert reps.var(ddof=1) == pytest.approx(sum(v_h), rel=0.06)
    naive = np.vstack(list(replicate_multipliers(psu_stratum, replicates=200, method="bootstrap", seed=3)))
    np.testing.assert_array_equal(naive[:, :3].sum(axis=1), 3)  # n_h PSUs drawn per stratum
    again = np.vstack(list(replicate_multipliers(psu_stratum, replicates=200, method="bootstrap", seed=3, chunk=7)))
    assert again.shape == naive.shape


def test_result_repr_and_json(silc):
    r = measure(silc, measures=["gini"], by="db040")
    text = repr(r)
    assert "MeasureResult: 10 estimates" in text and "(all)" in text and "linearization" in text
    rec = r.to_json_records()
    assert rec[0]["by"] == {} and rec[0]["measure"] == "gini" and rec[0]["n"] == 14827
    assert rec[1]["by"] == {"db040": "Burgenland"}
    assert isinstance(rec[0]["se"], float)


def test_polars_equals_pandas(eusilc):
    pl = pytest.importorskip("polars")
    kw = dict(weight="rb050", strata="db040", psu="db030", by="db040")
    a = measure(eusilc, "eqIncome", ["gini", "arpr", "median"], **kw)
    b = measure(pl.from_pandas(eusilc), "eqIncome", ["gini", "arpr", "median"], **kw)
    np.testing.assert_array_equal(a.value, b.value)
    np.testing.assert_array_equal(a.se, b.se)
    assert a.groups == b.groups


def test_conventions(silc):
    r = measure(silc, measures=["gini", "median"], conventions={"gini": "convey"}, quantile_convention="interpolated", se=False)
    assert r.value_of("gini") == pytest.approx(0.2649652, abs=1e-6)  # convey's weight-scale dependent formula
    assert r.quantile_convention == "interpolated"


def test_fpc_scales_the_variance(eusilc):
    """With sampling fractions f_h the with-replacement variance is multiplied by (1 - f_h)."""
    frame = eusilc[["eqIncome", "rb050", "db040", "db030"]].assign(frac=0.36)
    plain = measure(frame, "eqIncome", ["gini", "mean"], weight="rb050", strata="db040", psu="db030")
    with_fpc = measure(frame, "eqIncome", ["gini", "mean"], weight="rb050", strata="db040", psu="db030", fpc="frac")
    np.testing.assert_allclose(with_fpc.se, plain.se * 0.8, rtol=1e-12)
    frame.loc[5, "frac"] = 0.5
    with pytest.raises(ValueError, match="must be constant within each stratum"):
        measure(frame, "eqIncome", ["gini"], weight="rb050", strata="db040", psu="db030", fpc="frac")
