"""PIP's validity range of the poverty line (wbpip ``gd_compute_pip_stats_lq`` / ``_lb``):
z_min = max(0, mu L'(0.001) + 4), z_max = mu L'(0.980) - 4.

wbpip's tests print no z_min / z_max, so the GQ case is computed here by hand from wbpip's own
``derive_lq`` formula L'(x) = -B/2 - (2 m x + n) / (4 sqrt(m x^2 + n x + e^2)) with the constants
e, m, n its test file publishes for the GQ fit of its 10-point table (mean 51.5660557757944)."""

import math

import numpy as np
import pytest

from prosperity.grouped.lorenz import BetaLorenz, GeneralQuadraticLorenz, pip_line_bounds

ABC = (0.795981535745657, -1.4445933880119242, 0.14728191995919815)
E, M, N = -0.498670067692931, -1.0970760862948583, 0.851623285340541  # wbpip's test constants
MU = 51.5660557757944


def derive_lq(x: float) -> float:
    return -ABC[1] / 2 - (2 * M * x + N) / (4 * math.sqrt(M * x * x + N * x + E * E))


def test_gq_bounds_from_wbpips_own_constants():
    gq = GeneralQuadraticLorenz(*ABC, mean=MU)
    b = pip_line_bounds(gq, line=57.791666666666664)
    z_min, z_max = MU * derive_lq(0.001) + 4, MU * derive_lq(0.98) - 4
    assert b["z_min"] == pytest.approx(max(z_min, 0.0), rel=1e-12)
    assert b["z_max"] == pytest.approx(z_max, rel=1e-12)
    assert round(b["z_min"], 6) == round(MU * derive_lq(0.001) + 4, 6) and b["z_min"] > 4
    assert 120 < b["z_max"] < 140 and b["line_within"] is True  # wbpip's test line 57.79 is inside


def test_beta_bounds_and_the_floor_at_zero():
    beta = BetaLorenz(0.6, 0.9, 0.55, mean=10.0)

    def dl(p):
        return 1 - 0.6 * p**0.9 * (1 - p) ** 0.55 * (0.9 / p - 0.55 / (1 - p))

    b = pip_line_bounds(beta, line=100.0)
    assert 10 * dl(0.001) + 4 > 0 or b["z_min"] == 0.0
    assert b["z_min"] == pytest.approx(max(10 * dl(0.001) + 4, 0.0), rel=1e-12, abs=1e-15)
    assert b["z_max"] == pytest.approx(10 * dl(0.98) - 4, rel=1e-12)
    assert b["line_within"] is False  # 100 is far above mu L'(0.98)
    # an income of small scale: mu L'(0.001) + 4 stays positive, but mu L'(0.98) - 4 can fall below it
    small = pip_line_bounds(GeneralQuadraticLorenz(*ABC, mean=1.0))
    assert small["z_max"] < small["z_min"]
    # a curve whose L'(0.001) is very negative: z_min is floored at 0
    steep = pip_line_bounds(BetaLorenz(3.0, 0.5, 0.5, mean=100.0))
    assert 100 * float(BetaLorenz(3.0, 0.5, 0.5, mean=100.0).dlorenz(np.array([0.001]))[0]) + 4 < 0
    assert steep["z_min"] == 0.0
