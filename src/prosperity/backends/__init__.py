"""The same measures on data larger than memory: sources (in memory, DuckDB over Parquet, Dask) that
stream the rows in bounded pieces, and exact streaming estimators with linearized SEs (issue 11).

>>> from prosperity.backends import open_source, measure_stream
>>> src = open_source("population/", income="income", weight="weight", strata="province", psu="psu")  # doctest: +SKIP
>>> measure_stream(src, ["mean", "median", "gini", "theil", "arpr"]).to_frame()  # doctest: +SKIP
"""

from .sources import BackendError, DaskSource, DesignCodes, DuckDBSource, MemorySource, open_source
from .streaming import STREAM_MEASURES, StreamEstimate, StreamResult, measure_stream

__all__ = ["BackendError", "DaskSource", "DesignCodes", "DuckDBSource", "MemorySource", "STREAM_MEASURES",
           "StreamEstimate", "StreamResult", "measure_stream", "open_source"]
