"""Tables that fit the terminal, for every command: nothing is ever cut.

A table is first laid out wide (one row per record, every number on one line). When that is wider
than the terminal (``COLUMNS``, 80 when not a terminal) the value columns are split into blocks that
fit, the label columns repeated in each block (the way a wide table is printed on narrow paper);
text columns (descriptions, notes) wrap at word boundaries, numbers never wrap. Numbers use the
package's display format (:func:`number`: 4 significant digits, thousands separators, no scientific
notation for ordinary magnitudes); shares are fractions unless the command's ``--percent`` asks for
percent. Every table ends with a footer naming the units (:func:`units_footer`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from fnmatch import fnmatchcase
from pathlib import Path

import numpy as np
import pandas as pd
import typer

PERCENT = typer.Option(False, "--percent", help="Show shares and rates as percent in the table (JSON, CSV and --out "
                                                "always hold fractions).")
UNITS = typer.Option(None, "--units", help="Units of the income for the table footer, e.g. 'yuan per person per year, "
                                           "2024 prices' (default: the bundled data set's metadata, else 'as in the "
                                           "input file').")
QUIET = typer.Option(False, "--quiet", "-q", help="No progress bar (none either when stdout is not a terminal).")
FROM_INPUT = "as in the input file"


def console(width: int | None = None):
    """A rich console of the terminal's width (``COLUMNS``; 80 when stdout is not a terminal)."""
    from rich.console import Console

    return Console(width=width) if width else Console()


def number(v, digits: int = 4) -> str:
    """The package's display format: integers as written (years, codes, counts); floats to 4
    significant digits, thousands separators above 10^digits, no
    scientific notation between 1e-12 and 1e15 (beyond, the digits past double precision are noise:
    ``2.082e+302``); NaN and None print as an empty cell."""
    if v is None or isinstance(v, str):
        return "" if v is None else v
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return str(int(v))  # counts, years, codes: as written
    v = float(v) + 0.0  # no "-0"
    if v != v:
        return ""
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if abs(v) >= 1e15 or 0 < abs(v) < 1e-12:
        return f"{v:.{digits}g}"
    if abs(v) >= 10 ** digits:
        return f"{v:,.0f}"
    return np.format_float_positional(v, precision=digits, unique=True, fractional=False, trim="-")


def share(v, percent: bool = False, digits: int = 4) -> str:
    """A share (fraction) for display: the fraction itself, or with ``percent`` its percent (``12.34 %``)."""
    if v is None or (isinstance(v, float) and v != v):
        return ""
    if not percent:
        return number(v, digits)
    return f"{100 * float(v):.2f} %"


def cell(v, digits: int = 4) -> str:
    """Any cell: numbers by :func:`number`, lists shortened to 8 items, the rest as text."""
    if isinstance(v, (list, tuple)):
        return ", ".join(cell(x, digits) for x in v[:8]) + (" ..." if len(v) > 8 else "")
    if isinstance(v, (float, int, np.floating, np.integer, bool, np.bool_)) or v is None:
        return number(v, digits)
    if isinstance(v, pd.Timestamp):
        return v.isoformat(sep=" ", timespec="seconds")
    return str(v)


def natural_width(table) -> int:
    """Terminal cells a rich table needs without wrapping or cutting any cell (heavy box, padding 1)."""
    from rich.cells import cell_len

    total = 1
    for column in table.columns:
        lines = [str(column.header)] + [line for c in column.cells for line in str(c).split("\n")]
        total += max(cell_len(x) for x in lines) + 3
    return total


def _width(texts) -> int:
    from rich.cells import cell_len

    return max((cell_len(line) for t in texts for line in str(t).split("\n")), default=0)


def _word_width(texts) -> int:
    """The longest word: the narrowest a wrapping column can be without folding a word."""
    from rich.cells import cell_len

    return max((cell_len(w) for t in texts for w in str(t).split()), default=1)


def print_frame(frame: pd.DataFrame, con=None, *, title: str | None = None, caption: str | None = None,
                labels: Sequence[str] = (), formats: dict[str, Callable] | None = None,
                wrap: Sequence[str] = (), headers: dict[str, str] | None = None, show_lines: bool = False,
                right: Sequence[str] = ()) -> None:
    """Print ``frame`` as rich table(s) that fit the console.

    ``labels``: columns that identify a row (left, repeated in every block when the table is split);
    ``formats``: column -> function of a value (default :func:`cell`); ``wrap``: text columns that
    may wrap at spaces (every other cell stays on one line); ``right``: columns of preformatted numbers
    (right-aligned as the numeric columns are). When the wide table is wider than the
    console, the other columns go into consecutive blocks that fit; ``caption`` (the footer) is
    printed once, after the last block, wrapped to the console's width. When a single column does not
    fit beside the label columns, every row is printed as its own (column, value) table (long layout)."""
    from rich.table import Table

    con = con or console()
    formats = formats or {}
    headers = headers or {}
    labels = [c for c in labels if c in frame.columns]
    rest = [c for c in frame.columns if c not in labels]
    text = {c: [formats.get(c, cell)(v) for v in frame[c].tolist()] for c in frame.columns}
    head = {c: headers.get(c, str(c)) for c in frame.columns}

    def need(c) -> int:  # width of a column in the table, padding and border included
        if c in wrap:
            return max(_word_width([head[c]] + text[c]), min(_width([head[c]] + text[c]), 12)) + 3
        return _width([head[c]] + text[c]) + 3

    room = con.width - 1 - sum(need(c) for c in labels)
    if labels and any(need(c) > room for c in rest):  # one column does not fit beside the labels: long layout
        for i in range(len(frame)):
            name = " · ".join(text[c][i] for c in labels)
            print_records([(head[c], text[c][i]) for c in labels + rest], con,
                          title=f"{title} · {name}" if title else name, item="column")
        if caption:
            con.print(caption, overflow="fold")
        return
    blocks: list[list[str]] = []
    for c in rest:
        if blocks and sum(need(x) for x in blocks[-1]) + need(c) <= room:
            blocks[-1].append(c)
        else:
            blocks.append([c])
    blocks = blocks or [[]]
    numeric = {c: c in right or (pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c]))
               for c in frame.columns}
    for k, block in enumerate(blocks):
        part = f"columns {k + 1}/{len(blocks)}" if len(blocks) > 1 else ""
        name = f"{title} ({part})" if title and part else (title or part or None)
        table = Table(title=name, title_justify="left", show_lines=show_lines)
        columns = labels + block
        widths = _wrap_widths([c for c in columns if c in wrap], {c: [head[c]] + text[c] for c in columns},
                              con.width - 1 - sum(need(c) for c in columns if c not in wrap))
        for c in columns:
            if c in wrap:
                table.add_column(head[c], overflow="fold", width=widths[c], justify="right" if numeric[c] else "left")
            else:
                table.add_column(head[c], justify="right" if numeric[c] else "left", no_wrap=True)
        for i in range(len(frame)):
            table.add_row(*[text[c][i] for c in columns])
        con.print(table)
    if caption:
        con.print(caption, overflow="fold")


