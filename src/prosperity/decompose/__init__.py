"""Decompositions: where inequality sits (levels, groups, sources, factors) and the three gaps."""

from .entropy import (
    NestedDecomposition,
    SubgroupDecomposition,
    decompose,
    decompose_table,
    elmo_max_between,
    ge,
    nested_decomposition,
    nested_influence,
    subgroup_decomposition,
)
from .dagum import DagumDecomposition, dagum_decomposition, dagum_influence
from .hierarchy import NestingError
from .shapley import ShapleyDecomposition, shapley, shapley_between_within, shapley_sources
from .sources import SourceDecomposition, gini_by_source

__all__ = [
    "DagumDecomposition",
    "ShapleyDecomposition",
    "SourceDecomposition",
    "dagum_decomposition",
    "dagum_influence",
    "gini_by_source",
    "shapley",
    "shapley_between_within",
    "shapley_sources",
    "NestedDecomposition",
    "NestingError",
    "SubgroupDecomposition",
    "decompose",
    "decompose_table",
    "elmo_max_between",
    "ge",
    "nested_decomposition",
    "nested_influence",
    "subgroup_decomposition",
]
