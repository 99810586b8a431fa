"""The result of :func:`prosperity.table.measure`: one frozen object with a tidy frame and JSON records.

:class:`MeasureResult` holds, for every (group, measure), the value, standard error, confidence
interval, n, weight sum and (when a measure uses one) the poverty line, plus how they were obtained
(:meth:`MeasureResult.describe`). Every backend (in memory, DuckDB, Dask) returns this same object.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["ALL", "MeasureResult"]


ALL = "(all)"  # label of the whole sample (and of a column a margin sums over) in frames and tables


@dataclass(frozen=True, eq=False)
class MeasureResult:
    """Estimates for every (group, measure): tidy columns plus what was done to get them.

    ``to_frame()``: one row per (group, measure) with the ``by`` columns (``"(all)"`` for the whole
    sample, or for a column a margin sums over: a label, never a blank or NaN that reads as a missing
    group; ``ALL``), measure, value, se, ci_low, ci_high, n (units),
    weight_sum, and ``line`` when a measure uses a poverty line. ``to_json_records()``: the same as
    a list of dicts ``{"by": {col: value}, "measure", "value", "se", ...}`` (``"by": {}`` for the
    whole sample; NaN becomes None).
    """

    by: tuple[str, ...]
    groups: tuple[tuple, ...]  # one tuple of labels per row, aligned with ``by`` (None = all)
    measure: tuple[str, ...]
    value: np.ndarray
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    n: np.ndarray
    weight_sum: np.ndarray
    line: np.ndarray | None
    income: str
    se_method: str | None
    confidence: float
    ci_method: str | None
    line_rule: str | None
    quantile_convention: str
    replicates: int | None = None
    seed: int | None = None
    n_units: int = 0
    excluded: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    # row -> why its value is missing (a group where the measure is undefined; measure(undefined="missing"))
    undefined: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.measure)

    def to_frame(self) -> pd.DataFrame:
        cols: dict = {}
        for j, col in enumerate(self.by):
            labels = np.empty(len(self.groups), dtype=object)
            labels[:] = [ALL if g[j] is None else g[j] for g in self.groups]
            cols[col] = labels
        cols["measure"] = list(self.measure)
        cols["value"] = self.value
        cols["se"] = self.se
        cols["ci_low"] = self.ci_low
        cols["ci_high"] = self.ci_high
        cols["n"] = self.n
        cols["weight_sum"] = self.weight_sum
        if self.line is not None:
            cols["line"] = self.line
        if self.undefined:
            cols["note"] = [self.undefined.get(i, "") for i in range(len(self.measure))]
        return pd.DataFrame(cols)

    def to_json_records(self) -> list[dict]:
        out = []
        for i in range(len(self.measure)):
            rec = {
                "by": {col: _json_scalar(v) for col, v in zip(self.by, self.groups[i]) if v is not None},
                "measure": self.measure[i],
                "value": _json_float(self.value[i]),
                "se": _json_float(self.se[i]),
                "ci_low": _json_float(self.ci_low[i]),
                "ci_high": _json_float(self.ci_high[i]),
                "n": int(self.n[i]),
                "weight_sum": _json_float(self.weight_sum[i]),
            }
            if self.line is not None:
                rec["line"] = _json_float(self.line[i])
            if i in self.undefined:
                rec["note"] = self.undefined[i]
            out.append(rec)
        return out

    def value_of(self, measure: str, **group) -> float:
        """The value for one measure and group, e.g. ``r.value_of("gini", db040="Vienna")``."""
        return float(self.value[self._row(measure, group)])

    def se_of(self, measure: str, **group) -> float:
        return float(self.se[self._row(measure, group)])

    def _row(self, measure: str, group: dict) -> int:
        want = tuple(group.get(col) for col in self.by)
        for i, (m, g) in enumerate(zip(self.measure, self.groups)):
            if m == measure and tuple(None if v is None else v for v in g) == want:
                return i
        raise KeyError(f"no row for measure {measure!r} and group {group or '(whole sample)'}")

    def describe(self) -> str:
        """How the numbers were obtained, in a few lines."""
        parts = [f"income {self.income!r}, {self.n_units:,} units"]
        if self.excluded:
            parts.append("excluded on request: " + "; ".join(f"{v:,} rows with {k}" for k, v in self.excluded.items()))
        if self.se_method is None:
            parts.append("no standard errors")
        else:
            se = self.se_method + (f" ({self.replicates} replicates, seed {self.seed})" if self.replicates else "")
            parts.append(f"SE: {se}; {self.confidence:.0%} CI: {self.ci_method}")
        if self.line_rule:
            parts.append(f"poverty line: {self.line_rule}")
        parts.append(f"quantiles: {self.quantile_convention}")
        if self.undefined:
            parts.append(f"{len(self.undefined)} estimate(s) undefined in their group (value missing, reason in the note column)")
        return "\n".join(parts + list(self.notes))

    def __repr__(self) -> str:
        frame = self.to_frame()
        with pd.option_context("display.max_rows", 40, "display.width", 120, "display.max_columns", 20):
            body = frame.to_string(index=False, max_rows=40, float_format=lambda v: f"{v:.6g}")
        return f"MeasureResult: {len(self):,} estimates\n{self.describe()}\n{body}"


def _json_float(v) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


def _json_scalar(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    return str(v)


def build_result(plan, rows, *, income: str, n_units: int, excluded: dict, line_rule: str | None,
                 undefined_rows: dict, scaling=None, spread=None, notes=()) -> MeasureResult:
    """The :class:`MeasureResult` of a pass's ``rows`` (groups, measures, values, variances, n, wsum,
    lines): SEs, normal intervals value +- z se (or the bootstrap's ``spread``: se, ci_low, ci_high,
    seed, notes), values back in the data's unit (``scaling``) and undefined rows missing with their
    reason. Shared by every backend, so the object and its JSON are the same whatever computed them."""
    se, confidence, ci_method = plan.se, plan.confidence, plan.ci_method
    n_rows = len(rows.values)
    values = np.asarray(rows.values, dtype=np.float64)
    se_arr = np.sqrt(np.asarray(rows.variances, dtype=np.float64))
    ci_low = np.full(n_rows, np.nan)
    ci_high = np.full(n_rows, np.nan)
    used_seed = None
    notes = list(notes)
    if spread is not None:
        se_arr, ci_low, ci_high, used_seed, boot_notes = spread
        notes = boot_notes + notes
    if se and ci_method == "normal":
        from statistics import NormalDist

        z = NormalDist().inv_cdf(0.5 + confidence / 2)
        ci_low, ci_high = values - z * se_arr, values + z * se_arr
    if not se:
        se_arr = np.full(n_rows, np.nan)
    has_line = plan.has_line
    lines_arr = np.asarray(rows.lines, dtype=np.float64)
    wsum_arr = np.asarray(rows.wsum, dtype=np.float64)
    ci_low, ci_high = np.asarray(ci_low, dtype=np.float64), np.asarray(ci_high, dtype=np.float64)
    if scaling is not None:
        # ---- back to the units of the data; never an inf / NaN / blank without a reason
        values, se_arr, ci_low, ci_high, lines_arr, wsum_arr = scaling.finish(
            rows.measures, values, se_arr, ci_low, ci_high, lines_arr, wsum_arr,
            {r.label: r for r in plan.requested}, rows.groups, plan.by_cols)
    if undefined_rows:  # no value, with the reason (after finish: a reasoned NaN is not an overflow)
        miss = np.fromiter(undefined_rows, dtype=np.int64)
        for arr in (values, se_arr, ci_low, ci_high):
            arr[miss] = np.nan
    return MeasureResult(
        by=tuple(plan.by_cols),
        groups=tuple(rows.groups),
        measure=tuple(rows.measures),
        value=values,
        se=se_arr,
        ci_low=ci_low,
        ci_high=ci_high,
        n=np.asarray(rows.n, dtype=np.int64),
        weight_sum=wsum_arr,
        line=lines_arr if has_line else None,
        income=income,
        se_method=plan.se_method if se else None,
        confidence=float(confidence),
        ci_method=ci_method if se else None,
        line_rule=line_rule if has_line else None,
        quantile_convention=plan.quantile_convention,
        replicates=int(plan.replicates) if plan.bootstrap else None,
        seed=used_seed,
        n_units=n_units,
        excluded=dict(excluded),
        notes=tuple(notes),
        undefined=dict(undefined_rows),
    )
