"""Table-level API: many measures, for the whole sample and every group, with standard errors.

:func:`measure` takes a data frame (pandas, polars), a file path or a :class:`~prosperity.io.Sample`,
validates it, sorts the incomes **once** and hands the same :class:`SortedIncome` to every measure
kernel (each group's sorted arrays are cut from the one global sort), and returns a
:class:`MeasureResult` whose ``to_frame()`` is a tidy frame: group columns, measure, value, se,
ci_low, ci_high, n, weight_sum (and ``line`` when a measure uses a poverty line).

Standard errors
---------------
``se_method="linearization"`` (default): each kernel returns its linearized variable u (Deville 1999;
Osier 2009); the design variance of sum w u is computed from PSU totals with the with-replacement
(ultimate cluster) estimator of :class:`prosperity.variance.Design`, for a group as a **domain**
(units outside the group contribute 0; strata and PSUs are those of the full sample)::

    V = sum_h (1 - f_h) n_h / (n_h - 1) [ sum_i t_hi^2 - (sum_i t_hi)^2 / n_h ],  t_hi = sum_{k in PSU hi} w_k u_k.

Only the PSUs a group touches enter the sums, so a small group costs O(its size), not O(n).
Relative lines are estimated too: for a group measured against the whole sample's line z = c * median,
u_total = u_measure(group, z fixed) + (d value / d z) * c * u_median(whole sample), which is how the
line's own error enters (the kernels' ``line_derivative``).

``se_method="bootstrap"`` (PSUs resampled with replacement within strata) or
``"rescaled_bootstrap"`` (Rao & Wu 1988, n_h - 1 PSUs drawn, weights rescaled): the whole pipeline,
relative lines included, is re-estimated on every replicate (see :mod:`prosperity.variance.bootstrap`).

Confidence intervals: ``ci_method="normal"`` (value +- z se; the default for linearization) or
``"percentile"`` (replicate quantiles; the default for the bootstrap).

Relative poverty lines
----------------------
``relative_line=c`` sets z = c x median (``relative_to="median"``, default) or c x mean of the **whole
sample**; with ``by=``, every group is measured against that national line (Eurostat's practice for
regions) unless ``line_within_groups=True``. Measures that define their own relative threshold
(``arpr``, ``rmpg``: fraction x median; ``middle_rel``: bands around the median) are treated the same
way: groups use the whole sample's median unless ``line_within_groups=True``. When no line is given
but a measure needs one, z = 0.6 x median (the EU at-risk-of-poverty threshold) and the result says so.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd

from .io import arguments, load
from .io.errors import (
    DesignError,
    EmptyGroupError,
    InvalidValueError,
    MeasureSpecError,
    ProsperityInputError,
    closest,
    column_not_found,
    format_value,
    fpc_not_constant,
    offending_rows,
    single_psu_strata,
)
from .io.sample import Sample, check_income_domain, check_not_empty
from .measures.allocation import reuse_freed_memory
from .measures.estimate import Estimate, SortedIncome, income_total
from .measures.quantiles import QUANTILE_CONVENTIONS, quantile_influence, quantile_sorted
from .measures.registry import MeasureSpec
from .variance.design import LONELY_PSU_RULES, Design, dense_codes, psu_totals, stratum_psu_codes

SE_METHODS = ("linearization", "bootstrap", "rescaled_bootstrap")
POOR_IF = (None, "lt", "le")
UNDEFINED = ("missing", "fail")
CI_METHODS = ("normal", "percentile")
RELATIVE_TO = ("median", "mean")
DEFAULT_RELATIVE_LINE = 0.6
MAX_RELATIVE_LINE = 2.0
DEFAULT_MEASURES = ("mean", "median", "gini", "theil", "mld", "atkinson:0.5", "arpr", "rmpg", "qsr", "palma")

__all__ = ["measure", "MeasureResult", "SE_METHODS", "CI_METHODS"]


# ============================================================================ result object


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


# ============================================================================ requested measures


@dataclass(frozen=True, eq=False)
class _Requested:
    spec: MeasureSpec
    params: dict
    label: str
    kind: str  # "plain" | "line" (uses_line) | "self_line" (own fraction x median) | "median_anchor"
    takes_quantile_convention: bool
    takes_convention: bool


def parse_measures(measures) -> list[_Requested]:
    """``"gini,atkinson:0.5"`` or a list of names -> requested measures, with located errors."""
    from .measures import catalog  # noqa: F401 - fills the registry
    from .measures.registry import REGISTRY, parse_measure

    if isinstance(measures, str):
        measures = [m for m in measures.split(",")]
    names = [str(m).strip() for m in measures if str(m).strip()]
    if not names:
        raise MeasureSpecError("no measure requested", hint=f"name at least one, e.g. {', '.join(list(REGISTRY)[:4])}")
    out, seen = [], set()
    for text in names:
        base = text.split(":")[0].strip().lower()
        if base not in REGISTRY:
            near = closest(base, REGISTRY)
            raise MeasureSpecError(
                f"unknown measure {text!r}" + (f"; did you mean {' or '.join(repr(c) for c in near)}?" if near else ""),
                hint="known measures: " + ", ".join(sorted(REGISTRY)) + " (prosperity measure --list describes them)",
            )
        try:
            spec, params = parse_measure(text)
        except ValueError as exc:
            raise MeasureSpecError(f"invalid measure {text!r}: {exc}", hint=_param_hint(REGISTRY[base])) from None
        canonical = spec.label(params)
        if canonical in seen:
            continue
        seen.add(canonical)
        # echo the measure as asked (``arpr`` stays ``arpr``), parameters written canonically
        n_given = len([a for a in text.split(":")[1:]])
        label = ":".join([spec.name] + [_fmt_param(params[p]) for p in spec.params[:n_given]])
        # the spec declares how to drive its kernel (checked against the kernel when registered)
        kind = {"none": "plain", "line": "line", "own_fraction": "self_line", "median_band": "median_anchor"}[spec.threshold]
        # the table's quantile convention goes to kernels whose convention= is a quantile rule; other
        # conventions (Gini, Theil, CV, Lorenz) are set per measure (conventions=)
        takes_quantile = spec.convention_kind == "quantile"
        out.append(_Requested(spec, params, label, kind, takes_quantile, spec.convention_kind is not None))
    return out


def _fmt_param(x) -> str:
    x = float(x)
    return str(int(x)) if x.is_integer() else repr(x)


def _param_hint(spec: MeasureSpec) -> str:
    if not spec.params:
        return f"{spec.name} takes no parameter: write {spec.name}"
    return f"{spec.name} takes {', '.join(spec.params)}: {spec.description}"


# ============================================================================ survey design (domain variance)


class _DomainVariance:
    """Variance of a domain total sum_{k in group} w_k u_k (+ a whole-sample line term) from PSU totals.

    The design is :meth:`Design.build` applied to the PSUs (one row per PSU: its stratum and fpc),
    so the stratum sizes n_h, sampling fractions and the lonely-PSU rule are Design's. The sums run
    over the PSUs a group touches only (sparse), which equals ``Design.variance`` with the group's
    units (tests check the identity).
    """

    def __init__(self, sample: Sample, lonely_psu: str):
        n = sample.n
        # per-unit stratum codes only when needed (no PSUs, or an fpc to check): with PSUs, the
        # strata are coded once per PSU (cheap) and the (stratum, PSU) pair straight from the labels
        need_unit_strata = sample.strata is not None and (sample.psu is None or sample.fpc is not None)
        s_codes, s_levels = None, np.array(["(all)"], dtype=object)
        if need_unit_strata:
            s_codes, s_levels = _dense_codes(sample.strata, sort=True)
        if sample.psu is not None:
            unit_psu = _psu_codes(sample.strata, sample.psu)
            n_psu = int(unit_psu.max()) + 1 if n else 0
            rep = np.empty(n_psu, dtype=np.int64)
            rep[unit_psu[::-1]] = np.arange(n - 1, -1, -1)  # first unit of every PSU
            if sample.strata is not None:
                psu_strata, s_levels = _dense_codes(np.asarray(sample.strata)[rep], sort=True)
            else:
                psu_strata = None
        else:
            unit_psu, n_psu, rep = None, n, None
            psu_strata = s_codes
        s_levels = np.asarray(s_levels, dtype=object)
        self.n = n
        self.n_psu = n_psu
        self.unit_psu = unit_psu  # None: every unit is its own PSU (code = position)
        psu_fpc = None
        if sample.fpc is not None:
            fpc = np.asarray(sample.fpc, dtype=np.float64)
            if s_codes is None:
                first = np.full(1, fpc[0] if n else np.nan)
                s_index = np.zeros(n, dtype=np.int64)
            else:
                first = np.full(len(s_levels), np.nan)
                first[s_codes[::-1]] = fpc[::-1]
                s_index = s_codes
            bad = first[s_index] != fpc
            if bad.any():
                raise fpc_not_constant(sample.fpc_name, *offending_rows(bad, fpc, sample.row_number))
            psu_fpc = fpc if rep is None else fpc[rep]
        del s_codes
        self.stratum_names = s_levels
        try:
            self.design = Design.build(n_psu, strata=psu_strata, psu=None, fpc=psu_fpc, lonely_psu=lonely_psu)
        except ValueError as exc:
            raise DesignError(f"invalid survey design: {exc}", column=sample.fpc_name,
                              hint="check the fpc column: population PSUs per stratum (>= sampled PSUs) or fractions <= 1") from None
        d = self.design
        self.psu_stratum = d.psu_stratum
        self.n_h = d.n_h.astype(np.float64)
        self.n_strata = d.n_h.size
        single = d.n_h == 1
        if single.any() and lonely_psu == "fail":
            labels = [format_value(self.stratum_names[int(x)] if sample.strata is not None else x)
                      for x in np.asarray(d.stratum_labels)[single][:5]]
            raise single_psu_strata(labels, int(single.sum()), sample.strata_name,
                                    "PSU" if sample.psu is not None else "unit")
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(single, 1.0 if lonely_psu == "adjust" else 0.0, d.n_h / np.maximum(d.n_h - 1, 1))
        self.c_h = (1.0 - d.fpc_h) * factor
        # centring: lonely PSUs under "adjust" are centred at 0 (Design's convention)
        self.centre = np.where(single, 0.0, 1.0 / np.maximum(self.n_h, 1))

    def unit_codes(self, order: np.ndarray) -> np.ndarray:
        """PSU code of each unit at sorted positions ``order`` (positions into the full sample).
        Called once: the per-unit codes are released afterwards (memory)."""
        codes = order if self.unit_psu is None else self.unit_psu[order]
        self.unit_psu = None
        return codes

    def prepare(self, codes: np.ndarray, whole: bool):
        """Per-group PSU coding, shared by every measure of the group."""
        if whole or self.n_psu <= 2 * codes.size:
            return ("dense", codes, None, None)
        local, uniq = pd.factorize(codes)
        return ("sparse", local.astype(np.int64, copy=False), uniq, self.psu_stratum[uniq])

    def line_totals(self, codes_all: np.ndarray, wu_all: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Dense PSU totals of a whole-sample term, with its per-stratum sums and sums of squares."""
        t = np.bincount(codes_all, weights=wu_all, minlength=self.n_psu)
        return (t, np.bincount(self.psu_stratum, weights=t, minlength=self.n_strata),
                np.bincount(self.psu_stratum, weights=t * t, minlength=self.n_strata))

    def variance(self, prep, wu: np.ndarray, extra: tuple[float, tuple] | None = None, w: np.ndarray | None = None) -> float:
        """Variance of the domain total of ``wu`` (or of ``w * wu`` when ``w`` is given)."""
        kind, codes, uniq, h_loc = prep
        H = self.n_strata
        if w is not None:
            t = psu_totals(codes, wu, w, self.n_psu if kind == "dense" else uniq.size)
        if kind == "dense":
            if w is None:
                t = np.bincount(codes, weights=wu, minlength=self.n_psu)
            if extra is not None:
                t = t + extra[0] * extra[1][0]
            s1 = np.bincount(self.psu_stratum, weights=t, minlength=H)
            s2 = np.bincount(self.psu_stratum, weights=t * t, minlength=H)
        else:
            if w is None:
                t = np.bincount(codes, weights=wu, minlength=uniq.size)
            s1 = np.bincount(h_loc, weights=t, minlength=H)
            s2 = np.bincount(h_loc, weights=t * t, minlength=H)
            if extra is not None:
                d, (t_line, l1, l2) = extra
                s1 = s1 + d * l1
                s2 = s2 + 2.0 * d * np.bincount(h_loc, weights=t * t_line[uniq], minlength=H) + d * d * l2
        ss = s2 - s1 * s1 * self.centre
        return float(max(np.dot(self.c_h, np.maximum(ss, 0.0)), 0.0))


