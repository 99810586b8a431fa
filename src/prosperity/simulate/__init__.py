"""Static tax-benefit microsimulation for China: rules as small vectorised functions, parameters as
dated YAML in OpenFisca's format, reforms as overlays (see docs/simulate.md).

>>> from prosperity.synth import synthesize_population
>>> from prosperity.simulate import Simulation, load_reforms
>>> sim = Simulation(synthesize_population(2024, persons=10**5), year=2024)  # doctest: +SKIP
>>> sim.run(load_reforms(["dibao_plus_20pct"])).summary  # doctest: +SKIP
"""

from .engine import ParameterNotInForce, Simulation, evaluate
from .outputs import SimulationResult
from .parameter_tree import Brackets, ParameterTree, bundled_parameters, default_instant
from .population import Population, PopulationError
from .reform import Reform, ReformError, example_reforms, load_reforms
from .uncertainty import ReformUncertainty, household_design, reform_uncertainty

__all__ = ["Brackets", "ParameterNotInForce", "ParameterTree", "Population", "PopulationError", "Reform", "ReformError", "ReformUncertainty", "Simulation",
           "SimulationResult", "bundled_parameters", "default_instant", "evaluate", "example_reforms", "household_design",
           "load_reforms", "reform_uncertainty"]
