"""The plan of a :func:`~prosperity.table.measure` call: which measures, with which parameters,
conventions, lines, groups and standard-error method -- parsed and validated once, before any data
is read, so every backend (in memory, DuckDB, Dask) receives the same checked request.

Relative lines: ``relative_line=c`` sets z = c x median (``relative_to="median"``) or c x mean of the
whole sample; without a line, a measure that needs one gets z = 0.6 x median (Eurostat's at-risk-of-
poverty threshold, :data:`DEFAULT_RELATIVE_LINE`).
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass

import numpy as np

from ..io import arguments
from ..io.errors import MeasureSpecError, closest, format_value
from ..measures.quantiles import BANDWIDTH_RULES, QUANTILE_CONVENTIONS
from ..measures.registry import MeasureSpec
from ..variance.design import LONELY_PSU_RULES

SE_METHODS = ("linearization", "bootstrap", "rescaled_bootstrap")
POOR_IF = (None, "lt", "le")
UNDEFINED = ("missing", "fail")
CI_METHODS = ("normal", "percentile")
RELATIVE_TO = ("median", "mean")
DEFAULT_RELATIVE_LINE = 0.6
MAX_RELATIVE_LINE = 2.0
DEFAULT_MEASURES = ("mean", "median", "gini", "theil", "mld", "atkinson:0.5", "arpr", "rmpg", "qsr", "palma")


@dataclass(frozen=True, eq=False)
class Plan:
    """A validated request: what to estimate and how (no data yet)."""

    requested: tuple  # of _Requested, in the order asked (duplicates removed)
    conventions: dict  # measure name -> its kernel's convention=
    by_cols: tuple[str, ...]
    breakdowns: tuple[tuple[str, ...], ...]  # () = the whole sample, then each combination of by columns
    se: bool
    se_method: str
    bootstrap: bool  # se by replicates (not linearization)
    replicates: int | None
    seed: int | None
    confidence: float
    ci_method: str
    quantile_convention: str
    lonely_psu: str
    line_rule: str | None  # text for describe() (set for absolute lines; relative ones once the median is known)
    line_kind: str | None  # "absolute" | "relative" | None
    line_value: float | None  # the absolute line (income units)
    relative_line: float | None
    relative_to: str
    line_within_groups: bool
    poor_if: str | None
    undefined: str
    domain: object  # measure(domain=): None, a column / comparison text or a boolean array
    domain_col: str | None  # the column the domain text names (loaded with the sample)
    bandwidth: str | None = None  # density bandwidth rule of every SE density: "osier" | "convey" | None (each kernel's own)

    @property
    def has_line(self) -> bool:
        return any(r.kind != "plain" for r in self.requested)


def make_plan(measures, *, income, by, poverty_line, relative_line, relative_to, line_within_groups, se, se_method,
              replicates, seed, confidence, ci_method, quantile_convention, conventions, poor_if, domain, undefined,
              lonely_psu, margins, bandwidth=None) -> Plan:
    """Check every option of :func:`~prosperity.table.measure` (the package's own errors, with a fix)
    and parse the measures, in the order the in-memory table layer always has."""
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
    if bandwidth is not None and bandwidth not in BANDWIDTH_RULES:
        raise MeasureSpecError(f"unknown bandwidth rule {bandwidth!r}",
                               hint="use 'osier' (0.79 IQR N^-1/5, the default) or 'convey' (weighted SD N^-1/5, R convey); "
                               "leave it None for each measure's own")
    requested = parse_measures(measures)
    _check_poor_rule(poor_if, requested)
    conventions = _check_conventions(conventions or {}, requested)
    line_rule, line_kind, line_value = _line_rule(poverty_line, relative_line, relative_to, requested)
    by_cols = _normalise_by(by)
    return Plan(
        requested=tuple(requested), conventions=conventions, by_cols=tuple(by_cols),
        breakdowns=tuple(_breakdowns(by_cols, margins)), se=se, se_method=se_method, bootstrap=bootstrap,
        replicates=replicates, seed=seed, confidence=confidence, ci_method=ci_method,
        quantile_convention=quantile_convention, lonely_psu=lonely_psu, line_rule=line_rule, line_kind=line_kind,
        line_value=line_value, relative_line=relative_line, relative_to=relative_to,
        line_within_groups=line_within_groups, poor_if=poor_if, undefined=undefined, domain=domain,
        domain_col=_domain_column(domain, income), bandwidth=bandwidth,
    )


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
    from ..measures import catalog  # noqa: F401 - fills the registry
    from ..measures.registry import REGISTRY, parse_measure

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



def _group_text(cols, key) -> str:
    if not cols:
        return "the whole sample"
    return ", ".join(f"{c}={format_value(v)}" for c, v in zip(cols, key))


# ============================================================================ checks


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
# COLUMN=VALUE (or ==, !=) with a label value, e.g. "db040=Tyrol", "rb090 != 'male'"
_LABEL_EQUALITY = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(==|=|!=)\s*(.+?)\s*$")


def _domain_column(domain, income) -> str | None:
    """The column a ``domain=`` text names (to load it with the sample), or None."""
    if not isinstance(domain, str):
        return None
    m = _COMPARISON.match(domain) or _LABEL_EQUALITY.match(domain)
    name = m.group(1) if m else domain.strip()
    return None if name == income else name



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

