"""The composite-index pipeline: data -> screening -> imputation -> outliers -> normalisation ->
weights -> aggregation -> scores, ranks, dimension profiles, obstacles, coupling; every step reported.

Modes. ``relative`` scores units against the sample (min-max, entropy, TOPSIS ...); with
``scope="pooled"`` (default) the whole panel of region-years is normalised and weighted at once
(panel entropy, 面板熵值法), so scores are comparable across years *within this sample*; with
``scope="by_year"`` every year is scaled and weighted on its own, and scores must not be compared
across years (a warning says so). ``target`` scores each indicator against fixed targets or
goalposts (realisation degree 实现程度 by default), so scores are comparable across years and samples.

Weights. Each group (dimension) weights its children: explicit weights in the framework win; else
the group's ``weighting`` (or the run's default) is applied to the group's indicator columns;
groups of dimensions default to equal weights. ``scheme="global"`` instead applies the weighting
once to all indicators (as most entropy papers do) and gives each dimension the sum of its
indicators' weights.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from . import normalise as nz
from . import prepare
from .aggregate import MCDA, MCDA_SCOPES, canonical_aggregation, obstacle_degree
from .coupling import coupling_coordination
from .engine import evaluate
from .framework import DEFAULT_ORDER, Framework, check_step_order, from_dict
from .steps import Change, StepLog, StepRecord, listing
from .weights import ahp, objective_weights

NORMALISATION_ALIASES = {"target": "realisation", "realization": "realisation", "min-max": "minmax",
                         "z": "zscore", "z-score": "zscore", "l2": "vector", "goalpost": "goalposts",
                         "dist2targ": "distance_target", "dist2max": "distance_max", "prank": "percentile"}


@dataclass(frozen=True)
class IndexConfig:
    normalisation: str = "minmax"
    range: tuple[float, float] = (0.0, 1.0)
    weighting: str = "entropy"
    entropy_variant: str = "zero"
    aggregation: str = "arithmetic"
    mode: str = "relative"
    scope: str = "pooled"
    scheme: str = "nested"
    imputation: str = "none"
    impute_groups: str = "year"  # mean/median within each year ("year"), over everything ("all"), or by a data column
    min_coverage: float = 0.5  # a unit's group score needs this share of the group's children (COINr dat_thresh)
    treatment: str = "none"
    min_availability: float = 0.0
    p: float | None = None
    topsis_ideal: str = "sample"
    topsis_weighting: str = "matrix"
    vikor_v: float = 0.5
    gra_rho: float = 0.5
    mcda_scope: str = "per_dimension"  # TOPSIS/VIKOR/GRA/Copeland within each dimension, or "flat" on all indicators
    coupling: str = "standard"
    coupling_floor: float | None = None  # U below it raised to it before the coupling degree (mathmodels: 1e-10)
    cap: bool = True
    steps: tuple[str, ...] = DEFAULT_ORDER  # the order of the pipeline's steps (a framework's `steps:`)

    def opts(self) -> dict:
        return {"p": self.p, "topsis_ideal": self.topsis_ideal, "topsis_weighting": self.topsis_weighting,
                "vikor_v": self.vikor_v, "gra_rho": self.gra_rho, "mcda_scope": self.mcda_scope}


@dataclass
class IndexResult:
    """Scores, ranks and diagnostics of one run. ``scores`` is tidy: region, year, score, rank."""

    framework: Framework
    config: IndexConfig
    keys: pd.DataFrame
    raw: pd.DataFrame  # indicator values used (after denomination, imputation, treatment)
    normalised: pd.DataFrame
    scores: pd.DataFrame
    dimensions: pd.DataFrame  # one column per group (dimension) score
    weights: pd.DataFrame  # per indicator: group weight, effective (nominal) weight
    group_weights: pd.DataFrame
    influence: pd.DataFrame  # correlation / variance based effective weights
    obstacles: pd.DataFrame | None
    coupling: pd.DataFrame | None
    steps: StepLog = field(default_factory=StepLog)  # the step log: each step as it ran (see prosperity.index.steps)
    warnings: list[str] = field(default_factory=list)
    weights_by_year: pd.DataFrame | None = None
    prepared: "Prepared | None" = field(default=None, repr=False)
    coverage: pd.DataFrame | None = None  # region, year, then per group: share of its children with a value
    data_years: pd.DataFrame | None = None  # per year: units scored, indicators with data

    def default_year(self):
        """The year a report shows by default: among the years in which the index is scored for at
        least half of the units, those with the best data (highest median coverage of the index's
        components), and of these the latest. None for a cross-section or when no year qualifies."""
        if self.data_years is None or self.data_years.empty:
            return None
        ok = self.data_years[self.data_years["share_scored"] >= 0.5]
        if ok.empty:
            return None
        best = ok["median_coverage"].max()
        return ok.loc[ok["median_coverage"] >= best - 1e-12, "year"].max()

    def check_year(self, year) -> None:
        """Refuse a year without enough data: names the indicators missing in it and their last year."""
        if self.data_years is None:
            raise ValueError("this index has no year column: it is one cross-section")
        row = self.data_years[self.data_years["year"] == year]
        if row.empty:
            raise ValueError(f"year {year} is not in the data (years {self.data_years['year'].min()}.."
                             f"{self.data_years['year'].max()})")
        if float(row["share_scored"].iloc[0]) >= 0.5:
            return
        codes = self.framework.codes
        raw = self.raw.copy()
        raw["year"] = self.keys["year"].to_numpy()
        in_year = raw[raw["year"] == year]
        missing = [c for c in codes if in_year[c].isna().mean() > 0.5]
        last = {c: raw.loc[raw[c].notna(), "year"].max() for c in missing}
        detail = ", ".join(f"{c} (last year {last[c]:g})" if pd.notna(last[c]) else f"{c} (no data)" for c in missing)
        best = self.default_year()
        raise ValueError(f"year {year}: the index is scored for {int(row['units_scored'].iloc[0])} of "
                         f"{int(row['units'].iloc[0])} units only; indicators without data that year: {detail}. "
                         f"Fix: choose a year with data" + (f" (latest with enough: {best:g})" if best is not None else "")
                         + " or impute (--imputation latest carries the last value forward, and says so)")

    # ------------------------------------------------------------------------------ output
    def weights_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in self.weights["effective"].items()}

    def to_frame(self) -> pd.DataFrame:
        dims = self.dimensions.drop(columns=[c for c in self.dimensions.columns if c == "index"], errors="ignore")
        return pd.concat([self.scores.reset_index(drop=True), dims.reset_index(drop=True)], axis=1)

    def to_dict(self) -> dict:
        def clean(v):
            if isinstance(v, (np.floating, float)):
                return None if not np.isfinite(v) else float(v)
            if isinstance(v, (np.integer,)):
                return int(v)
            return v

        scores = [{k: clean(v) for k, v in row.items()} for row in self.scores.to_dict(orient="records")]
        out = {
            "framework": self.framework.name,
            "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.config.__dict__.items()},
            "weights": self.weights_dict(),
            "scores": scores,
            "dimensions": [{k: clean(v) for k, v in r.items()} for r in
                           pd.concat([self.keys.reset_index(drop=True), self.dimensions.reset_index(drop=True)],
                                     axis=1).to_dict(orient="records")],
            "group_weights": [{k: clean(v) for k, v in r.items()} for r in self.group_weights.to_dict(orient="records")],
            "steps": list(self.steps.details),
            "warnings": self.warnings,
            "step_log": {"order": list(self.steps.order), "source": self.steps.source, "steps": self.steps.to_dicts()},
        }
        if self.coupling is not None:
            out["coupling"] = [{k: clean(v) for k, v in r.items()} for r in self.coupling.to_dict(orient="records")]
        if self.coverage is not None:
            out["coverage"] = [{k: clean(v) for k, v in r.items()} for r in self.coverage.to_dict(orient="records")]
        if self.data_years is not None:
            out["data_years"] = [{k: clean(v) for k, v in r.items()} for r in self.data_years.to_dict(orient="records")]
            out["default_year"] = clean(self.default_year())
        if self.weights_by_year is not None:
            out["weights_by_year"] = {str(y): {k: clean(v) for k, v in r.items()}
                                      for y, r in self.weights_by_year.iterrows()}
        return out

    def to_json(self, **kw) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, **kw)

    def __repr__(self) -> str:
        top = self.scores.sort_values(["year", "rank"] if "year" in self.scores else ["rank"]).head(5)
        return (f"IndexResult({self.framework.name!r}, {len(self.framework.indicators)} indicators, "
                f"{len(self.scores)} units, normalisation={self.config.normalisation}, "
                f"weighting={self.config.weighting}, aggregation={self.config.aggregation}, "
                f"mode={self.config.mode}/{self.config.scope})\n{top.to_string(index=False)}")


# ---------------------------------------------------------------------------------- helpers
def _to_pandas(data) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    try:
        import polars as pl

        if isinstance(data, pl.DataFrame):
            return data.to_pandas()
    except ImportError:  # pragma: no cover
        pass
    raise TypeError("data must be a pandas or polars DataFrame")


def _numeric_column(df: pd.DataFrame, col: str, keys: pd.DataFrame) -> np.ndarray:
    s = df[col]
    if pd.api.types.is_numeric_dtype(s):
        return s.to_numpy(dtype=float)
    txt = s.astype("string").str.strip().str.replace(",", ".", regex=False)
    num = pd.to_numeric(txt, errors="coerce")
    bad = num.isna() & s.notna() & (txt != "")
    if bad.any():
        i = int(np.where(bad.to_numpy())[0][0])
        key = ", ".join(f"{k}={keys.iloc[i][k]}" for k in keys.columns) if keys.shape[1] else f"row {i}"
        raise ValueError(f"column {col!r} holds a non-numeric value {s.iloc[i]!r} at {key} "
                         f"({int(bad.sum())} such values); clean it or drop the column")
    return num.to_numpy(dtype=float)


def _is_numeric(s: pd.Series) -> bool:
    if pd.api.types.is_numeric_dtype(s):
        return True
    txt = s.astype("string").str.strip().str.replace(",", ".", regex=False)
    txt = txt[txt.notna() & (txt != "")]
    return len(txt) > 0 and pd.to_numeric(txt, errors="coerce").notna().all()


def _refuse_mostly_numeric(s: pd.Series, name) -> None:
    """A column whose values are mostly numbers but not all is a data error, not a label column."""
    txt = s.astype("string").str.strip().str.replace(",", ".", regex=False)
    present = txt.notna() & (txt != "")
    parsed = pd.to_numeric(txt.where(present), errors="coerce")
    bad = present & parsed.isna()
    if present.sum() and parsed.notna().sum() >= 0.5 * present.sum():
        rows = np.flatnonzero(bad.to_numpy())[:5]
        examples = ", ".join(f"data row {r + 1}: {s.iloc[r]!r}" for r in rows)
        raise ValueError(
            f"column {name!r} is mostly numeric but {int(bad.sum())} value(s) are not numbers ({examples}; data rows "
            "count from 1 below the header). Fix or blank those cells, or drop the column if it is not an indicator"
        )


def resolve_config(framework: Framework | None, **overrides) -> IndexConfig:
    base = {}
    if framework is not None:
        d = framework.defaults
        base = {"normalisation": d.normalisation, "range": tuple(d.range), "weighting": d.weighting,
                "entropy_variant": d.entropy_variant, "aggregation": d.aggregation, "mode": d.mode,
                "scope": d.scope, "imputation": d.imputation, "treatment": d.treatment,
                "mcda_scope": d.mcda_scope, "coupling": d.coupling, "coupling_floor": d.coupling_floor}
        if framework.steps is not None:
            base["steps"] = tuple(spec.name for spec in framework.steps)
            for spec in framework.steps:
                base.update(spec.run_options())
    if overrides.get("steps") is not None:
        order = overrides["steps"]
        order = tuple(m.strip() for m in order.split(",")) if isinstance(order, str) else tuple(map(str, order))
        problems = check_step_order(order)
        if problems:
            raise ValueError("steps=" + ",".join(order) + ": " + "; ".join(msg for _, msg in problems))
        overrides = {**overrides, "steps": order}
    base.update({k: v for k, v in overrides.items() if v is not None})
    order = base.get("steps", DEFAULT_ORDER)
    from_file = framework is not None and framework.steps is not None and overrides.get("steps") is None
    for option, step, default in (("imputation", "impute", "none"), ("treatment", "treat", "none"),
                                  ("min_availability", "screen", 0.0)):
        asked = overrides.get(option)
        if asked is not None and asked != default and step not in order:
            where = (f"the framework's steps: (from line {framework.steps[0].line})" if from_file and
                     framework.steps[0].line else "the steps")
            raise ValueError(f"{option}={asked!r} was asked for, but {where} list no {step} step "
                             f"({', '.join(order)}), so it would not run. Fix: add {step} where it belongs in the "
                             "order, or drop the option")
    if framework is not None and "denominate" not in order:
        divided = [i.code for i in framework.indicators if i.denominator]
        if divided:
            raise ValueError(f"the steps ({', '.join(order)}) have no denominate step, but {', '.join(divided)} "
                             f"{'has a denominator' if len(divided) == 1 else 'have denominators'} in the framework: "
                             "they would enter undivided. Fix: add denominate to the steps (COINr runs it first)")
    cfg = IndexConfig(**base)
    norm = NORMALISATION_ALIASES.get(cfg.normalisation, cfg.normalisation)
    if norm not in nz.METHODS:
        raise ValueError(f"unknown normalisation {cfg.normalisation!r}; choose one of target, {', '.join(nz.METHODS)}")
    if overrides.get("mode") == "target" and overrides.get("normalisation") is None and norm not in (
            "realisation", "distance_target", "goalposts"):
        norm = "realisation"
    if norm in ("realisation", "distance_target", "goalposts"):
        cfg = replace(cfg, mode="target")
    if cfg.mode not in ("relative", "target"):
        raise ValueError("mode must be 'relative' or 'target'")
    if cfg.scope not in ("pooled", "by_year"):
        raise ValueError("scope must be 'pooled' or 'by_year'")
    if cfg.coupling_floor is not None and not 0.0 < cfg.coupling_floor < 1.0:
        raise ValueError(f"coupling_floor must lie between 0 and 1 (a small positive number such as 1e-10), "
                         f"got {cfg.coupling_floor:g}")
    if cfg.mcda_scope not in MCDA_SCOPES:
        raise ValueError(f"mcda_scope must be one of {', '.join(MCDA_SCOPES)}, got {cfg.mcda_scope!r}")
    if cfg.scheme not in ("nested", "global"):
        raise ValueError("scheme must be 'nested' or 'global'")
    if cfg.mode == "target" and norm not in ("realisation", "distance_target", "goalposts"):
        norm = "realisation"
    return replace(cfg, normalisation=norm, aggregation=canonical_aggregation(cfg.aggregation))


def _without(framework: Framework, codes: set[str]) -> Framework:
    """The framework with some indicators marked unavailable (after screening)."""
    data = framework.model.model_dump(exclude_none=True)

    def walk(dim):
        for ind in dim.get("indicators", []):
            if ind["code"] in codes:
                ind["available"] = False
        for sub in dim.get("dimensions", []):
            walk(sub)

    for d in data["dimensions"]:
        walk(d)
    single = len(framework.groups) == 1 and framework.groups[0].level == 0
    return from_dict(data, lines=framework.lines, source=framework.source, flatten_single=single)


# ---------------------------------------------------------------------------------- stages
@dataclass
class Prepared:
    framework: Framework
    config: IndexConfig
    keys: pd.DataFrame
    X: np.ndarray
    targets: np.ndarray  # n x m (NaN where none)
    blocks: list[np.ndarray]
    steps: list[dict]
    warnings: list[str]
    records: list = field(default_factory=list)  # StepRecord of each data step run so far


def _quick_framework(df: pd.DataFrame, key_cols, negative, positive, warns) -> tuple[Framework, str]:
    """A one-dimension framework of the data's numeric columns. Directions are never guessed: they come
    from the data's column metadata (``df.attrs["columns"]``: role and direction, as the bundled panels
    carry) or from ``negative`` / ``positive`` (``positive=["rest"]``: every other indicator is +);
    a numeric column with neither is refused, all such columns listed."""
    meta = df.attrs.get("columns") or {}
    num, skipped, context = [], [], []
    for c in df.columns:
        if c in key_cols:
            continue
        role = (meta.get(c) or {}).get("role")
        if role is not None and role != "indicator":
            context.append(f"{c} ({role})")
            continue
        (num if _is_numeric(df[c]) else skipped).append(c)
    for c in skipped:
        _refuse_mostly_numeric(df[c], c)
    if skipped:
        warns.append(f"non-numeric columns are not indicators and were left out: {', '.join(map(str, skipped))}")
    positive = [str(c) for c in positive]
    rest = "rest" in positive
    declared_pos = set(positive) - {"rest"}
    negative = [str(c) for c in negative]
    for name, cols in (("--negative", negative), ("--positive", sorted(declared_pos))):
        unknown = [c for c in cols if c not in num]
        if unknown:
            raise ValueError(f"{name} names columns that are not indicators of the data: {', '.join(unknown)} "
                             f"(indicator columns: {', '.join(map(str, num))})")
    both = sorted(set(negative) & declared_pos)
    if both:
        raise ValueError(f"columns declared both positive and negative: {', '.join(both)}")
    directions, intervals, source = {}, {}, {}
    for c in num:
        m = meta.get(c) or {}
        if c in negative:
            directions[c], source[c] = "-", "declared"
        elif c in declared_pos:
            directions[c], source[c] = "+", "declared"
        elif m.get("direction"):
            directions[c], source[c] = m["direction"], "metadata"
            if m.get("interval"):
                intervals[c] = m["interval"]
        elif rest:
            directions[c], source[c] = "+", "declared (rest)"
    undeclared = [c for c in num if c not in directions]
    if undeclared:
        raise ValueError(
            f"no direction for {len(undeclared)} indicator column(s): {', '.join(map(str, undeclared))}. A direction is "
            "never guessed (unemployment, pollution or inequality are 'less is better'). Fix: declare them with "
            "--negative a,b and --positive c,d (--positive rest: every other column is 'more is better'), or use a "
            "framework file (--framework), or drop the columns that are not indicators")
    framework = Framework.flat(num, (), directions=directions, intervals=intervals)
    neg = [c for c in num if directions[c] == "-"]
    mod = [c for c in num if directions[c] == "moderate"]
    detail = (f"quick framework: {len(num)} numeric columns as indicators; directions from "
              + ", ".join(sorted(set(source.values()))) + f"; negative: {', '.join(neg) or 'none'}"
              + (f"; moderate: {', '.join(mod)}" if mod else "")
              + (f"; not indicators (metadata): {', '.join(context)}" if context else "")
              + (f"; non-numeric columns ignored: {', '.join(map(str, skipped))}" if skipped else ""))
    return framework, detail


# ---------------------------------------------------------------------------------- data steps
@dataclass
class _State:
    """The data as the data steps pass it on: indicator values X (units x indicators), the
    denominators (NaN where an indicator has none), the imputation group labels, the detail list
    and the step records."""

    framework: Framework
    keys: pd.DataFrame
    X: np.ndarray
    den: np.ndarray
    labels: np.ndarray | None
    details: list[dict]
    records: list


def _unit_names(keys: pd.DataFrame, rows) -> tuple[str, ...]:
    return tuple(str(keys.region[i]) if pd.isna(keys.year[i]) else f"{keys.region[i]} {keys.year[i]}" for i in rows)


def _step_denominate(st: _State, cfg: IndexConfig, pos: int) -> None:
    """x_j / d_j * scale_j for every indicator with a ``denominator:`` (COINr ``Denominate``)."""
    fw = st.framework
    dens = [j for j, ind in enumerate(fw.indicators) if ind.denominator]
    had = ~np.isnan(st.X[:, dens])
    with np.errstate(divide="ignore", invalid="ignore"):
        for j in dens:
            st.X[:, j] = st.X[:, j] / st.den[:, j] * fw.indicators[j].scale
    codes = tuple(fw.indicators[j].code for j in dens)
    lost = had & ~np.isfinite(st.X[:, dens])
    if lost.any():  # x / 0 is no value: missing (then imputed or left out by the coverage rule), never inf
        block = st.X[:, dens]
        block[lost] = np.nan
        st.X[:, dens] = block
    detail = {"step": "denomination", "detail": ", ".join(
        f"{fw.indicators[j].code} = {fw.indicators[j].data_column}/{fw.indicators[j].denominator}" for j in dens)}
    if dens:
        st.details.append(detail)
    n_lost = int(lost.sum())
    summary = (f"{int(had.sum())} cells of {len(dens)} indicator(s) divided: {listing(codes)}" if dens
               else "nothing: no indicator has a denominator")
    if n_lost:
        summary += f"; {n_lost} cells without a value (denominator missing or 0)"
        where = "; ".join(f"{c} in {listing(_unit_names(st.keys, np.flatnonzero(lost[:, k])))}"
                          for k, c in enumerate(codes) if lost[:, k].any())
        detail["lost"] = where
    st.records.append(StepRecord(pos, "denominate", {}, (
        Change("cells_denominated", int(had.sum()), codes),
        Change("cells_lost", n_lost, tuple(c for k, c in enumerate(codes) if lost[:, k].any()))), summary, detail))


def _step_screen(st: _State, cfg: IndexConfig, pos: int) -> None:
    """Drop indicators, then units, with less than ``min_availability`` of their cells observed
    (COINr ``Screen(dat_thresh=)``)."""
    X, fw, keys = st.X, st.framework, st.keys
    rep = prepare.screen(X, min_unit=cfg.min_availability, min_indicator=cfg.min_availability)
    drop_ind = [fw.indicators[j].code for j in np.where(~rep.kept_indicators)[0]]
    drop_unit = np.where(~rep.kept_units)[0]
    detail = {"step": "screening", "min_availability": cfg.min_availability,
              "missing_cells": int(np.isnan(X).sum()),
              "dropped_indicators": drop_ind,
              "dropped_units": [f"{keys.region[i]} {keys.year[i]}" for i in drop_unit]}
    st.details.append(detail)
    units = _unit_names(keys, drop_unit)
    if drop_ind:
        st.framework = _without(fw, set(drop_ind))
        st.X = st.X[:, rep.kept_indicators]
        st.den = st.den[:, rep.kept_indicators]
    if len(drop_unit):
        st.X = st.X[rep.kept_units]
        st.den = st.den[rep.kept_units]
        st.keys = keys[rep.kept_units].reset_index(drop=True)
        if st.labels is not None:
            st.labels = st.labels[rep.kept_units]
    parts = [f"{len(drop_unit)} of {len(keys)} units dropped" + (f" ({listing(units)})" if len(units) else ""),
             f"{len(drop_ind)} of {len(fw.indicators)} indicators dropped" + (f" ({listing(drop_ind)})" if drop_ind else "")]
    st.records.append(StepRecord(pos, "screen", {"min_availability": cfg.min_availability}, (
        Change("units_dropped", len(drop_unit), units), Change("indicators_dropped", len(drop_ind), tuple(drop_ind))),
        "; ".join(parts), detail))


def _step_impute(st: _State, cfg: IndexConfig, pos: int) -> None:
    """Fill missing cells (``prepare.impute``; a chain such as ``linear,mean`` runs in turn)."""
    fw, keys = st.framework, st.keys
    options = {"method": cfg.imputation, "groups": cfg.impute_groups}
    missing_before = int(np.isnan(st.X).sum())
    details: list[dict] = []
    filled = np.zeros(st.X.shape, dtype=bool)
    within = None
    if cfg.imputation != "none":
        cross_section = keys["year"].isna().all()
        if st.labels is not None:
            groups, within = st.labels, f"within each {cfg.impute_groups}"
        elif cfg.impute_groups == "year" and not cross_section:
            groups, within = keys["year"].to_numpy(), "within each year"
        else:
            groups, within = None, "over all units" + (" (a cross-section: no year)" if cross_section else "")
        # methods may be chained, e.g. "linear,mean": interpolate inside series, then fill the rest
        for method in [m.strip() for m in cfg.imputation.replace("+", ",").split(",") if m.strip()]:
            st.X, irep = prepare.impute(st.X, method, groups=groups, units=keys["region"].to_numpy(),
                                        times=keys["year"].to_numpy())
            filled |= irep.imputed
            per = {fw.indicators[j].code: int(irep.imputed[:, j].sum()) for j in range(st.X.shape[1])
                   if irep.imputed[:, j].any()}
            details.append({"step": "imputation", "method": method, "cells_imputed": irep.n_imputed,
                            **({"groups": within} if method in ("mean", "median") else {}),
                            "by_indicator": per, "still_missing": irep.still_missing,
                            "observed_values_changed": 0})
    elif np.isnan(st.X).any():
        details.append({"step": "imputation", "method": "none",
                        "detail": f"{int(np.isnan(st.X).sum())} missing cells left; means reweight around them"})
    st.details.extend(details)
    left = int(np.isnan(st.X).sum())
    codes = tuple(fw.indicators[j].code for j in range(st.X.shape[1]) if filled[:, j].any())
    if len(details) <= 1:
        detail = details[0] if details else {"step": "imputation", "method": cfg.imputation}
    else:
        detail = {"step": "imputation", "method": cfg.imputation, "cells_imputed": int(filled.sum()),
                  **({"groups": within} if within else {}),
                  "by_indicator": {c: int(filled[:, j].sum()) for j, c in enumerate(fw.codes) if filled[:, j].any()},
                  "still_missing": left, "observed_values_changed": 0}
    n = int(filled.sum())
    summary = (f"{n} of {missing_before} missing cells filled" + (f" in {listing(codes)}" if codes else "")
               + (f" ({within})" if within and n else "") + f"; {left} left missing")
    if cfg.imputation == "none":
        summary = f"nothing (method none); {left} cells missing" + ("; means reweight around them" if left else "")
    st.records.append(StepRecord(pos, "impute", options, (
        Change("cells_imputed", n, codes),
        Change("cells_still_missing", left, tuple(c for j, c in enumerate(fw.codes) if np.isnan(st.X[:, j]).any()))),
        summary, detail))


def _step_treat(st: _State, cfg: IndexConfig, pos: int) -> None:
    """Outlier treatment per indicator (``prepare.treat_column``: |skew| > 2 and kurtosis > 3.5 fail)."""
    treated = []
    detail = {"step": "outliers", "method": cfg.treatment}
    if cfg.treatment != "none":
        for j, ind in enumerate(st.framework.indicators):
            st.X[:, j], tr = prepare.treat_column(st.X[:, j], cfg.treatment, name=ind.code)
            if tr.action != "none":
                treated.append({"indicator": ind.code, "action": tr.action, "winsorised": tr.n_winsorised,
                                "skew": [round(tr.skew_before, 3), round(tr.skew_after, 3)],
                                "kurtosis": [round(tr.kurt_before, 3), round(tr.kurt_after, 3)],
                                **({"lambda": tr.boxcox_lambda} if tr.boxcox_lambda is not None else {})})
        detail = {"step": "outliers", "method": cfg.treatment, "rule": "|skew| > 2 and kurtosis > 3.5",
                  "treated": treated}
        st.details.append(detail)
    win = [t for t in treated if t["action"] == "winsorised"]
    tra = [t for t in treated if t["action"] != "winsorised"]
    points = sum(t["winsorised"] for t in win)
    if cfg.treatment == "none":
        summary = "nothing (method none)"
    else:
        summary = (f"{len(treated)} of {len(st.framework.indicators)} indicators treated"
                   + (f": {points} points winsorised in {listing(t['indicator'] for t in win)}" if win else "")
                   + (f"{';' if win else ':'} transformed: {listing(t['indicator'] + ' (' + t['action'] + ')' for t in tra)}"
                      if tra else ""))
    st.records.append(StepRecord(pos, "treat", {"method": cfg.treatment}, (
        Change("indicators_treated", len(treated), tuple(t["indicator"] for t in treated)),
        Change("points_winsorised", points, tuple(t["indicator"] for t in win)),
        Change("indicators_transformed", len(tra), tuple(t["indicator"] for t in tra))), summary, detail))


_DATA_STEPS = {"denominate": _step_denominate, "screen": _step_screen, "impute": _step_impute, "treat": _step_treat}


def prepare_panel(data, framework: Framework | None = None, *, region: str | None = "region",
                  year: str | None = "year", negative=(), positive=(), config: IndexConfig | None = None,
                  **overrides) -> Prepared:
    df = _to_pandas(data)
    steps: list[dict] = []
    warns: list[str] = []
    if region is not None and region not in df.columns:
        raise ValueError(f"region column {region!r} is not in the data (columns: {', '.join(map(str, df.columns))}); "
                         "name it with --region")
    if year is not None and year not in df.columns:
        year = None
    key_cols = [c for c in (region, year) if c is not None]
    keys = df[key_cols].copy().reset_index(drop=True)
    keys.columns = ["region", "year"][: len(key_cols)] if region is not None else ["year"]
    if "region" not in keys:
        keys.insert(0, "region", np.arange(len(df)).astype(str))
    if "year" not in keys:
        keys["year"] = np.nan
    elif not pd.api.types.is_numeric_dtype(keys["year"]):
        as_num = pd.to_numeric(keys["year"], errors="coerce")
        if as_num.notna().all():
            keys["year"] = as_num.astype(int) if (as_num % 1 == 0).all() else as_num
    dup = keys.duplicated(keep=False)
    if dup.any():
        first = keys[dup].iloc[0]
        raise ValueError(f"{int(dup.sum())} rows share a (region, year): e.g. region={first['region']}, "
                         f"year={first['year']}; aggregate or drop duplicates first")
    if framework is None:
        early = config or resolve_config(None, **overrides)  # bad options are reported before the data's defects
        framework, detail = _quick_framework(df, key_cols, negative, positive, warns)
        steps.append({"step": "framework", "detail": detail})
        config = config or early
    else:
        if negative or positive:
            raise ValueError("--negative/--positive apply only without --framework; set directions in the framework file")
        framework.check_columns(df.columns)
        if framework.skipped:
            steps.append({"step": "framework", "detail": "not in the data, skipped: "
                          + ", ".join(i.code for i in framework.skipped)})
    cfg = config or resolve_config(framework, **overrides)
    X = np.column_stack([_numeric_column(df, ind.data_column, keys) for ind in framework.indicators])
    den = np.full(X.shape, np.nan)
    for j, ind in enumerate(framework.indicators):
        if ind.denominator:  # divided (and scaled) by the denominate step
            den[:, j] = _numeric_column(df, ind.denominator, keys)
        elif ind.scale != 1.0:
            X[:, j] = X[:, j] * ind.scale
    impute_labels = None
    if cfg.imputation != "none" and cfg.impute_groups not in ("year", "all"):
        if cfg.impute_groups not in df.columns:
            from ..io.errors import closest

            near = closest(cfg.impute_groups, [str(c) for c in df.columns])
            raise ValueError(f"impute_groups={cfg.impute_groups!r} is not a column of the data"
                             + (f" (did you mean {', '.join(near)}?)" if near else "")
                             + "; name a group column (e.g. a region group), or use 'year' or 'all'")
        impute_labels = df[cfg.impute_groups].to_numpy(dtype=object)
    st = _State(framework, keys, X, den, impute_labels, steps, [])
    for name in cfg.steps:
        if name in _DATA_STEPS:
            _DATA_STEPS[name](st, cfg, len(st.records) + 1)
    framework, keys, X = st.framework, st.keys, st.X
    for rec in st.records:
        if rec.name == "denominate" and rec.count("cells_lost"):
            warns.append(f"denominate: {rec.count('cells_lost')} cell(s) have no value because the denominator is 0 or "
                         f"missing ({rec.detail.get('lost', '')}); they are treated as missing (imputed, or left out by "
                         "the coverage rule). Fix: correct the denominator data or drop those units")
    _check_indicator_information(X, framework, keys, warns)
    # targets -----------------------------------------------------------------------------
    T = np.full(X.shape, np.nan)
    for j, ind in enumerate(framework.indicators):
        if ind.target is not None:
            T[:, j] = [ind.target.for_unit(r, None if pd.isna(y) else y) for r, y in zip(keys.region, keys.year)]
    years = keys["year"].to_numpy()
    if cfg.scope == "by_year" and not pd.isna(years).all():
        blocks = [np.where(years == y)[0] for y in pd.unique(years)]
        if len(blocks) > 1 and cfg.mode == "relative":
            warns.append("scores are normalised and weighted within each year (relative, by_year scope): they rank "
                         "regions within a year but are NOT comparable across years; use scope='pooled' (panel) or "
                         "mode='target' to compare over time")
    else:
        blocks = [np.arange(X.shape[0])]
    return Prepared(framework, cfg, keys, X, T, blocks, steps, warns, st.records)


def _check_indicator_information(X: np.ndarray, framework: Framework, keys: pd.DataFrame, warns: list) -> None:
    """An indicator with fewer than two values cannot be normalised (refused); a constant one carries no
    information (warned: min-max maps it to one value, entropy gives it no weight); a unit with no
    value at all is left unscored (the coverage rule says so)."""
    n = X.shape[0]
    few = []
    for j, ind in enumerate(framework.indicators):
        col = X[:, j]
        ok = ~np.isnan(col)
        if ok.sum() < 2:
            if ok.any():
                i = np.flatnonzero(ok)[0]
                where = f"only at {keys.region[i]}" + ("" if pd.isna(keys.year[i]) else f" {keys.year[i]:g}")
            else:
                where = "no value at all"
            few.append(f"{ind.code} ({int(ok.sum())} of {n} units: {where})")
        elif np.nanmax(col) == np.nanmin(col):
            warns.append(f"indicator {ind.code!r} is constant ({np.nanmin(col):g} in all {int(ok.sum())} units with a "
                         "value): it carries no information (min-max maps it to one value, entropy and CRITIC give it "
                         "no weight); drop it or check the data")
    if few:
        raise ValueError(f"indicator(s) with fewer than two values cannot be normalised: {'; '.join(few)}. Fix: drop "
                         "them from the framework (available: false), impute them, or choose years where they have data")
    for grp in framework.groups:
        if grp.weights and any(w == 0 for w in grp.weights if w is not None):
            names = [framework.indicators[j].code for j in grp.indicator_children] + \
                [framework.groups[c].code for c in grp.group_children]
            zero = [nm for nm, w in zip(names, grp.weights) if w == 0]
            warns.append(f"group {grp.code!r} gives weight 0 to {', '.join(zero)}: "
                         f"{'they do' if len(zero) > 1 else 'it does'} not enter the index")


def column_methods(prep: Prepared, method: str | None = None) -> list[str]:
    """The normalisation each indicator gets: ``method``, except that in target mode an indicator
    without a target falls back to its goalposts (refused when it has neither)."""
    method = method or prep.config.normalisation
    fw = prep.framework
    out = []
    for j, ind in enumerate(fw.indicators):
        m = method
        if m in ("realisation", "distance_target") and np.isnan(prep.targets[:, j]).all():
            if ind.goalposts is not None:
                m = "goalposts"
            elif ind.direction != "moderate":
                raise ValueError(f"indicator {ind.code!r} has no target and no goalposts; target mode needs one "
                                 f"(add `target:` or `goalposts:` in the framework at line "
                                 f"{fw.lines.get(fw.paths.get(ind.code, ()), '?')})")
        if m == "goalposts" and ind.goalposts is None and ind.direction != "moderate":
            raise ValueError(f"indicator {ind.code!r} has no goalposts: add `goalposts: [low, high]`")
        out.append(m)
    return out


def normalise_matrix(prep: Prepared, method: str | None = None, low: float | None = None,
                     high: float | None = None) -> np.ndarray:
    cfg = prep.config
    method = method or cfg.normalisation
    low = cfg.range[0] if low is None else low
    high = cfg.range[1] if high is None else high
    X, fw = prep.X, prep.framework
    Z = np.full(X.shape, np.nan)
    for j, (ind, m) in enumerate(zip(fw.indicators, column_methods(prep, method))):
        for rows in prep.blocks:
            t = prep.targets[rows, j]
            Z[rows, j] = nz.normalise_column(
                X[rows, j], m, ind.sign, low=low, high=high, goalposts_=ind.goalposts,
                target=None if np.isnan(t).all() else t, optimum=ind.optimum,
                interval=tuple(ind.interval) if ind.interval else None, cap=cfg.cap, name=ind.code)
    return Z


def base_weights(prep: Prepared, Z: np.ndarray, weighting: str | None = None, *, use_framework: bool = True,
                 rows: np.ndarray | None = None) -> list[np.ndarray]:
    """Child weights of every group (list aligned with framework.groups), each summing to 1."""
    cfg = prep.config
    fw = prep.framework
    method_default = weighting or cfg.weighting
    rows = np.arange(Z.shape[0]) if rows is None else rows
    Zw = Z[rows]
    if np.nanmin(Zw) < 0:  # z-scores etc.: objective weights from min-max data
        Zw = np.column_stack([nz.minmax(prep.X[rows, j], ind.sign) for j, ind in enumerate(fw.indicators)])
    Xw = prep.X[rows]
    opts = {"entropy_variant": cfg.entropy_variant}
    types = np.array([0 if ind.direction == "moderate" else ind.sign for ind in fw.indicators])  # for MEREC
    out: list[np.ndarray] = []
    global_w = None
    if cfg.scheme == "global" and method_default not in ("user", "ahp"):
        global_w = objective_weights(method_default, Zw, Xw, types=types, names=fw.codes, **opts)
    leaf_sum: dict[int, float] = {}
    for g, grp in enumerate(fw.groups):
        k = len(grp.indicator_children) + len(grp.group_children)
        explicit = use_framework and grp.weights and all(w is not None for w in grp.weights)
        method = grp.weighting or method_default
        if weighting is not None and not grp.group_children:
            method = weighting  # a run option overrides the framework on indicator groups
            explicit = explicit and weighting == "user"
        if explicit and (weighting is None or weighting == "user" or grp.group_children):
            w = np.asarray(grp.weights, dtype=float)
        elif method == "ahp" and grp.ahp is not None:
            w = ahp(grp.ahp).weights
        elif global_w is not None:
            parts = [global_w[j] for j in grp.indicator_children] + [leaf_sum[c] for c in grp.group_children]
            w = np.asarray(parts, dtype=float)
        elif grp.group_children:
            w = np.full(k, 1.0 / k) if grp.weighting in (None, "equal", "user") else None
            if w is None:  # an objective method over the children's scores is resolved later
                w = np.full(k, 1.0 / k)
        else:
            cols = grp.indicator_children
            w = objective_weights("equal" if method == "user" else method, Zw[:, cols], Xw[:, cols],
                                  types=types[cols], names=[fw.codes[j] for j in cols], **opts)
        leaf_sum[g] = float(np.sum(w)) if global_w is not None else 1.0
        w = np.asarray(w, dtype=float)
        if w.sum() <= 0:
            raise ValueError(f"the weights of group {grp.code!r} sum to 0")
        out.append(w / w.sum())
    return out


def effective_weights(framework: Framework, gw: list[np.ndarray]) -> np.ndarray:
    """Product of the nested weights down the tree (COINr ``get_eff_weights``)."""
    m = len(framework.indicators)
    eff = np.zeros(m)
    gmult = {len(framework.groups) - 1: 1.0}
    for g in range(len(framework.groups) - 1, -1, -1):
        grp = framework.groups[g]
        mult = gmult.get(g, 0.0)
        w = gw[g]
        ni = len(grp.indicator_children)
        for k, j in enumerate(grp.indicator_children):
            eff[j] = mult * w[k]
        for k, c in enumerate(grp.group_children):
            gmult[c] = mult * w[ni + k]
    return eff


def _aggregations(fw: Framework, cfg: IndexConfig, override: str | None = None) -> list[str]:
    out = []
    for grp in fw.groups:
        a = grp.aggregation or override or cfg.aggregation
        if grp.group_children and grp.aggregation is None and canonical_aggregation(override or cfg.aggregation) in MCDA:
            a = "arithmetic" if cfg.scheme == "nested" and cfg.mcda_scope != "flat" else a
        out.append(canonical_aggregation(a))
    return out


def _mcda_scope_step(fw: Framework, cfg: IndexConfig, aggs: list[str]) -> dict:
    """Where an MCDA method (TOPSIS, VIKOR, GRA, Copeland) ran, for the aggregation step's record."""
    if not any(a in MCDA for a in aggs):
        return {}
    root = aggs[-1]
    m = len(fw.indicators)
    if cfg.mcda_scope == "flat" and root in MCDA and len(fw.groups) > 1:
        where = (f"{root} on the flat set of all {m} indicators (effective weights); dimension scores: the same "
                 "method on each dimension's indicators")
    elif len(fw.groups) == 1:
        where = f"{root} on the {m} indicators (one dimension: per dimension and flat coincide)"
    else:
        used = sorted({a for a in aggs[:-1] if a in MCDA})
        where = (f"{', '.join(used) or root} within each dimension on its indicators; the index combines the dimension "
                 f"scores by {root}" + (" (on dimension scores, not indicators)" if root in MCDA else ""))
    return {"mcda_scope": cfg.mcda_scope, "mcda": where}


