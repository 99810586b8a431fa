"""The out-of-core door of :func:`~prosperity.table.measure`: the same plan, evaluated by the streaming
estimators of :mod:`prosperity.backends.streaming` over a DuckDB or Dask source, returned as the same
:class:`~prosperity.table.result.MeasureResult`.

Backend choice (``backend=None``): a DuckDB relation -> ``"duckdb"``; a Dask dataframe -> ``"dask"``;
a directory of Parquet files (or a list of Parquet paths) -> ``"duckdb"``; anything else (a frame, a
single file, a :class:`~prosperity.io.Sample`) -> ``"memory"``, the in-memory table layer as always
(a single file keeps today's loader: pass ``backend="duckdb"`` to stream it instead). A frame with
``backend="duckdb"`` or ``"dask"`` is streamed too (registered as a DuckDB view, or split into Dask
partitions).

What streams today: the measures of :data:`~prosperity.backends.streaming.STREAM_MEASURES`, ``by=``
(with ``margins``) in one pass per kind, strata / PSUs (every ``lonely_psu`` rule), absolute and
relative lines (whole-sample or ``line_within_groups``, the line's own error in the SE), ``poor_if``,
``undefined``, ``bandwidth=`` (every kernel density's rule), linearized SEs and normal intervals,
``domain=`` (the full-design domain estimate, :mod:`prosperity.backends.streaming_domain`) and the bootstrap
(the in-memory replicates, estimated in the same passes, :mod:`prosperity.backends.streaming_replicates`).
Anything else is refused with the list of what is supported -- never a silent collect of the whole table.
"""

from __future__ import annotations

import os

import numpy as np

from ..io.errors import EmptyGroupError, InvalidValueError, MeasureSpecError
from .domain_lines import domain_note, domain_row_line, relative_line_rule
from .kernels import _Rows
from .plan import DEFAULT_RELATIVE_LINE, Plan
from .result import MeasureResult, build_result

BACKENDS = ("memory", "duckdb", "dask")


def choose_backend(data, backend: str | None) -> str:
    """The backend for ``data`` (module docstring), or the one named (checked)."""
    if backend is not None:
        if backend not in BACKENDS:
            raise MeasureSpecError(f"unknown backend {backend!r}", hint=f"use one of {', '.join(BACKENDS)} (or leave it None)")
        return backend
    module = type(data).__module__
    if module.startswith("duckdb"):
        return "duckdb"
    if module.startswith("dask"):
        return "dask"
    if isinstance(data, (str, os.PathLike)) and os.path.isdir(data):
        return "duckdb"
    if isinstance(data, (list, tuple)) and data and all(isinstance(p, (str, os.PathLike)) for p in data):
        return "duckdb"
    return "memory"


def _refuse(what: str, hint: str):
    raise MeasureSpecError(f"{what} is not available on the out-of-core backends yet", hint=hint)


def _check_supported(plan: Plan, *, income, fpc, drop_missing, sheet, sample_options) -> None:
    from ..backends.streaming import STREAM_MEASURES
    from ..backends.streaming_inequality import CONVENTIONS as STREAM_CONVENTIONS

    mem = "use backend='memory' (the data must then fit in memory)"
    if income is None:
        raise MeasureSpecError("no income column given", hint="name it, e.g. measure(path, income='eqIncome', ...)")
    unsupported = [r.label for r in plan.requested if r.spec.name not in STREAM_MEASURES]
    if unsupported:
        raise MeasureSpecError(
            f"measure{'s' if len(unsupported) > 1 else ''} {', '.join(unsupported)} cannot be computed out of core yet "
            "(the table is never collected into memory to compute it)",
            hint="out of core: " + ", ".join(STREAM_MEASURES) + f"; or {mem}")
    from ..backends import streaming_conventions

    streaming_conventions.check_conventions(plan, mem)  # conventions= and the quantile rule: what streams
    streaming_conventions.quantile_rule(plan, mem)
    gini_users = sorted({r.spec.name for r in plan.requested} & {"wolfson", "foster_wolfson", "sgini"})
    if plan.conventions.get("gini", "laeken") != "laeken" and gini_users:
        # out of core these read the Gini's sums, which then carry the Gini's convention (in memory they use
        # the laeken Gini): measured 1.8e-4 off, so refused until they read their own sums
        _refuse(f"convention {plan.conventions['gini']!r} for gini together with {', '.join(gini_users)}",
                f"request them in two calls, or {mem}")
    if fpc is not None:
        _refuse("fpc=", f"leave fpc out (with-replacement variance), or {mem}")
    if drop_missing:
        _refuse("drop_missing=True", "filter the rows with missing values in the source (and say how many)")
    if sheet is not None or sample_options:
        names = (["sheet"] if sheet is not None else []) + sorted(sample_options)
        _refuse(", ".join(names), f"prepare the income column in the source, or {mem}")


