"""The poverty / middle-class / polarization / prosperity entries of the measure catalogue, and the
contract with the table layer for estimated lines: u_total = u(fixed line) + line_derivative x u_line."""

import numpy as np
import pytest

from prosperity.measures.estimate import SortedIncome
from prosperity.measures.middle import middle_relative_sorted
from prosperity.measures.poverty import arpr_sorted, arpt_sorted, fgt_sorted, relative_line_estimate, rmpg_sorted
from prosperity.measures.quantiles import quantile_influence, quantile_sorted
from prosperity.measures.registry import parse_measure

EXPECTED = {  # name: (uses_line, income_domain)
    "fgt:2": (True, "nonnegative"), "headcount": (True, "any"), "pgap": (True, "nonnegative"),
    "watts": (True, "positive"), "sen": (True, "nonnegative"), "sst": (True, "nonnegative"),
    "arpt": (False, "any"), "arpr": (False, "any"), "rmpg": (False, "any"),
    "middle_abs": (False, "any"), "middle_abs_income": (False, "nonnegative"),
    "middle_rel": (False, "any"), "middle_rel_income": (False, "nonnegative"),
    "wolfson": (False, "nonnegative"), "foster_wolfson": (False, "nonnegative"),
    "esteban_ray:0.5": (False, "nonnegative"), "prosperity_gap:10": (False, "positive"),
}

QUANTILE_BASED = {"arpt", "arpr", "rmpg", "middle_rel", "middle_rel_income", "wolfson", "foster_wolfson"}


@pytest.fixture(scope="module")
def sample():
    rng = np.random.default_rng(21)
    return SortedIncome.from_arrays(rng.lognormal(2.5, 0.7, 2000), rng.uniform(0.5, 2, 2000))


@pytest.mark.parametrize("name", list(EXPECTED))
def test_every_entry_runs_through_the_registry(sample, name):
    spec, params = parse_measure(name)
    assert (spec.uses_line, spec.income_domain) == EXPECTED[name]
    if spec.uses_line:
        params["line"] = 9.0
    est = spec.kernel(sample, influence=True, **params)
    assert np.isfinite(est.value) and est.influence.shape == (sample.n,)
    total = np.dot(sample.w, est.influence)
    if name.split(":")[0] in QUANTILE_BASED:
        # a quantile's u sums to (p - F(q)) / f(q): F jumps by one unit's weight share at q
        assert abs(total) <= 2 * np.max(np.abs(sample.w * est.influence))
    else:
        assert total == pytest.approx(0.0, abs=1e-10)
    assert spec.kernel(sample, influence=False, **params).value == est.value


def test_labels_and_defaults():
    assert parse_measure("arpr")[1] == {"fraction": 0.6}
    assert parse_measure("middle_abs")[1] == {"lower": 100_000.0, "upper": 500_000.0}
    assert parse_measure("middle_rel:0.5:1.5")[0].label(parse_measure("middle_rel:0.5:1.5")[1]) == "middle_rel:0.5:1.5"
    assert parse_measure("esteban_ray")[1] == {"alpha": 1.0}
    assert parse_measure("prosperity_gap")[1] == {"z": 25.0}


def test_estimated_line_adds_line_derivative_times_u_line(sample):
    """What the table layer does for a relative line equals the kernels' own full linearization."""
    t = relative_line_estimate(sample, 0.6)
    for kernel in (arpr_sorted, rmpg_sorted):
        own = kernel(sample)
        fixed = kernel(sample, line=t.value)
        assert own.value == fixed.value
        np.testing.assert_allclose(own.influence, fixed.influence + fixed.line_derivative * t.influence, atol=1e-15)
    # FGT at a fixed line + d/dz x u_line is the ARPR's linearization when z = ARPT
    fgt0 = fgt_sorted(sample, t.value, 0.0)
    np.testing.assert_allclose(arpr_sorted(sample).influence, fgt0.influence + fgt0.line_derivative * t.influence,
                               atol=1e-15)
    np.testing.assert_allclose(arpt_sorted(sample).influence, t.influence)
    # relative middle band: the same with the median
    m = quantile_sorted(sample, 0.5)
    own = middle_relative_sorted(sample)
    fixed = middle_relative_sorted(sample, median=m)
    np.testing.assert_allclose(own.influence, fixed.influence + fixed.line_derivative * quantile_influence(sample, 0.5, m),
                               atol=1e-15)


@pytest.mark.parametrize("module", ["poverty", "middle", "polarization", "prosperity"])
def test_docstring_examples_hold(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(f"prosperity.measures.{module}"))
    assert result.attempted > 0 and result.failed == 0
