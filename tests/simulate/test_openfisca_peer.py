"""The same four rules written as an OpenFisca country package (benchmarks/openfisca_china.py) give
prosperity's numbers on the same households, to OpenFisca's float32 precision."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

import prosperity
from prosperity.simulate import Simulation
from prosperity.synth import synthesize_population

pytest.importorskip("openfisca_core")
BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def _module(name):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def test_openfisca_country_package_agrees_household_by_household():
    of = _module("openfisca_china")
    bench = _module("bench_simulate")
    sim = Simulation(synthesize_population(2024, persons=30_000, seed=11), 2024)
    inputs = bench.openfisca_inputs(sim)
    tbs = of.tax_benefit_system(str(Path(prosperity.__file__).parent / "simulate" / "parameters"))
    ofsim = of.simulation(tbs, sim.population.person_household, inputs)
    b, hsum = sim.baseline, sim.population.household_sum
    scale = (sim.population.wage_household + np.abs(sim.population.business_property + sim.fixed.other_transfers)
             + b["resident_pension"] + b["dibao_standard_monthly"] * 12 * sim.population.size + 1.0)
    pairs = {"disposable": ofsim.calculate("disposable_income", "2024"), "dibao": ofsim.calculate("dibao", "2024"),
             "iit": hsum(ofsim.calculate("iit", "2024").astype(float)),
             "si_employee": hsum(ofsim.calculate("si_employee", "2024").astype(float)),
             "housing_fund": hsum(ofsim.calculate("housing_fund", "2024").astype(float)),
             "resident_pension": hsum(ofsim.calculate("resident_pension", "2024").astype(float))}
    for name, theirs in pairs.items():
        diff = np.abs(np.asarray(theirs, float) - b[name])
        assert np.max(diff / scale) < 1e-5, name
        assert b[name].sum() > 0, name  # a real comparison, not of zeros
    # the dibao recipients are the same households (float32 can only flip a household at the margin)
    same = (pairs["dibao"] > 0) == (b["dibao"] > 0)
    assert same.mean() > 0.999
