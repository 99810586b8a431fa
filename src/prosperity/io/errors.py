"""One family of input errors: each says what is wrong, where (column, rows, a few values) and how to fix it.

Row numbers are **data rows counted from 1** (the first row below the header), the way they are
numbered in a data frame shown by a spreadsheet without its header line. In a CSV file or an Excel
sheet with a header line, the line / spreadsheet row number is the data row + 1. Every message
that cites rows says so.

All classes derive from :class:`ProsperityInputError`, itself a :class:`ValueError`, so
``except ValueError`` keeps working; the CLI turns any of them into a one-paragraph message on
stderr and exit code 2.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

import numpy as np

MAX_ROWS_SHOWN = 5
MAX_EXAMPLES_SHOWN = 3


class ProsperityInputError(ValueError):
    """Bad input, with structured fields for programs and a full sentence for people.

    Fields: ``problem`` (what is wrong), ``column`` (or None), ``rows`` (1-based data rows, the
    first few), ``n_rows`` (how many rows are affected in total), ``examples`` (offending values),
    ``hint`` (how to fix it). ``str(error)`` is the whole message.
    """

    def __init__(
        self,
        problem: str,
        *,
        column: str | None = None,
        rows: Sequence[int] = (),
        n_rows: int | None = None,
        examples: Sequence = (),
        hint: str | None = None,
    ):
        self.problem = problem
        self.column = column
        self.rows = tuple(int(r) for r in rows)
        self.n_rows = len(self.rows) if n_rows is None else int(n_rows)
        self.examples = tuple(examples)
        self.hint = hint
        super().__init__(self.message)

    # False when the problem sentence already cites the rows (e.g. a hierarchy clash)
    describe_rows = True

    @property
    def message(self) -> str:
        text = self.problem if self.problem.endswith(("?", ".")) else self.problem + "."
        if self.rows and self.describe_rows:
            text += " " + describe_rows(self.rows, self.n_rows, self.examples) + "."
        if self.hint:
            text += " Fix: " + self.hint.rstrip(".") + "."
        return text

    def __str__(self) -> str:
        return self.message


class ColumnNotFoundError(ProsperityInputError, KeyError):
    """A column named in the call is not in the data (with close names suggested)."""

    __str__ = ProsperityInputError.__str__


class InvalidValueError(ProsperityInputError):
    """Values that cannot be used: missing, negative, zero, non-numeric incomes or weights."""


class NestingError(ProsperityInputError):
    """Hierarchy columns that do not nest (a unit of a finer level in two units of a coarser one)."""

    describe_rows = False


class MeasureSpecError(ProsperityInputError):
    """Unknown measure, or absurd parameters (atkinson:-1, relative line 7, quantile 1.5)."""


class DesignError(ProsperityInputError):
    """A survey design that cannot give a variance (e.g. a stratum with a single PSU)."""


class FileFormatError(ProsperityInputError):
    """A file that cannot be read: missing, unknown extension, Excel without a sheet name."""


class EmptyGroupError(ProsperityInputError):
    """A group with no observations (or one on which a measure is undefined)."""


def describe_rows(rows: Sequence[int], n_rows: int, examples: Sequence = ()) -> str:
    """'3 rows: data rows 4, 9, 12 (values -5, -1, -3); data rows count from 1 below the header'."""
    shown = ", ".join(str(r) for r in rows[:MAX_ROWS_SHOWN])
    more = n_rows - min(len(rows), MAX_ROWS_SHOWN)
    where = f"data row{'s' if n_rows > 1 else ''} {shown}" + (f" and {more:,} more" if more > 0 else "")
    text = f"{n_rows:,} row{'s' if n_rows != 1 else ''}: {where}"
    if examples:
        text += " (values " + ", ".join(format_value(v) for v in list(examples)[:MAX_EXAMPLES_SHOWN]) + ")"
    return text + "; data rows count from 1 below the header, so the CSV line or spreadsheet row is one more"


def format_value(v) -> str:
    if isinstance(v, (float, np.floating)):
        if np.isnan(v):
            return "NaN"
        return f"{float(v):.6g}"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return repr(str(v)) if not isinstance(v, str) else repr(v)


def closest(name: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """Close names for a misspelt column or measure (case-insensitive difflib match)."""
    cands = [str(c) for c in candidates]
    lower = {c.lower(): c for c in cands}
    hits = difflib.get_close_matches(str(name).lower(), list(lower), n=n, cutoff=0.6)
    return [lower[h] for h in hits]


def column_not_found(name: str, role: str, available: Sequence[str]) -> ColumnNotFoundError:
    """Error for a missing column, suggesting close names and listing what exists."""
    near = closest(name, available)
    shown = list(available)[:12]
    listing = ", ".join(repr(str(c)) for c in shown) + (f" and {len(available) - 12} more" if len(available) > 12 else "")
    problem = f"{role} column {name!r} is not in the data"
    sep = one_column_separator(available)
    if sep is not None:
        shown_sep = "'\\t' (tab)" if sep == "\t" else repr(sep)
        return ColumnNotFoundError(
            problem + f"; the header was read as one column, {str(available[0])[:80]!r}, which contains {shown_sep}, "
            f"so the file's separator is probably {shown_sep}",
            column=name,
            hint=f"name the separator: sep={shown_sep.split(' ')[0]} (read_table / load), or save the file again with one "
            "of the separators ',', ';', tab or '|' used throughout; for an Excel sheet whose rows sit in one cell, "
            "split the column (Data > Text to Columns) or save it as CSV",
        )
    if near:
        problem += f"; did you mean {' or '.join(repr(c) for c in near)}?"
    return ColumnNotFoundError(
        problem,
        column=name,
        hint=f"use one of the data's columns: {listing}",
    )


def one_column_separator(available: Sequence[str]) -> str | None:
    """The likely separator when a header was read as a single column containing ``;``, tab, ``|`` or ``,``."""
    cols = list(available)
    if len(cols) != 1:
        return None
    head = str(cols[0])
    counts = [(head.count(s), -i, s) for i, s in enumerate((";", "\t", "|", ","))]
    best = max(counts)
    return best[2] if best[0] > 0 else None


def fpc_not_constant(name: str | None, rows, n_rows: int, examples) -> DesignError:
    """Error for an fpc column that varies inside a stratum (``prosperity.measure``, ``decompose``)."""
    return DesignError(
        f"fpc column {name!r} must be constant within each stratum", column=name, rows=rows, n_rows=n_rows,
        examples=examples,
        hint="give every unit of a stratum the same number of population PSUs (or the same sampling fraction)",
    )


def single_psu_strata(labels: Sequence[str], n_single: int, strata_name: str | None, what: str = "PSU") -> DesignError:
    """Error for strata with one PSU under ``lonely_psu='fail'``; ``labels``: the first few, formatted."""
    return DesignError(
        f"{n_single} stratum/strata of {strata_name!r} have a single {what} "
        f"({', '.join(labels)}{', ...' if n_single > len(labels) else ''}), so their variance is not defined",
        column=strata_name,
        hint="merge each such stratum with a similar one, or choose a rule: lonely_psu='adjust' (centre at the "
        "population mean, as R survey), 'remove' or 'certainty' (contribute 0) (CLI: --lonely-psu)",
    )


def offending_rows(mask: np.ndarray, values: np.ndarray | None = None, row_number: np.ndarray | None = None):
    """(first rows 1-based, count, first offending values) of a boolean mask."""
    idx = np.flatnonzero(mask)
    first = idx[:MAX_ROWS_SHOWN]
    rows = (row_number[first] if row_number is not None else first + 1).tolist()
    examples = [] if values is None else list(np.asarray(values)[idx[:MAX_EXAMPLES_SHOWN]])
    return rows, int(idx.size), examples


def data_location(data, loc, error_type: str) -> tuple:
    """The part of a pydantic error's ``loc`` that exists in the validated ``data`` (pydantic adds union
    branch names and tuple positions): dict keys and list positions that are there, plus the missing or
    extra key itself for ``missing`` / ``extra_forbidden`` errors. Used to point at YAML lines."""
    out = []
    node = data
    for x in loc:
        if isinstance(node, dict) and x in node:
            out.append(x)
            node = node[x]
        elif isinstance(node, list) and isinstance(x, int) and x < len(node):
            out.append(x)
            node = node[x]
        elif isinstance(node, dict) and error_type in ("missing", "extra_forbidden"):
            out.append(x)
            break
        else:
            break
    return tuple(out)