def rank_within(scores: np.ndarray, blocks_by_year: list[np.ndarray]) -> np.ndarray:
    """Rank 1 = highest score, ties share the best rank, computed within each year; works on
    (draws x units) arrays."""
    from scipy.stats import rankdata

    S = np.atleast_2d(scores)
    R = np.full(S.shape, np.nan)
    for rows in blocks_by_year:
        blk = -S[:, rows]
        R[:, rows] = rankdata(np.where(np.isnan(blk), np.inf, blk), axis=1, method="min")
        R[:, rows] = np.where(np.isnan(blk), np.nan, R[:, rows])
    return R if np.ndim(scores) == 2 else R[0]


def year_blocks(keys: pd.DataFrame) -> list[np.ndarray]:
    years = keys["year"].to_numpy()
    if pd.isna(years).all():
        return [np.arange(len(keys))]
    return [np.where(years == y)[0] for y in pd.unique(years)]


def _influence(Z: np.ndarray, y: np.ndarray, eff: np.ndarray, codes: list[str]) -> pd.DataFrame:
    """Effective weights measured on the result: Pearson r with the index, r^2 shares, the
    covariance (variance-based) share w_j cov(z_j, y)/var(y) (exact decomposition of var(y) for
    an arithmetic index), and Becker et al. (2017)-style main effects eta^2 = var(E[y|z_j])/var(y)
    with E[y|z_j] fitted by a cubic polynomial."""
    ok = ~np.isnan(y) & ~np.isnan(Z).any(axis=1)
    Zc, yc = Z[ok], y[ok]
    rows = []
    vy = np.var(yc)
    for j, code in enumerate(codes):
        z = Zc[:, j]
        if np.std(z) == 0 or vy == 0:
            rows.append((code, eff[j], np.nan, np.nan, np.nan))
            continue
        r = float(np.corrcoef(z, yc)[0, 1])
        cov_share = float(eff[j] * np.cov(z, yc, bias=True)[0, 1] / vy)
        deg = min(3, max(1, len(np.unique(z)) - 1))
        fit = np.polyval(np.polyfit(z, yc, deg), z)
        rows.append((code, eff[j], r, cov_share, float(np.var(fit) / vy)))
    df = pd.DataFrame(rows, columns=["indicator", "nominal", "pearson_r", "variance_share", "main_effect"])
    r2 = df["pearson_r"] ** 2
    df.insert(3, "r2_share", r2 / r2.sum())
    return df.set_index("indicator")


