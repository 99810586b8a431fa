"""``measure(domain=)`` out of core: a subpopulation measured with the **full** design, exactly as in
memory (R convey's ``subset()``; :func:`prosperity.table.inputs._domain_mask` and
:mod:`prosperity.table.domain_variance`).

A unit outside the domain contributes 0 to every PSU total but keeps its PSU and stratum (so n_h and
the centring of the with-replacement estimator are the full sample's), and relative lines come from
the whole sample, their own error included (with ``line_within_groups=True`` every domain of every layer
is its own line's reference, the domain's own row too: :mod:`prosperity.table.domain_lines`):

    V(domain total) = sum_h c_h [sum_i t_hi^2 - (sum_i t_hi)^2 / n_h],  t_hi = sum_{k in PSU hi} 1{k in D} w_k u_k.

Out of core the membership is made a property of the source's finest group **cell**, so no pass
needs another column and the streaming estimators are unchanged:

- ``COLUMN=VALUE`` / ``COLUMN!=VALUE`` on a label column, and a boolean column: ``COLUMN`` joins the
  group columns and each cell's membership is the in-memory rule applied to the cell's value (the
  same function, :func:`prosperity.table.inputs._mask_of_values`, on the distinct values: the same
  errors for an unknown value or a column that is not True/False);
- a comparison ``COLUMN op NUMBER`` (``>``, ``>=``, ``<``, ``<=``, ``==``, ``!=``; and ``INCOME=NUMBER``
  on the income column): the engine computes a True/False column, ``"<COLUMN> (domain)"`` -- DuckDB:
  ``CAST(COLUMN AS DOUBLE) op CAST('NUMBER' AS DOUBLE)``, the IEEE comparison NumPy makes; Dask and a
  frame in memory: the in-memory NumPy comparison per partition -- which joins the group columns (two
  values: the cells at most double). A missing value (NULL, NaN) is refused, as in memory;
- a boolean array (one value per row): only with a frame in memory (added as a column); a Parquet
  file, a DuckDB relation or a Dask frame has no row positions to align it with.

The streaming layers are then: the whole sample (hidden: the reference of the relative lines and of
the whole-sample line terms), the domain, and each breakdown's groups within the domain; every layer
gets one extra hidden group for the rows outside the domain, so each row still belongs to one domain
of every layer. The hidden domains are computed and dropped (a few more domains, no more passes). A
group with no unit in the domain gets the in-memory missing value and reason ("no unit of ... lies in
the domain ..."); a domain with no unit is refused before any pass (the in-memory message).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..io.errors import MeasureSpecError
from .sources import BackendError
from .streaming import Layer

# DuckDB types CAST(... AS DOUBLE) converts as NumPy's float64 does (no text)
_NUMERIC_SQL = {"BOOLEAN", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "REAL"}


@dataclass(frozen=True)
class StreamDomain:
    """A parsed ``domain=``: ``column`` is the group column of the source that decides membership (the
    named label column, or the True/False column ``derived`` computes)."""

    given: object  # the domain as given (text or array)
    text: str  # as the in-memory note and messages name it
    name: str | None  # the data column the text names
    column: str  # the source's group column that decides membership
    op: str | None = None  # comparison computed by the engine ("==", "!=", ">", ...), else None
    value: float | None = None
    array: np.ndarray | None = None  # a boolean array (frames in memory only)

    @property
    def derived(self) -> bool:
        return self.op is not None or self.array is not None


def parse_domain(domain, income: str) -> StreamDomain:
    """The out-of-core form of ``domain`` (module docstring); the in-memory parse errors."""
    from ..table.inputs import _as_bool
    from ..table.plan import _COMPARISON, _LABEL_EQUALITY

    if not isinstance(domain, str):
        mask = _as_bool(np.asarray(domain), "the domain array")
        return StreamDomain(domain, "given by a boolean array", None, "(domain array)", array=mask)
    text = domain.strip()
    m = _COMPARISON.match(domain)
    if m:
        name = m.group(1)
        return StreamDomain(domain, text, name, f"{name} (domain)", op=m.group(2), value=float(m.group(3)))
    eq = _LABEL_EQUALITY.match(domain)
    if eq and eq.group(1) == income:  # the income is numeric: compare numbers, as in memory
        wanted = eq.group(3).strip().strip("'\"")
        try:
            value = float(wanted)
        except ValueError:
            raise MeasureSpecError(f"domain {domain!r}: column {income!r} is numeric, {wanted!r} is not a number",
                                   hint=f"write e.g. domain='{income} >= 65'") from None
        return StreamDomain(domain, text, income, f"{income} (domain)", op="!=" if eq.group(2) == "!=" else "==",
                            value=value)
    name = eq.group(1) if eq else text
    if name == income:
        raise MeasureSpecError(f"domain {domain!r}: the income column {income!r} is not True/False",
                               hint=f"write a comparison instead, e.g. domain='{income} > 0'")
    return StreamDomain(domain, text, name, name)


def prepare_data(data, kind: str, dom: StreamDomain):
    """(data, source options): the True/False column of a comparison or an array added to a frame or
    Dask frame, or a DuckDB ``derived`` column (SQL); label domains need nothing."""
    if not dom.derived:
        return data, {}
    module = type(data).__module__
    if module.startswith("dask"):
        if dom.array is not None:
            _refuse_array()
        if dom.name not in data.columns:
            from ..io.errors import column_not_found

            raise column_not_found(dom.name, "domain", [str(c) for c in data.columns])
        if data[dom.name].dtype.kind not in "biuf":
            raise _not_numeric(dom)
        col = data[dom.name].map_partitions(_compare_values, dom.given, dom.name, dom.op, dom.value,
                                            meta=(dom.column, "object"))
        return data.assign(**{dom.column: col}), {}
    if kind == "duckdb" and (module.startswith("duckdb") or _is_path(data)):
        if dom.array is not None:
            _refuse_array()
        return data, {"derived": {dom.column: (dom.name, _sql_compare(dom))}}
    frame = _as_frame(data)  # a frame in memory (memory, or a frame streamed through DuckDB / Dask)
    if dom.array is not None:
        if dom.array.shape != (len(frame),):
            raise MeasureSpecError(f"the domain array has {dom.array.size:,} values for {len(frame):,} units",
                                   hint="give one True/False per row used (after rows with missing values are excluded), or a column name")
        return frame.assign(**{dom.column: dom.array}), {}
    if dom.name not in frame.columns:
        from ..io.errors import column_not_found

        raise column_not_found(dom.name, "domain", [str(c) for c in frame.columns])
    return frame.assign(**{dom.column: _compare_values(frame[dom.name], dom.given, dom.name, dom.op, dom.value)}), {}


def cell_membership(cells, dom: StreamDomain) -> np.ndarray:
    """In the domain or not, per cell of the source (``cells``: one row per finest group cell); a domain
    with no unit refused (the in-memory message)."""
    from ..table.inputs import _mask_of_values

    values = cells[dom.column].to_numpy()
    if dom.derived:
        inside = np.asarray([bool(v) for v in values], dtype=bool)
    else:
        inside = np.asarray(_mask_of_values(dom.given, dom.name, values, numeric=False), dtype=bool)
    if not inside.any():
        raise MeasureSpecError(f"the domain {dom.text} holds no unit", hint="check the condition (e.g. 'eqIncome > 0')")
    return inside


def domain_layers(layers: list[Layer], inside: np.ndarray) -> tuple[list[Layer], list[np.ndarray]]:
    """The streaming layers of a domain (module docstring): the hidden whole sample first, then every
    layer of ``layers`` restricted to the domain with one more (hidden) group, the rows outside; and per
    layer of ``layers`` the groups with no unit in the domain."""
    out = [Layer((), ((),), None)]
    empty = []
    for L in layers:
        k = len(L.keys)
        g = np.zeros(inside.size, np.int64) if L.gmap is None else np.asarray(L.gmap, dtype=np.int64)
        out.append(Layer(L.cols, tuple(L.keys) + ((None,) * len(L.cols),), np.where(inside, g, k)))
        empty.append(np.bincount(g[inside], minlength=k) == 0)
    return out, empty


# ============================================================================ the comparison, per engine


def _compare_values(values, domain, name: str, op: str, value: float):
    """The in-memory comparison (NumPy, float64) of a column's values; a missing value stays missing
    (None), so the group-cell check refuses it as the in-memory loader does."""
    import operator

    import pandas as pd

    try:
        x = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise MeasureSpecError(f"domain {domain!r}: column {name!r} is not numeric",
                               hint=f"compare a numeric column, or give a boolean column (e.g. domain='{name}' with True/False)") from None
    ops = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq, "!=": operator.ne}
    out = ops[op](x, value).astype(object)
    out[np.isnan(x)] = None
    return pd.Series(out, index=getattr(values, "index", None), dtype=object)


def _sql_compare(dom: StreamDomain):
    op = "=" if dom.op == "==" else dom.op

    def sql(col: str, typ: str) -> str:
        if typ.upper() not in _NUMERIC_SQL and not typ.upper().startswith("DECIMAL"):
            raise _not_numeric(dom)
        x = f"CAST({col} AS DOUBLE)"
        # NaN: missing (DuckDB orders NaN above every number; NumPy's comparisons are false): refused as NULL
        return f"CASE WHEN isnan({x}) THEN NULL ELSE {x} {op} CAST('{dom.value!r}' AS DOUBLE) END"
    return sql


def _not_numeric(dom: StreamDomain) -> MeasureSpecError:
    return MeasureSpecError(f"domain {dom.given!r}: column {dom.name!r} is not numeric",
                            hint=f"compare a numeric column, or give a boolean column (e.g. domain='{dom.name}' with True/False)")


def _refuse_array():
    raise BackendError("a domain given as a boolean array needs a frame in memory (its rows in order); a Parquet "
                       "file, a DuckDB relation or a Dask frame has no row positions to align it with",
                       hint="add the True/False column to the data and give its name, e.g. domain='in_domain'")


def _is_path(data) -> bool:
    import os

    return isinstance(data, (str, os.PathLike)) or (isinstance(data, (list, tuple)) and bool(data)
                                                     and all(isinstance(p, (str, os.PathLike)) for p in data))


def _as_frame(data):
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    if hasattr(data, "to_pandas"):  # polars, Arrow
        return data.to_pandas()
    return pd.DataFrame(data)