_dense_codes = dense_codes  # shared with Design.build (prosperity.variance.design)
_psu_codes = stratum_psu_codes


# ============================================================================ groups


def _normalise_by(by) -> list[str]:
    if by is None:
        return []
    if isinstance(by, str):
        return [c.strip() for c in by.split(",") if c.strip()]
    out = []
    for b in by:
        out.extend(_normalise_by(b) if isinstance(b, str) else [str(b)])
    return list(dict.fromkeys(out))


def _breakdowns(by: list[str], margins: bool) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = [()]
    if not by:
        return out
    if margins:
        for k in range(1, len(by) + 1):
            out.extend(itertools.combinations(by, k))
    else:
        out.append(tuple(by))
    return out


def _group_codes(sample: Sample, cols: tuple[str, ...]):
    """(code per unit, list of label tuples) for the cross-classification of ``cols`` (present cells only)."""
    labs = [sample.labels[c] for c in cols]
    if len(labs) == 1:
        return labs[0].codes, [(v,) for v in labs[0].levels], len(labs[0].levels)
    sizes = [len(lab.levels) for lab in labs]
    combined = np.zeros(sample.n, dtype=np.int64)
    for lab, size in zip(labs, sizes):
        combined *= size
        combined += lab.codes
    total = math.prod(sizes)
    if total <= 4 * sample.n + 1024:
        present = np.flatnonzero(np.bincount(combined, minlength=total))
        lookup = np.full(total, -1, dtype=np.int64)
        lookup[present] = np.arange(present.size)
        codes = lookup[combined]
    else:
        codes, present = pd.factorize(combined, sort=True)
    keys = []
    for c in present:
        parts = []
        for lab, size in zip(reversed(labs), reversed(sizes)):
            parts.append(lab.levels[c % size])
            c //= size
        keys.append(tuple(reversed(parts)))
    return codes, keys, len(keys)


