"""``--out FILE``: any command's tidy result frame written by the file's extension (one grammar for
every command): .csv, .parquet, .xlsx (one sheet), .json (a list of records)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

WRITERS = (".csv", ".parquet", ".xlsx", ".json")


def check_out(path: str | None) -> None:
    """Refuse an unknown extension or a missing directory before any work is done."""
    if path is None:
        return
    p = Path(path)
    if p.suffix.lower() not in WRITERS:
        raise ValueError(f"--out {path!r}: the extension says the format; use one of {', '.join(WRITERS)}")
    if not p.parent.exists():
        raise ValueError(f"--out {path!r}: the directory {str(p.parent)!r} does not exist")


def checked_out(path: str | None) -> str | None:
    """:func:`check_out` for a command: a bad ``--out`` ends the command with the package's one-paragraph
    error (exit 2) before any work; returns the path."""
    from .measure_cmd import fail

    try:
        check_out(path)
    except ValueError as exc:
        fail(str(exc))
    return path


def write_frame(frame: pd.DataFrame, path: str) -> str:
    """Write ``frame``; returns a one-line note for stderr (what was written where)."""
    check_out(path)
    p = Path(path)
    ext = p.suffix.lower()
    tmp = p.with_name(p.name + ".tmp")
    if ext == ".csv":
        frame.to_csv(tmp, index=False)
    elif ext == ".parquet":
        frame.astype({c: str for c in frame.columns if frame[c].dtype == object}).to_parquet(tmp, index=False)
    elif ext == ".xlsx":
        frame.to_excel(tmp, index=False, engine="openpyxl")
    else:
        frame.to_json(tmp, orient="records", indent=2, force_ascii=False, double_precision=15)
    tmp.replace(p)  # a reader never sees a half-written file
    return f"written {len(frame):,} rows to {p}"


def json_default(o):
    """``json.dumps(default=...)`` for command results: NumPy scalars and arrays as plain numbers and
    lists, anything else as its text."""
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)
