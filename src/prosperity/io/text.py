"""Delimited text files (CSV / TSV, optionally compressed): encoding, separator, header and row checks.

Everything here refuses to guess silently: a file is decoded with the encoding named by the caller,
or else as UTF-8 (with or without a byte-order mark) and then as GB18030 (a superset of GBK, what
Chinese statistical software and Excel write); the separator is the one named by the caller or the
one of ``,`` ``;`` tab ``|`` that splits the first lines into the same number of fields; duplicated
column names, rows with too many or too few fields, unterminated quotes and a parse that does not
give one row per data line are all refused with the file, the line and the fix.
"""

from __future__ import annotations

import bz2
import codecs
import csv
import gzip
import io
import itertools
import lzma
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import FileFormatError, InvalidValueError, offending_rows

AUTO_ENCODINGS = ("utf-8-sig", "gb18030")
SEPARATORS = (",", ";", "\t", "|")
SEP_NAMES = {",": "','", ";": "';'", "\t": "tab ('\\t')", "|": "'|'"}
SNIFF_RECORDS = 50
csv.field_size_limit(2**31 - 1)


def sep_name(sep: str) -> str:
    return SEP_NAMES.get(sep, repr(sep))


def _sep_arg(sep: str) -> str:
    return "'\\t'" if sep == "\t" else repr(sep)


@dataclass
class Text:
    """A decoded delimited file: its text, the encoding and separator used, and the header."""

    name: str
    text: str
    encoding: str
    sep: str
    header: list[str]
    notes: list[str]


def raw_bytes(p: Path) -> tuple[bytes, bool]:
    """The file's bytes, decompressed according to its extension; (bytes, was_compressed)."""
    ext = p.suffix.lower()
    if ext == ".gz":
        with gzip.open(p, "rb") as f:
            return f.read(), True
    if ext == ".bz2":
        with bz2.open(p, "rb") as f:
            return f.read(), True
    if ext == ".xz":
        with lzma.open(p, "rb") as f:
            return f.read(), True
    if ext == ".zip":
        with zipfile.ZipFile(p) as z:
            members = [m for m in z.infolist() if not m.is_dir() and not m.filename.startswith("__MACOSX/")]
            if len(members) != 1:
                raise FileFormatError(
                    f"the zip archive {p.name!r} holds {len(members)} files "
                    f"({', '.join(repr(m.filename) for m in members[:5])}{', ...' if len(members) > 5 else ''})",
                    hint="a zipped CSV must contain exactly one file: unzip it and name the file to read")
            return z.read(members[0]), True
    if ext == ".zst":
        try:
            import zstandard
        except ImportError:
            raise FileFormatError(f"reading {p.name!r} needs the 'zstandard' package",
                                  hint="install it (pip install zstandard) or decompress the file first") from None
        with open(p, "rb") as f:
            return zstandard.ZstdDecompressor().stream_reader(f).read(), True
    return p.read_bytes(), False


def _where(raw: bytes, offset: int) -> str:
    line = raw.count(b"\n", 0, offset) + 1
    return f"0x{raw[offset]:02x} at byte offset {offset:,} on line {line:,}" if offset < len(raw) else \
        f"at the end of the data (byte offset {offset:,}, line {line:,}): the file ends in the middle of a character"