def _split_sorted(codes_sorted: np.ndarray, n_groups: int):
    """Yield (group code, positions in the global sort) with each group's positions ascending."""
    if n_groups <= 24:
        for g in range(n_groups):
            yield g, np.flatnonzero(codes_sorted == g)
        return
    perm = np.argsort(codes_sorted, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(codes_sorted, minlength=n_groups))])
    for g in range(n_groups):
        yield g, perm[bounds[g]: bounds[g + 1]]


def _group_text(cols, key) -> str:
    if not cols:
        return "the whole sample"
    return ", ".join(f"{c}={format_value(v)}" for c, v in zip(cols, key))


# ============================================================================ reference statistics for lines


class _Reference:
    """Median / mean of a (sorted) sample and, lazily, their linearized variables (sorted order)."""

    def __init__(self, s: SortedIncome, convention: str):
        self.s = s
        self.convention = convention
        self._stats: dict = {}
        self._u: dict = {}

    def stat(self, which: str) -> float:
        if which not in self._stats:
            s = self.s
            if which == "median":
                self._stats[which] = quantile_sorted(s, 0.5, self.convention)
            else:
                self._stats[which] = income_total(s) / s.total
        return self._stats[which]

    def u(self, which: str, keep: bool = True) -> np.ndarray:
        """Linearized variable of the median or mean (sorted order); ``keep=False``: a fresh array
        the caller owns, not cached (memory)."""
        if which in self._u:
            return self._u[which]
        s = self.s
        if which == "median":
            u = quantile_influence(s, 0.5, self.stat("median"))
        else:
            u = s.y - self.stat("mean")
            u /= s.total
        if keep:
            self._u[which] = u
        return u


# ============================================================================ the API


