"""Dynamics of regional incomes over time: convergence, distribution dynamics, mobility, growth incidence."""

from .markov import (
    HomogeneityTest,
    MarkovResult,
    SpatialMarkovResult,
    ergodic_distribution,
    homogeneity_test,
    markov,
    markov_from_classes,
    mean_first_passage_times,
    mobility_indices,
    spatial_markov,
)
from .panel import RegionPanel, as_panel
from .weights import SpatialWeights, china_province_weights, contiguity_weights

__all__ = [
    "HomogeneityTest",
    "MarkovResult",
    "RegionPanel",
    "SpatialMarkovResult",
    "SpatialWeights",
    "as_panel",
    "china_province_weights",
    "contiguity_weights",
    "ergodic_distribution",
    "homogeneity_test",
    "markov",
    "markov_from_classes",
    "mean_first_passage_times",
    "mobility_indices",
    "spatial_markov",
]
