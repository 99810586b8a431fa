"""Design-based standard errors of the nested GE decomposition out of core, from the same one pass.

The in-memory SEs (:mod:`prosperity.decompose.linearize`) reduce, per level j, a linearized variable
of each row to PSU totals t_c = sum over PSU c of w_i u_i. Every such variable is, inside one finest
cell l of the hierarchy (one tuple of level labels, so one unit of every level), a fixed combination
of three *basis* terms of the row,

    u_i = A_l + B_l y_i + C_l f(y_i),      f(y) = y ln y (Theil T), ln y (MLD), y^a (GE(a)),

with coefficients that depend only on the totals N, Y, M and the units' N_u, Y_u (the module doc of
``linearize``; G the GE function of totals, h its smoothed term, mu_u = Y_u / N_u):

    total GE:      A = G_N,                     B = G_Y,                     C = G_M
    B_j:           A = G_N + G_M h_N(u_j(l)),   B = G_Y + G_M h_Y(u_j(l)),   C = 0
                   (partials of G at N, Y, M_j = sum_u h(N_u, Y_u); u_j(l) the level-j unit of cell l)

and the components (between_1 = B_1, between_j = B_j - B_{j-1}, within = GE - B_K) and shares (ratio
rule) are linear in these. So the one GROUP BY over (cell, stratum, PSU) that also gives the
decomposition's sums yields, per pair (l, c), W_lc = sum w, WY_lc = sum w y and WF_lc = sum w f(y),
and after the pass

    t_c = sum over the cells l present in PSU c of  A_l W_lc + B_l WY_lc + C_l WF_lc        (1)

exactly the PSU totals of the in-memory linearized variables (up to the order of the additions).
The variance is then the with-replacement (ultimate-cluster) estimator of
:meth:`prosperity.variance.Design.variance_of_totals` over these t_c, with the design (strata, PSUs,
fpc, ``lonely_psu`` rule) rebuilt from the distinct (stratum, PSU) pairs of the same table.

Without a PSU column every row is its own PSU, and the PSU totals would be the rows themselves. The
pass then groups by (cell, stratum) and also sums the products of the basis terms
(x = (w, w y, w f): sum x_p x_q, six per measure), so that with t_i = A_l w_i + B_l w_i y_i + C_l w_i f_i

    S1_h = sum_{i in h} t_i   = sum_{l} A_l W_lh + B_l WY_lh + C_l WF_lh
    S2_h = sum_{i in h} t_i^2 = sum_{l} [A B C]_l (sum x x^T)_lh [A B C]_l^T                  (2)
    V    = sum_h (1 - f_h) n_h / (n_h - 1) (S2_h - S1_h^2 / n_h)

(n_h rows in stratum h; a single-row stratum as ``lonely_psu``: 'adjust' centres at 0 with factor 1,
'remove' / 'certainty' contribute 0), the same estimator as in memory.

Memory: the pair table, one row per (cell, PSU) present (about the number of PSUs when PSUs lie inside
the lowest-level units, as in a geographic sample), or per (cell, stratum). The rows are read once.

References: J.-C. Deville (1999), Survey Methodology 25(2), 193-203 (linearization); G. Osier (2009),
Survey Research Methods 3(3), 167-195; T. Lumley, R package ``survey`` (``svyrecvar``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..decompose.linearize import combine, design_rows, ge_partials, smoothed_terms
from ..io.errors import DesignError, InvalidValueError, column_not_found
from ..variance.columns import check_lonely_rule, refuse_lonely_psus
from ..variance.design import Design, dense_codes
from .sources import DEFAULT_CHUNK_ROWS, BackendError, _sql_name

_STRATA, _PSU, _FPC, _UNIT = "__strata", "__psu", "__fpc", "__unit"
_ROLES = {"strata": "strata", "psu": "PSU", "fpc": "fpc"}


def f_name(alpha: float) -> str:
    """The pass's column of sum w f(y) for GE(alpha)."""
    from .decompose import _pow_name

    return "wylny" if alpha == 1.0 else "wlny" if alpha == 0.0 else _pow_name(alpha)


