"""Synthetic populations consistent with published Chinese tables (provincial means and population,
urban/rural quintile groups, income sources), at any size, reproducible from a seed.

>>> from prosperity.synth import synthesize_population, write_population, margins
>>> people = synthesize_population(year=2024, persons=10**5, seed=1)  # doctest: +SKIP
>>> margins(people, year=2024)            # how close the margins come  # doctest: +SKIP
>>> write_population("pop.parquet", persons=10**8, seed=1)   # streamed in chunks  # doctest: +SKIP
"""

from .within_cell import AreaFit, calibrate
from .check import margins
from .generate import iter_population, make_plan, synthesize_population, write_population
from .targets import Targets, build_targets

__all__ = ["AreaFit", "Targets", "build_targets", "calibrate", "iter_population", "make_plan", "margins",
           "synthesize_population", "write_population"]
