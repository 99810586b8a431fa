"""Generalized-entropy decompositions: nested (multi-level) and by non-nested subgroups.

GE(alpha) of a weighted population (N = sum w, mean mu):

    GE(a) = 1 / (a (a - 1)) * [ (1/N) sum w (y / mu)^a - 1 ]        a != 0, 1
    GE(1) = (1/N) sum w (y / mu) log(y / mu)       Theil T
    GE(0) = (1/N) sum w log(mu / y)                 mean log deviation (MLD, Theil L)

Subgroup decomposition (Shorrocks 1980; Bourguignon 1979): with population shares v_g and income
shares s_g,

    GE = sum_g v_g^(1-a) s_g^a GE_g  +  GE(every unit at its group mean).

**Nested decomposition.** For levels L_1 (coarsest) ... L_K (finest), write B_j for GE of the
distribution in which everyone has the mean of their level-j unit (B_0 = 0). Then

    GE = B_1 + (B_2 - B_1) + ... + (B_K - B_{K-1}) + (GE - B_K),

where B_j - B_{j-1} = sum over units p of level j-1 of v_p^(1-a) s_p^a * GE(between the level-j units
inside p): "between provinces within regions" is a weighted sum of one term per region, and GE - B_K
is the weighted sum of inequality inside the lowest-level units. Every term is a unit contribution; the
components add up to the total exactly (up to rounding). All of it is computed from three sums per
lowest-level unit (:mod:`prosperity.decompose.moments`).

ELMO (Elbers, Lanjouw, Mistiaen & Ozler 2008): the between-group term divided by the largest
between-group term attainable with the same number and sizes of groups, i.e. when the sorted
population is cut into consecutive blocks of those sizes (maximised over the order of the blocks).
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field, replace
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from .hierarchy import Hierarchy, check_table_nesting, encode_hierarchy, finalize_sizes
from .moments import LeafMoments, leaf_moments

# ---------------------------------------------------------------------------------------- measure names


def parse_ge(measure) -> tuple[float, str]:
    """``"theil"`` -> (1, "theil"); ``"mld"`` -> (0, "mld"); ``"ge:2"`` or 2.0 -> (2, "ge:2")."""
    if isinstance(measure, (int, float)) and not isinstance(measure, bool):
        alpha = float(measure)
    else:
        text = str(measure).strip().lower()
        if text in ("theil", "theil_t", "theilt", "t"):
            return 1.0, "theil"
        if text in ("mld", "theil_l", "theill", "l"):
            return 0.0, "mld"
        if text.startswith("ge"):
            rest = text[2:].lstrip(":(").rstrip(")")
            try:
                alpha = float(rest)
            except ValueError:
                raise ValueError(f"cannot read the GE parameter in {measure!r}; write e.g. 'ge:2' or 'ge:-1'") from None
        else:
            raise ValueError(f"unknown decomposable measure {measure!r}; use 'theil', 'mld' or 'ge:ALPHA' (e.g. 'ge:2')")
    if not np.isfinite(alpha):
        raise ValueError(f"GE parameter must be finite, got {alpha}")
    if alpha == 1.0:
        return 1.0, "theil"
    if alpha == 0.0:
        return 0.0, "mld"
    return alpha, f"ge:{alpha:g}"


# ------------------------------------------------------------------------------------- formulas on sums


def ge_from_sums(alpha: float, n, y, m):
    """GE(alpha) from N = sum w, Y = sum w y and M = sum w f(y) (f as in the moments module)."""
    n, y, m = np.asarray(n, float), np.asarray(y, float), np.asarray(m, float)
    mu = y / n
    with np.errstate(divide="ignore", invalid="ignore"):
        if alpha == 1.0:
            return np.where(y > 0, m / np.where(y > 0, y, 1.0) - np.log(np.where(mu > 0, mu, 1.0)), 0.0)
        if alpha == 0.0:
            return np.log(mu) - m / n
        return (m / (n * mu**alpha) - 1.0) / (alpha * (alpha - 1.0))


def _g(alpha: float, n_u, y_u, n_tot: float, y_tot: float):
    """Per-unit term whose sums telescope into the between components (see module doc)."""
    mu = y_tot / n_tot
    mu_u = np.divide(y_u, n_u, out=np.zeros_like(y_u, dtype=float), where=n_u > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        if alpha == 1.0:
            return np.where(y_u > 0, (y_u / y_tot) * np.log(np.where(y_u > 0, mu_u, 1.0) / mu), 0.0)
        if alpha == 0.0:
            return np.where(n_u > 0, (n_u / n_tot) * np.log(mu / np.where(n_u > 0, mu_u, 1.0)), 0.0)
        return np.where(n_u > 0, (n_u / n_tot) * (mu_u / mu) ** alpha, 0.0) / (alpha * (alpha - 1.0))


def _within_contribution(alpha: float, n_l, y_l, m_l, n_tot: float, y_tot: float):
    """v_l^(1-a) s_l^a GE_l for each unit, from its sums."""
    mu = y_tot / n_tot
    mu_l = np.divide(y_l, n_l, out=np.ones_like(y_l, dtype=float), where=n_l > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        if alpha == 1.0:
            return np.where(y_l > 0, (m_l - y_l * np.log(np.where(y_l > 0, mu_l, 1.0))) / y_tot, 0.0)
        if alpha == 0.0:
            return np.where(n_l > 0, (n_l * np.log(mu_l) - m_l) / n_tot, 0.0)
        return np.where(n_l > 0, m_l / (n_tot * mu**alpha) - (n_l / n_tot) * (mu_l / mu) ** alpha, 0.0) / (
            alpha * (alpha - 1.0))


def _unit_weight(alpha: float, n_u, y_u, n_tot: float, y_tot: float):
    v, s = n_u / n_tot, y_u / y_tot
    if alpha == 1.0:
        return s
    if alpha == 0.0:
        return v
    with np.errstate(divide="ignore", invalid="ignore"):
        return v ** (1.0 - alpha) * s**alpha


# ----------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Component:
    """One component of a nested decomposition; ``se`` and ``share_se`` (design-based standard errors
    of the value and of the share) are None unless a survey design was given."""

    level: str
    component: str  # "between" | "within"
    value: float
    share: float
    se: float | None = None
    share_se: float | None = None

    def __repr__(self) -> str:
        extra = "" if self.se is None else f", se={self.se!r}, share_se={self.share_se!r}"
        return (f"Component(level={self.level!r}, component={self.component!r}, value={self.value!r}, "
                f"share={self.share!r}{extra})")


@dataclass(frozen=True, eq=False)
class NestedDecomposition:
    """GE decomposed over a nested hierarchy (coarsest level first).

    ``components``: between units of ``levels[0]``; between units of ``levels[j]`` within their unit
    of ``levels[j-1]`` (one per level); within units of the lowest level. They add up to ``total``.
    ``units``: one row per unit of every level with its population and income shares, mean,
    ``inequality_inside`` (GE between its sub-units, or within it for the lowest level),
    ``contribution`` (weighted, sums to the component of the level below) and ``share`` of the total.
    With a survey design, ``total_se`` and every component's ``se`` and ``share_se`` are linearized
    design-based standard errors (:mod:`prosperity.decompose.linearize`); the unit table has no SEs.
    """

    measure: str
    alpha: float
    total: float
    levels: tuple[str, ...]
    components: tuple[Component, ...]
    units: pd.DataFrame = field(repr=False)
    population: float = float("nan")
    mean: float = float("nan")
    total_se: float | None = None

    @property
    def has_se(self) -> bool:
        return self.total_se is not None

    def to_frame(self) -> pd.DataFrame:
        """Tidy frame: level, component, value, share (the CLI's JSON rows), and se, share_se with a design."""
        cols = ["level", "component", "value", "share"] + (["se", "share_se"] if self.has_se else [])
        return pd.DataFrame(self.to_records(), columns=cols)

    def to_records(self) -> list[dict]:
        out = []
        for c in self.components:
            row = {"level": c.level, "component": c.component, "value": float(c.value), "share": float(c.share)}
            if self.has_se:
                row["se"], row["share_se"] = float(c.se), float(c.share_se)
            out.append(row)
        return out

    def __repr__(self) -> str:
        se = f", se={self.total_se:.3g}" if self.has_se else ""
        lines = [f"NestedDecomposition({self.measure}, total={self.total:.6g}{se}, levels={' > '.join(self.levels)})"]
        for j, c in enumerate(self.components):
            if c.component == "within":
                what = f"within {c.level}"
            elif j == 0:
                what = f"between {c.level}"
            else:
                what = f"between {c.level} within {self.levels[j - 1]}"
            if self.has_se:
                se_text = f"(se {c.se:.3g})"
                lines.append(f"  {what:<48} {c.value:12.6g} {se_text:<14} {100 * c.share:6.2f} % (se {100 * c.share_se:.2f})")
            else:
                lines.append(f"  {what:<48} {c.value:12.6g}  {100 * c.share:6.2f} %")
        return "\n".join(lines)


def _frame_col(data, name: str):
    try:
        return data[name]
    except (KeyError, IndexError, TypeError):
        cols = list(getattr(data, "columns", []))
        raise KeyError(f"column {name!r} not found; available columns: {cols}") from None


def _to_numpy(col, name: str, dtype=float) -> np.ndarray:
    if hasattr(col, "to_numpy"):
        col = col.to_numpy()
    arr = np.asarray(col)
    if dtype is float:
        try:
            arr = arr.astype(np.float64, copy=False)
        except (TypeError, ValueError):
            from prosperity.io.sample import numeric_column

            arr = numeric_column(arr, name, "the")  # raises, naming the data rows that are not numbers
    return arr


def _unit_sums(mom: LeafMoments, h: Hierarchy):
    """(hierarchy with sizes, parent codes, N_u and Y_u of every level) from the leaf tables."""
    k = h.depth
    h = finalize_sizes(h, mom.parent_of_leaf, mom.present)
    parent_codes = check_table_nesting(h, mom.parent_of_leaf, mom.present)
    leaves = np.flatnonzero(mom.present)
    n_units, y_units = [], []
    for j in range(k):
        codes = leaves if j == k - 1 else mom.parent_of_leaf[leaves, j]
        n_units.append(np.bincount(codes, weights=mom.weight[leaves], minlength=h.sizes[j]))
        y_units.append(np.bincount(codes, weights=mom.income[leaves], minlength=h.sizes[j]))
    return h, parent_codes, n_units, y_units


def _totals(mom: LeafMoments) -> tuple[float, float, float]:
    n_tot, y_tot, m_tot = float(mom.weight.sum()), float(mom.income.sum()), float(mom.power.sum())
    if n_tot <= 0:
        raise ValueError("the weights sum to 0: nothing to decompose")
    if y_tot <= 0:
        raise ValueError("total income is 0: generalized entropy is undefined")
    return n_tot, y_tot, m_tot


def _nested_from_moments(mom: LeafMoments, h: Hierarchy, label: str, rows=None) -> NestedDecomposition:
    """The decomposition from the leaf sums; ``rows`` (:class:`~prosperity.decompose.linearize.DesignRows`)
    adds design-based standard errors."""
    alpha = mom.alpha
    k = h.depth
    h, parent_codes, n_units, y_units = _unit_sums(mom, h)
    n_tot, y_tot, m_tot = _totals(mom)
    total = float(ge_from_sums(alpha, n_tot, y_tot, m_tot))
    g = [_g(alpha, n_units[j], y_units[j], n_tot, y_tot) for j in range(k)]
    g_root = 0.0 if alpha in (0.0, 1.0) else 1.0 / (alpha * (alpha - 1.0))

    frames = []
    comps: list[Component] = []
    # root: between units of the top level
    root_contrib = float(g[0].sum() - g_root)
    comps.append(Component(h.names[0], "between", root_contrib, root_contrib / total if total else np.nan))
    frames.append(pd.DataFrame({
        "level": ["(all)"], "unit": ["(all)"], "parent": [None], "population": [n_tot], "pop_share": [1.0],
        "income_share": [1.0], "mean": [y_tot / n_tot], "relative_mean": [1.0], "inequality_inside": [root_contrib],
        "contribution": [root_contrib],
    }))
    for j in range(k):
        nu, yu = n_units[j], y_units[j]
        active = np.flatnonzero(nu > 0)
        if j < k - 1:
            child = n_units[j + 1] > 0
            child_codes = np.flatnonzero(child)
            contrib = np.bincount(parent_codes[j + 1][child_codes], weights=g[j + 1][child_codes],
                                  minlength=h.sizes[j]) - g[j]
            comp_name, comp_level = "between", h.names[j + 1]
        else:
            contrib = _within_contribution(alpha, nu, yu, mom.power, n_tot, y_tot)
            comp_name, comp_level = "within", h.names[j]
        value = float(contrib[active].sum())
        comps.append(Component(comp_level, comp_name, value, value / total if total else np.nan))
        wt = _unit_weight(alpha, nu[active], yu[active], n_tot, y_tot)
        mean_u = yu[active] / nu[active]
        with np.errstate(divide="ignore", invalid="ignore"):
            inside = np.where(wt > 0, contrib[active] / wt, 0.0)
        parent = (
            [h.label(j - 1, int(c)) for c in parent_codes[j][active]] if j > 0 else ["(all)"] * active.size
        )
        frames.append(pd.DataFrame({
            "level": h.names[j],
            "unit": [h.label(j, int(c)) for c in active],
            "parent": parent,
            "population": nu[active],
            "pop_share": nu[active] / n_tot,
            "income_share": yu[active] / y_tot,
            "mean": mean_u,
            "relative_mean": mean_u / (y_tot / n_tot),
            "inequality_inside": inside,
            "contribution": contrib[active],
        }))
    units = pd.concat(frames, ignore_index=True)
    units["share"] = units["contribution"] / total if total else np.nan
    total_se = None
    if rows is not None:
        total_se, ses, share_ses = rows.ses(alpha, h.codes, n_units, y_units, n_tot, y_tot, m_tot, total,
                                            [c.value for c in comps])
        comps = [replace(c, se=se, share_se=sse) for c, se, sse in zip(comps, ses, share_ses)]
    return NestedDecomposition(label, alpha, total, h.names, tuple(comps), units, n_tot, y_tot / n_tot, total_se)


# ------------------------------------------------------------------------------------------ public API


def _prepare(y, w, levels, names, measure, engine, threads):
    alpha, label = parse_ge(measure)
    y = _to_numpy(y, "income")
    if y.ndim != 1:
        raise ValueError(f"incomes must be one-dimensional, got shape {y.shape}")
    h = encode_hierarchy(levels, names, n_rows=y.shape[0])
    wv = None if w is None else _to_numpy(w, "weight")
    mom = leaf_moments(y, wv, h, alpha, engine=engine, threads=threads)
    return y, wv, h, mom, label


def nested_decomposition(y, w=None, *, levels: Sequence, names: Sequence[str] | None = None,
                         measure="theil", engine: str = "auto", threads: int | None = None, design=None,
                         strata=None, psu=None, fpc=None, lonely_psu: str = "fail") -> NestedDecomposition:
    """Decompose GE(alpha) of incomes ``y`` (weights ``w``) over nested ``levels`` (coarsest first).

    ``levels`` are columns with one unit label per row (integers 0..n-1 are used as codes directly,
    other labels are factorized). ``measure``: ``"theil"`` (GE(1)), ``"mld"`` (GE(0)), ``"ge:a"``.
    Raises :class:`~prosperity.decompose.hierarchy.NestingError` when a unit lies in two parents.

    Standard errors: give the survey design, either ``design=`` (a :class:`prosperity.variance.Design`
    built for these rows, e.g. ``Design.build(n, strata=..., psu=...)``) or ``strata=``, ``psu=``,
    ``fpc=`` (one value per row) and ``lonely_psu`` (``fail``, ``adjust``, ``remove``, ``certainty``) as
    :func:`prosperity.measure` takes them. The total and every component and share then get a
    linearized design-based standard error (``total_se``, ``Component.se``, ``Component.share_se``;
    formulas in :mod:`prosperity.decompose.linearize`); the unit table stays without SEs.

    >>> d = nested_decomposition([1, 2, 3, 4], levels=[[0, 0, 1, 1]])
    >>> abs(round(d.components[0].value + d.components[1].value - d.total, 12))
    0.0
    """
    return _with_design(y, w, levels, names, measure, engine, threads,
                        dict(design=design, strata=strata, psu=psu, fpc=fpc, lonely_psu=lonely_psu))


def _with_design(y, w, levels, names, measure, engine, threads, design_args: dict,
                 design_names: dict | None = None) -> NestedDecomposition:
    from .linearize import design_rows

    y, wv, h, mom, label = _prepare(y, w, levels, names, measure, engine, threads)
    rows = design_rows(y, wv, names=design_names, **design_args)
    return _nested_from_moments(mom, h, label, rows)


def nested_influence(y, w=None, *, levels: Sequence, names: Sequence[str] | None = None, measure="theil",
                     engine: str = "auto") -> pd.DataFrame:
    """Linearized variables of the nested decomposition, one row per observation (in input order).

    Columns: ``total``; one per component, named ``"between:LEVEL"`` / ``"within:LEVEL"``; and
    ``"share between:LEVEL"`` ... for their shares of the total. Column c is d(estimate c) / d w_i,
    so the design variance of c is that of sum_i w_i u_ic (e.g. ``Design.variance(w * frame[c])``, or
    replicate the weights). The components' columns add up to ``total``. Needs 2K + 3 columns of n
    floats for K levels; :func:`nested_decomposition` with a design computes the SEs without them.
    """
    from .linearize import combine, level_influences

    y, wv, h, mom, label = _prepare(y, w, levels, names, measure, engine, None)
    d = _nested_from_moments(mom, h, label)
    h, _, n_units, y_units = _unit_sums(mom, h)
    n_tot, y_tot, m_tot = _totals(mom)
    u = list(level_influences(mom.alpha, y, h.codes, n_units, y_units, n_tot, y_tot, m_tot))
    comps, shares = combine(u[0], u[1:], d.total, [c.value for c in d.components])
    out = {"total": u[0]}
    keys = [f"{c.component}:{c.level}" for c in d.components]
    out.update(zip(keys, comps))
    out.update(zip([f"share {k}" for k in keys], shares))
    return pd.DataFrame(out)


def decompose(data, income: str, levels: Sequence[str], weight: str | None = None, measure="theil",
              engine: str = "auto", *, design=None, strata: str | None = None, psu: str | None = None,
              fpc: str | None = None, lonely_psu: str = "fail",
              backend: str | None = None) -> NestedDecomposition:
    """Nested GE decomposition of microdata in a pandas or polars frame (column names as arguments).

    ``strata``, ``psu``, ``fpc``: design columns, as in :func:`prosperity.measure` (or ``design=`` a
    :class:`prosperity.variance.Design` built for these rows): the components then get linearized
    design-based standard errors (see :func:`nested_decomposition`).

    Data larger than memory: ``data`` a Parquet file or directory, a DuckDB relation or a Dask
    dataframe (or ``backend="memory"|"duckdb"|"dask"``) runs the one-pass group-by of
    :mod:`prosperity.backends.decompose` (same result, design SEs included: the pass groups by
    (cell, PSU), :mod:`prosperity.backends.decompose_design`; ``design=`` only with ``backend="memory"``).
    """
    if backend is not None or isinstance(data, (str, os.PathLike, list, tuple)) or \
            type(data).__module__.startswith(("dask", "duckdb")):
        from ..backends.decompose import nested_decomposition_source

        return nested_decomposition_source(data, income, levels, weight, measure, backend=backend, strata=strata,
                                           psu=psu, fpc=fpc, lonely_psu=lonely_psu, design=design)
    if isinstance(levels, str):
        levels = [levels]
    y = _to_numpy(_frame_col(data, income), income)
    w = None if weight is None else _to_numpy(_frame_col(data, weight), weight)
    cols = [_frame_col(data, lv) for lv in levels]
    design_cols = {k: v for k, v in dict(strata=strata, psu=psu, fpc=fpc).items() if v is not None}
    if design_cols:
        from prosperity.io.errors import column_not_found

        available = [str(c) for c in getattr(data, "columns", list(data))]
        roles = {"strata": "strata", "psu": "PSU", "fpc": "fpc"}
        for key, col in design_cols.items():
            if col not in available:
                raise column_not_found(col, roles[key], available)
    args = {k: data[v] for k, v in design_cols.items()}
    args.update(design=design, lonely_psu=lonely_psu)
    return _with_design(y, w, cols, list(levels), measure, engine, None, args, design_cols)


def decompose_table(data, mean: str, population: str, levels: Sequence[str], within: str | None = None,
                    measure="theil") -> NestedDecomposition:
    """Nested GE decomposition of a region-level table: one row per unit with its ``mean`` income and
    ``population``. Without ``within`` each row counts as ``population`` people at the row's mean, so
    the lowest component is the inequality between rows inside the lowest level. With ``within`` (a
    column holding each row's own GE, e.g. a published provincial Theil) it also counts the
    inequality inside the rows; the result equals the decomposition of the underlying microdata.
    """
    if isinstance(levels, str):
        levels = [levels]
    alpha, label = parse_ge(measure)
    mu = _to_numpy(_frame_col(data, mean), mean)
    pop = _to_numpy(_frame_col(data, population), population)
    h = encode_hierarchy([_frame_col(data, lv) for lv in levels], list(levels), n_rows=mu.shape[0])
    for name, arr in ((mean, mu), (population, pop)):
        bad = np.flatnonzero(~np.isfinite(arr) | (arr < 0))
        if bad.size:
            raise ValueError(f"column {name!r} at data row {int(bad[0]) + 1} is {arr[bad[0]]!r}: it must be a finite number >= 0")
    if within is None:
        mom = leaf_moments(mu, pop, h, alpha, engine="numpy")
        return _nested_from_moments(mom, h, label)
    ge_r = _to_numpy(_frame_col(data, within), within)
    bad = np.flatnonzero(~np.isfinite(ge_r) | (ge_r < 0))
    if bad.size:
        raise ValueError(f"column {within!r} at data row {int(bad[0]) + 1} is {ge_r[bad[0]]!r}: GE must be finite and >= 0")
    mom = leaf_moments(mu, pop, h, alpha, engine="numpy")
    # per-row sum of w f(y) implied by the row's own GE (inverse of ge_from_sums)
    yr = pop * mu
    if alpha == 1.0:
        m_r = np.where(yr > 0, yr * (ge_r + np.log(np.where(mu > 0, mu, 1.0))), 0.0)
    elif alpha == 0.0:
        m_r = pop * (np.log(mu) - ge_r)
    else:
        m_r = pop * mu**alpha * (alpha * (alpha - 1.0) * ge_r + 1.0)
    leaf = h.codes[-1]
    power = np.bincount(leaf, weights=m_r, minlength=h.sizes[-1])
    mom = LeafMoments(alpha, mom.weight, mom.income, power, mom.parent_of_leaf, mom.present)
    return _nested_from_moments(mom, h, label)


# ------------------------------------------------------------------------------- non-nested subgroups


@dataclass(frozen=True, eq=False)
class SubgroupDecomposition:
    """Between/within GE for each grouping (each factor alone and, with several, their cross).

    ``table``: one row per grouping: ``grouping``, ``n_groups``, ``between``, ``within``, ``total``,
    ``between_share`` and, if requested, ``elmo_max`` and ``elmo_share`` (between / largest between
    attainable with the same number and sizes of groups). ``groups``: one row per group of every
    grouping with its shares, mean, own GE and contribution to the within term. With a survey design,
    ``total_se`` is the total's linearized design-based SE and ``table`` gains ``between_se``,
    ``within_se``, ``between_share_se`` and ``total_se`` (the ELMO share and the groups table get none).
    """

    measure: str
    alpha: float
    total: float
    table: pd.DataFrame
    groups: pd.DataFrame = field(repr=False)
    total_se: float | None = None

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def __repr__(self) -> str:
        se = "" if self.total_se is None else f", se={self.total_se:.3g}"
        out = [f"SubgroupDecomposition({self.measure}, total={self.total:.6g}{se})"]
        for r in self.table.itertuples(index=False):
            extra = f", ELMO {100 * r.elmo_share:.2f} %" if "elmo_share" in self.table else ""
            if self.total_se is None:
                between, within = f"{r.between:.6g} ({100 * r.between_share:.2f} %)", f"{r.within:.6g}"
            else:
                between = (f"{r.between:.6g} (se {r.between_se:.3g}; {100 * r.between_share:.2f} %, "
                           f"se {100 * r.between_share_se:.2f})")
                within = f"{r.within:.6g} (se {r.within_se:.3g})"
            out.append(f"  {r.grouping:<32} between {between}, within {within}{extra}")
        return "\n".join(out)


def _between(alpha: float, n_g: np.ndarray, y_g: np.ndarray) -> float:
    keep = n_g > 0
    n_g, y_g = n_g[keep], y_g[keep]
    n, y = n_g.sum(), y_g.sum()
    base = 0.0 if alpha in (0.0, 1.0) else 1.0 / (alpha * (alpha - 1.0))
    return float(_g(alpha, n_g, y_g, n, y).sum() - base)


def elmo_max_between(y, w, sizes, alpha: float = 1.0, *, max_exact_groups: int = 8) -> float:
    """Largest between-group GE(alpha) with groups of the given population ``sizes`` (sum of weights):
    the sorted population is cut into consecutive blocks of those sizes (a unit may be split at a
    block boundary), maximised over all orders of the blocks when there are at most
    ``max_exact_groups`` groups (otherwise over ascending/descending-size orders and 2000 random ones).
    """
    y = np.asarray(y, float)
    w = np.ones_like(y) if w is None else np.asarray(w, float)
    order = np.argsort(y, kind="stable")
    ys, ws = y[order], w[order]
    cw = np.concatenate(([0.0], np.cumsum(ws)))
    cy = np.concatenate(([0.0], np.cumsum(ws * ys)))
    sizes = np.asarray(sizes, float)
    sizes = sizes[sizes > 0]
    total_w = cw[-1]
    sizes = sizes * (total_w / sizes.sum())

    def income_below(c):  # cumulative income of the poorest c (weight), linear inside a unit
        return np.interp(c, cw, cy)

    def between_for(perm) -> float:
        bounds = np.concatenate(([0.0], np.cumsum(sizes[list(perm)])))
        bounds[-1] = total_w
        inc = np.diff(income_below(bounds))
        return _between(alpha, sizes[list(perm)], inc)

    k = sizes.size
    if k <= 1:
        return 0.0
    if k <= max_exact_groups:
        perms = itertools.permutations(range(k))
    else:
        rng = np.random.default_rng(0)
        asc = tuple(np.argsort(sizes))
        perms = [asc, asc[::-1]] + [tuple(rng.permutation(k)) for _ in range(2000)]
    return max(between_for(p) for p in perms)


def subgroup_decomposition(y, w=None, *, groups: Mapping[str, Sequence] | Sequence, measure="theil",
                           cross: bool = True, elmo: bool = False, engine: str = "auto", design=None,
                           strata=None, psu=None, fpc=None, lonely_psu: str = "fail") -> SubgroupDecomposition:
    """Between/within GE by non-nested groupings (e.g. ``{"area": urban_rural, "region": region}``):
    each grouping alone and, with ``cross=True`` and several groupings, their cross-classification
    (``area x region``). One pass over the rows builds the cross cells; each grouping is a sum of cells.

    Standard errors: give the survey design as :func:`nested_decomposition` takes it, ``design=`` (a
    :class:`prosperity.variance.Design` built for these rows) or ``strata=``, ``psu=``, ``fpc=`` (one
    value per row) and ``lonely_psu``. The table then gains ``between_se``, ``within_se``,
    ``between_share_se`` (the within share's SE is the same) and ``total_se``, and the result has
    ``total_se``. A grouping's between term is the first-level between term of
    :func:`nested_decomposition` with that grouping as its only level, and gets the same linearized SE
    (:mod:`prosperity.decompose.linearize`); the cross-classification is one more such grouping.
    The ELMO share gets no SE: its denominator, the largest between term, depends on the whole
    ordering of the incomes (where the sorted population is cut into blocks), not on smooth totals,
    so the linearization does not cover it; use replicate weights if you need one.
    """
    from .linearize import combine, design_rows

    alpha, label = parse_ge(measure)
    y = _to_numpy(y, "income")
    wv = None if w is None else _to_numpy(w, "weight")
    if not isinstance(groups, Mapping):
        groups = {getattr(g, "name", None) or f"group{j + 1}": g for j, g in enumerate(groups)}
    names = list(groups)
    h_each = encode_hierarchy([groups[n] for n in names], names, n_rows=y.shape[0])
    h_each = Hierarchy(h_each.names, h_each.codes, tuple(
        lab if lab is not None else np.arange(int(c.max()) + 1) for c, lab in zip(h_each.codes, h_each.labels)))
    for name, c in zip(names, h_each.codes):
        if c.size and c.min() < 0:
            raise ValueError(f"grouping {name!r} has a negative code at data row {int(np.flatnonzero(c < 0)[0]) + 1}")
    # cross cells: mixed-radix code, then one pass over the rows
    cell = np.zeros(y.shape[0], dtype=np.int64)
    for c, size in zip(h_each.codes, h_each.sizes):
        cell = cell * size + c
    cell_codes, cell_index = np.unique(cell, return_inverse=True) if len(names) > 1 else (np.arange(h_each.sizes[0]), cell)
    cell_h = Hierarchy(("cell",), (cell_index.astype(np.int64),), (cell_codes,))
    mom = leaf_moments(y, wv, cell_h, alpha, engine=engine)
    sample = design_rows(y, wv, design=design, strata=strata, psu=psu, fpc=fpc, lonely_psu=lonely_psu)
    n_tot, y_tot = float(mom.weight.sum()), float(mom.income.sum())
    if n_tot <= 0 or y_tot <= 0:
        raise ValueError("total weight and total income must be positive")
    total = float(ge_from_sums(alpha, n_tot, y_tot, float(mom.power.sum())))
    # factor code of every cell (invert the mixed radix)
    factor_of_cell = []
    rest = np.asarray(cell_codes, dtype=np.int64)
    for size in reversed(h_each.sizes):
        factor_of_cell.append(rest % size)
        rest = rest // size
    factor_of_cell = factor_of_cell[::-1]
    groupings = [(n, factor_of_cell[j], h_each.sizes[j], h_each.labels[j]) for j, n in enumerate(names)]
    if cross and len(names) > 1:
        cross_labels = np.array([" x ".join(str(h_each.labels[j][factor_of_cell[j][c]]) for j in range(len(names)))
                                 for c in range(cell_codes.size)], dtype=object)
        groupings.append((" x ".join(names), np.arange(cell_codes.size), cell_codes.size, cross_labels))
    rows, grows, n_units, y_units = [], [], [], []
    for gname, gcode, size, labels in groupings:
        n_g = np.bincount(gcode, weights=mom.weight, minlength=size)
        y_g = np.bincount(gcode, weights=mom.income, minlength=size)
        n_units.append(n_g)
        y_units.append(y_g)
        m_g = np.bincount(gcode, weights=mom.power, minlength=size)
        between = _between(alpha, n_g, y_g)
        within_c = _within_contribution(alpha, n_g, y_g, m_g, n_tot, y_tot)
        within = float(within_c[n_g > 0].sum())
        row = {"grouping": gname, "n_groups": int((n_g > 0).sum()), "between": between, "within": within,
               "total": total, "between_share": between / total if total else np.nan}
        if elmo:
            bmax = elmo_max_between(y, wv, n_g[n_g > 0], alpha)
            row["elmo_max"] = bmax
            row["elmo_share"] = between / bmax if bmax > 0 else np.nan
        rows.append(row)
        act = np.flatnonzero(n_g > 0)
        wt = _unit_weight(alpha, n_g[act], y_g[act], n_tot, y_tot)
        with np.errstate(divide="ignore", invalid="ignore"):
            own = np.where(wt > 0, within_c[act] / wt, 0.0)
        grows.append(pd.DataFrame({
            "grouping": gname, "group": [labels[c] for c in act], "population": n_g[act],
            "pop_share": n_g[act] / n_tot, "income_share": y_g[act] / y_tot, "mean": y_g[act] / n_g[act],
            "ge_within": own, "within_contribution": within_c[act],
        }))
    total_se = None
    if sample is not None:  # every grouping is a one-level nested decomposition: B_1 and GE - B_1
        unit_codes = (gcode[cell_index] for _, gcode, _, _ in groupings)  # one grouping's codes at a time
        t = sample.level_totals(alpha, unit_codes, n_units, y_units, n_tot, y_tot, float(mom.power.sum()))
        se = sample.se_of_totals
        total_se = se(t[0])
        for row, t_b in zip(rows, t[1:]):
            (t_between, t_within), (t_share, _) = combine(t[0], [t_b], total, [row["between"], row["within"]])
            row.update(between_se=se(t_between), within_se=se(t_within), between_share_se=se(t_share),
                       total_se=total_se)
    return SubgroupDecomposition(label, alpha, total, pd.DataFrame(rows), pd.concat(grows, ignore_index=True),
                                 total_se)


def ge(y, w=None, measure="theil") -> float:
    """GE(alpha) of (weighted) incomes; ``measure`` as in :func:`parse_ge`.

    >>> round(ge([1, 2, 3, 4], measure="theil"), 10)
    0.1064401353
    """
    alpha, _ = parse_ge(measure)
    y = _to_numpy(y, "income")
    h = Hierarchy(("all",), (np.zeros(y.shape[0], dtype=np.int64),), (np.array(["all"]),))
    mom = leaf_moments(y, None if w is None else _to_numpy(w, "weight"), h, alpha, engine="numpy")
    return float(ge_from_sums(alpha, mom.weight.sum(), mom.income.sum(), mom.power.sum()))
