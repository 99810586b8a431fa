"""Readers for the PySAL/GeoDa spatial weights files ``.gal`` (neighbour lists) and ``.gwt`` (weighted
links), giving a :class:`prosperity.dynamics.SpatialWeights` keyed by the file's region ids.

``.gal`` (libpysal ``GalIO``, GeoDa): a header line, either ``n`` or ``0 n shapefile id_variable``
(four fields; n is then the second), then per region two lines: ``id k`` and the k neighbour ids.

``.gwt`` (libpysal ``GwtIO``, GeoDa): a header ``flag n shapefile id_variable``, then one link a line,
``i j w_ij``. The regions are the ids seen in either column, in order of first appearance as an
origin (libpysal's order without its ``.dbf``), then as a destination.

Ids are read as text (libpysal's default ``str``); ``id_type=int`` reads them as integers.
A malformed file is refused with :class:`WeightsFileError`, naming the file, the line (counted from 1,
the header is line 1) and the fix. Stricter than libpysal on purpose: a region listed twice, a
neighbour count that does not match its line, a link given twice or a header count that does not
match the file are errors, never a silently different matrix.
"""

from __future__ import annotations

from pathlib import Path

from prosperity.dynamics.weights import SpatialWeights
from prosperity.io.errors import ProsperityInputError


class WeightsFileError(ProsperityInputError):
    """A ``.gal`` / ``.gwt`` file that cannot be read; ``path`` and ``line`` (1-based) say where."""

    def __init__(self, path, line: int | None, problem: str, hint: str | None = None):
        self.path = str(path)
        self.line = line
        where = f"{Path(path).name}" + (f" line {line}" if line is not None else "")
        super().__init__(f"{where}: {problem}", hint=hint)


def _lines(path) -> list[str]:
    p = Path(path)
    if not p.is_file():
        raise WeightsFileError(path, None, "the file does not exist", "give the path of a .gal or .gwt weights file")
    raw = p.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("gb18030")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise WeightsFileError(path, line, "the bytes are neither UTF-8 nor GB18030 text",
                                   "save the weights file as plain text (UTF-8)") from None
    return text.splitlines()


def _cast(path, lineno, token, id_type):
    try:
        return id_type(token)
    except (TypeError, ValueError):
        raise WeightsFileError(path, lineno, f"id {token!r} is not a valid {getattr(id_type, '__name__', id_type)}",
                               "read the ids as text (id_type=str) or correct the id") from None


def _count(path, lineno, token, what) -> int:
    try:
        k = int(token)
    except ValueError:
        k = -1
    if k < 0:
        raise WeightsFileError(path, lineno, f"{what} must be a whole number >= 0, got {token!r}")
    return k


def read_gal(path, id_type=str) -> SpatialWeights:
    """Binary neighbour lists from a ``.gal`` file (libpysal ``libpysal.io.open(path).read()``).

    Returns the regions in the file's order with their neighbours in the order listed (a region
    with 0 neighbours is an island). Asymmetric lists (e.g. k-nearest neighbours) are kept as given.
    """
    lines = _lines(path)
    pos = 0  # index of the next line to read

    def next_line(what):
        nonlocal pos
        while pos < len(lines) and not lines[pos].strip():
            pos += 1  # blank lines (a trailing newline, an island's empty neighbour line) are skipped below
        if pos >= len(lines):
            return None, len(lines) + 1
        pos += 1
        return lines[pos - 1].split(), pos

    header, hl = next_line("header")
    if header is None:
        raise WeightsFileError(path, 1, "the file is empty", "a .gal file starts with the number of regions")
    if len(header) not in (1, 4):
        raise WeightsFileError(path, hl, f"the header has {len(header)} fields ({' '.join(header)!r}); a .gal header is "
                               "'n' or '0 n shapefile id_variable'")
    n = _count(path, hl, header[0] if len(header) == 1 else header[1], "the number of regions in the header")
    neighbors: dict = {}
    first_line: dict = {}
    for _ in range(n):
        head, ln = next_line("region")
        if head is None:
            raise WeightsFileError(path, ln, f"the header announces {n} regions but the file ends after {len(neighbors)}",
                                   "correct the count in the header or add the missing regions")
        if len(head) != 2:
            raise WeightsFileError(path, ln, f"expected 'id number_of_neighbours' (two fields), got {' '.join(head)!r}",
                                   "each region takes two lines: 'id k', then its k neighbour ids")
        rid = _cast(path, ln, head[0], id_type)
        k = _count(path, ln, head[1], f"the number of neighbours of region {head[0]!r}")
        if rid in neighbors:
            raise WeightsFileError(path, ln, f"region {head[0]!r} is listed a second time (first at line {first_line[rid]})")
        first_line[rid] = ln
        if k == 0:
            # an island: libpysal writes an empty line, or nothing; accept both
            if pos < len(lines) and not lines[pos].strip():
                pos += 1
            neighbors[rid] = ()
            continue
        if pos >= len(lines):
            raise WeightsFileError(path, ln + 1, f"region {head[0]!r} announces {k} neighbours but the file ends")
        pos += 1
        nb_line, nl = lines[pos - 1].split(), pos
        if len(nb_line) != k:
            raise WeightsFileError(path, nl, f"region {head[0]!r} announces {k} neighbours (line {ln}) but this line lists "
                                   f"{len(nb_line)}", "make the count on the region's line match its neighbour line")
        nb = tuple(_cast(path, nl, t, id_type) for t in nb_line)
        dup = sorted({str(j) for j in nb if nb.count(j) > 1})
        if dup:
            raise WeightsFileError(path, nl, f"region {head[0]!r} lists neighbour(s) {dup} more than once")
        neighbors[rid] = nb
    rest, rl = next_line("end")
    if rest is not None:
        raise WeightsFileError(path, rl, f"the header announces {n} regions but the file goes on ({' '.join(rest)!r})",
                               "correct the count in the header")
    for rid, nb in neighbors.items():
        unknown = [j for j in nb if j not in neighbors]
        if unknown:
            ln = first_line[rid] + 1
            raise WeightsFileError(path, ln, f"neighbour(s) {[str(j) for j in unknown]} of region {rid!r} are not regions "
                                   "of the file", "every neighbour id must have its own entry")
    return SpatialWeights(tuple(neighbors), neighbors)


