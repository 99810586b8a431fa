"""A measure declares how the table layer drives its kernel; registration checks it against the kernel."""

import pytest

from prosperity.measures import catalog  # noqa: F401
from prosperity.measures.estimate import Estimate
from prosperity.measures.registry import REGISTRY, MeasureSpec, _check_kernel_contract


def _kernel(s, *, influence=True, convention="eurostat"):
    return Estimate(0.0)


def test_declared_convention_must_match_the_kernel():
    with pytest.raises(ValueError, match="measure 'x': convention_kind None does not match the kernel "
                                         r"\(accepts convention=\)"):
        _check_kernel_contract(MeasureSpec("x", _kernel, "test"))
    _check_kernel_contract(MeasureSpec("x", _kernel, "test", convention_kind="quantile"))


def test_own_threshold_needs_a_line_keyword():
    with pytest.raises(ValueError, match="threshold 'own_fraction' needs a kernel accepting line="):
        _check_kernel_contract(MeasureSpec("x", _kernel, "test", threshold="own_fraction", convention_kind="quantile"))


def test_catalogue_declarations():
    assert REGISTRY["arpr"].threshold == "own_fraction" and REGISTRY["rmpg"].threshold == "own_fraction"
    assert REGISTRY["middle_rel"].threshold == "median_band"
    assert REGISTRY["fgt"].threshold == "line" and REGISTRY["fgt"].uses_line
    assert REGISTRY["qsr"].convention_kind == "quantile"
    assert REGISTRY["gini"].convention_kind == "measure"
    assert REGISTRY["mean"].convention_kind is None and REGISTRY["mean"].threshold == "none"
