"""Reading tables from files (chosen by extension) and loading them as a validated ``Sample``.

Supported: CSV / TSV (optionally ``.gz``, ``.bz2``, ``.zip``, ``.xz``), Parquet, Stata ``.dta``,
Excel (``.xlsx``, ``.xlsm``, ``.xls``; a workbook with several sheets needs ``sheet=``), Feather /
Arrow IPC. Only the columns needed are read, after checking that they exist.

CSV / TSV files are decoded with ``encoding=`` or, by default, as UTF-8 (with or without BOM) and
then GB18030 (GBK); the separator is ``sep=`` or detected among ``,`` ``;`` tab ``|``. Duplicated
column names, rows with the wrong number of fields and undecodable bytes are refused with the line;
see ``docs/inputs.md`` and :mod:`prosperity.io.text`.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from .errors import FileFormatError, ProsperityInputError, column_not_found
from .sample import Sample, _columns_of, column_roles, from_frame
from .text import open_text, parse_year_columns, read_frame

_COMPRESSION = (".gz", ".bz2", ".zip", ".xz", ".zst")
FORMATS = {
    ".csv": "csv", ".txt": "csv", ".tsv": "tsv", ".tab": "tsv",
    ".parquet": "parquet", ".pq": "parquet",
    ".dta": "stata",
    ".xlsx": "excel", ".xlsm": "excel", ".xls": "excel",
    ".feather": "feather", ".arrow": "feather",
}


def file_format(path: str | Path) -> str:
    """'csv', 'tsv', 'parquet', 'stata', 'excel' or 'feather' from the file name's extension."""
    p = Path(path)
    suffixes = [s.lower() for s in p.suffixes]
    if suffixes and suffixes[-1] in _COMPRESSION:
        suffixes = suffixes[:-1]
    ext = suffixes[-1] if suffixes else ""
    if ext not in FORMATS:
        raise FileFormatError(
            f"cannot tell the format of {p.name!r} from its extension {ext or '(none)'!r}",
            hint="use one of " + ", ".join(sorted(FORMATS)) + " (CSV and TSV may also end in .gz, .bz2, .zip, .xz), "
            "or read the file yourself and pass the data frame",
        )
    return FORMATS[ext]


def _check_exists(p: Path) -> None:
    if p.is_file():
        return
    if p.is_dir():
        raise FileFormatError(f"{str(p)!r} is a folder, not a data file", hint="name the data file inside it")
    near = []
    if p.parent.is_dir():
        near = difflib.get_close_matches(p.name, [c.name for c in p.parent.iterdir() if c.is_file()], n=3, cutoff=0.6)
    raise FileFormatError(
        f"file {str(p)!r} does not exist" + (f"; did you mean {' or '.join(repr(n) for n in near)}?" if near else ""),
        hint="check the path (relative paths start from the current folder: " + str(Path.cwd()) + ")",
    )


def excel_sheet(path: str | Path, sheet: str | int | None) -> str | int:
    """The sheet to read: ``sheet`` if it exists, the only sheet if there is one, else an error."""
    try:
        names = pd.ExcelFile(path).sheet_names
    except Exception as exc:  # noqa: BLE001 - any reader failure becomes a located message
        raise FileFormatError(f"cannot open {Path(path).name!r} as an Excel workbook ({exc})",
                              hint="check that the file is a valid .xlsx/.xls workbook, or save it as CSV") from None
    if sheet is None:
        if len(names) == 1:
            return names[0]
        raise FileFormatError(
            f"the workbook {Path(path).name!r} has {len(names)} sheets ({', '.join(repr(n) for n in names)}) and no sheet was named",
            hint="name the sheet with sheet='...' (CLI: --sheet NAME)",
        )
    if isinstance(sheet, int):
        if not 0 <= sheet < len(names):
            raise FileFormatError(f"sheet number {sheet} is out of range: the workbook has {len(names)} sheet(s) numbered from 0",
                                  hint=f"use a sheet name: {', '.join(repr(n) for n in names)}")
        return sheet
    if sheet not in names:
        near = difflib.get_close_matches(str(sheet), names, n=3, cutoff=0.5)
        raise FileFormatError(
            f"the workbook {Path(path).name!r} has no sheet {sheet!r}" + (f"; did you mean {' or '.join(repr(n) for n in near)}?" if near else ""),
            hint=f"use one of {', '.join(repr(n) for n in names)}",
        )
    return sheet


_FORMAT_NAMES = {"csv": "CSV", "tsv": "TSV", "parquet": "Parquet", "stata": "Stata", "excel": "Excel", "feather": "Feather"}


def _unreadable(p: Path, fmt: str, exc: Exception) -> FileFormatError:
    """A reader failure (empty file, corrupt bytes, wrong format behind the extension) as a located error."""
    if p.stat().st_size == 0 or isinstance(exc, pd.errors.EmptyDataError):
        return FileFormatError(f"file {p.name!r} is empty (no header line, no data)",
                               hint="check that the export finished and that you named the right file")
    detail = " ".join(str(exc).split())
    return FileFormatError(
        f"cannot read {p.name!r} as {_FORMAT_NAMES[fmt]} ({type(exc).__name__}: {detail})",
        hint=f"check that the file really is {_FORMAT_NAMES[fmt]} (its extension says so) and is not truncated, "
        "or save it again in one of the supported formats",
    )