# ---------------------------------------------------------------------------------- main
def build_index(data, framework: Framework | str | None = None, *, region: str | None = "region",
                year: str | None = "year", negative=(), positive=(), **options) -> IndexResult:
    """Compute a composite index. ``framework`` is a :class:`Framework`, a YAML path or the name of
    a bundled framework; without one every numeric column is an indicator, each with the direction
    of the data's column metadata or declared in ``negative`` / ``positive`` (never guessed: an
    undeclared column is refused). ``options`` override the framework's defaults (see :class:`IndexConfig`)."""
    if isinstance(framework, str):
        from .framework import load

        framework = load(framework)
    prep = prepare_panel(data, framework, region=region, year=year, negative=negative, positive=positive, **options)
    return run_prepared(prep)


def run_prepared(prep: Prepared) -> IndexResult:
    cfg, fw = prep.config, prep.framework
    steps, warns = list(prep.steps), list(prep.warnings)
    records = list(prep.records)
    Z = normalise_matrix(prep)
    steps.append({"step": "normalisation", "method": cfg.normalisation, "range": list(cfg.range),
                  "scope": cfg.scope, "mode": cfg.mode})
    records.append(_normalise_record(prep, len(records) + 1, steps[-1]))
    codes = fw.codes
    wby = None
    if cfg.scope == "by_year" and len(prep.blocks) > 1:
        per_block = [base_weights(prep, Z, rows=rows) for rows in prep.blocks]
        aggs = _aggregations(fw, cfg)
        n = Z.shape[0]
        scores = [np.full(n, np.nan) for _ in fw.groups]
        coverage = [np.full(n, np.nan) for _ in fw.groups]
        effs = []
        for rows, gw in zip(prep.blocks, per_block):
            cov_b: list = []
            s = evaluate(Z[rows], fw.groups, [w[None, :] for w in gw], aggs, [np.arange(len(rows))], cfg.opts(),
                         names=codes, units=None, min_coverage=cfg.min_coverage, coverage_out=cov_b)
            for g in range(len(fw.groups)):
                scores[g][rows] = s[g][0]
                coverage[g][rows] = cov_b[g]
            effs.append(effective_weights(fw, gw))
        yrs = [prep.keys.year.iloc[rows[0]] for rows in prep.blocks]
        wby = pd.DataFrame(effs, index=yrs, columns=codes)
        gw = [np.mean([pb[g] for pb in per_block], axis=0) for g in range(len(fw.groups))]
        eff = wby.mean(axis=0).to_numpy()
    else:
        gw = base_weights(prep, Z)
        aggs = _aggregations(fw, cfg)
        coverage = []
        s = evaluate(Z, fw.groups, [w[None, :] for w in gw], aggs, prep.blocks, cfg.opts(), names=codes,
                     units=[f"{r} {y}" for r, y in zip(prep.keys.region, prep.keys.year)],
                     min_coverage=cfg.min_coverage, coverage_out=coverage)
        scores = [x[0] for x in s]
        eff = effective_weights(fw, gw)
    steps.append({"step": "weighting", "method": cfg.weighting, "scheme": cfg.scheme,
                  **({"entropy_variant": cfg.entropy_variant} if cfg.weighting == "entropy" else {})})
    index = scores[-1]
    cov = pd.concat([prep.keys.reset_index(drop=True),
                     pd.DataFrame({g.code: coverage[k] for k, g in enumerate(fw.groups)})], axis=1)
    below = [(g.code, int(np.sum(coverage[k] < cfg.min_coverage - 1e-12))) for k, g in enumerate(fw.groups)]
    steps.append({"step": "aggregation", "by_group": {g.code: a for g, a in zip(fw.groups, aggs)},
                  **_mcda_scope_step(fw, cfg, aggs),
                  "min_coverage": cfg.min_coverage,
                  "rule": "a unit's group score needs at least min_coverage of the group's children with a value",
                  "units_below_threshold": {c: k for c, k in below if k}})
    records.append(_aggregate_record(prep, len(records) + 1, aggs, index, steps[-1]))
    unscored = np.isnan(index)
    if unscored.any():
        why = {c: k for c, k in below if k}
        warns.append(f"{int(unscored.sum())} of {len(index)} units have no index score: their data cover less than "
                     f"{cfg.min_coverage:.0%} of a group's components (units below the threshold by group: "
                     + ", ".join(f"{c} {k}" for c, k in why.items()) + "); see result.coverage, or set min_coverage")
    data_years = None
    if not prep.keys["year"].isna().all():
        yrs = prep.keys["year"].to_numpy()
        rows_ = []
        for y in sorted(pd.unique(yrs)):
            m = yrs == y
            rows_.append({"year": y, "units": int(m.sum()), "units_scored": int(np.sum(~np.isnan(index[m]))),
                          "indicators_with_data": int(np.sum(~np.all(np.isnan(prep.X[m]), axis=0))),
                          "median_coverage": float(np.median(coverage[-1][m]))})
        data_years = pd.DataFrame(rows_)
        data_years["share_scored"] = data_years["units_scored"] / data_years["units"]
        empty = data_years.loc[data_years["units_scored"] == 0, "year"].tolist()
        if empty:
            warns.append(f"no index score in year(s) {_spans(empty)}: too few of the framework's indicators have "
                         "data then (see result.data_years)")
    yb = year_blocks(prep.keys)
    ranks = rank_within(index, yb)
    out = prep.keys.copy()
    out["score"] = index
    out["rank"] = ranks.astype(float)
    if cfg.aggregation == "vikor":
        warns.append("VIKOR: score = 1 - Q (Q is VIKOR's compromise measure, lower is better)")
    dims = pd.DataFrame({g.code: scores[k] for k, g in enumerate(fw.groups)})
    # weights tables --------------------------------------------------------------------
    parent_w = np.zeros(len(codes))
    for g, grp in enumerate(fw.groups):
        for k, j in enumerate(grp.indicator_children):
            parent_w[j] = gw[g][k]
    dim_of = fw.dimension_of(1)
    wt = pd.DataFrame({"indicator": codes, "dimension": [dim_of[c] for c in codes],
                       "name": [i.label() for i in fw.indicators], "direction": [i.direction for i in fw.indicators],
                       "within_group": parent_w, "effective": eff}).set_index("indicator")
    grows = []
    for g, grp in enumerate(fw.groups):
        names = [codes[j] for j in grp.indicator_children] + [fw.groups[c].code for c in grp.group_children]
        for nm, w in zip(names, gw[g]):
            grows.append({"group": grp.code, "child": nm, "weight": float(w)})
    gwt = pd.DataFrame(grows)
    infl = _influence(Z, index, eff, codes)
    # obstacle degree (bounded scores only) ---------------------------------------------------
    obstacles = None
    if np.nanmin(Z) >= 0 and np.nanmax(Z) <= max(1.0, cfg.range[1]) + 1e-9:
        scale = cfg.range[1] if cfg.normalisation in ("minmax", "goalposts") else 1.0
        O = obstacle_degree(Z / scale, eff)
        obstacles = pd.concat([prep.keys.reset_index(drop=True), pd.DataFrame(O, columns=codes)], axis=1)
    # coupling between top dimensions ---------------------------------------------------------
    coupling = None
    top = fw.top_dimensions()
    if len(top) >= 2:
        U = np.column_stack([scores[g] for g in top])
        lo_hi = cfg.range if cfg.normalisation in ("minmax", "goalposts") else (0.0, 1.0)
        Uc = (U - lo_hi[0]) / (lo_hi[1] - lo_hi[0]) if lo_hi != (0.0, 1.0) else U
        if np.nanmin(Uc) >= -1e-12 and np.nanmax(Uc) <= 1 + 1e-12:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cc = coupling_coordination(np.clip(Uc, 0, 1), variant=cfg.coupling, floor=cfg.coupling_floor,
                                           systems=tuple(fw.groups[g].code for g in top))
            coupling = pd.concat([prep.keys.reset_index(drop=True), cc.to_frame()], axis=1)
            steps.append({"step": "coupling", "variant": cfg.coupling, "systems": [fw.groups[g].code for g in top],
                          **({"floor": cfg.coupling_floor} if cfg.coupling_floor is not None else {})})
    for w_ in warns:
        warnings.warn(w_, stacklevel=3)
    log = StepLog(tuple(records), tuple(steps), _order_source(fw, cfg))
    return IndexResult(fw, cfg, prep.keys, pd.DataFrame(prep.X, columns=codes), pd.DataFrame(Z, columns=codes),
                       out, dims, wt, gwt, infl, obstacles, coupling, log, warns, wby, prep, cov, data_years)