def measure(
    data,
    income: str | None = None,
    measures: Sequence[str] | str = ("gini",),
    *,
    weight: str | None = None,
    by: str | Sequence[str] | None = None,
    strata: str | None = None,
    psu: str | None = None,
    fpc: str | None = None,
    poverty_line: float | None = None,
    relative_line: float | None = None,
    relative_to: str = "median",
    line_within_groups: bool = False,
    se: bool = True,
    se_method: str = "linearization",
    replicates: int | None = None,
    seed: int | None = None,
    confidence: float = 0.95,
    ci_method: str | None = None,
    quantile_convention: str = "eurostat",
    conventions: dict | None = None,
    poor_if: str | None = None,
    domain=None,
    undefined: str = "missing",
    lonely_psu: str = "fail",
    margins: bool = False,
    drop_missing: bool = False,
    sheet: str | int | None = None,
    **sample_options,
) -> MeasureResult:
    """Compute ``measures`` of ``income`` for the whole sample and every group of ``by``, with SEs.

    ``data``: pandas / polars frame, dict of arrays, file path (CSV, Parquet, Stata, Excel with
    ``sheet=``) or a :class:`~prosperity.io.Sample` (then weight / design / groups come from it).
    ``measures``: catalogue names with parameters, e.g. ``["gini", "atkinson:0.5", "fgt:1"]``.
    ``by``: one column, or several (their cross-classification); ``margins=True`` adds every
    sub-combination (each column alone, ...). The whole sample is always included (``by = {}``).
    Lines: ``poverty_line`` (absolute) or ``relative_line`` (fraction of the whole sample's median or
    mean, ``relative_to``); groups use the whole sample's line unless ``line_within_groups``.
    ``se_method``: ``"linearization"``, ``"bootstrap"`` or ``"rescaled_bootstrap"`` (``replicates``,
    default 1000, ``seed``). ``quantile_convention``: ``eurostat`` (laeken), ``laeken``,
    ``inverse_cdf`` or ``interpolated`` (passed to every quantile-based kernel). ``conventions``: a
    measure's own convention, e.g. ``{"gini": "convey"}`` (see each kernel). ``lonely_psu``: ``fail``, ``adjust``, ``remove``,
    ``certainty``. ``poor_if``: ``"lt"`` (poor: y < z; laeken, Eurostat, PIP) or ``"le"`` (y <= z; R
    convey) for every measure with a poverty rule; None keeps each measure's own (``lt``; ``poormed``:
    ``le`` as convey). ``domain``: measure a subpopulation as R convey's ``subset()`` does -- a
    boolean column, a boolean array (one value per row used) or a comparison such as
    ``"eqIncome > 0"`` / ``"age >= 65"``; the rows outside stay in the design (domain variance) and
    relative lines come from the whole sample, their own error included. ``undefined``:
    ``"missing"`` (default): a group where a measure is undefined (e.g. no poor, a zero mean) gets a
    missing value with its reason (``result.undefined``, the ``note`` column); ``"fail"`` raises.
    Other keyword arguments go to :func:`prosperity.io.from_frame` (hierarchy,
    groups, household_size, equivalence, scale, unit, components, ...).
    """
    # ---- argument types (the same kind of message as the CLI's, never a TypeError from deep inside)
    _check_argument_types(locals())
    # ---- options
    if se_method not in SE_METHODS:
        raise MeasureSpecError(f"unknown se_method {se_method!r}", hint=f"use one of {', '.join(SE_METHODS)}")
    bootstrap = se and se_method != "linearization"
    if ci_method is None:
        ci_method = "percentile" if bootstrap else "normal"
    if ci_method not in CI_METHODS:
        raise MeasureSpecError(f"unknown ci_method {ci_method!r}", hint=f"use one of {', '.join(CI_METHODS)}")
    if ci_method == "percentile" and se and not bootstrap:
        raise MeasureSpecError("percentile confidence intervals need bootstrap replicates",
                               hint="use se_method='bootstrap' or 'rescaled_bootstrap', or ci_method='normal'")
    if not (isinstance(confidence, (int, float)) and 0 < confidence < 1):
        raise MeasureSpecError(f"confidence must lie strictly between 0 and 1, got {confidence!r}",
                               hint="write 0.95 for a 95 % interval")
    if quantile_convention not in QUANTILE_CONVENTIONS:
        raise MeasureSpecError(f"unknown quantile convention {quantile_convention!r}",
                               hint=f"use one of {', '.join(QUANTILE_CONVENTIONS)}")
    if lonely_psu not in LONELY_PSU_RULES:
        raise MeasureSpecError(f"unknown lonely_psu rule {lonely_psu!r}", hint=f"use one of {', '.join(LONELY_PSU_RULES)}")
    if relative_to not in RELATIVE_TO:
        raise MeasureSpecError(f"relative_to must be 'median' or 'mean', got {relative_to!r}",
                               hint="relative lines are fractions of the median (Eurostat) or of the mean")
    if bootstrap:
        replicates = 1000 if replicates is None else replicates
        if not (isinstance(replicates, (int, np.integer)) and replicates >= 2):
            raise MeasureSpecError(f"replicates must be a whole number >= 2, got {replicates!r}",
                                   hint="use a few hundred to a few thousand bootstrap replicates, e.g. 1000")
    if poor_if not in POOR_IF:
        raise MeasureSpecError(f"poor_if must be 'lt' (y < z) or 'le' (y <= z), got {poor_if!r}",
                               hint="'lt' is laeken's / Eurostat's / PIP's rule, 'le' R convey's; leave it None for each measure's own")
    if undefined not in UNDEFINED:
        raise MeasureSpecError(f"undefined must be 'missing' or 'fail', got {undefined!r}",
                               hint="'missing' reports an undefined group as a missing value with its reason, 'fail' raises")
    requested = parse_measures(measures)
    _check_poor_rule(poor_if, requested)
    conventions = _check_conventions(conventions or {}, requested)
    line_rule, line_kind, line_value = _line_rule(poverty_line, relative_line, relative_to, requested)
    by_cols = _normalise_by(by)

    # ---- sample
    domain_col = _domain_column(domain, income)
    load_cols = by_cols + ([domain_col] if domain_col and domain_col not in by_cols and not isinstance(data, Sample) else [])
    sample = _as_sample(data, income, weight, strata, psu, fpc, load_cols, drop_missing, sheet, sample_options)
    income = income or sample.income_names[0]
    y = sample.income(income)
    for col in by_cols:
        if col not in sample.labels:
            raise column_not_found(col, "by", list(sample.labels))
    check_not_empty(sample)
    in_domain, domain_text = _domain_mask(sample, domain, income, y)
    # incomes outside the domain are not measured: only the domain's must suit the measures
    _check_income_domains(sample, y if in_domain is None else np.where(in_domain, y, 1.0), income, requested, conventions)
    breakdowns = _breakdowns(by_cols, margins)
    _check_empty_levels(sample, by_cols)

    # ---- extreme values: incomes and weights near the limits of floating point are held as y 2^-k and
    # w 2^-m (exact); absolute lines and income-valued parameters are scaled alike
    scaling = _Scaling.choose(sample, y, income, requested, conventions)
    if scaling.active:
        y = scaling.incomes(y)
        requested = [scaling.request(r) for r in requested]
        if line_kind == "absolute":
            line_value = scaling.amount(line_value, "the poverty line")

    with reuse_freed_memory(sample.n):  # large arrays: reuse freed memory (glibc; PROSPERITY_MALLOC_TUNING=0 disables)
        # ---- sort once; design once
        w = scaling.weights(sample.weight)
        dv = _DomainVariance(sample, lonely_psu) if se else None  # before the sort: its temporaries are freed
        s_all = scaling.mark(SortedIncome.from_arrays(y, w))
        codes_all = dv.unit_codes(s_all.order) if dv is not None else None
        national = _Reference(s_all, quantile_convention)
        if line_kind == "relative":
            if relative_line is None:
                relative_line, relative_to = DEFAULT_RELATIVE_LINE, "median"
                default_note = " (default: no line was given)"
            else:
                default_note = ""
            line_value = relative_line * national.stat(relative_to)
            line_rule = f"{relative_line:g} x {relative_to} of the whole sample = {scaling.unscale(line_value):.6g}" + (
                "" if not by_cols else (" (each group's own: line_within_groups)" if line_within_groups else " (national line for every group)")) + default_note
        national_terms: dict = {}  # which -> PSU totals of w * u_which (whole sample), for group line terms

        def national_term(which: str):
            if which not in national_terms:
                wu = national.u(which, keep=False)
                wu *= s_all.w
                national_terms[which] = dv.line_totals(codes_all, wu)
            return national_terms[which]

        ctx = _Context(requested, quantile_convention, line_kind, line_value, relative_line, relative_to,
                       line_within_groups, se and not bootstrap, conventions, scaling,
                       inclusive=None if poor_if is None else poor_if == "le", domain=in_domain is not None)
        dom_sorted = None if in_domain is None else in_domain[s_all.order]
        undefined_rows: dict = {}
        rows = _Rows(by_cols)
        group_cache = []  # (cols, key, positions) for the bootstrap
        for cols in breakdowns:
            whole = not cols
            if whole:
                parts = [((), None)]
                codes_sorted = None
            else:
                codes, keys, n_groups = _group_codes(sample, cols)
                codes_sorted = codes[s_all.order]
                parts = ((keys[g], pos) for g, pos in _split_sorted(codes_sorted, n_groups))
            for key, pos in parts:
                if dom_sorted is not None:  # convey's subset(): the domain's units, the full design
                    pos = np.flatnonzero(dom_sorted) if pos is None else pos[dom_sorted[pos]]
                if pos is not None and pos.size == 0:
                    if bootstrap:
                        group_cache.append((cols, key, pos))
                    for r in requested:
                        undefined_rows[len(rows.values)] = f"no unit of {_group_text(cols, key)} lies in the domain {domain_text}"
                        rows.add(cols, key, r.label, 0.0, 0.0, 0, 0.0, None)
                    continue
                if whole and pos is None:
                    s = s_all
                    gcodes = codes_all
                else:
                    ys, ws = s_all.y[pos], s_all.w[pos]
                    s = scaling.mark(SortedIncome(ys, ws, np.cumsum(ws), s_all.order[pos]))
                    gcodes = None if codes_all is None else codes_all[pos]
                if bootstrap:
                    group_cache.append((cols, key, pos))
                prep = dv.prepare(gcodes, whole and pos is None) if (dv is not None and not bootstrap) else None
                own = national if whole else (_Reference(s, quantile_convention) if line_within_groups else None)
                for r in requested:
                    try:
                        est, line_used, extra_which, extra_scale = ctx.evaluate(r, s, own, national, cols, key)
                    except EmptyGroupError as exc:
                        if undefined == "fail" or not (cols or dom_sorted is not None):
                            raise
                        undefined_rows[len(rows.values)] = exc.args[0] if exc.args else str(exc)
                        rows.add(cols, key, r.label, 0.0, 0.0 if ctx.influence else math.nan, s.n, s.total, None)
                        continue
                    value = est.value
                    var = math.nan
                    if ctx.influence:
                        u = est.influence
                        extra = None
                        if extra_which is not None and est.line_derivative is not None and est.line_derivative != 0:
                            d = est.line_derivative * extra_scale
                            if whole or not line_within_groups:  # the whole sample's line: its PSU totals
                                extra = (d, national_term(extra_which))
                            else:  # the group's own line: its u lives on the same units
                                u = u + d * own.u(extra_which)
                        del est
                        var = dv.variance(prep, u, extra, w=s.w)  # PSU totals of w u in one pass
                        del u
                    else:
                        del est
                    rows.add(cols, key, r.label, value, var, s.n, s.total, line_used)
                del s
        # ---- bootstrap
        n_rows = len(rows.values)
        values = np.asarray(rows.values, dtype=np.float64)
        se_arr = np.sqrt(np.asarray(rows.variances, dtype=np.float64))
        ci_low = np.full(n_rows, np.nan)
        ci_high = np.full(n_rows, np.nan)
        used_seed = None
        notes: list[str] = []
        if bootstrap:
            from .variance.bootstrap import replicate_ci

            used_seed = int(np.random.SeedSequence().entropy % (2**63)) if seed is None else int(seed)
            reps = _bootstrap_pass(ctx, s_all, dv, codes_all, group_cache, se_method, int(replicates), used_seed)
            if reps.shape[0] != n_rows:  # pragma: no cover - internal consistency
                raise RuntimeError("bootstrap rows do not match the point estimates")
            if undefined_rows:  # undefined in the sample: not a replicate failure (the reason is noted)
                reps[np.fromiter(undefined_rows, dtype=np.int64)] = 0.0
            failed = int(np.isnan(reps).any(axis=1).sum())
            se_arr = np.sqrt(np.nanvar(reps, axis=1, ddof=1))
            if failed:
                notes.append(f"{failed} estimate(s) could not be computed on some bootstrap replicates (those were skipped)")
            if ci_method == "percentile":
                ci_low, ci_high = replicate_ci(reps, confidence)
        if se and ci_method == "normal":
            from statistics import NormalDist

            z = NormalDist().inv_cdf(0.5 + confidence / 2)
            ci_low, ci_high = values - z * se_arr, values + z * se_arr
        if not se:
            se_arr = np.full(n_rows, np.nan)
        has_line = any(r.kind != "plain" for r in requested)
        lines_arr = np.asarray(rows.lines, dtype=np.float64)
        wsum_arr = np.asarray(rows.wsum, dtype=np.float64)
        # ---- back to the units of the data; never an inf / NaN / blank without a reason
        values, se_arr, ci_low, ci_high, lines_arr, wsum_arr = scaling.finish(
            rows.measures, values, se_arr, np.asarray(ci_low, dtype=np.float64), np.asarray(ci_high, dtype=np.float64),
            lines_arr, wsum_arr, {r.label: r for r in requested}, rows.groups, by_cols)
        if undefined_rows:  # no value, with the reason (after finish: a reasoned NaN is not an overflow)
            miss = np.fromiter(undefined_rows, dtype=np.int64)
            for arr in (values, se_arr, ci_low, ci_high):
                arr[miss] = np.nan
        if domain_text is not None:
            notes.append(f"domain: {domain_text} ({int(in_domain.sum()):,} of {sample.n:,} units; design and relative "
                         "lines from the whole sample)")
        return MeasureResult(
            by=tuple(by_cols),
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
            se_method=se_method if se else None,
            confidence=float(confidence),
            ci_method=ci_method if se else None,
            line_rule=line_rule if has_line else None,
            quantile_convention=quantile_convention,
            replicates=int(replicates) if bootstrap else None,
            seed=used_seed,
            n_units=sample.n,
            excluded=dict(sample.excluded),
            notes=tuple(notes),
            undefined=dict(undefined_rows),
        )


