"""Linearized standard errors against the true sampling distribution, for every registered measure.

A bootstrap is itself an estimate (and a poor one for non-smooth statistics such as the median of the
poor in RMPG); the direct check is a Monte Carlo: draw many independent weighted samples from a known
population, compute each measure, and compare the spread of the estimates with the mean of the
linearized SEs. Seeded; about 3 s.
"""

import numpy as np
import pytest

from prosperity.measures import catalog  # noqa: F401  (fills the registry)
from prosperity.measures.estimate import SortedIncome
from prosperity.measures.registry import REGISTRY

N_UNITS, N_SAMPLES = 2000, 1000
SCALE = 5 * np.exp(10.0)  # lognormal(10, 0.6) * 5: median ~110,000, so the NBS middle band bites
LINE = 0.6 * SCALE  # 60 % of the population median
TYPICAL = {"p": 0.5, "alpha": 1.0, "epsilon": 0.5, "p1": 0.9}


def _params(spec):
    params = dict(spec.defaults)
    params.update({p: TYPICAL[p] for p in spec.params if p not in params})
    if spec.uses_line:
        params["line"] = LINE
    return params


@pytest.fixture(scope="module")
def monte_carlo():
    rng = np.random.default_rng(7)
    names = sorted(REGISTRY)
    values = {k: np.empty(N_SAMPLES) for k in names}
    ses = {k: np.empty(N_SAMPLES) for k in names}
    for r in range(N_SAMPLES):
        y = rng.lognormal(10.0, 0.6, N_UNITS) * 5
        w = rng.uniform(1.0, 3.0, N_UNITS)
        s = SortedIncome.from_arrays(y, w)
        for k in names:
            est = REGISTRY[k].kernel(s, influence=True, **_params(REGISTRY[k]))
            wu = s.w * est.influence
            values[k][r] = est.value
            ses[k][r] = np.sqrt(N_UNITS / (N_UNITS - 1) * np.sum((wu - wu.mean()) ** 2))
    return values, ses


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_linearized_se_matches_monte_carlo_spread(name, monte_carlo):
    values, ses = monte_carlo
    ratio = ses[name].mean() / values[name].std(ddof=1)
    # Monte Carlo error of the spread with 1000 samples is ~2.2 %; measured ratios lie in 0.98-1.11
    # (RMPG 1.10 and Esteban-Ray 1.11 are the most conservative).
    assert 0.9 < ratio < 1.15, f"{name}: mean linearized SE / Monte Carlo SD = {ratio:.3f}"