def decode(name: str, raw: bytes, encoding: str | None, compressed: bool) -> tuple[str, str]:
    """(text, encoding used); a located FileFormatError if no encoding fits."""
    of = " of the uncompressed content" if compressed else ""
    if encoding is not None:
        try:
            codec = codecs.lookup(encoding).name
        except (LookupError, TypeError):
            raise FileFormatError(f"unknown encoding {encoding!r} for {name!r}",
                                  hint="name a Python codec, e.g. encoding='utf-8', 'gb18030', 'gbk', 'cp1252', 'latin-1' "
                                  "or 'utf-16'") from None
        shift = len(codecs.BOM_UTF8) if codec in ("utf-8", "utf-8-sig") and raw.startswith(codecs.BOM_UTF8) else 0
        try:
            text = raw[shift:].decode("utf-8" if shift else codec)
        except UnicodeDecodeError as exc:
            raise FileFormatError(
                f"cannot decode {name!r} with encoding={encoding!r}: the first bad byte is "
                f"{_where(raw, shift + exc.start)}{of} "
                f"(encodings tried: {encoding})",
                hint="name the file's real encoding with encoding='...' (e.g. 'gb18030' for GBK/Chinese exports, "
                "'cp1252' or 'latin-1' for Western European ones, 'utf-16' for Excel 'Unicode text'), or leave "
                "encoding out to detect UTF-8 / GB18030") from None
        used = "utf-8-sig" if shift or (codec == "utf-8" and text.startswith("\ufeff")) else encoding
        return text.removeprefix("\ufeff"), used
    bom = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0
    try:
        return raw[bom:].decode("utf-8").removeprefix("\ufeff"), "utf-8-sig"
    except UnicodeDecodeError as exc:
        off_utf8 = bom + exc.start  # the offset in the file, the BOM included
        _refuse_damaged_utf8(name, raw, off_utf8, bom + exc.end, exc.reason, bool(bom), of)
    try:
        return raw.decode("gb18030").removeprefix("\ufeff"), "gb18030"
    except UnicodeDecodeError as exc:
        off_gb = exc.start
    raise FileFormatError(
        f"cannot decode {name!r}: it is neither UTF-8 nor GB18030/GBK (encodings tried: {', '.join(AUTO_ENCODINGS)}); "
        f"the first bad byte is {_where(raw, off_utf8)}{of} as UTF-8, and {_where(raw, off_gb)} as GB18030",
        hint="name the file's encoding with encoding='...' (e.g. encoding='cp1252' or 'latin-1' for Western European "
        "exports, encoding='utf-16' for Excel 'Unicode text'; CLI users: save the file again as UTF-8), or check that "
        "the file is really text and not truncated or binary")


UTF8_EVIDENCE = 3  # non-ASCII characters that decode as UTF-8 before the first bad byte


def _refuse_damaged_utf8(name: str, raw: bytes, start: int, end: int, reason: str, bom: bool, of: str) -> None:
    """A UTF-8 file cut in the middle of a character, with a UTF-8 byte-order mark, or with a damaged byte
    after real UTF-8 text, is refused instead of being misread as GB18030 (which would garble its characters)."""
    truncated = reason == "unexpected end of data" and end == len(raw)
    good = sum(ord(c) > 127 for c in raw[:start].decode("utf-8").removeprefix("\ufeff"))
    not_tried = "GB18030 was not tried, as it would misread the UTF-8 characters"
    if truncated:
        raise FileFormatError(
            f"cannot decode {name!r}: it is UTF-8 but ends in the middle of a character ({_where(raw, start)}"
            f"{of}), so the file looks truncated (encodings tried: utf-8-sig; {not_tried})",
            hint="re-export the file and check that the export finished; if it really is GBK/GB18030, name it with "
            "encoding='gb18030'")
    if good >= UTF8_EVIDENCE or bom:
        evidence = "starts with a UTF-8 byte-order mark" if bom else f"reads as UTF-8 ({good:,} non-ASCII characters)"
        raise FileFormatError(
            f"cannot decode {name!r}: it {evidence} up to a bad byte, "
            f"{_where(raw, start)}{of}, so it is probably UTF-8 with a damaged byte (encodings tried: utf-8-sig; "
            f"{not_tried})",
            hint="repair or re-export that line as UTF-8, or name the file's real encoding with encoding='...' "
            "(encoding='gb18030' for GBK/GB18030, 'cp1252' or 'latin-1' for Western European exports)")