def _wrap_widths(columns: list[str], texts: dict, room: int) -> dict[str, int]:
    """Content widths of the wrapping columns in ``room`` terminal cells (each column costs 3 more):
    each at least its longest word, the rest of the room shared in proportion to what each lacks."""
    lo = {c: _word_width(texts[c]) for c in columns}
    hi = {c: max(lo[c], _width(texts[c])) for c in columns}
    room -= 3 * len(columns)
    if sum(hi.values()) <= room:
        return hi
    if sum(lo.values()) > room:  # a word wider than the room: folded across lines, never cut
        return {c: max(1, room * lo[c] // sum(lo.values())) for c in columns}
    extra = max(0, room - sum(lo.values()))
    lack = sum(hi[c] - lo[c] for c in columns) or 1
    return {c: lo[c] + (extra * (hi[c] - lo[c])) // lack for c in columns}


def print_records(records: Sequence[tuple[str, str]], con=None, *, title: str | None = None,
                  caption: str | None = None, item: str = "item", value: str = "value") -> None:
    """A two-column (item, value) table; both wrap at spaces (a word longer than the terminal folds);
    values right-aligned when they are all numbers."""
    import re

    numeric = all(re.fullmatch(r"[-+]?[\d,.]*\d(e[-+]?\d+)?( %)?|", str(r[1])) for r in records)
    print_frame(pd.DataFrame({item: [r[0] for r in records], value: [r[1] for r in records]}), con, title=title,
                caption=caption, wrap=[item, value], formats={item: str, value: str}, right=[value] if numeric else [])


# ---------------------------------------------------------------- units of the table footers


def dataset_of(path) -> object | None:
    """The :class:`~prosperity.datasets._registry.DatasetInfo` of a bundled data file, or None."""
    from prosperity.datasets import _registry

    try:
        p = Path(str(path)).resolve()
    except (OSError, ValueError):
        return None
    for info, _ in _registry.REGISTRY.values():
        if info.kind == "table" and info.path.resolve() == p:
            return info
    return None


def column_units(info, column: str) -> str | None:
    """The unit the data set's metadata gives ``column`` (keys are names or patterns, comma-separated)."""
    for key, unit in info.units.items():
        if any(fnmatchcase(column, pattern.strip()) for pattern in key.split(",")):
            return unit
    return None


def units_footer(path=None, columns: Sequence[str] = (), units: str | None = None, what: str = "income") -> str:
    """``units: ...`` for a table footer: ``--units`` when given; else the bundled data set's metadata for
    ``columns`` (``path`` a bundled file); else ``as in the input file``."""
    if units:
        return f"units: {what} in {units} (--units)"
    info = dataset_of(path) if path is not None else None
    if info is not None:
        found = [(c, column_units(info, c)) for c in columns]
        named = [f"{c}: {u}" for c, u in found if u]
        if named:
            return f"units ({info.name} metadata): " + "; ".join(named)
        return f"units: {what} {FROM_INPUT} (the {info.name} metadata gives no unit for {', '.join(columns)})"
    return f"units: {what} {FROM_INPUT} (--units to name them)"


# ---------------------------------------------------------------- progress


def progress_wanted(quiet: bool) -> bool:
    """A progress bar only on a terminal and without ``--quiet``."""
    import sys

    return not quiet and sys.stdout.isatty() and sys.stderr.isatty()


class working:
    """A rich spinner on stderr while a long step runs (``with working("simulating", quiet): ...``); nothing
    when ``quiet`` or when stdout/stderr is not a terminal, so pipes and files stay clean."""

    def __init__(self, label: str, quiet: bool = False):
        self.label, self.status = label, None
        self.quiet = quiet

    def __enter__(self):
        if progress_wanted(self.quiet):
            from rich.console import Console

            self.status = Console(stderr=True).status(self.label)
            self.status.__enter__()
        return self

    def __exit__(self, *exc):
        if self.status is not None:
            self.status.__exit__(*exc)
        return False
