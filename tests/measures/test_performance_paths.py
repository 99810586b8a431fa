"""The fast paths give the numbers of the plain ones: packed sort, compiled Esteban-Ray, caches, vdot,
allocator tuning."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prosperity.measures import allocation
from prosperity.measures import estimate as est_mod
from prosperity.measures import polarization as pol
from prosperity.measures.estimate import SortedIncome, sort_order, vdot
from prosperity.measures.quantiles import _kernel_density_at, kernel_density_at, quantile_sorted

numba_missing = pol._numba_kernels() is None


# ------------------------------------------------------------------------------- packed sort
@pytest.fixture
def packed_from_small(monkeypatch):
    monkeypatch.setattr(est_mod, "PACKED_SORT_MIN", 2)


@pytest.mark.parametrize("case", ["lognormal", "ties", "negative", "near_equal", "infinite"])
def test_packed_sort_is_a_stable_argsort(case, packed_from_small):
    rng = np.random.default_rng(3)
    y = {
        "lognormal": rng.lognormal(10, 0.8, 5000),
        "ties": rng.integers(0, 30, 5000).astype(float),
        "negative": rng.normal(0, 1, 5000),
        "near_equal": 1e6 + rng.integers(0, 40, 5000) * 1e-10,  # same top bits: exact fallback
        "infinite": np.r_[np.inf, -np.inf, rng.normal(size=3000), np.inf],
    }[case]
    order, ys = sort_order(y)
    ref = np.argsort(y, kind="stable")
    np.testing.assert_array_equal(order, ref)
    np.testing.assert_array_equal(ys, y[ref])


def test_packed_sort_fixes_runs_that_share_the_top_bits(packed_from_small):
    # values 1 ulp apart in pairs, written in descending order: every pair is a run to fix
    base = np.sort(np.random.default_rng(5).lognormal(0, 1, 2000))
    y = np.empty(4000)
    y[0::2] = np.nextafter(base, np.inf)
    y[1::2] = base
    order, ys = sort_order(y)
    np.testing.assert_array_equal(order, np.argsort(y, kind="stable"))
    assert np.all(np.diff(ys) >= 0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64), min_size=1, max_size=300))
def test_packed_sort_property(values):
    old = est_mod.PACKED_SORT_MIN
    est_mod.PACKED_SORT_MIN = 1
    try:
        y = np.array(values)
        order, ys = sort_order(y)
    finally:
        est_mod.PACKED_SORT_MIN = old
    assert sorted(order.tolist()) == list(range(y.size))
    np.testing.assert_array_equal(ys, np.sort(y))
    # ties (equal values; -0.0 == 0.0 may come in either order) keep input order otherwise
    ref = np.argsort(y, kind="stable")
    same = (y[order] != 0) | (y[ref] != 0)
    np.testing.assert_array_equal(order[same], ref[same])


def test_small_inputs_keep_argsort():
    y = np.array([3.0, 1.0, 2.0, 1.0])
    order, ys = sort_order(y)
    np.testing.assert_array_equal(ys, [1, 1, 2, 3])
    np.testing.assert_array_equal(order, np.argsort(y))


# ------------------------------------------------------------------------- Esteban-Ray engines
@pytest.mark.skipif(numba_missing, reason="numba not installed")
@pytest.mark.parametrize("alpha", [0.0, 0.25, 1.0, 1.6])
def test_esteban_ray_engines_agree(alpha):
    rng = np.random.default_rng(11)
    s = SortedIncome.from_arrays(rng.lognormal(10, 0.9, 6000), rng.uniform(50, 500, 6000))
    a = pol.esteban_ray_sorted(s, alpha, engine="numpy")
    b = pol.esteban_ray_sorted(s, alpha, engine="numba")
    assert b.value == pytest.approx(a.value, rel=1e-12)
    np.testing.assert_allclose(b.influence, a.influence, rtol=1e-9, atol=1e-12 * np.abs(a.influence).max())
    # without influence too (alpha = 1 then takes the single-sum path)
    assert pol.esteban_ray_sorted(s, alpha, influence=False, engine="numba").value == pytest.approx(a.value, rel=1e-12)


@pytest.mark.skipif(numba_missing, reason="numba not installed")
def test_compiled_window_sums_exact_in_the_tail():
    rng = np.random.default_rng(2)
    y = np.sort(np.r_[rng.lognormal(0, 1, 3000), 1e4 + rng.uniform(0, 3, 40)])
    v = rng.uniform(0.5, 2, y.size)
    h = 0.7
    got = pol.epanechnikov_sums(y, v, h, engine="numba")
    z = (y[:, None] - y[None, :]) / h
    brute = (0.75 * np.clip(1 - z * z, 0, None) * (np.abs(z) < 1) * v[None, :]).sum(axis=1) / h
    np.testing.assert_allclose(got, brute, rtol=1e-11, atol=1e-15)


def test_engine_argument_is_checked():
    with pytest.raises(ValueError, match="engine must be one of"):
        pol.epanechnikov_sums(np.arange(3.0), np.ones(3), 1.0, engine="fortran")


def test_no_numba_switch(monkeypatch):
    monkeypatch.setenv("PROSPERITY_NO_NUMBA", "1")
    pol._numba_kernels.cache_clear()
    try:
        assert pol._kernels_for(10**7, "auto") is None
        with pytest.raises(RuntimeError, match="numba"):
            pol._kernels_for(10, "numba")
    finally:
        monkeypatch.delenv("PROSPERITY_NO_NUMBA")
        pol._numba_kernels.cache_clear()


# ----------------------------------------------------------------------------- caches, vdot
def test_quantiles_and_densities_are_cached_per_sample():
    rng = np.random.default_rng(1)
    s = SortedIncome.from_arrays(rng.lognormal(0, 1, 2000), rng.uniform(1, 2, 2000))
    m = quantile_sorted(s, 0.5)
    f = kernel_density_at(s, m)
    assert ("quantile", 0.5, "eurostat") in s.cache and ("density", m, None) in s.cache
    assert kernel_density_at(s, m) == f
    # a new sample of other weights does not see the first one's numbers
    s2 = SortedIncome(s.y, 2 * s.w, np.cumsum(2 * s.w), s.order)
    assert s2.cache == {}
    assert kernel_density_at(s2, m) == _kernel_density_at(s2, m, None)  # its own bandwidth (N^-1/5)


def test_vdot_is_np_dot():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=5000), rng.normal(size=5000)
    assert vdot(a, b) == float(np.dot(a, b))  # one block: exactly np.dot
    a, b = rng.normal(size=100_000), rng.normal(size=100_000)
    assert vdot(a, b) == pytest.approx(float(np.dot(a, b)), rel=1e-12, abs=1e-9)


# ------------------------------------------------------------------------------ allocator
def test_allocator_tuning_switch(monkeypatch):
    monkeypatch.setenv(allocation.ENV_SWITCH, "0")
    assert not allocation.enabled(10**8)
    with allocation.reuse_freed_memory(10**8) as active:
        assert active is False
    monkeypatch.delenv(allocation.ENV_SWITCH)
    assert not allocation.enabled(10)  # small tables are left alone
    expected = allocation._glibc() is not None
    assert allocation.enabled(10**7) is expected
    with allocation.reuse_freed_memory(10**7) as outer:
        with allocation.reuse_freed_memory(10**7) as inner:  # nested: tuned once, restored once
            x = np.ones(5_000_000)
            del x
        assert outer is inner is expected
        assert allocation._depth == (1 if expected else 0)
    assert allocation._depth == 0


# ------------------------------------------------------------------------------ design codes
def test_psu_totals_equal_bincount(monkeypatch):
    from prosperity.variance import design

    rng = np.random.default_rng(4)
    codes = rng.integers(0, 300, 200_000).astype(np.int64)
    u, w = rng.normal(size=codes.size), rng.uniform(1, 9, codes.size)
    ref = np.bincount(codes, weights=w * u, minlength=301)
    np.testing.assert_array_equal(design.psu_totals(codes, u, w, 301), ref)  # same sums, same order
    monkeypatch.setattr(design, "PSU_TOTALS_NUMBA_MIN", 10**12)
    np.testing.assert_array_equal(design.psu_totals(codes, u, w, 301), ref)


def test_design_build_codes_match_np_unique():
    from prosperity.variance.design import Design

    rng = np.random.default_rng(8)
    strata = rng.choice(np.array(["north", "south", "east"]), 5000)
    psu = rng.integers(0, 12, 5000)
    d = Design.build(5000, strata, psu)
    labels, s_codes = np.unique(strata, return_inverse=True)
    _, pair = np.unique(s_codes * 100 + psu, return_inverse=True)
    np.testing.assert_array_equal(d.stratum_labels, labels)
    # the same partition of units into PSUs, and the same PSUs per stratum
    assert len(set(zip(d.psu.tolist(), pair.tolist()))) == pair.max() + 1 == d.psu_stratum.size
    np.testing.assert_array_equal(d.n_h, np.bincount(np.unique(s_codes * 100 + psu) // 100))
