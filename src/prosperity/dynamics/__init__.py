"""Dynamics of regional incomes over time: convergence, distribution dynamics, mobility, growth incidence."""

from .beta import BetaConvergence, beta_convergence, panel_beta_convergence, speed_and_half_life
from .clubs import ClubConvergence, LogTTest, convergence_clubs, hp_filter, log_t_test
from .density import DensityPath, bandwidth, density_path, kernel_density
from .incidence import (
    GrowthIncidence,
    PovertyChangeDecomposition,
    Sample,
    growth_incidence,
    poverty_change_decomposition,
)
from .markov import (
    ChainStructure,
    HomogeneityTest,
    LisaMarkovResult,
    MarkovResult,
    SpatialMarkovResult,
    ergodic_distribution,
    chain_structure,
    homogeneity_test,
    lisa_markov,
    markov,
    markov_from_classes,
    mean_first_passage_times,
    mobility_indices,
    prais,
    spatial_markov,
    steady_state_test,
)
from .panel import RegionPanel, as_panel
from .rank import RankMobility, Theta, rank_mobility, tau_p_value_untied, theta
from .sigma import SigmaConvergence, dispersion, sigma_convergence
from .weights import SpatialWeights, china_province_weights, contiguity_weights

__all__ = [
    "BetaConvergence",
    "ClubConvergence",
    "DensityPath",
    "GrowthIncidence",
    "LogTTest",
    "PovertyChangeDecomposition",
    "RankMobility",
    "Sample",
    "SigmaConvergence",
    "Theta",
    "bandwidth",
    "beta_convergence",
    "convergence_clubs",
    "density_path",
    "dispersion",
    "growth_incidence",
    "hp_filter",
    "kernel_density",
    "log_t_test",
    "panel_beta_convergence",
    "poverty_change_decomposition",
    "rank_mobility",
    "sigma_convergence",
    "speed_and_half_life",
    "theta",
    "ChainStructure",
    "HomogeneityTest",
    "LisaMarkovResult",
    "MarkovResult",
    "RegionPanel",
    "SpatialMarkovResult",
    "SpatialWeights",
    "as_panel",
    "china_province_weights",
    "chain_structure",
    "contiguity_weights",
    "lisa_markov",
    "prais",
    "steady_state_test",
    "tau_p_value_untied",
    "ergodic_distribution",
    "homogeneity_test",
    "markov",
    "markov_from_classes",
    "mean_first_passage_times",
    "mobility_indices",
    "spatial_markov",
]
