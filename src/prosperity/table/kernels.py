"""Evaluation of the kernels: one global sort, each group's sorted arrays cut from it, every requested
measure's kernel called with its parameters, conventions and line, and (linearization) the domain
variance of its linearized variable.

Relative lines: a group measured against the whole sample's line z = c * median gets
u_total = u_measure(group, z fixed) + (d value / d z) * c * u_median(whole sample), which is how the
line's own error enters (the kernels' ``line_derivative``; Osier 2009).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..io.errors import EmptyGroupError, MeasureSpecError, ProsperityInputError
from ..measures.estimate import SortedIncome, income_total
from ..measures.quantiles import quantile_influence, quantile_sorted
from .domain_lines import domain_row_line, relative_line_rule
from .domain_variance import _DomainVariance
from .inputs import Inputs, _group_codes, _split_sorted
from .plan import DEFAULT_RELATIVE_LINE, _group_text, _Requested
from .scaling import _is_overflow, _Scaling

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



@dataclass(eq=False)
class PointPass:
    """What the point pass leaves for the spread (bootstrap) and the result."""

    rows: "_Rows"
    ctx: "_Context"
    s_all: SortedIncome
    dv: _DomainVariance | None
    codes_all: np.ndarray | None
    group_cache: list  # (cols, key, positions in the global sort) per group, for the bootstrap
    undefined_rows: dict  # row -> why its value is missing
    line_rule: str | None


def point_pass(inp: Inputs) -> PointPass:
    """Sort once, build the design once, then every (breakdown, group, measure): value and (with
    linearization) its domain variance. Rows come in the order breakdowns x groups x measures."""
    plan, sample, scaling, y = inp.plan, inp.sample, inp.scaling, inp.y
    requested, by_cols = plan.requested, plan.by_cols
    se, bootstrap, line_within_groups = plan.se, plan.bootstrap, plan.line_within_groups
    quantile_convention, undefined = plan.quantile_convention, plan.undefined
    line_kind, line_value, line_rule = plan.line_kind, plan.line_value, plan.line_rule
    relative_line, relative_to = plan.relative_line, plan.relative_to
    in_domain, domain_text = inp.in_domain, inp.domain_text
    conventions, poor_if, breakdowns = plan.conventions, plan.poor_if, plan.breakdowns
    # ---- sort once; design once
    w = scaling.weights(sample.weight)
    dv = _DomainVariance(sample, plan.lonely_psu) if se else None  # before the sort: its temporaries are freed
    s_all = scaling.mark(SortedIncome.from_arrays(y, w))
    if plan.bandwidth is not None:  # measure(bandwidth=): every default-bandwidth density of the call
        s_all.cache["bandwidth_rule"] = plan.bandwidth
    codes_all = dv.unit_codes(s_all.order) if dv is not None else None
    national = _Reference(s_all, quantile_convention)
    if line_kind == "relative":
        if relative_line is None:
            relative_line, relative_to = DEFAULT_RELATIVE_LINE, "median"
            default_note = " (default: no line was given)"
        else:
            default_note = ""
        line_value = relative_line * national.stat(relative_to)
    national_terms: dict = {}  # which -> PSU totals of w * u_which (whole sample), for group line terms

    def national_term(which: str):
        if which not in national_terms:
            wu = national.u(which, keep=False)
            wu *= s_all.w
            national_terms[which] = dv.line_totals(codes_all, wu)
        return national_terms[which]

    ctx = _Context(list(requested), quantile_convention, line_kind, line_value, relative_line, relative_to,
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
                if plan.bandwidth is not None:
                    s.cache["bandwidth_rule"] = plan.bandwidth
                gcodes = None if codes_all is None else codes_all[pos]
            if bootstrap:
                group_cache.append((cols, key, pos))
            prep = dv.prepare(gcodes, whole and pos is None) if (dv is not None and not bootstrap) else None
            # the row's reference for every line (table.domain_lines): the whole sample's own row, else the
            # row's own units (line_within_groups: a group, the domain) or None (the whole sample's line)
            own = national if (whole and pos is None) else (_Reference(s, quantile_convention) if line_within_groups else None)
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
                        if own is None or own is national:  # the whole sample's line: its PSU totals
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
    if line_kind == "relative":
        domain_line = domain_row_line(requested, rows.lines, line_kind) if in_domain is not None else None
        line_rule = relative_line_rule(relative_line, relative_to, scaling.unscale(line_value), by_cols=by_cols,
                                       line_within_groups=line_within_groups, domain=in_domain is not None,
                                       domain_line=None if domain_line is None else scaling.unscale(domain_line),
                                       default_note=default_note)
    return PointPass(rows, ctx, s_all, dv, codes_all, group_cache, undefined_rows, line_rule)


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
    domain: bool = False  # measure(domain=): the whole-sample row is a domain (its line: table.domain_lines)

    def evaluate(self, r: _Requested, s: SortedIncome, own, national, cols, key, influence=None):
        """(Estimate, line used, which reference statistic's u to add (or None), its scale)."""
        influence = self.influence if influence is None else influence
        kwargs = dict(r.params)
        if r.spec.name in self.conventions:
            kwargs["convention"] = self.conventions[r.spec.name]
        elif r.takes_quantile_convention:
            kwargs["convention"] = self.convention
        line_used, which, scale = None, None, 1.0
        # a group (or the domain) measured against the whole sample's line; with line_within_groups every
        # row's reference is ``own`` (its own units), for every line of the row (table.domain_lines)
        national_line = (bool(cols) or self.domain) and not self.line_within_groups
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