@dataclass(frozen=True, eq=False)
class PairTable:
    """The one pass's result with a design: the cell table (as :func:`~prosperity.backends.decompose.cell_sums`
    gives it), and per (cell, PSU) pair -- or (cell, stratum) pair when every row is its own PSU
    (``element``) -- its cell, its PSU (or stratum) code and the sums ``pairs``; ``design`` once built."""

    cells: pd.DataFrame
    cell: np.ndarray
    pairs: pd.DataFrame
    element: bool
    unit: np.ndarray | None = None
    design: Design | None = None


def wants_design(design=None, strata=None, psu=None, fpc=None) -> bool:
    return design is not None or any(v is not None for v in (strata, psu, fpc))


# ------------------------------------------------------------------------------------------- the pass


def _source_columns(data, kind: str) -> list[str]:
    if kind == "duckdb":
        if type(data).__module__.startswith("duckdb"):
            return [str(c) for c in data.columns]
        import pyarrow.parquet as pq

        from .sources import parquet_files

        return list(pq.read_schema(parquet_files(data)[0]).names)
    return [str(c) for c in (data.columns if hasattr(data, "columns") else data)]


def _check_design_columns(columns, strata, psu, fpc) -> None:
    for key, col in (("strata", strata), ("psu", psu), ("fpc", fpc)):
        if col is not None and col not in columns:
            raise column_not_found(col, _ROLES[key], columns)


def design_pass(data, kind: str, income: str, levels: Sequence[str], weight: str | None, alphas: Sequence[float],
                measures_alphas: Sequence[float], *, strata=None, psu=None, fpc=None, lonely_psu: str = "fail",
                design=None, **options) -> PairTable:
    """The one pass over the rows grouped by (cell, PSU), or by (cell, stratum) without PSUs, on the
    backend ``kind``. ``alphas``: the GE(a) powers the pass sums (a not in {0, 1}); ``measures_alphas``:
    the measures asked (their f(y) terms get the products of (2) when every row is its own PSU)."""
    from .decompose import cell_sums_dask, cell_sums_duckdb, cell_sums_memory

    check_lonely_rule(lonely_psu)
    second = tuple(dict.fromkeys(f_name(a) for a in measures_alphas))
    levels = list(levels)
    if kind == "memory":
        if hasattr(data, "to_pandas") and not isinstance(data, pd.DataFrame):
            data = data.to_pandas()
        _check_design_columns(_source_columns(data, kind), strata, psu, fpc)
        # the in-memory design with its checks and messages (data rows named): decompose.linearize.design_rows
        names = {k: v for k, v in dict(strata=strata, psu=psu, fpc=fpc).items() if v is not None}
        rows = design_rows(np.asarray(data[income]), None, design=design, lonely_psu=lonely_psu, names=names,
                           **{k: data[v] for k, v in names.items()})
        built = rows.design
        element = design is None and psu is None
        unit = built.psu_stratum[rows.psu] if element else np.asarray(rows.psu, dtype=np.int64)
        pairs = cell_sums_memory(data, income, levels, weight, alphas, options.get("chunk_rows", DEFAULT_CHUNK_ROWS),
                                 extra_keys={_UNIT: unit}, second=second if element else ())
        cells, cell = _cells_of_pairs(pairs, levels, [_UNIT])
        return PairTable(cells, cell, pairs, element, pairs[_UNIT].to_numpy(np.int64), built)
    if design is not None:
        raise BackendError("design= (a Design built for rows in memory) cannot be used out of core: the rows of a "
                           "Parquet scan or a Dask frame have no fixed order to match its codes to",
                           hint="pass the design columns instead: strata=, psu=, fpc= (and lonely_psu=)")
    _check_design_columns(_source_columns(data, kind), strata, psu, fpc)
    element = psu is None
    keys = [k for k, col in ((_STRATA, strata), (_PSU, psu), (_FPC, fpc)) if col is not None]
    if kind == "duckdb":
        exprs = {_STRATA: _sql_name(strata) if strata else None, _PSU: _sql_name(psu) if psu else None,
                 _FPC: f"TRY_CAST({_sql_name(fpc)} AS DOUBLE)" if fpc else None}
        pairs = cell_sums_duckdb(data, income, levels, weight, alphas, extra_keys={k: exprs[k] for k in keys},
                                 second=second if element else (), **options)
    else:
        cols = {_STRATA: (strata, False), _PSU: (psu, False), _FPC: (fpc, True)}
        pairs = cell_sums_dask(data, income, levels, weight, alphas, extra_keys={k: cols[k] for k in keys},
                               second=second if element else (), chunk_rows=options.get("chunk_rows"))
    cells, cell = _cells_of_pairs(pairs, levels, keys)
    return PairTable(cells, cell, pairs, element)