def _source(data, kind, income, weight, strata, psu, by_cols, options=None):
    from ..backends.sources import open_source

    if kind == "dask" and not type(data).__module__.startswith("dask"):
        import dask.dataframe as dd
        import pandas as pd

        frame = data.to_pandas() if hasattr(data, "to_pandas") and not isinstance(data, pd.DataFrame) else pd.DataFrame(data)
        data = dd.from_pandas(frame, npartitions=max(1, min(8, len(frame) // 100_000 + 1)))
    return open_source(data, income, weight, strata=strata, psu=psu, backend=kind, groups=list(by_cols) or None,
                       **(options or {}))


def _layers(source, plan: Plan):
    from ..backends.streaming import Layer

    layers = []
    cells = source.cells
    for cols in plan.breakdowns:
        if not cols:
            layers.append(Layer((), ((),), None))
            continue
        proj = cells[list(cols)]
        keys = proj.drop_duplicates().sort_values(list(cols)).reset_index(drop=True)
        lookup = {tuple(k): i for i, k in enumerate(keys.itertuples(index=False, name=None))}
        gmap = np.fromiter((lookup[tuple(k)] for k in proj.itertuples(index=False, name=None)), dtype=np.int64, count=len(proj))
        layers.append(Layer(tuple(cols), tuple(_plain(k) for k in lookup), gmap))
    return layers


def _plain(key: tuple) -> tuple:
    return tuple(v.item() if isinstance(v, np.generic) else v for v in key)


def measure_streamed(plan: Plan, data, kind: str, *, income, weight, strata, psu, fpc, drop_missing, sheet,
                     sample_options) -> MeasureResult:
    """:func:`~prosperity.table.measure` on a DuckDB or Dask source (module docstring)."""
    from ..backends import streaming_conventions, streaming_domain, streaming_replicates
    from ..backends.streaming import StreamSpec, _stratum_factors, evaluate_stream
    from .bootstrap import bootstrap_seed, replicate_spread
    from .plan import _group_text

    _check_supported(plan, income=income, fpc=fpc, drop_missing=drop_missing, sheet=sheet, sample_options=sample_options)
    dom = None if plan.domain is None else streaming_domain.parse_domain(plan.domain, income)
    groups, options = list(plan.by_cols), {}
    if dom is not None:  # membership is a group column of the source (streaming_domain)
        data, options = streaming_domain.prepare_data(data, kind, dom)
        groups += [] if dom.column in groups else [dom.column]
    source = _source(data, kind, income, weight, strata, psu, groups, options)
    reps = used_seed = None
    try:
        layers = _layers(source, plan)
        check_cells, empty = None, None
        if dom is not None:
            check_cells = streaming_domain.cell_membership(source.cells, dom)
            layers, empty = streaming_domain.domain_layers(layers, check_cells)
        relative_line, relative_to, default_note = plan.relative_line, plan.relative_to, ""
        if plan.line_kind == "relative" and relative_line is None:
            relative_line, relative_to, default_note = DEFAULT_RELATIVE_LINE, "median", " (default: no line was given)"
        rules = streaming_conventions.rule_groups(plan, "")  # one evaluation of the passes per quantile rule
        spec = StreamSpec(
            tuple((r.label, r.spec.name, dict(r.params)) for r in plan.requested), line_kind=plan.line_kind,
            line_value=plan.line_value, relative_line=DEFAULT_RELATIVE_LINE if relative_line is None else relative_line,
            relative_to=relative_to, line_within_groups=plan.line_within_groups,
            inclusive=None if plan.poor_if is None else plan.poor_if == "le", se=plan.se and not plan.bootstrap,
            lonely_psu=plan.lonely_psu, conventions=streaming_conventions.stream_conventions(plan), bandwidth=plan.bandwidth,
            quantile_rule=rules[0][0])
        check = lambda nonpos, neg, y_min: _check_domains(plan, income, nonpos, neg, y_min)  # noqa: E731
        if plan.bootstrap:
            streaming_replicates.check_replicable(source, data, psu, plan.se_method)
            _stratum_factors(source.design, plan.lonely_psu, strata)  # lonely PSUs: the in-memory refusal
            used_seed = bootstrap_seed(plan)
            mult = streaming_replicates.multiplier_matrix(source.design, plan.se_method, int(plan.replicates), used_seed)
            out, reps = streaming_replicates.evaluate_replicates(source, spec, layers, mult, strata_name=strata,
                                                                 income=income, domain_check=check, check_cells=check_cells)
        else:
            out = streaming_conventions.evaluate(evaluate_stream, source, spec, rules, layers, strata_name=strata,
                                                 income=income, domain_check=check, check_cells=check_cells)
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            close()
    rows = _Rows(plan.by_cols)
    undefined_rows: dict = {}
    kept = []  # the point rows reported (a domain's hidden rows dropped), for the replicates
    n_domain = None
    for i, row in enumerate(out.rows):
        layer = row.layer
        if dom is not None:  # layer 0: the whole sample (hidden); the last group of every layer: outside the domain
            if layer == 0 or row.group == len(layers[layer].keys) - 1:
                continue
            layer -= 1
            if layer == 0 and n_domain is None:
                n_domain = row.n
        L = layers[row.layer]
        key = L.keys[row.group]
        if dom is not None and empty[layer][row.group]:  # as in memory: no unit of the group in the domain
            undefined_rows[len(rows.values)] = f"no unit of {_group_text(L.cols, key)} lies in the domain {dom.text}"
            rows.add(L.cols, key, row.label, 0.0, 0.0, 0, 0.0, None)
            kept.append(i)
            continue
        if row.undefined is not None:
            if plan.undefined == "fail" or not (L.cols or dom is not None):
                raise EmptyGroupError(row.undefined, hint="leave this measure out, merge small groups, or check the "
                                      "incomes of this group (standard errors of quantile-based measures need a kernel density: se=False avoids it)")
            undefined_rows[len(rows.values)] = _undefined_reason(plan, row.undefined)
        rows.add(L.cols, key, row.label, row.value, row.var, row.n, row.wsum, row.line)
        kept.append(i)
    line_rule = plan.line_rule
    if plan.line_kind == "relative":
        stat = out.national["median" if relative_to == "median" else "mean"]
        domain_line = None if dom is None else domain_row_line(plan.requested, rows.lines, plan.line_kind)
        line_rule = relative_line_rule(relative_line, relative_to, relative_line * stat, by_cols=plan.by_cols,
                                       line_within_groups=plan.line_within_groups, domain=dom is not None,
                                       domain_line=domain_line, default_note=default_note)
    notes = [f"backend: {kind}, streamed in {out.passes} pass{'es' if out.passes > 1 else ''} (exact; the rows were never collected)"]
    if dom is not None:
        notes.insert(0, domain_note(dom.text, n_domain, out.n, plan.line_within_groups))
    spread = None
    if reps is not None:
        notes[-1] += f"; {int(plan.replicates)} bootstrap replicates in the same passes"
        spread = replicate_spread(plan, reps[kept], undefined_rows, used_seed)
    return build_result(plan, rows, income=income, n_units=out.n, excluded={}, line_rule=line_rule,
                        undefined_rows=undefined_rows, scaling=None, spread=spread, notes=notes)


def _undefined_reason(plan: Plan, problem: str) -> str:
    """The reason of a missing row, worded as in memory (``table.kernels``: the problem and its fix)."""
    hint = "leave this measure out, merge small groups, or check the incomes of this group" + (
        " (standard errors of quantile-based measures need a kernel density: se=False or the bootstrap avoid it)"
        if plan.se and not plan.bootstrap else "")
    return str(EmptyGroupError(problem, hint=hint))


def _check_domains(plan: Plan, income: str, n_nonpos: int, n_neg: int, y_min: float) -> None:
    """The measures' income domains (as the in-memory check), from the counts of pass 1."""
    domains = {r.label: r.spec.domain_for(r.params, plan.conventions.get(r.spec.name)) for r in plan.requested}
    for domain, bad, word in (("positive", n_nonpos, "zero or negative"), ("nonnegative", n_neg, "negative")):
        users = [label for label, d in domains.items() if d == domain]
        if users and bad:
            raise InvalidValueError(
                f"{', '.join(users)} need{'s' if len(users) == 1 else ''} {domain} incomes, but income column {income!r} "
                f"has {bad:,} {word} value{'s' if bad != 1 else ''} (smallest {y_min:g})", column=income,
                hint=f"leave {', '.join(users)} out, or recode or filter these rows in the source")