def _bootstrap_pass(ctx, s_all, dv, codes_all, group_cache, method, replicates, seed) -> np.ndarray:
    """Replicate values (rows in the order of the point pass x replicates): the whole pipeline
    (relative lines included) re-estimated with the replicate weights."""
    from .variance.bootstrap import replicate_multipliers

    groups = []
    for cols, key, pos in group_cache:
        if pos is None:
            groups.append((cols, key, None, None, None))
        else:
            groups.append((cols, key, s_all.y[pos], s_all.w[pos], codes_all[pos]))
    n_rows = len(groups) * len(ctx.requested)
    out = np.full((n_rows, replicates), np.nan)
    col = 0
    fpc_h = dv.design.fpc_h
    for mult in replicate_multipliers(dv.psu_stratum, fpc_h, replicates=replicates, method=method, seed=seed):
        for m in mult:
            w_all = s_all.w * m[codes_all]
            s_r = ctx.scaling.mark(_compress(s_all.y, w_all, s_all.order))
            national = _Reference(s_r, ctx.convention)
            row = 0
            for cols, key, ys, ws, gcodes in groups:
                if ys is None:
                    s, own = s_r, national
                else:
                    s = ctx.scaling.mark(_compress(ys, ws * m[gcodes], None))
                    own = _Reference(s, ctx.convention) if ctx.line_within_groups else None
                for r in ctx.requested:
                    if s is not None:
                        try:
                            out[row, col] = ctx.evaluate(r, s, own, national, cols, key, influence=False)[0].value
                        except ProsperityInputError:
                            pass
                    row += 1
            col += 1
    return out


def _check_argument_types(a: dict) -> None:
    """Types of :func:`measure`'s arguments (see :mod:`prosperity.io.arguments`)."""
    f = "measure"
    arguments.column_name(f, "income", a["income"], example="'py010n'")
    for name in ("weight", "strata", "psu", "fpc"):
        arguments.column_name(f, name, a[name], example=f"'{name}'")
    arguments.measure_names(f, "measures", a["measures"])
    arguments.column_names(f, "by", a["by"])
    for name in ("poverty_line", "relative_line"):
        arguments.number(f, name, a[name], example="0.6" if name == "relative_line" else "3000")
    arguments.number(f, "confidence", a["confidence"], optional=False, example="0.95")
    arguments.number(f, "replicates", a["replicates"], integer=True, example="1000")
    arguments.number(f, "seed", a["seed"], integer=True, example="1")
    for name in ("se", "margins", "drop_missing", "line_within_groups"):
        arguments.flag(f, name, a[name])


