"""Composite common-prosperity indices: frameworks as YAML, a reported pipeline (screening,
imputation, outliers, normalisation, weighting, aggregation), MCDA scorings, obstacle degrees,
coupling coordination, and Monte Carlo uncertainty and Sobol sensitivity analysis.

>>> from prosperity.index import build_index, load_framework
>>> res = build_index(panel, "affluence_sharing", region="province", year="year")   # doctest: +SKIP
"""

from .aggregate import copeland, gra, obstacle_degree, outranking, topsis, vikor, weighted_mean
from .coupling import coupling_coordination, coupling_degree
from .framework import Framework, FrameworkError, bundled as bundled_frameworks, load as load_framework, loads
from .pipeline import IndexConfig, IndexResult, build_index, dimension_obstacles
from .sensitivity import leave_one_out, sobol_indices, uncertainty
from .weights import (ahp, critic_weights, cv_weights, entropy_weights, gini_weights, group_ahp, merec_weights,
                      pca_weights, variance_weights)

__all__ = [
    "Framework", "FrameworkError", "IndexConfig", "IndexResult", "ahp", "build_index", "bundled_frameworks", "copeland",
    "coupling_coordination", "coupling_degree", "critic_weights", "cv_weights", "dimension_obstacles",
    "entropy_weights", "gini_weights", "gra", "group_ahp", "leave_one_out", "load_framework", "loads", "merec_weights",
    "obstacle_degree", "outranking", "pca_weights", "sobol_indices", "topsis", "uncertainty", "variance_weights", "vikor",
    "weighted_mean",
]