def _cells_of_pairs(pairs: pd.DataFrame, levels: list[str], keys: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """The cell table (the pair sums added over the design keys) and the cell of every pair."""
    g = pairs.groupby(levels, sort=False, dropna=False, observed=True)
    cell = g.ngroup().to_numpy(np.int64)
    sums = [c for c in pairs.columns if c not in levels and c not in keys and "*" not in c]
    return g[sums].sum().reset_index(), cell


def attach_design(table: PairTable, *, strata=None, psu=None, fpc=None, lonely_psu: str = "fail") -> PairTable:
    """The design rebuilt from the pair table's distinct (stratum, PSU[, fpc]) keys, checked as the in-memory
    design (missing values, an fpc that varies inside a stratum, lonely PSUs), and each pair's PSU code."""
    if table.design is not None:
        return table
    pairs = table.pairs
    names = {_STRATA: strata, _PSU: psu, _FPC: fpc}
    keys = [k for k in (_STRATA, _PSU, _FPC) if names[k] is not None]
    rows = pairs["rows"].to_numpy(np.float64)
    for key in keys:
        role = {_STRATA: "strata", _PSU: "PSU", _FPC: "fpc"}[key]
        miss = pairs[key].isna().to_numpy()
        if miss.any():
            count = int(rows[miss].sum())
            extra = " or not a number" if key == _FPC else ""
            raise InvalidValueError(
                f"{role} column {names[key]!r} has {count:,} missing value{'s' if count != 1 else ''}{extra}",
                column=names[key], n_rows=count,
                hint="fill them in, or remove these rows first: every row needs its stratum and PSU for "
                     "design-based standard errors")
    if fpc is not None:
        inf = np.isinf(pairs[_FPC].to_numpy(np.float64))
        if inf.any():
            count = int(rows[inf].sum())
            raise InvalidValueError(f"fpc column {fpc!r} has infinite values ({count:,} rows)", column=fpc, n_rows=count,
                                    hint="replace them with real values or remove these rows")
    g = pairs.groupby(keys, sort=False, dropna=False)
    unit_of_pair = g.ngroup().to_numpy(np.int64)
    units = g["rows"].sum().reset_index()
    if fpc is not None:
        by = units[_STRATA] if strata is not None else pd.Series(0, index=units.index)
        spread = units.groupby(by.to_numpy(), sort=False)[_FPC].agg(["min", "max"])
        bad = spread[spread["min"] != spread["max"]]
        if len(bad):
            where = f"stratum {bad.index[0]!r}" if strata is not None else "the sample (no strata)"
            raise DesignError(f"fpc column {fpc!r} must be constant within each stratum: {where} has "
                              f"{bad['min'].iloc[0]!r} and {bad['max'].iloc[0]!r}", column=fpc,
                              hint="give every unit of a stratum the same number of population PSUs (or the same "
                                   "sampling fraction)")
    s_values = None if strata is None else units[_STRATA].to_numpy()
    f_values = None if fpc is None else units[_FPC].to_numpy(np.float64)
    if not table.element:
        try:
            built = Design.build(len(units), strata=s_values, psu=units[_PSU].to_numpy(), fpc=f_values,
                                 lonely_psu=lonely_psu)
        except ValueError as exc:
            raise DesignError(f"invalid survey design: {exc}", column=fpc,
                              hint="check the fpc column: population PSUs per stratum (>= sampled PSUs) or fractions <= 1") from None
        refuse_lonely_psus(built, strata, "PSU")
        return replace(table, unit=np.asarray(built.psu, dtype=np.int64)[unit_of_pair], design=built)
    # every row its own PSU: one unit per stratum, n_h = its rows
    if s_values is None:
        s_codes, labels = np.zeros(len(units), dtype=np.int64), np.array(["(all)"], dtype=object)
    else:
        s_codes, labels = dense_codes(s_values, sort=True)
    n_h = np.bincount(s_codes, weights=units["rows"].to_numpy(np.float64), minlength=labels.size).astype(np.int64)
    fpc_h = np.zeros(labels.size)
    if f_values is not None:
        big_n = np.zeros(labels.size)
        big_n[s_codes] = f_values
        fpc_h = np.where(big_n <= 1, big_n, n_h / np.where(big_n > 0, big_n, 1))
        if np.any(fpc_h > 1):
            raise DesignError("invalid survey design: fpc gives fewer population PSUs than sampled PSUs in some stratum",
                              column=fpc, hint="check the fpc column: population PSUs per stratum (>= sampled PSUs) or "
                                               "fractions <= 1")
    built = Design(int(n_h.sum()), np.zeros(0, dtype=np.int64), np.arange(labels.size, dtype=np.int64), n_h, fpc_h,
                   lonely_psu, labels)
    refuse_lonely_psus(built, strata, "unit")
    return replace(table, unit=s_codes[unit_of_pair], design=built)


# ------------------------------------------------------------------------------------- the variances


def level_coefficients(alpha: float, unit_codes, n_units, y_units, n_tot: float, y_tot: float, m_tot: float,
                       n_cells: int):
    """(A, B, C) per cell of the linearized variable of the total GE, then of B_1 .. B_K (module doc;
    the same partials as :func:`prosperity.decompose.linearize.level_influences`)."""
    g_n, g_y, g_m = ge_partials(alpha, n_tot, y_tot, m_tot)
    yield np.full(n_cells, g_n), np.full(n_cells, g_y), np.full(n_cells, g_m)
    for codes, nu, yu in zip(unit_codes, n_units, y_units):
        h, a, b = smoothed_terms(alpha, nu, yu)
        g_n, g_y, g_m = ge_partials(alpha, n_tot, y_tot, float(h.sum()))
        codes = np.asarray(codes, dtype=np.int64)
        yield (g_n + g_m * a)[codes], (g_y + g_m * b)[codes], np.zeros(n_cells)


class PairRows:
    """The standard errors from a :class:`PairTable` with its design; the interface of
    :class:`prosperity.decompose.linearize.DesignRows` that ``_nested_from_moments`` calls."""

    def __init__(self, table: PairTable):
        if table.design is None:
            raise ValueError("the pair table has no design yet (attach_design)")
        self.t = table
        p = table.pairs
        self.w = p["w"].to_numpy(np.float64)
        self.wy = p["wy"].to_numpy(np.float64)

    def ses(self, alpha: float, unit_codes, n_units, y_units, n_tot: float, y_tot: float, m_tot: float,
            total: float, values) -> tuple[float, list[float], list[float]]:
        """(SE of the total, SE of every component, SE of every share), as ``DesignRows.ses``."""
        fn = f_name(alpha)
        n_cells = len(self.t.cells)
        coefs = list(level_coefficients(alpha, unit_codes, n_units, y_units, n_tot, y_tot, m_tot, n_cells))
        wf = self.t.pairs[fn].to_numpy(np.float64)
        if not self.t.element:  # (1): PSU totals of the total and the B_j, combined as in memory
            totals = [self._psu_totals(k, wf) for k in coefs]
            comps, shares = combine(totals[0], totals[1:], total, values)
            se = self._se_of_totals
            return se(totals[0]), [se(t) for t in comps], [se(t) for t in shares]
        stacked = [np.vstack(k) for k in coefs]  # (3, n_cells); components and shares are linear in them
        comps, shares = combine(stacked[0], stacked[1:], total, values)
        se = (lambda k: self._se_rows(k, fn, wf))
        return se(stacked[0]), [se(k) for k in comps], [se(k) for k in shares]

    def _psu_totals(self, k, wf) -> np.ndarray:
        a, b, c = (np.asarray(x)[self.t.cell] for x in k)
        return np.bincount(self.t.unit, weights=a * self.w + b * self.wy + c * wf,
                           minlength=self.t.design.psu_stratum.size)

    def _se_of_totals(self, t) -> float:
        if not np.isfinite(t).all():
            return float("nan")
        return float(np.sqrt(self.t.design.variance_of_totals(t)))

    def _se_rows(self, k, fn: str, wf) -> float:
        """Every row its own PSU: (2) from the per-(cell, stratum) sums and products."""
        k = np.asarray(k, dtype=np.float64)
        if not np.isfinite(k).all():
            return float("nan")
        a, b, c = k[0][self.t.cell], k[1][self.t.cell], k[2][self.t.cell]
        p = self.t.pairs
        col = (lambda name: p[name].to_numpy(np.float64))
        d = self.t.design
        H = d.n_h.size
        s1 = np.bincount(self.t.unit, weights=a * self.w + b * self.wy + c * wf, minlength=H)
        q = a * a * col("w*w") + 2.0 * a * b * col("w*wy") + b * b * col("wy*wy")
        if np.any(c != 0):
            q += 2.0 * a * c * col(f"{fn}*w") + 2.0 * b * c * col(f"{fn}*wy") + c * c * col(f"{fn}*{fn}")
        s2 = np.bincount(self.t.unit, weights=q, minlength=H)
        return float(np.sqrt(variance_of_row_sums(d, s1, s2)))


def variance_of_row_sums(design: Design, s1: np.ndarray, s2: np.ndarray) -> float:
    """The with-replacement variance when every row is its own PSU, from S1_h = sum t and S2_h = sum t^2
    per stratum: sum_h (1 - f_h) c_h sum_{i in h} (t_i - tbar_h)^2, lonely strata as
    :meth:`~prosperity.variance.Design.variance_of_totals` treats them."""
    n_h = design.n_h.astype(np.float64)
    single = design.n_h == 1
    if single.any() and design.lonely_psu == "fail":  # refused when the design was built; kept as a guard
        raise ValueError(f"{int(single.sum())} stratum/strata have a single unit; the variance is not defined there")
    t_bar = np.where(n_h > 0, s1 / np.maximum(n_h, 1.0), 0.0)
    if design.lonely_psu == "adjust":
        t_bar = np.where(single, 0.0, t_bar)
    ss = np.maximum(s2 - 2.0 * t_bar * s1 + n_h * t_bar * t_bar, 0.0)
    factor = np.where(single, 1.0 if design.lonely_psu == "adjust" else 0.0, n_h / np.maximum(n_h - 1.0, 1.0))
    return float(np.sum((1.0 - design.fpc_h) * factor * ss))


__all__ = ["PairRows", "PairTable", "attach_design", "design_pass", "level_coefficients", "variance_of_row_sums",
           "wants_design"]
