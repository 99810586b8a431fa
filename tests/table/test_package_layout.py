"""The table layer is a package whose parts each have one job; every name other modules import stays
exported from ``prosperity.table`` (contracts for the CLI, the capabilities and later modules)."""

from __future__ import annotations

import importlib
import inspect

import prosperity.table as table

PARTS = {"plan": "make_plan", "inputs": "read_inputs", "scaling": "_Scaling", "kernels": "point_pass",
         "domain_variance": "_DomainVariance", "domain_lines": "relative_line_rule", "bootstrap": "bootstrap_spread", "result": "build_result",
         "api": "measure", "streamed": "measure_streamed"}


def test_each_part_is_its_own_module_with_its_job():
    for module, name in PARTS.items():
        mod = importlib.import_module(f"prosperity.table.{module}")
        assert hasattr(mod, name), (module, name)


def test_names_stay_exported():
    for name in ("measure", "MeasureResult", "ALL", "SE_METHODS", "CI_METHODS", "DEFAULT_MEASURES", "parse_measures",
                 "_DomainVariance", "_Requested", "_Context", "_Reference", "_Scaling", "_group_codes", "_normalise_by",
                 "_breakdowns", "_line_rule", "_bootstrap_pass", "Plan", "make_plan", "build_result"):
        assert hasattr(table, name), name
    assert table.measure is importlib.import_module("prosperity.table.api").measure
    assert table.__all__ == ["measure", "MeasureResult", "SE_METHODS", "CI_METHODS"]


def test_measure_only_orchestrates():
    body = inspect.getsource(table.measure).split('"""')[-1]  # the code after the docstring
    assert len([ln for ln in body.splitlines() if ln.strip()]) <= 30
    assert "backend" in inspect.signature(table.measure).parameters
