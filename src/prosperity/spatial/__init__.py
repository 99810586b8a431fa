"""Spatial statistics of regional data: global and local Moran's I (PySAL esda conventions) and readers
for PySAL/GeoDa weights files. LISA Markov chains are in :mod:`prosperity.dynamics` (giddy's place)."""

from .autocorrelation import LocalMoran, Moran, local_moments, moran, moran_local, transform, weight_sums
from .weights_io import WeightsFileError, read_gal, read_gwt, read_weights

__all__ = [
    "LocalMoran",
    "Moran",
    "WeightsFileError",
    "local_moments",
    "moran",
    "moran_local",
    "read_gal",
    "read_gwt",
    "read_weights",
    "transform",
    "weight_sums",
]