def _order_source(fw: Framework, cfg: IndexConfig) -> str:
    if fw.steps is not None and tuple(s.name for s in fw.steps) == tuple(cfg.steps):
        line = fw.lines.get(("steps",))
        return "the framework's steps:" + (f" (line {line})" if line else "")
    if tuple(cfg.steps) == DEFAULT_ORDER:
        return "the default order"
    return "the steps= option"


def _normalise_record(prep: Prepared, pos: int, detail: dict) -> StepRecord:
    cfg, fw = prep.config, prep.framework
    methods = column_methods(prep)
    used: dict[str, list[str]] = {}
    for code, m in zip(fw.codes, methods):
        used.setdefault(m, []).append(code)
    changes = tuple(Change("indicators_normalised" if m == cfg.normalisation else f"indicators_{m}", len(c), tuple(c))
                    for m, c in used.items())
    rng = f" to [{cfg.range[0]:g}, {cfg.range[1]:g}]" if cfg.normalisation in ("minmax", "goalposts") else ""
    summary = "; ".join(f"{len(c)} indicators by {m}" + (rng if m in ("minmax", "goalposts") else "")
                        for m, c in used.items()) + (", within each year" if len(prep.blocks) > 1 else "")
    options = {"method": cfg.normalisation, "range": tuple(cfg.range), "mode": cfg.mode, "scope": cfg.scope}
    return StepRecord(pos, "normalise", options, changes, summary, detail)