def _records(text: str, sep: str):
    """(line number where the record starts, fields), skipping blank lines like pandas does.

    A malformed record gives (its first line, the csv.Error) and ends the iteration.
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, quotechar='"', doublequote=True, strict=True)
    end = 0
    while True:
        start = end + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield start, exc
            return
        end = reader.line_num
        if row:
            yield start, row


def _sniff(text: str, default: str) -> str:
    """The separator among ``,`` ``;`` tab ``|`` splitting the first records into equal, >1 field counts."""
    if len(text) > 1_000_000:  # the first records are enough; cut at a line end
        text = text[: text.rfind("\n", 0, 1_000_000) + 1] or text
    best = None
    for pref, sep in enumerate(sorted(SEPARATORS, key=lambda s: s != default)):
        counts = []
        for _, row in itertools.islice(_records(text, sep), SNIFF_RECORDS):
            if isinstance(row, Exception):
                break
            counts.append(len(row))
        if not counts or counts[0] < 2:
            continue
        consistent = all(c == counts[0] for c in counts)
        score = (consistent, counts[0] if consistent else sum(c == counts[0] for c in counts), -pref)
        if best is None or score > best[0]:
            best = (score, sep)
    return default if best is None else best[1]


def _check_sep(sep) -> str:
    if sep in ("\\t", "tab"):
        return "\t"
    if not isinstance(sep, str) or len(sep) != 1 or sep in ('"', "\n", "\r"):
        raise FileFormatError(f"sep={sep!r} is not a usable separator",
                              hint="name one character: sep=',', sep=';', sep='\\t' (tab) or sep='|'")
    return sep


def open_text(p: Path, fmt: str, *, encoding: str | None = None, sep: str | None = None) -> Text:
    """Decode ``p``, choose the separator, read and check the header (no data rows yet)."""
    raw, compressed = raw_bytes(p)
    text, used = decode(p.name, raw, encoding, compressed)
    notes = []
    if used == "gb18030" and encoding is None:
        notes.append(f"{p.name!r} is not valid UTF-8 and was decoded as GB18030 (GBK); if it is in another "
                     "encoding (e.g. cp1252), pass encoding='...'")
    if not text.strip():
        raise FileFormatError(f"file {p.name!r} is empty (no header line, no data)",
                              hint="check that the export finished and that you named the right file")
    default = "\t" if fmt == "tsv" else ","
    chosen = _check_sep(sep) if sep is not None else _sniff(text, default)
    first = next(_records(text, chosen), None)
    if first is None:
        raise FileFormatError(f"file {p.name!r} is empty (no header line, no data)",
                              hint="check that the export finished and that you named the right file")
    line, header = first
    if isinstance(header, Exception):
        raise FileFormatError(f"cannot read the header of {p.name!r}: the record starting on line {line:,} is not valid delimited text ({header})",
                              hint="check the quotes on that line (a value with the separator, a quote or a line break "
                              "must be enclosed in double quotes, and a quote inside it doubled)")
    header = [h if h != "" else f"Unnamed: {i}" for i, h in enumerate(header)]
    check_duplicates(p.name, header)
    return Text(p.name, text, used, chosen, header, notes)


def check_duplicates(name: str, header: list[str]) -> None:
    """Refuse duplicated column names (pandas would silently rename the second 'x' to 'x.1')."""
    positions: dict[str, list[int]] = {}
    for i, h in enumerate(header, start=1):
        positions.setdefault(h, []).append(i)
    dups = {h: pos for h, pos in positions.items() if len(pos) > 1}
    if not dups:
        return
    parts = [f"{h!r} in columns {', '.join(str(i) for i in pos[:-1])} and {pos[-1]}" for h, pos in list(dups.items())[:5]]
    more = f" and {len(dups) - 5} more" if len(dups) > 5 else ""
    first = next(iter(dups))
    raise FileFormatError(
        f"{name!r} has duplicated column names: {'; '.join(parts)}{more} (columns counted from 1); "
        f"they would be read as {first!r} and {first + '.1'!r} without telling which is which",
        column=first,
        hint="give every column a unique name in the file (rename or delete the extra copy) and read it again")


def _plain_record_count(t: Text, ncols: int) -> int | None:
    """Fast path for files without quotes: each non-blank line is one record and its field count is the
    number of separators + 1 (``str.count`` per line, ~10x faster than the csv module). Returns the
    number of data records when every line has ``ncols`` fields, else None (the exact scan then finds
    and names the bad line)."""
    if '"' in t.text:
        return None
    body = t.text.replace("\r\n", "\n")
    if "\r" in body:
        return None
    if ncols == 1:
        lines = [line for line in body.split("\n")[1:] if line]
        return None if any(not line.strip() for line in lines) else len(lines)
    # separators and line ends are ASCII, never part of a UTF-8 multi-byte character: count them on the bytes
    raw = np.frombuffer(body.encode("utf-8"), dtype=np.uint8)
    if raw.size == 0:
        return 0
    ends = np.flatnonzero(raw == 10)
    if raw[-1] != 10:
        ends = np.append(ends, raw.size)
    starts = np.concatenate([[0], ends[:-1] + 1])
    seps = np.flatnonzero(raw == ord(t.sep))
    per_line = np.searchsorted(seps, ends) - np.searchsorted(seps, starts)
    data = (ends > starts)[1:]  # blank lines are skipped (as pandas does); line 0 is the header
    if np.any(per_line[1:][data] != ncols - 1):
        return None
    return int(np.sum(data))


def read_frame(t: Text, use: list[str] | None) -> pd.DataFrame:
    """Check every record's field count, then parse with pandas; one row per data line, or an error."""
    ncols = len(t.header)
    fast = _plain_record_count(t, ncols)
    n = 0 if fast is None else fast
    records = _records(t.text, t.sep) if fast is None else iter([(1, t.header)])
    next(records)  # the header, already checked
    ends_cleanly = t.text.endswith(("\n", "\r"))
    for line, row in records:
        if isinstance(row, Exception):
            raise FileFormatError(
                f"{t.name!r} is not valid delimited text in the record starting on line {line:,} ({row})"
                + ("; a quoted value opened there is never closed, so the file looks truncated or a quote is stray"
                   if "end of data" in str(row) else ""),
                hint="check the quotes there (a value with the separator, a quote or a line break must be enclosed in "
                "double quotes, and a quote inside it doubled), and that the export finished")
        n += 1
        if ncols == 1 and len(row) == 1 and row[0] != "" and not row[0].strip():
            raise FileFormatError(
                f"line {line:,} of {t.name!r} holds only spaces; in a one-column file such a line would be skipped, "
                "silently dropping a row",
                hint="write NA (or leave the line empty between quotes, \"\") for a missing value, or delete the line")
        if len(row) != ncols:
            last = next(records, None) is None
            if len(row) > ncols:
                why = (f"line {line:,} of {t.name!r} has {len(row)} fields but the header has {ncols} "
                       f"(separator {sep_name(t.sep)}); the extra values would be shifted into the wrong columns")
                hint = (f"quote values that contain {sep_name(t.sep)} (e.g. a thousands separator or a decimal comma), "
                        "add the missing column name to the header, or name the right separator with sep='...'")
            else:
                why = (f"line {line:,} of {t.name!r} has {len(row)} field{'s' if len(row) != 1 else ''} but the header "
                       f"has {ncols} (separator {sep_name(t.sep)})")
                if last and not ends_cleanly:
                    why += "; it is the last line and has no line end, so the file looks truncated"
                hint = ("re-export the file and check that the export finished, or complete that line (leave a value "
                        "empty, but keep its separator)")
            raise FileFormatError(why, hint=hint)
    frame = pd.read_csv(io.StringIO(t.text), sep=t.sep, header=0, index_col=False, usecols=use, low_memory=False,
                        quotechar='"', doublequote=True, skip_blank_lines=True)
    if len(frame) != n:
        raise FileFormatError(
            f"{t.name!r} has {n:,} data lines but was parsed into {len(frame):,} rows",
            hint="the file has an unusual layout (e.g. whitespace-only lines or stray quotes): clean it and read it again")
    frame.attrs["encoding"] = t.encoding
    frame.attrs["sep"] = t.sep
    frame.attrs["notes"] = list(t.notes)
    return frame