def read_gwt(path, id_type=str) -> SpatialWeights:
    """Weighted links from a ``.gwt`` file (libpysal ``GwtIO``): w_ij as written (distances, inverse
    distances, kernel values...); transform (e.g. row-standardise) when using them."""
    lines = _lines(path)
    if not lines or not lines[0].strip():
        raise WeightsFileError(path, 1, "the first line is empty", "a .gwt file starts with 'flag n shapefile id_variable'")
    header = lines[0].split()
    if len(header) != 4:
        raise WeightsFileError(path, 1, f"the header has {len(header)} fields ({lines[0].strip()!r}); a .gwt header is "
                               "'flag n shapefile id_variable'", "write e.g. '0 48 states ID' as the first line")
    n = _count(path, 1, header[1], "the number of regions (second field of the header)")
    nb: dict = {}
    vals: dict = {}
    seen: dict = {}
    dests: list = []
    for ln, text in enumerate(lines[1:], start=2):
        f = text.split()
        if not f:
            continue
        if len(f) != 3:
            raise WeightsFileError(path, ln, f"expected 'origin neighbour weight' (three fields), got {text.strip()!r}")
        i, j = _cast(path, ln, f[0], id_type), _cast(path, ln, f[1], id_type)
        try:
            v = float(f[2])
        except ValueError:
            raise WeightsFileError(path, ln, f"the weight {f[2]!r} is not a number") from None
        if v != v or v in (float("inf"), float("-inf")):
            raise WeightsFileError(path, ln, f"the weight {f[2]!r} is not finite")
        if (i, j) in seen:
            raise WeightsFileError(path, ln, f"the link {f[0]} -> {f[1]} is given a second time (first at line {seen[(i, j)]})",
                                   "keep one line per link")
        seen[(i, j)] = ln
        nb.setdefault(i, []).append(j)
        vals.setdefault(i, []).append(v)
        dests.append(j)
    if not nb:
        raise WeightsFileError(path, 2, "the file has a header but no links")
    ids = list(nb)
    known = set(ids)
    for j in dests:
        if j not in known:
            ids.append(j)
            known.add(j)
    if len(ids) != n:
        raise WeightsFileError(path, 1, f"the header announces {n} regions but the links name {len(ids)} distinct ids",
                               "correct the count in the header (a region without any link cannot be written in .gwt)")
    return SpatialWeights(tuple(ids), {i: tuple(nb.get(i, ())) for i in ids}, {i: tuple(vals.get(i, ())) for i in ids})


def read_weights(path, id_type=str) -> SpatialWeights:
    """:func:`read_gal` or :func:`read_gwt` by the file's extension."""
    ext = Path(path).suffix.lower()
    if ext == ".gal":
        return read_gal(path, id_type)
    if ext == ".gwt":
        return read_gwt(path, id_type)
    raise WeightsFileError(path, None, f"unknown weights format {ext!r}", "give a .gal or .gwt file")