def _aggregate_record(prep: Prepared, pos: int, aggs: list[str], index: np.ndarray, detail: dict) -> StepRecord:
    cfg, fw = prep.config, prep.framework
    levels: dict[int, list[str]] = {}
    for g in fw.groups:
        levels.setdefault(g.level, []).append(g.code)
    changes = [Change(f"groups_level_{lev}", len(c), tuple(c)) for lev, c in sorted(levels.items(), reverse=True)]
    unscored = np.flatnonzero(np.isnan(index))
    changes.append(Change("units_unscored", len(unscored), _unit_names(prep.keys, unscored)))
    chain = " -> ".join(f"{len(c)} group{'s' * (len(c) > 1)}" if lev else c[0] for lev, c in
                        sorted(levels.items(), reverse=True))
    methods = sorted(set(aggs), key=aggs.index)
    summary = (f"{len(levels)} level{'s' * (len(levels) > 1)}: {chain} ({', '.join(methods)}); "
               + (f"{len(unscored)} of {len(index)} units unscored" if len(unscored) else f"all {len(index)} units scored"))
    options = {"method": cfg.aggregation, "weighting": cfg.weighting, "scheme": cfg.scheme,
               "min_coverage": cfg.min_coverage}
    if cfg.weighting == "entropy":
        options["entropy_variant"] = cfg.entropy_variant
    return StepRecord(pos, "aggregate", options, tuple(changes), summary, detail)


def _spans(years) -> str:
    """[2019, 2020, 2021, 2024] -> '2019-2021, 2024'."""
    ys = sorted(int(y) for y in years)
    out, start, prev = [], ys[0], ys[0]
    for y in ys[1:] + [None]:
        if y is not None and y == prev + 1:
            prev = y
            continue
        out.append(f"{start}" if start == prev else f"{start}-{prev}")
        if y is not None:
            start = prev = y
    return ", ".join(out)


def dimension_obstacles(result: IndexResult, level: int = 1) -> pd.DataFrame:
    """Obstacle degree summed by dimension (障碍因子 by 准则层)."""
    if result.obstacles is None:
        raise ValueError("obstacle degrees need scores on [0, 1] (min-max, goalposts or realisation)")
    dim_of = result.framework.dimension_of(level)
    O = result.obstacles[result.framework.codes]
    agg = O.T.groupby(pd.Series(dim_of)).sum().T
    return pd.concat([result.keys.reset_index(drop=True), agg.reset_index(drop=True)], axis=1)