def read_header(path: str | Path, *, sheet: str | int | None = None, encoding: str | None = None,
                sep: str | None = None) -> list[str]:
    """The column names of a data file, without reading its rows (CSV/TSV: ``encoding``, ``sep`` as in read_table)."""
    p = Path(path)
    _check_exists(p)
    fmt = file_format(p)
    _check_text_options(p, fmt, encoding, sep)
    if fmt == "excel":
        return _read_header(p, fmt, sheet)
    try:
        if fmt in ("csv", "tsv"):
            return list(open_text(p, fmt, encoding=encoding, sep=sep).header)
        return _read_header(p, fmt, sheet)
    except ProsperityInputError:
        raise
    except Exception as exc:  # noqa: BLE001 - any reader failure becomes a located message
        raise _unreadable(p, fmt, exc) from None


def _check_text_options(p: Path, fmt: str, encoding, sep) -> None:
    if fmt not in ("csv", "tsv") and (encoding is not None or sep is not None):
        given = " and ".join(f"{k}={v!r}" for k, v in (("encoding", encoding), ("sep", sep)) if v is not None)
        raise FileFormatError(f"{given} was given but {p.name!r} is not a CSV/TSV text file",
                              hint="drop the encoding / sep options for this file")


def _read_header(p: Path, fmt: str, sheet) -> list[str]:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return list(pq.read_schema(p).names)
    if fmt == "stata":
        with pd.read_stata(p, iterator=True) as reader:
            return list(reader.variable_labels())
    if fmt == "feather":
        import pyarrow.feather as feather

        return list(feather.read_table(p, memory_map=True).schema.names)
    return [str(c) for c in pd.read_excel(p, sheet_name=excel_sheet(p, sheet), nrows=0).columns]


def read_table(path: str | Path, *, columns: Sequence[str] | None = None, sheet: str | int | None = None,
               encoding: str | None = None, sep: str | None = None) -> pd.DataFrame:
    """Read a data file into a pandas frame (only ``columns``, if given, after checking they exist).

    CSV / TSV: ``encoding`` (default: detect UTF-8, UTF-8 with BOM, then GB18030/GBK) and ``sep``
    (default: detect among ``,`` ``;`` tab ``|``). ``frame.attrs`` records ``encoding`` and ``sep``
    (text files) and ``notes`` (a list of strings, e.g. year columns written as '2016年' read as integers).
    """
    p = Path(path)
    _check_exists(p)
    fmt = file_format(p)
    _check_text_options(p, fmt, encoding, sep)
    if fmt != "excel" and sheet is not None:
        raise FileFormatError(f"sheet={sheet!r} was given but {p.name!r} is not an Excel workbook",
                              hint="drop the sheet option (CLI: --sheet) for this file")
    if fmt in ("csv", "tsv"):
        try:
            text = open_text(p, fmt, encoding=encoding, sep=sep)
            use = _checked_columns(columns, text.header)
            frame = read_frame(text, use)
        except ProsperityInputError:
            raise
        except Exception as exc:  # noqa: BLE001 - any reader failure becomes a located message
            raise _unreadable(p, fmt, exc) from None
        return parse_year_columns(frame)
    header = read_header(p, sheet=sheet)
    use = _checked_columns(columns, header)
    if fmt == "parquet":
        frame = pd.read_parquet(p, columns=use)
    elif fmt == "stata":
        frame = pd.read_stata(p, columns=use, convert_categoricals=True)
    elif fmt == "feather":
        frame = pd.read_feather(p, columns=use)
    else:
        frame = pd.read_excel(p, sheet_name=excel_sheet(p, sheet), usecols=use)
    frame.attrs["notes"] = []
    return parse_year_columns(frame)


def _checked_columns(columns, header) -> list[str] | None:
    if columns is None:
        return None
    use = list(dict.fromkeys(columns))
    for c in use:
        if c not in header:
            raise column_not_found(c, "requested", header)
    return use


def load(source, income: str | Sequence[str], *, sheet: str | int | None = None, encoding: str | None = None,
         sep: str | None = None, **options) -> Sample:
    """Load a file path or a data frame as a validated :class:`Sample`.

    ``options`` are those of :func:`prosperity.io.from_frame` (weight, strata, psu, fpc, hierarchy,
    groups, components, household_size, adults, children, equivalence, scale, unit, drop_missing);
    ``encoding`` and ``sep`` are those of :func:`read_table` (CSV / TSV files only).
    """
    if isinstance(source, Sample):
        return source
    if isinstance(source, (str, Path)):
        incomes = [income] if isinstance(income, str) else list(income)
        roles = column_roles(incomes, **options)
        header = read_header(source, sheet=sheet, encoding=encoding, sep=sep)
        for col, role in roles:  # check before reading, naming the column's role
            if col not in header:
                raise column_not_found(col, role, header)
        names = [col for col, _ in roles]
        frame = read_table(source, columns=names, sheet=sheet, encoding=encoding, sep=sep)
        options.setdefault("source", Path(source).name)
        return from_frame(frame, income, **options)
    if sheet is not None:
        raise FileFormatError("sheet= only applies when reading an Excel file", hint="drop the sheet option")
    if encoding is not None or sep is not None:
        raise FileFormatError("encoding= and sep= only apply when reading a CSV/TSV file",
                              hint="drop the encoding / sep options")
    _columns_of(source)  # a clear TypeError for unsupported inputs
    return from_frame(source, income, **options)
