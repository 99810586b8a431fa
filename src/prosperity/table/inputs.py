"""The data of a :func:`~prosperity.table.measure` call, in memory: the :class:`~prosperity.io.Sample`
(loaded and validated with located errors), the domain mask, the checks that the incomes suit the
measures, the exact rescaling of extreme values, and the group codes each breakdown cuts the one
global sort with.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..io import load
from ..io.errors import EmptyGroupError, MeasureSpecError, column_not_found, format_value
from ..io.sample import Sample, check_income_domain, check_not_empty
from .plan import _COMPARISON, _LABEL_EQUALITY, Plan
from .scaling import _Scaling


@dataclass(frozen=True, eq=False)
class Inputs:
    """The checked data: the sample, the (possibly rescaled) incomes, the domain, and the plan's
    measures and absolute line in the same (rescaled) unit."""

    sample: Sample
    income: str
    y: np.ndarray
    in_domain: np.ndarray | None
    domain_text: str | None
    scaling: _Scaling
    plan: Plan  # the plan with income-valued parameters and the absolute line rescaled like the incomes


def read_inputs(plan: Plan, data, income, weight, strata, psu, fpc, drop_missing, sheet, sample_options) -> Inputs:
    """Load and check the data for ``plan`` (in the order the table layer always has: columns, empty
    sample, domain, income domains of the measures, empty group levels, extreme values)."""
    import dataclasses

    by_cols = list(plan.by_cols)
    domain_col = plan.domain_col
    load_cols = by_cols + ([domain_col] if domain_col and domain_col not in by_cols and not isinstance(data, Sample) else [])
    sample = _as_sample(data, income, weight, strata, psu, fpc, load_cols, drop_missing, sheet, sample_options)
    income = income or sample.income_names[0]
    y = sample.income(income)
    for col in by_cols:
        if col not in sample.labels:
            raise column_not_found(col, "by", list(sample.labels))
    check_not_empty(sample)
    in_domain, domain_text = _domain_mask(sample, plan.domain, income, y)
    # incomes outside the domain are not measured: only the domain's must suit the measures
    _check_income_domains(sample, y if in_domain is None else np.where(in_domain, y, 1.0), income, plan.requested,
                          plan.conventions)
    _check_empty_levels(sample, by_cols)
    # extreme values: incomes and weights near the limits of floating point are held as y 2^-k and
    # w 2^-m (exact); absolute lines and income-valued parameters are scaled alike
    scaling = _Scaling.choose(sample, y, income, plan.requested, plan.conventions)
    if scaling.active:
        y = scaling.incomes(y)
        line_value = plan.line_value
        if plan.line_kind == "absolute":
            line_value = scaling.amount(line_value, "the poverty line")
        plan = dataclasses.replace(plan, requested=tuple(scaling.request(r) for r in plan.requested), line_value=line_value)
    return Inputs(sample, income, y, in_domain, domain_text, scaling, plan)


# ============================================================================ groups


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


# ============================================================================ domain


def _domain_mask(sample: Sample, domain, income: str, y: np.ndarray):
    """(boolean mask over the sample's units, text) for ``measure(domain=)``; (None, None) without one."""
    if domain is None:
        return None, None
    if isinstance(domain, str):
        m = _COMPARISON.match(domain)
        eq = None if m else _LABEL_EQUALITY.match(domain)  # COLUMN=VALUE with a label value
        name = m.group(1) if m else (eq.group(1) if eq else domain.strip())
        if name in sample.incomes:
            values = sample.income(name)
        elif name in sample.labels:
            lab = sample.labels[name]
            values = np.asarray(lab.levels, dtype=object)[lab.codes]
        else:
            raise column_not_found(name, "domain", list(sample.incomes) + list(sample.labels))
        mask = _mask_of_values(domain, name, values, numeric=name in sample.incomes)
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


def _mask_of_values(domain: str, name: str, values, numeric: bool) -> np.ndarray:
    """The domain text's mask over ``values`` of column ``name`` (``numeric``: an income column, else a
    label column's values): a comparison, COLUMN=VALUE (``!=`` too) or a boolean column. Shared with the
    out-of-core domain (:mod:`prosperity.backends.streaming_domain`, on a column's distinct values)."""
    import operator

    m = _COMPARISON.match(domain)
    eq = None if m else _LABEL_EQUALITY.match(domain)
    if m:
        ops = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq, "!=": operator.ne}
        try:
            mask = ops[m.group(2)](np.asarray(values, dtype=np.float64), float(m.group(3)))
        except (TypeError, ValueError):
            raise MeasureSpecError(f"domain {domain!r}: column {name!r} is not numeric",
                                   hint=f"compare a numeric column, or give a boolean column (e.g. domain='{name}' with True/False)") from None
    elif eq:
        wanted = eq.group(3).strip().strip("'\"")
        if numeric:  # a numeric column: compare numbers (age=65 is age == 65)
            try:
                labels, wanted = np.asarray(values, dtype=np.float64), float(wanted)
            except ValueError:
                raise MeasureSpecError(f"domain {domain!r}: column {name!r} is numeric, {wanted!r} is not a number",
                                       hint=f"write e.g. domain='{name} >= 65'") from None
        else:
            labels = np.asarray(values, dtype=object).astype(str)
        levels = None if numeric else sorted(set(labels.tolist()))
        if levels is not None and wanted not in levels:
            raise MeasureSpecError(f"domain {domain!r}: column {name!r} has no value {wanted!r}",
                                   hint=f"its values are {', '.join(levels[:12])}" + (" ..." if len(levels) > 12 else ""))
        mask = labels == wanted
        if eq.group(2) == "!=":
            mask = ~mask
    else:
        mask = _as_bool(values, f"domain column {name!r}")
    return mask


def _as_bool(values, what: str) -> np.ndarray:
    v = np.asarray(values, dtype=object)
    ok = {True: True, False: False, 1: True, 0: False, "True": True, "False": False, "true": True, "false": False}
    try:
        return np.array([ok[x] for x in v], dtype=bool)
    except (KeyError, TypeError):
        bad = next(x for x in v if x not in ok)
        raise MeasureSpecError(f"{what} must hold True/False (or 1/0), found {format_value(bad)}",
                               hint="write a comparison instead, e.g. domain='eqIncome > 0'") from None



# ============================================================================ checks


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