def _compress(y: np.ndarray, w: np.ndarray, order) -> SortedIncome | None:
    """A SortedIncome of the units with positive replicate weight (None if there are none)."""
    keep = w > 0
    if not keep.any():
        return None
    ys, ws = y[keep], w[keep]
    return SortedIncome(ys, ws, np.cumsum(ws), order[keep] if order is not None else np.flatnonzero(keep))


class _Rows:
    def __init__(self, by_cols):
        self.by_cols = by_cols
        self.groups, self.measures, self.values, self.variances, self.n, self.wsum, self.lines = [], [], [], [], [], [], []

    def add(self, cols, key, label, value, var, n, wsum, line):
        lookup = dict(zip(cols, key))
        self.groups.append(tuple(lookup.get(c) for c in self.by_cols))
        self.measures.append(label)
        self.values.append(value)
        self.variances.append(var)
        self.n.append(n)
        self.wsum.append(wsum)
        self.lines.append(math.nan if line is None else line)


@dataclass
class _Context:
    """How to call each kernel (lines, conventions); shared by the point pass and the bootstrap."""

    requested: list
    convention: str
    line_kind: str | None  # "absolute" | "relative" | None
    line_value: float | None
    relative_line: float | None
    relative_to: str
    line_within_groups: bool
    influence: bool
    conventions: dict = field(default_factory=dict)  # measure name -> convention= for its kernel
    scaling: "_Scaling" = None  # incomes / weights held as y 2^-k, w 2^-m (extreme values)
    inclusive: bool | None = None  # poor_if: True y <= z, False y < z, None each kernel's own rule
    domain: bool = False  # measure(domain=): the whole-sample row is a domain, measured against the national line

    def evaluate(self, r: _Requested, s: SortedIncome, own, national, cols, key, influence=None):
        """(Estimate, line used, which reference statistic's u to add (or None), its scale)."""
        influence = self.influence if influence is None else influence
        kwargs = dict(r.params)
        if r.spec.name in self.conventions:
            kwargs["convention"] = self.conventions[r.spec.name]
        elif r.takes_quantile_convention:
            kwargs["convention"] = self.convention
        line_used, which, scale = None, None, 1.0
        national_line = (bool(cols) or self.domain) and not self.line_within_groups  # a group measured against the whole sample
        if self.inclusive is not None and r.spec.poor_rule:
            kwargs["inclusive"] = self.inclusive
        ref = own if own is not None else national
        if r.kind == "line":
            if self.line_kind == "absolute":
                kwargs["line"] = line_used = self.line_value
            else:
                kwargs["line"] = line_used = self.relative_line * ref.stat(self.relative_to)
                which, scale = self.relative_to, self.relative_line
        elif r.kind == "self_line":  # fraction x median; without line= the kernel includes the line's error itself
            line_used = r.params["fraction"] * ref.stat("median")
            if national_line:
                kwargs["line"] = line_used
                which, scale = "median", r.params["fraction"]
        elif r.kind == "median_anchor":
            line_used = ref.stat("median")
            if national_line:
                kwargs["median"] = line_used
                which = "median"
        try:
            with np.errstate(over="raise"):  # an overflow is refused (with the rows), never printed as inf
                est = r.spec.kernel(s, influence=influence, **kwargs)
        except ProsperityInputError:
            raise
        except (ValueError, ZeroDivisionError, FloatingPointError, OverflowError) as exc:
            if self.scaling is not None and _is_overflow(exc):
                raise self.scaling.overflow(f"{r.label} for {_group_text(cols, key)}", str(exc)) from None
            raise EmptyGroupError(
                f"{r.label} cannot be computed for {_group_text(cols, key)} ({s.n:,} units): {exc}"
                + (self.scaling.message_note() if self.scaling is not None else ""),
                hint="leave this measure out, merge small groups, or check the incomes of this group"
                + (" (standard errors of quantile-based measures need a kernel density: se=False or the bootstrap avoid it)" if influence else ""),
            ) from None
        if influence and est.influence is None:
            raise MeasureSpecError(f"measure {r.label!r} has no linearized variable, so no linearized standard error",
                                   hint="use se_method='bootstrap', or se=False")
        return est, line_used, which, scale


def _check_poor_rule(poor_if, requested) -> None:
    """poor_if applies to every measure with a poverty rule; one whose rule is fixed is named."""
    if poor_if is None:
        return
    fixed = [r.label for r in requested if r.kind in ("line", "self_line") and not r.spec.poor_rule
             and r.spec.name in ("rmpg",)]
    if fixed:
        raise MeasureSpecError(f"poor_if={poor_if!r} cannot be applied to {', '.join(fixed)}: its poor are y < t "
                               "(laeken's definition of the relative median poverty gap)",
                               hint=f"leave {', '.join(fixed)} out, or poor_if unset")


_COMPARISON = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(>=|<=|==|!=|>|<)\s*([-+]?[\d.]+(?:[eE][-+]?\d+)?)\s*$")


def _domain_column(domain, income) -> str | None:
    """The column a ``domain=`` text names (to load it with the sample), or None."""
    if not isinstance(domain, str):
        return None
    m = _COMPARISON.match(domain)
    name = m.group(1) if m else domain.strip()
    return None if name == income else name


def _domain_mask(sample: Sample, domain, income: str, y: np.ndarray):
    """(boolean mask over the sample's units, text) for ``measure(domain=)``; (None, None) without one."""
    import operator

    if domain is None:
        return None, None
    if isinstance(domain, str):
        m = _COMPARISON.match(domain)
        name = m.group(1) if m else domain.strip()
        if name in sample.incomes:
            values = sample.income(name)
        elif name in sample.labels:
            lab = sample.labels[name]
            values = np.asarray(lab.levels, dtype=object)[lab.codes]
        else:
            raise column_not_found(name, "domain", list(sample.incomes) + list(sample.labels))
        if m:
            ops = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq, "!=": operator.ne}
            try:
                mask = ops[m.group(2)](np.asarray(values, dtype=np.float64), float(m.group(3)))
            except (TypeError, ValueError):
                raise MeasureSpecError(f"domain {domain!r}: column {name!r} is not numeric",
                                       hint=f"compare a numeric column, or give a boolean column (e.g. domain='{name}' with True/False)") from None
        else:
            mask = _as_bool(values, f"domain column {name!r}")
        text = domain.strip()
    else:
        mask = _as_bool(np.asarray(domain), "the domain array")
        if mask.shape != (sample.n,):
            raise MeasureSpecError(f"the domain array has {mask.size:,} values for {sample.n:,} units",
                                   hint="give one True/False per row used (after rows with missing values are excluded), or a column name")
        text = "given by a boolean array"
    if not mask.any():
        raise MeasureSpecError(f"the domain {text} holds no unit", hint="check the condition (e.g. 'eqIncome > 0')")
    return mask, text


