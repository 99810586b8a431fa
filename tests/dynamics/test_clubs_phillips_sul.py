"""Phillips-Sul log t test and club clustering on simulated panels with known clubs. Reference
values come from the Python port of R ConvergenceClubs (``convergence-clubs`` 0.1.2, R conventions:
trim 1/3, core by max |t|, c* = 0, PS merging), stored here."""

from __future__ import annotations

import numpy as np
import pytest

from prosperity.dynamics import convergence_clubs, hp_filter, log_t_test


def simulate(seed: int, sizes=(12, 10, 8), limits=(1.2, 1.0, 0.8), periods: int = 50):
    """log incomes X_it = delta_it mu_t with delta_it -> club limit at rate 1 / (log(t+1) t^0.6)."""
    rng = np.random.default_rng(seed)
    t = np.arange(1, periods + 1)
    rows, truth = [], []
    for club, (k, d) in enumerate(zip(sizes, limits), start=1):
        for _ in range(k):
            d0 = d + rng.normal(0, 0.1)
            rows.append((d + (d0 - d) / (np.log(t + 1) * t**0.6) + rng.normal(0, 0.002, periods)) * (9 + 0.02 * t))
            truth.append(club)
    return np.array(rows), np.array(truth)


def test_log_t_matches_convergence_clubs_port():
    x, _ = simulate(0)
    r = log_t_test(x)
    assert r.b == pytest.approx(-0.582893929239259, rel=1e-12)
    assert r.se == pytest.approx(0.009036119459658895, rel=1e-10)
    assert r.t == pytest.approx(-64.50710748585685, rel=1e-10)
    assert r.a == pytest.approx(-0.06417433769125801, rel=1e-10)
    assert not r.converges


def test_clubs_match_port_before_and_after_merging():
    x, _ = simulate(0)
    res = convergence_clubs(np.exp(x), filter=None, core_rule="max_abs_t")
    before = [(c.members, c.test.t) for c in res.initial_clubs]
    expected = [
        ((4, 7, 0, 9, 3, 11, 1, 8, 2), 0.9168198042216384),
        ((5, 6, 10), -0.593084586924985),
        ((12, 14, 17, 16, 21, 19, 15, 20, 18, 13), 3.2434520669018045),
        ((24, 22, 29, 27, 25, 28, 26, 23), 1.6558177805171561),
    ]
    assert [m for m, _ in before] == [m for m, _ in expected]
    np.testing.assert_allclose([t for _, t in before], [t for _, t in expected], rtol=1e-9)
    assert [c.members for c in res.clubs] == [expected[0][0] + expected[1][0], expected[2][0], expected[3][0]]
    assert res.clubs[0].test.t == pytest.approx(0.6618322945772884, rel=1e-9)
    assert res.divergent == ()


@pytest.mark.parametrize("seed", [1, 3, 5])
def test_known_clubs_are_recovered(seed):
    x, truth = simulate(seed)
    res = convergence_clubs(np.exp(x), filter=None)  # default: paper's max-t core rule, merging on
    frame = res.to_frame().sort_values("region")
    np.testing.assert_array_equal(frame["club"].to_numpy(), truth)
    assert all(c.test.converges for c in res.clubs)
    assert not res.overall.converges


def test_hp_filter_on_panel_and_against_statsmodels():
    x, _ = simulate(2)
    trend = hp_filter(x, 400)
    assert trend.shape == x.shape
    # the HP trend of a line is the line itself; the filter is linear
    line = 3 + 0.1 * np.arange(30)
    np.testing.assert_allclose(hp_filter(line, 400), line, atol=1e-10)
    sm = pytest.importorskip("statsmodels.api")
    np.testing.assert_allclose(trend[0], sm.tsa.filters.hpfilter(x[0], 400)[1], atol=1e-10)


def test_clubs_on_hp_filtered_levels_and_frames():
    x, truth = simulate(3)
    res = convergence_clubs(np.exp(x), lamb=400)  # log + HP filter inside
    assert len(res.clubs) >= 3
    cf = res.clubs_frame()
    assert cf["n_regions"].sum() + len(res.divergent) == 30
    assert "club 1" in repr(res)


def test_negative_log_values_error_names_region():
    with pytest.raises(ValueError, match="region 0"):
        convergence_clubs(np.full((3, 20), 0.5) * np.linspace(1, 1.2, 20), filter=None)
