"""Decompositions: where inequality sits (levels, groups, sources, factors) and the three gaps."""

from .entropy import (
    NestedDecomposition,
    SubgroupDecomposition,
    decompose,
    decompose_table,
    elmo_max_between,
    ge,
    nested_decomposition,
    subgroup_decomposition,
)
from .hierarchy import NestingError

__all__ = [
    "NestedDecomposition",
    "NestingError",
    "SubgroupDecomposition",
    "decompose",
    "decompose_table",
    "elmo_max_between",
    "ge",
    "nested_decomposition",
    "subgroup_decomposition",
]
