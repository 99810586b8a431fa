"""Nested and subgroup generalized-entropy decompositions: identities, peers, errors."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import prosperity
from prosperity.decompose import (
    NestingError,
    decompose,
    decompose_table,
    elmo_max_between,
    ge,
    nested_decomposition,
    subgroup_decomposition,
)
from prosperity.decompose.moments import _numba_scatter

DATA = Path(prosperity.__file__).parent / "data"
ENGINES = ["numpy"] + (["numba"] if _numba_scatter() is not None else [])
MEASURES = ["theil", "mld", "ge:2", "ge:-1", "ge:0.5"]


def ge_direct(y, w, alpha):
    """Textbook GE(alpha), straight from the definition."""
    y, w = np.asarray(y, float), np.asarray(w, float)
    mu = np.average(y, weights=w)
    r = y / mu
    if alpha == 1:
        return float(np.average(np.where(r > 0, r * np.log(np.where(r > 0, r, 1)), 0), weights=w))
    if alpha == 0:
        return float(np.average(-np.log(r), weights=w))
    return float((np.average(r**alpha, weights=w) - 1) / (alpha * (alpha - 1)))


ALPHA = {"theil": 1, "mld": 0, "ge:2": 2, "ge:-1": -1, "ge:0.5": 0.5}


# ------------------------------------------------------------------------------------- PySAL TheilD


@pytest.fixture(scope="module")
def mexico():
    return pd.read_csv(DATA / "pysal_mexico_state_pcgdp_1940_2000.csv")


@pytest.mark.parametrize("regime", ["hanson98", "hanson03", "esquivel99", "inegi", "inegi2"])
def test_matches_pysal_theild_on_mexico(mexico, regime):
    from inequality.theil import Theil, TheilD

    years = [c for c in mexico.columns if c.startswith("pcgdp")]
    ys = mexico[years].to_numpy()
    td = TheilD(ys, mexico[regime].to_numpy())
    t_all = Theil(ys).T
    for t, col in enumerate(years):
        d = decompose(mexico, income=col, levels=[regime])
        between, within = d.components
        assert between.component == "between" and within.component == "within"
        assert d.total == pytest.approx(t_all[t], abs=1e-10)
        assert between.value == pytest.approx(float(td.bg[t]), abs=1e-10)
        assert within.value == pytest.approx(float(td.wg[t]), abs=1e-10)


def test_mexico_2000_reference_values(mexico):
    # values computed once with PySAL inequality 1.1.2 (TheilD, hanson98), stored so a change shows
    d = decompose(mexico, income="pcgdp2000", levels=["hanson98"])
    assert d.total == pytest.approx(0.10660832349588023, abs=1e-14)
    assert d.components[0].value == pytest.approx(0.036358718879680466, abs=1e-14)
    assert d.components[1].value == pytest.approx(0.07024960461619977, abs=1e-14)


# ------------------------------------------------------------------------------------------- identities


@st.composite
def nested_sample(draw):
    n = draw(st.integers(1, 60))
    n_region = draw(st.integers(1, 3))
    n_prov = draw(st.integers(1, 6))
    n_city = draw(st.integers(1, 12))
    prov_region = draw(st.lists(st.integers(0, n_region - 1), min_size=n_prov, max_size=n_prov))
    city_prov = draw(st.lists(st.integers(0, n_prov - 1), min_size=n_city, max_size=n_city))
    city = np.array(draw(st.lists(st.integers(0, n_city - 1), min_size=n, max_size=n)))
    prov = np.array(city_prov)[city]
    region = np.array(prov_region)[prov]
    y = np.array(draw(st.lists(st.floats(0.5, 1e5), min_size=n, max_size=n)))
    w = np.array(draw(st.lists(st.floats(0.1, 100.0), min_size=n, max_size=n)))
    return y, w, region, prov, city


@settings(max_examples=60, deadline=None)
@given(nested_sample(), st.sampled_from(MEASURES), st.sampled_from(ENGINES))
def test_levels_add_up_to_total(sample, measure, engine):
    y, w, region, prov, city = sample
    d = nested_decomposition(y, w, levels=[region, prov, city], names=["region", "province", "city"],
                             measure=measure, engine=engine)
    alpha = ALPHA[measure]
    total = ge_direct(y, w, alpha)
    scale = max(1.0, abs(total))
    assert d.total == pytest.approx(total, abs=1e-9 * scale)
    assert sum(c.value for c in d.components) == pytest.approx(d.total, abs=1e-9 * scale)
    assert sum(c.share for c in d.components) == pytest.approx(1.0, abs=1e-6) or d.total < 1e-12
    # each between component = GE of level-j means minus GE of level-(j-1) means
    smoothed = [np.zeros_like(y)]
    for codes in (region, prov, city):
        means = pd.Series(w * y).groupby(codes).transform("sum") / pd.Series(w).groupby(codes).transform("sum")
        smoothed.append(means.to_numpy())
    b = [0.0] + [ge_direct(s, w, alpha) for s in smoothed[1:]]
    for j in range(3):
        assert d.components[j].value == pytest.approx(b[j + 1] - b[j], abs=1e-9 * scale)
    assert d.components[3].value == pytest.approx(total - b[3], abs=1e-9 * scale)
    # unit contributions add up to their component
    by_level = d.units.groupby("level")["contribution"].sum()
    assert by_level["(all)"] == pytest.approx(d.components[0].value, abs=1e-12 * scale)
    assert by_level["region"] == pytest.approx(d.components[1].value, abs=1e-12 * scale)
    assert by_level["city"] == pytest.approx(d.components[3].value, abs=1e-12 * scale)


@settings(max_examples=30, deadline=None)
@given(nested_sample(), st.sampled_from(MEASURES), st.integers(1, 4))
def test_frequency_weights_equal_replication(sample, measure, k):
    y, _, region, prov, city = sample
    w = (np.arange(y.size) % k + 1).astype(float)
    rep = np.repeat(np.arange(y.size), w.astype(int))
    a = nested_decomposition(y, w, levels=[region, prov, city], measure=measure)
    b = nested_decomposition(y[rep], None, levels=[region[rep], prov[rep], city[rep]], measure=measure)
    for ca, cb in zip(a.components, b.components):
        assert ca.value == pytest.approx(cb.value, abs=1e-10)
    # and scaling the weights changes nothing
    c = nested_decomposition(y, 1000 * w, levels=[region, prov, city], measure=measure)
    for ca, cc in zip(a.components, c.components):
        assert ca.value == pytest.approx(cc.value, abs=1e-10)


def test_engines_agree_on_larger_data():
    rng = np.random.default_rng(3)
    n = 200_000
    city = rng.integers(0, 500, n)
    prov = city // 25
    region = prov // 5
    y = rng.lognormal(9, 0.8, n)
    w = rng.uniform(1, 5, n)
    ref = None
    for engine in ENGINES:
        d = nested_decomposition(y, w, levels=[region, prov, city], measure="mld", engine=engine)
        vals = np.array([c.value for c in d.components])
        if ref is None:
            ref = vals
        np.testing.assert_allclose(vals, ref, rtol=1e-11, atol=1e-14)
    assert ref.sum() == pytest.approx(ge_direct(y, w, 0), rel=1e-11)


def test_ge_single_number():
    assert ge([1, 2, 3, 4]) == pytest.approx(ge_direct([1, 2, 3, 4], [1, 1, 1, 1], 1), abs=1e-15)
    assert ge([1, 2, 3, 4], [1, 2, 1, 2], "mld") == pytest.approx(ge_direct([1, 2, 3, 4], [1, 2, 1, 2], 0), abs=1e-15)


def test_theil_accepts_zero_incomes():
    y = np.array([0.0, 0.0, 1.0, 3.0, 6.0])
    d = nested_decomposition(y, levels=[[0, 0, 0, 1, 1]])
    assert d.total == pytest.approx(ge_direct(y, np.ones(5), 1), abs=1e-15)
    assert d.components[1].value >= 0  # pysal/inequality#15: within must not go negative


# ----------------------------------------------------------------------------------------- table mode


def test_table_with_within_equals_microdata():
    rng = np.random.default_rng(7)
    n = 3000
    prov = rng.integers(0, 12, n)
    region = prov % 3
    y = rng.lognormal(9, 0.6, n) * (1 + prov / 10)
    w = rng.uniform(1, 3, n)
    micro = pd.DataFrame({"region": region, "province": prov, "y": y, "w": w})
    for measure in MEASURES:
        alpha = ALPHA[measure]
        rows = []
        for p, g in micro.groupby("province"):
            rows.append({"region": g.region.iloc[0], "province": p, "pop": g.w.sum(),
                         "mean": np.average(g.y, weights=g.w), "ge": ge_direct(g.y, g.w, alpha)})
        table = pd.DataFrame(rows)
        a = decompose(micro, income="y", weight="w", levels=["region", "province"], measure=measure)
        b = decompose_table(table, mean="mean", population="pop", levels=["region", "province"], within="ge",
                            measure=measure)
        for ca, cb in zip(a.components, b.components):
            assert (ca.level, ca.component) == (cb.level, cb.component)
            assert ca.value == pytest.approx(cb.value, abs=1e-10)
        c = decompose_table(table, mean="mean", population="pop", levels=["region", "province"], measure=measure)
        assert c.components[-1].value == pytest.approx(0.0, abs=1e-12)  # one row per province
        assert c.components[0].value == pytest.approx(a.components[0].value, abs=1e-10)


# --------------------------------------------------------------------------------------------- errors


def test_city_in_two_provinces_is_named():
    city = np.array(["Hangzhou", "Hangzhou", "Nanjing", "Suzhou"])
    prov = np.array(["Zhejiang", "Jiangsu", "Jiangsu", "Jiangsu"])
    region = np.array(["East"] * 4)
    for engine in ENGINES:
        with pytest.raises(NestingError, match=r"city 'Hangzhou' lies in two units of level 'province': "
                                               r"'Zhejiang' \(data row 1\) and 'Jiangsu' \(data row 2\)"):
            nested_decomposition([1.0, 2, 3, 4], levels=[region, prov, city], names=["region", "province", "city"],
                                 engine=engine)


def test_province_in_two_regions_is_named():
    city = np.array(["a", "b", "c"])
    prov = np.array(["P", "P", "Q"])
    region = np.array(["East", "West", "West"])
    with pytest.raises(NestingError, match=r"province 'P' lies in two units of level 'region': 'East' and 'West'"):
        nested_decomposition([1.0, 2, 3], levels=[region, prov, city], names=["region", "province", "city"])


@pytest.mark.parametrize("engine", ENGINES)
def test_bad_rows_are_located(engine):
    levels = [[0, 0, 1, 1]]
    with pytest.raises(ValueError, match=r"income at data row 3 \(-1.0\) is negative"):
        nested_decomposition([1.0, 2, -1, 4], levels=levels, engine=engine)
    with pytest.raises(ValueError, match=r"income at data row 2 \(0.0\) is 0; GE\(alpha=0\) needs positive"):
        nested_decomposition([1.0, 0, 1, 4], levels=levels, measure="mld", engine=engine)
    with pytest.raises(ValueError, match=r"income at data row 4 \(nan\) is not a finite number"):
        nested_decomposition([1.0, 2, 1, np.nan], levels=levels, engine=engine)
    with pytest.raises(ValueError, match=r"weight at data row 1 \(-2.0\) must be a finite number >= 0"):
        nested_decomposition([1.0, 2, 1, 3], [-2.0, 1, 1, 1], levels=levels, engine=engine)
    with pytest.raises(ValueError, match="level 'level1' is missing at data row 2"):
        nested_decomposition([1.0, 2, 1, 3], levels=[np.array(["a", None, "b", "b"], dtype=object)], engine=engine)


def test_unknown_measure_and_missing_column():
    df = pd.DataFrame({"y": [1.0, 2.0], "g": [0, 1]})
    with pytest.raises(ValueError, match="use 'theil', 'mld' or 'ge:ALPHA'"):
        decompose(df, income="y", levels=["g"], measure="atkinson")
    with pytest.raises(KeyError, match="column 'region' not found; available columns: \\['y', 'g'\\]"):
        decompose(df, income="y", levels=["region"])


def test_polars_input():
    pl = pytest.importorskip("polars")
    df = pl.DataFrame({"y": [1.0, 2.0, 3.0, 7.0], "g": ["a", "a", "b", "b"]})
    d = decompose(df, income="y", levels=["g"])
    assert d.total == pytest.approx(ge_direct([1, 2, 3, 7], [1] * 4, 1), abs=1e-15)
    assert list(d.to_frame().columns) == ["level", "component", "value", "share"]


# ------------------------------------------------------------------------------------------- subgroups


def test_subgroups_cross_and_single():
    rng = np.random.default_rng(11)
    n = 2000
    area = rng.choice(["urban", "rural"], n)
    region = rng.choice(["east", "centre", "west"], n)
    y = rng.lognormal(9, 0.5, n) * np.where(area == "urban", 2.0, 1.0) * np.where(region == "east", 1.3, 1.0)
    w = rng.uniform(1, 2, n)
    res = subgroup_decomposition(y, w, groups={"area": area, "region": region}, measure="theil", elmo=True)
    t = res.table.set_index("grouping")
    assert list(t.index) == ["area", "region", "area x region"]
    for g, codes in (("area", area), ("region", region)):
        nd = nested_decomposition(y, w, levels=[codes])
        assert t.loc[g, "between"] == pytest.approx(nd.components[0].value, abs=1e-12)
        assert t.loc[g, "between"] + t.loc[g, "within"] == pytest.approx(res.total, abs=1e-12)
    cross = pd.Series(area).str.cat(pd.Series(region), sep="|").to_numpy()
    nd = nested_decomposition(y, w, levels=[cross])
    assert t.loc["area x region", "between"] == pytest.approx(nd.components[0].value, abs=1e-12)
    assert (t["elmo_share"] >= t["between_share"]).all() and (t["elmo_share"] <= 1).all()


def test_elmo_max_is_the_best_assignment_brute_force():
    rng = np.random.default_rng(5)
    y = np.sort(rng.lognormal(0, 1, 7))
    sizes = [3, 2, 2]
    best = 0.0
    for labels in itertools.product(range(3), repeat=7):
        counts = np.bincount(labels, minlength=3)
        if sorted(counts) != sorted(sizes):
            continue
        res = subgroup_decomposition(y, groups={"g": np.array(labels)}, cross=False)
        best = max(best, res.table.between[0])
    assert elmo_max_between(y, None, sizes, 1.0) == pytest.approx(best, abs=1e-12)


def test_negative_integer_codes_are_rejected():
    with pytest.raises(ValueError, match="negative code at data row 3"):
        nested_decomposition([1.0, 2, 3], levels=[np.array([0, 0, -1]), np.array([0, 1, 2])])
    with pytest.raises(ValueError, match="negative code at data row 2"):
        nested_decomposition([1.0, 2, 3], levels=[np.array([0, -3, 1]), np.array([0, 0, 2])])


@pytest.mark.skipif("numba" not in ENGINES, reason="numba not installed")
def test_parallel_parts_merge_and_check_nesting(monkeypatch):
    from prosperity.decompose import moments

    monkeypatch.setattr(moments, "PARALLEL_MIN_ROWS", 10)
    rng = np.random.default_rng(2)
    n = 5000
    city = rng.integers(0, 40, n)
    prov = city // 8
    y = rng.lognormal(5, 1, n)
    one = nested_decomposition(y, levels=[prov, city], engine="numpy")
    for threads in (2, 3):
        mom = moments.leaf_moments(y, None, moments_h(prov, city), 1.0, engine="numba", chunk=256, threads=threads)
        assert mom.weight.sum() == n
    two = nested_decomposition(y, levels=[prov, city], engine="numba")
    for a, b in zip(one.components, two.components):
        assert a.value == pytest.approx(b.value, abs=1e-13)
    # a city whose rows in the second half name another province
    bad_prov = prov.copy()
    bad_prov[4000] = (prov[4000] + 1) % 5
    with pytest.raises(NestingError, match=rf"\(data row 4001\)"):
        nested_decomposition(y, levels=[bad_prov, city], engine="numba")


def moments_h(*levels):
    from prosperity.decompose.hierarchy import encode_hierarchy

    return encode_hierarchy(levels)
