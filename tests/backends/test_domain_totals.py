"""DomainPSUTotals (per-(domain, PSU) totals by each PSU's home group) against the dense accumulation."""

import numpy as np
import pytest

from prosperity.backends import domain_totals
from prosperity.backends.domain_totals import DomainPSUTotals


def _pieces(seed, n, P, groups, cut):
    """Rows with PSU codes; the breakdown's group is the PSU's (j mod groups) except a fraction ``cut``
    of the rows, put in another group (PSUs cut by the breakdown)."""
    rng = np.random.default_rng(seed)
    psu = rng.integers(0, P, n)
    g = psu % groups
    moved = rng.random(n) < cut
    g[moved] = rng.integers(0, groups, int(moved.sum()))
    x = rng.lognormal(10, 1, n) * rng.uniform(50, 150, n)
    cuts = np.sort(rng.choice(np.arange(1, n), 6, replace=False))
    return [(psu[a:b], g[a:b], x[a:b]) for a, b in zip(np.r_[0, cuts], np.r_[cuts, n])]


@pytest.mark.parametrize("full", [True, False])
@pytest.mark.parametrize("cut", [0.0, 0.05, 1.0])
def test_equal_to_dense_bincount(monkeypatch, full, cut):
    P, G1, G2 = 997, 7, 31
    D = 1 + G1 + G2  # the whole sample, a breakdown of 7 groups, one of 31
    monkeypatch.setattr(domain_totals, "_DENSE_ALL", 10**9 if full else 0)
    monkeypatch.setattr(domain_totals, "_MIN_COMPACT", 50)  # compactions between pieces
    store = DomainPSUTotals(D, P, [0, 1, 1 + G1])
    dense = {k: np.zeros(D * P) for k in ("a", "one")}
    for psu, g, x in _pieces(3, 20_000, P, G2, cut):
        for dom in (np.zeros(psu.size, np.int64), 1 + g % G1, 1 + G1 + g):
            store.add("a", dom, psu, x)
            store.add("one", dom, psu, 2.5)
            dense["a"] += np.bincount(dom * P + psu, weights=x, minlength=D * P)
            dense["one"] += np.bincount(dom * P + psu, minlength=D * P) * 2.5
    assert store.full_mode is full
    for k in dense:
        ref = dense[k].reshape(D, P)
        for d in range(D):
            np.testing.assert_array_equal(store.psu_totals(k, d), ref[d])  # the same sums in the same order
        np.testing.assert_allclose(store.totals(k), ref.sum(axis=1), rtol=1e-14, atol=0)
        assert store.total(k, 5) == store.totals(k)[5]
    # the whole sample's total is the sum of every breakdown's groups
    np.testing.assert_allclose(store.totals("a")[1:1 + G1].sum(), store.total("a", 0), rtol=1e-13)


def test_cut_psus_kept_apart(monkeypatch):
    monkeypatch.setattr(domain_totals, "_DENSE_ALL", 0)
    store = DomainPSUTotals(3, 4, [0, 1])
    psu = np.array([0, 0, 1, 2, 0])
    dom = np.array([1, 2, 1, 2, 2])  # PSU 0 is in groups 1 (its home: its first row) and 2
    store.add("y", dom, psu, np.array([1.0, 10.0, 100.0, 1000.0, 10000.0]))
    np.testing.assert_array_equal(store.psu_totals("y", 1), [1.0, 100.0, 0.0, 0.0])
    np.testing.assert_array_equal(store.psu_totals("y", 2), [10010.0, 0.0, 1000.0, 0.0])
    np.testing.assert_array_equal(store.totals("y"), [0.0, 101.0, 11010.0])
    store.add("y", np.array([1]), np.array([3]), np.array([0.5]))  # a new PSU later: its home is set then
    np.testing.assert_array_equal(store.totals("y"), [0.0, 101.5, 11010.0])


def test_factorize_ints_dense_and_sparse_ranges():
    codes = np.array([7, 3, 7, 9, 3, 3])
    inverse, uniques = domain_totals.factorize_ints(codes)
    np.testing.assert_array_equal(uniques, [3, 7, 9])  # dense range: ascending
    np.testing.assert_array_equal(uniques[inverse], codes)
    wide = np.array([5, 10**12, 5, 2])
    inverse, uniques = domain_totals.factorize_ints(wide)
    np.testing.assert_array_equal(uniques[inverse], wide)
    assert sorted(uniques.tolist()) == [2, 5, 10**12]
    inverse, uniques = domain_totals.factorize_ints(np.empty(0, np.int64))
    assert inverse.size == 0 and uniques.size == 0
