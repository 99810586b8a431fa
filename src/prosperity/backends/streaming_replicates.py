"""The bootstrap out of core (``se_method="bootstrap"`` / ``"rescaled_bootstrap"``): the in-memory
replicates (:mod:`prosperity.table.bootstrap`), every one estimated in the same (at most three)
passes as the point estimates.

Replicate weights. In memory a replicate multiplies each unit's weight by its PSU's multiplier,
drawn per stratum by :func:`prosperity.variance.bootstrap.replicate_multipliers` from the sorted
strata and, within each stratum, the PSUs in the order of their codes. The streaming sources code the
(stratum, PSU) pairs in sorted order (strata by label, PSUs by label within their stratum), which is
the in-memory order whenever the PSU labels are integers (``stratum_psu_codes`` combines integer
labels arithmetically, ascending). So the same seed gives the same ``(R, n_psu)`` multiplier matrix,
column for column, and the out-of-core replicates are the in-memory ones.

Refused, because the in-memory draws cannot be reproduced from a stream (never approximated):

- no PSU column (every unit its own PSU): the in-memory multipliers are drawn per *unit*, by its row
  position in the whole sample (an ``(R, n)`` matrix); a stream has no row positions (DuckDB does not
  keep the scan order) and holding R x n multipliers is not out of core;
- PSU labels that are not integers: in memory they are coded in order of first appearance in the
  rows (``pd.factorize``), so the draws depend on the file's row order, which a stream does not keep.

Estimation. The sort order does not depend on the weights, so every replicate is one more copy of
every domain: a piece of rows becomes R + 1 copies (copy 0: the point weights; copy r: the weights
times the multipliers of replicate r, units of weight 0 dropped as in memory), copy r of domain d is
the streaming domain r * D + d, and the passes of :func:`prosperity.backends.streaming.evaluate_stream`
run unchanged on the copies (running sums, quantiles, Gini sums, Lorenz boundaries per copy; relative
lines per replicate from the replicate's whole sample -- copy r of the whole sample -- as in memory).
The SE is the replicates' standard deviation (ddof 1), the percentile interval their quantiles, by the
in-memory :func:`prosperity.table.bootstrap.replicate_spread`.

Memory: a piece of p rows becomes at most p (R + 1) rows, cut into sub-pieces of at most
``piece_rows`` expanded rows (the source's piece size), so a pass holds O(piece) -- O(p x R) before
the cut; the state is O(domains x R) (per copy and domain: N, Y, the bases' totals, the running sums
and quantile states) plus the multipliers, (R + 1) x n_psu floats.
"""

from __future__ import annotations

import numpy as np

from ..io.errors import MeasureSpecError
from .streaming import Layer, StreamOutput, evaluate_stream

PIECE_ROWS: int | None = None  # expanded rows per piece; None: the source's piece size (tests set it small)
_INTEGER_SQL = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
                "UHUGEINT"}


def check_replicable(source, data, psu: str | None, method: str) -> None:
    """Refuse a design whose in-memory replicates a stream cannot reproduce (module docstring)."""
    if psu is None or source.design.unit_psus:
        raise MeasureSpecError(
            f"se_method={method!r} out of core needs a PSU column: without one every unit is its own PSU and the "
            "in-memory replicate draws follow each unit's row position in the whole sample (R x n multipliers), "
            "which a stream neither keeps nor can hold",
            hint="give psu= (e.g. the household id), or use se_method='linearization', or backend='memory'")
    kind = _psu_kind(source, data, psu)
    if kind is not None and kind not in "iu":
        raise MeasureSpecError(
            f"se_method={method!r} out of core needs integer PSU labels: PSU column {psu!r} holds "
            f"{ {'f': 'floats', 'O': 'text', 'U': 'text', 'S': 'text', 'b': 'booleans'}.get(kind, 'non-integers') }, "
            "which the in-memory bootstrap codes in order of first appearance in the rows, so its draws depend on "
            "a row order that a stream does not keep", column=psu,
            hint=f"recode {psu!r} as integers (e.g. a dense rank of the labels) in the source, or use "
            "se_method='linearization', or backend='memory'")


def _psu_kind(source, data, psu: str) -> str | None:
    """NumPy dtype kind of the PSU labels ('i', 'u', 'f', 'O', ...), None when unknown."""
    types = getattr(source, "column_types", None)
    if types is not None and psu in types:  # DuckDB
        t = types[psu].upper()
        return "i" if t in _INTEGER_SQL else ("f" if t in ("FLOAT", "DOUBLE", "REAL") or t.startswith("DECIMAL") else "O")
    try:
        return np.dtype(data[psu].dtype).kind
    except (TypeError, KeyError, AttributeError):
        try:
            return np.asarray(data[psu]).dtype.kind
        except Exception:  # pragma: no cover - a source without the column was refused before
            return None


