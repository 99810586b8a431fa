"""Loading, validation and the ``Sample`` data model.

- :func:`load` / :func:`from_frame`: a file (CSV, Parquet, Stata, Excel, Feather) or a pandas /
  polars frame -> a validated, immutable :class:`Sample`.
- :mod:`~prosperity.io.errors`: :class:`ProsperityInputError` and its subclasses, each saying what
  is wrong, where (column, data rows, example values) and how to fix it.
- :mod:`~prosperity.io.equivalence`: equivalence scales (per capita, modified OECD, square root,
  power elasticity).
"""

from .equivalence import SCALES, equivalence_scale
from .errors import (
    ColumnNotFoundError,
    DesignError,
    EmptyGroupError,
    FileFormatError,
    InvalidValueError,
    MeasureSpecError,
    NestingError,
    ProsperityInputError,
)
from .read import file_format, load, read_header, read_table
from .sample import Labels, Sample, from_frame

__all__ = [
    "SCALES", "equivalence_scale",
    "ProsperityInputError", "ColumnNotFoundError", "DesignError", "EmptyGroupError", "FileFormatError",
    "InvalidValueError", "MeasureSpecError", "NestingError",
    "file_format", "load", "read_header", "read_table",
    "Labels", "Sample", "from_frame",
]