_YEAR = re.compile(r"^\s*(\d{4})\s*年\s*$")


def parse_year_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns of '2016年' values become integer years (noted); a column mixing the form with others is refused."""
    notes = frame.attrs.setdefault("notes", [])
    for col in frame.columns:
        s = frame[col]
        if not (s.dtype == object or pd.api.types.is_string_dtype(s.dtype)):
            continue
        try:  # cheap, vectorised screen before the per-value check
            if not s.str.contains("年", regex=False, na=False).any():
                continue
        except AttributeError:  # an object column without strings
            continue
        present = s.notna().to_numpy()
        values = s.to_numpy(dtype=object)
        match = np.array([bool(isinstance(v, str) and _YEAR.match(v)) for v in values])
        if not match.any():
            continue
        bad = present & ~match
        if bad.any():
            rows, n, examples = offending_rows(bad, values)
            raise InvalidValueError(
                f"column {str(col)!r} mixes years written as '2016年' ({int(match.sum()):,} value{'s' if match.sum() != 1 else ''}) with "
                f"{n:,} other value{'s' if n != 1 else ''}", column=str(col), rows=rows, n_rows=n, examples=examples,
                hint="write every year the same way (e.g. all as 2016, or all as 2016年) and leave missing years empty")
        years = np.array([int(_YEAR.match(v).group(1)) if m else np.nan for v, m in zip(values, match)], dtype=float)
        missing = int((~present).sum())
        frame[col] = years.astype(np.int64) if missing == 0 else years
        notes.append(f"column {str(col)!r}: years written as '2016年' were read as integers"
                     + (f" ({missing:,} missing value{'s' if missing != 1 else ''} kept as NaN, so stored as floats)" if missing else ""))
    return frame