def _as_bool(values, what: str) -> np.ndarray:
    v = np.asarray(values, dtype=object)
    ok = {True: True, False: False, 1: True, 0: False, "True": True, "False": False, "true": True, "false": False}
    try:
        return np.array([ok[x] for x in v], dtype=bool)
    except (KeyError, TypeError):
        bad = next(x for x in v if x not in ok)
        raise MeasureSpecError(f"{what} must hold True/False (or 1/0), found {format_value(bad)}",
                               hint="write a comparison instead, e.g. domain='eqIncome > 0'") from None


def _check_conventions(conventions: dict, requested) -> dict:
    names = {r.spec.name: r for r in requested}
    for name, value in conventions.items():
        if name not in names:
            raise MeasureSpecError(f"a convention was given for {name!r}, which is not among the measures requested",
                                   hint=f"requested: {', '.join(names)}")
        if not names[name].takes_convention:
            raise MeasureSpecError(f"measure {name!r} has no convention to choose", hint=f"remove {name!r} from conventions")
    return dict(conventions)


def _line_rule(poverty_line, relative_line, relative_to, requested):
    needs = [r.label for r in requested if r.kind == "line"]
    if poverty_line is not None and relative_line is not None:
        raise MeasureSpecError("give either an absolute poverty line or a relative line, not both",
                               hint=f"drop poverty_line={format_value(poverty_line)} (CLI --poverty-line) or "
                               f"relative_line={format_value(relative_line)} (CLI --relative-line)")
    if poverty_line is not None:
        z = _as_float(poverty_line, "poverty line")
        if not (math.isfinite(z) and z > 0):
            raise MeasureSpecError(f"the poverty line must be a positive number, got {format_value(poverty_line)}",
                                   hint="give the line in the income's unit (e.g. 2.15 * 365 for $2.15 a day in annual income)")
        return f"absolute, {z:g}", "absolute", z
    if relative_line is not None:
        c = _as_float(relative_line, "relative line")
        if not (math.isfinite(c) and 0 < c <= MAX_RELATIVE_LINE):
            raise MeasureSpecError(
                f"the relative line must be a fraction of the {relative_to} in (0, {MAX_RELATIVE_LINE:g}], got {format_value(relative_line)}",
                hint=f"write 0.6 for 60 % of the {relative_to}, not 60; for an absolute line use poverty_line (CLI --poverty-line)",
            )
        return None, "relative", None
    if needs:
        return None, "relative", None  # default 0.6 x median, set by the caller
    return None, None, None


def _as_float(v, what) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        raise MeasureSpecError(f"the {what} must be a number, got {v!r}", hint="e.g. 0.6 for a relative line") from None


def _as_sample(data, income, weight, strata, psu, fpc, by_cols, drop_missing, sheet, options) -> Sample:
    if isinstance(data, Sample):
        given = {k: v for k, v in dict(weight=weight, strata=strata, psu=psu, fpc=fpc, sheet=sheet).items() if v is not None}
        given.update({k: v for k, v in options.items() if v})
        if given:
            raise MeasureSpecError(f"{', '.join(given)} cannot be given with a Sample: they are part of it",
                                   hint="build the Sample with these options (prosperity.io.load), or pass the data frame here")
        if income is not None and income not in data.incomes:
            raise column_not_found(income, "income", list(data.incomes))
        return data
    if income is None:
        raise MeasureSpecError("no income column given", hint="name it, e.g. measure(df, income='eqIncome', ...)")
    hierarchy = tuple(options.pop("hierarchy", ()) or ())
    groups = list(options.pop("groups", ()) or ())
    for c in by_cols:
        if c not in hierarchy and c not in groups:
            groups.append(c)
    return load(data, income, weight=weight, strata=strata, psu=psu, fpc=fpc, hierarchy=hierarchy, groups=tuple(groups),
                drop_missing=drop_missing, sheet=sheet, **options)


def _check_income_domains(sample: Sample, y: np.ndarray, income: str, requested, conventions: dict) -> None:
    domains = {r.label: r.spec.domain_for(r.params, conventions.get(r.spec.name)) for r in requested}
    for domain in ("positive", "nonnegative"):
        users = [r.label for r in requested if domains[r.label] == domain]
        if not users:
            continue
        ok = [r.label for r in requested if domains[r.label] == "any"]
        check_income_domain(
            sample, income, domain, users,
            alternative=f"leave {', '.join(users)} out"
            + (f" ({', '.join(ok)} accept{'s' if len(ok) == 1 else ''} any income)" if ok else ""),
            y=y,
        )


def _check_empty_levels(sample: Sample, by_cols) -> None:
    for col in by_cols:
        lab = sample.labels[col]
        counts = np.bincount(lab.codes, minlength=len(lab.levels))
        empty = np.flatnonzero(counts == 0)
        if empty.size:
            names = ", ".join(format_value(lab.levels[i]) for i in empty[:5])
            raise EmptyGroupError(
                f"group column {col!r} has {empty.size} categor{'y' if empty.size == 1 else 'ies'} with no observations "
                f"({names}{', ...' if empty.size > 5 else ''})"
                + (" after excluding rows with missing values" if sample.excluded else ""),
                column=col,
                hint="remove unused categories (pandas: df[col] = df[col].cat.remove_unused_categories()) "
                "or check that the data are complete",
            )


# ============================================================================ extreme values

# Incomes and weights whose largest |value| lies in [2^-SAFE_EXPONENT, 2^SAFE_EXPONENT] are used as
# given (bit-identical to a computation without this layer). Outside that range they are held as
# y 2^-k and w 2^-m: multiplying by a power of two is exact in binary floating point, so sums,
# products and ratios are those of the data to the last bit, and nothing overflows (squares, products
# of sums of weights and incomes stay far below 2^1024).
SAFE_EXPONENT = 100


def _is_overflow(exc: BaseException) -> bool:
    return isinstance(exc, OverflowError) or "overflow" in str(exc).lower() or "out of range" in str(exc).lower()


def _scale_exponent(a: np.ndarray) -> int:
    """k with max|a| 2^-k in [0.5, 1), or 0 when ``a`` lies in the safe range. When scaling down, k is
    limited so that no nonzero value becomes subnormal (the scaling stays exact)."""
    if a.size == 0:
        return 0
    big = max(float(a.max()), -float(a.min()))
    if not math.isfinite(big) or big == 0 or 2.0 ** -SAFE_EXPONENT <= big <= 2.0 ** SAFE_EXPONENT:
        return 0
    k = math.frexp(big)[1]
    if k > 0:
        mag = np.abs(a)
        small = float(mag[mag > 0].min())
        k = min(k, math.frexp(small)[1] + 1021)  # small 2^-k >= 2^-1022 (normal)
    return k


def _extreme_rows(a: np.ndarray, sample: Sample):
    """(rows, count, examples) of the values beyond the safe range (else the largest in magnitude)."""
    mag = np.abs(a)
    mask = (mag > 2.0 ** SAFE_EXPONENT) | ((mag < 2.0 ** -SAFE_EXPONENT) & (mag > 0))
    if not mask.any():
        mask = mag >= np.partition(mag, -min(5, mag.size))[-min(5, mag.size)]
    return offending_rows(mask, a, sample.row_number)


