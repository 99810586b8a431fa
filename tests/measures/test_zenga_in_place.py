"""zenga_sorted computes its influence in place (four work arrays, for the suite's peak memory): it must
equal the docstring's formulas written plainly, bit for bit, on eusilc and on tied, integer data."""

import numpy as np
import pytest

from prosperity.measures.convey_extra import zenga_sorted
from prosperity.measures.estimate import as_sorted


def _plain(s):
    y, w, big_n = s.y, s.w, s.total
    from prosperity.measures.estimate import vdot
    tot = float(vdot(w, y))
    wy = w * y
    hh = s.cumw
    kk = tot - (np.cumsum(wy) - wy)
    bb = big_n - hh
    cc = tot - kk
    value = 1.0 - float(vdot(w, bb * cc / (hh * kk))) / big_n
    u = -bb * cc / (big_n * hh * kk)
    u -= float(vdot(w, cc / kk)) / big_n**2
    u -= y * (float(vdot(w, bb / (hh * kk))) / big_n)
    u += np.cumsum((w * cc / (hh * hh * kk))[::-1])[::-1]
    u += (tot * y / big_n) * np.cumsum(w * bb / (hh * kk * kk))
    return value, u


@pytest.mark.parametrize("case", ["eusilc", "ties"])
def test_in_place_equals_the_plain_formulas(case, eusilc):
    if case == "eusilc":
        y, w = np.clip(eusilc["eqIncome"].to_numpy(), 0, None), eusilc["rb050"].to_numpy()
    else:
        rng = np.random.default_rng(7)
        y, w = np.round(rng.lognormal(3, 1, 5000)), rng.integers(1, 5, 5000).astype(float)
    s = as_sorted(y, w)
    value, u = _plain(s)
    est = zenga_sorted(s)
    assert est.value == value and np.array_equal(est.influence, u)
    assert zenga_sorted(s, influence=False).value == value