def multiplier_matrix(design, method: str, replicates: int, seed: int) -> np.ndarray:
    """(R + 1, n_psu): row 0 all ones (the point estimate), rows 1..R the in-memory replicate
    multipliers of ``seed`` (:func:`prosperity.variance.bootstrap.replicate_multipliers`, no fpc)."""
    from ..variance.bootstrap import replicate_multipliers

    rows = [np.ones((1, design.n_groups))]
    rows.extend(replicate_multipliers(design.psu_stratum, None, replicates=replicates, method=method, seed=seed))
    return np.vstack(rows)


class _Copies:
    """A source whose pieces hold every row once per copy (module docstring): code = copy x n_cells + cell."""

    def __init__(self, source, mult: np.ndarray, n_cells: int, piece_rows: int):
        self.source, self.mult, self.n_cells = source, mult, n_cells
        self.design = source.design
        self.cell_radix = 1
        self.name = source.name
        self.piece_rows = max(int(piece_rows), 1)

    def _expand(self, pieces):
        radix = getattr(self.source, "cell_radix", None)
        C = self.mult.shape[0]
        step = max(1, self.piece_rows // C)
        copy_base = (np.arange(C, dtype=np.int64) * self.n_cells)[:, None]
        for ch in pieces:
            y, w = np.asarray(ch["y"], dtype=np.float64), np.asarray(ch["w"], dtype=np.float64)
            code = np.asarray(ch["psu"], dtype=np.int64)
            if radix:
                cell = code // radix
                psu = code - cell * radix
            else:
                cell, psu = np.zeros(code.size, np.int64), code
            for a in range(0, y.size, step):
                b = a + step
                W = w[None, a:b] * self.mult[:, psu[a:b]]
                keep = W > 0
                keep[0] = True  # copy 0: every row, so the passes' checks (weights, incomes) still see each one
                yield {"y": np.broadcast_to(y[a:b], W.shape)[keep], "w": W[keep],
                       "psu": (copy_base + cell[None, a:b])[keep]}

    def chunks(self):
        return self._expand(self.source.chunks())

    def sorted_chunks(self, stable: bool = False):
        return self._expand(self.source.sorted_chunks(stable=stable))


def evaluate_replicates(source, spec, layers: list[Layer], mult: np.ndarray, *, strata_name=None, income="income",
                        domain_check=None, check_cells=None, piece_rows: int | None = None):
    """(point rows, replicate values): ``spec`` (``se=False``) on copy 0 and on every replicate, in the
    passes of one :func:`evaluate_stream` over the copies. The point rows are the StreamRows of copy 0
    (``layer``, ``group`` as in ``layers``); ``values[i]``: the R replicate values of point row i
    (NaN where the estimate failed), rows in the same order."""
    C = mult.shape[0]
    n_cells = len(source.cells) if getattr(source, "cells", None) is not None else 1
    if layers[0].gmap is not None or len(layers[0].keys) != 1:  # pragma: no cover - internal
        raise AssertionError("the whole sample is the first layer")
    wide, ref = [], []
    for L in layers:
        k = len(L.keys)
        g = np.zeros(n_cells, np.int64) if L.gmap is None else np.asarray(L.gmap, dtype=np.int64)
        wide.append(Layer(L.cols, tuple(L.keys) * C, (np.arange(C, dtype=np.int64)[:, None] * k + g[None, :]).ravel()))
        ref.append(np.repeat(np.arange(C, dtype=np.int64), k))  # copy r's lines: copy r of the whole sample
    check = np.zeros(C * n_cells, bool)
    check[:n_cells] = True if check_cells is None else np.asarray(check_cells, dtype=bool)
    rows_src = _Copies(source, mult, n_cells, piece_rows or PIECE_ROWS or getattr(source, "chunk_rows", 1 << 21))
    out = evaluate_stream(rows_src, spec, wide, strata_name=strata_name, income=income, domain_check=domain_check,
                          ref_dom=np.concatenate(ref), check_cells=check)
    point, index = [], {}
    values = []
    for row in out.rows:
        k = len(layers[row.layer].keys)
        copy, g = divmod(row.group, k)
        if copy == 0:
            row.group = g
            index[(row.layer, g, row.label)] = len(point)
            point.append(row)
            values.append(np.full(C - 1, np.nan))
        elif row.undefined is None:
            values[index[(row.layer, g, row.label)]][copy - 1] = row.value
    n = next(r.n for r in point if r.layer == 0)  # the rows of the source (copy 0 of the whole sample)
    return StreamOutput(point, out.passes, n, out.national), np.vstack(values) if values else np.zeros((0, C - 1))