class _Scaling:
    """Exact power-of-two rescaling of incomes (2^-k) and weights (2^-m) for values near the limits of
    floating point, and the checks that no inf / NaN reaches the output without a reason."""

    def __init__(self, sample: Sample, y: np.ndarray, income: str, k: int, m: int):
        self.sample, self.y_raw, self.income, self.k, self.m = sample, y, income, int(k), int(m)
        self.weight_name = sample.weight_name

    @property
    def active(self) -> bool:
        return bool(self.k or self.m)

    @classmethod
    def choose(cls, sample: Sample, y: np.ndarray, income: str, requested, conventions: dict) -> "_Scaling":
        from .measures.catalog import INCOME_SCALING, WEIGHT_SCALE_DEPENDENT

        k = _scale_exponent(y)
        m = _scale_exponent(sample.weight) if sample.weight_name is not None else 0
        self = cls(sample, y, income, k, m)
        for r in requested:
            name = r.spec.name
            if k and INCOME_SCALING.get(name) not in ("invariant", "equivariant"):
                rows, count, ex = _extreme_rows(y, sample)
                raise InvalidValueError(
                    f"income column {income!r} holds values near the limit of floating-point numbers, and measure "
                    f"{r.label!r} does not declare how it changes with the scale of incomes, so it cannot be computed "
                    "exactly on rescaled incomes", column=income, rows=rows, n_rows=count, examples=ex,
                    hint=f"leave {r.label} out, or express the incomes in a larger unit (divide the column by a power of ten)")
            convention = conventions.get(name, "laeken" if name == "gini" else None)
            if m and convention in WEIGHT_SCALE_DEPENDENT.get(name, ()):
                rows, count, ex = _extreme_rows(sample.weight, sample)
                raise InvalidValueError(
                    f"weight column {self.weight_name!r} holds values near the limit of floating-point numbers, and "
                    f"{r.label} under the {convention!r} convention depends on the scale of the weights, so it cannot "
                    "be computed exactly on rescaled weights", column=self.weight_name, rows=rows, n_rows=count, examples=ex,
                    hint="use a convention invariant to the scale of the weights (e.g. the default laeken Gini), or give "
                    "weights as population counts in the ordinary range")
        return self

    def incomes(self, y: np.ndarray) -> np.ndarray:
        return np.ldexp(y, -self.k) if self.k else y

    def weights(self, w: np.ndarray) -> np.ndarray:
        return np.ldexp(w, -self.m) if self.m else w

    def amount(self, x: float, what: str) -> float:
        """An amount in income units (absolute line, band limit), scaled with the incomes (exactly)."""
        if not self.k:
            return x
        v = math.ldexp(float(x), -self.k)
        if math.ldexp(v, self.k) != x or not math.isfinite(v):
            rows, count, ex = _extreme_rows(self.y_raw, self.sample)
            raise InvalidValueError(
                f"{what} ({format_value(x)}) and the incomes of column {self.income!r} are too far apart in magnitude "
                "to be computed exactly in floating point", column=self.income, rows=rows, n_rows=count, examples=ex,
                hint="check the unit of the line or parameter against the unit of the incomes")
        return v

    def request(self, r: _Requested) -> _Requested:
        import dataclasses

        from .measures.catalog import INCOME_PARAMS

        names = INCOME_PARAMS.get(r.spec.name, ())
        if not self.k or not names:
            return r
        params = dict(r.params)
        for p in names:
            params[p] = self.amount(params[p], f"parameter {p} of {r.label}")
        return dataclasses.replace(r, params=params)

    def mark(self, s: SortedIncome | None) -> SortedIncome | None:
        """Tell the kernels (density bandwidth, whose rule uses the sum of the weights as given) that the
        weights are held as w 2^-m."""
        if s is not None and self.m:
            s.cache["weight_exponent"] = self.m
        return s

    def unscale(self, x: float) -> float:
        return math.ldexp(x, self.k) if self.k else x

    def message_note(self) -> str:
        if not self.k:
            return ""
        return (f" (incomes were rescaled exactly by 2^{-self.k} to avoid overflow: amounts in this message are "
                f"in that unit)")

    def overflow(self, what: str, detail: str) -> ProsperityInputError:
        rows, count, ex = _extreme_rows(self.y_raw, self.sample)
        return InvalidValueError(
            f"{what} overflows the range of floating-point numbers ({detail}); no finite value can be reported "
            f"for the incomes of column {self.income!r}", column=self.income, rows=rows, n_rows=count, examples=ex,
            hint="check these incomes (a unit error?), leave this measure out, or choose a parameter that weighs "
            "extreme incomes less")

    def finish(self, measures, values, se, lo, hi, lines, wsum, by_label: dict, groups, by_cols):
        """Multiply income-valued outputs back by 2^k and sums of weights by 2^m; refuse an inf / NaN that
        has no reason (a NaN standard error stays: no SE requested, or failed bootstrap replicates, noted)."""
        from .measures.catalog import INCOME_SCALING

        with np.errstate(over="ignore"):  # an inf here is refused below, with the rows
            if self.k:
                eq = np.array([INCOME_SCALING.get(by_label[mm].spec.name) == "equivariant" for mm in measures], dtype=bool)
                if eq.any():
                    for arr in (values, se, lo, hi):
                        arr[eq] = np.ldexp(arr[eq], self.k)
                lines = np.ldexp(lines, self.k)
            if self.m:
                wsum = np.ldexp(wsum, self.m)
        bad = ~np.isfinite(values) | np.isinf(se) | np.isinf(lo) | np.isinf(hi) | ~np.isfinite(wsum)
        for i in np.flatnonzero(bad)[:1]:
            mm = measures[i]
            what = f"{mm} for {_group_text([c for c, v in zip(by_cols, groups[i]) if v is not None], [v for v in groups[i] if v is not None])}"
            if not math.isfinite(values[i]):
                raise self.overflow(what, f"the computation gave {values[i]}")
            if math.isinf(se[i]) or math.isinf(lo[i]) or math.isinf(hi[i]):
                raise self.overflow(f"the standard error of {what}", "it exceeds the largest floating-point number")
            if not math.isfinite(wsum[i]):
                rows, count, ex = _extreme_rows(self.sample.weight, self.sample)
                raise InvalidValueError(
                    f"the weights of column {self.weight_name!r} sum to more than the largest floating-point number "
                    f"(about 1.8e308), so the weight_sum of {what} cannot be reported", column=self.weight_name,
                    rows=rows, n_rows=count, examples=ex,
                    hint="check the weights (a unit error?): a weight is the number of population units a row represents")
        return values, se, lo, hi, lines, wsum
