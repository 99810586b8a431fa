"""The ``Sample``: an immutable weighted sample of units, and its construction from a data frame.

A sample holds NumPy arrays (never a data frame): one or more income concepts (float64, per person
after any equivalence scale), income components by source, a weight, an optional survey design
(strata, PSUs, fpc), label columns that form a nested hierarchy (region > province > city) or
cross-cutting groups (urban/rural, sex), and a record of every row excluded on request
(``drop_missing=True``). Label columns are stored factorized: integer codes plus sorted levels.

Validation (:func:`from_frame`) checks everything that does not depend on the measure: columns
exist (close names suggested), incomes and weights are numeric, present and finite, weights are
positive, design and label columns are complete, hierarchy levels nest. Whether negative or zero
incomes are allowed depends on the measure: :func:`check_income_domain` refuses them with a located
error, called by :func:`prosperity.table.measure` (and ``prosperity growth``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd

from .equivalence import check_scale, equivalence_scale, parse_scale
from .errors import EmptyGroupError, InvalidValueError, MeasureSpecError, NestingError, column_not_found, format_value, offending_rows

UNITS = ("person", "household")


@dataclass(frozen=True, eq=False)
class Labels:
    """A factorized label column: ``levels[codes]`` are the labels, levels sorted."""

    codes: np.ndarray  # int64, 0..len(levels)-1
    levels: np.ndarray

    @property
    def values(self) -> np.ndarray:
        return self.levels[self.codes]

    def __len__(self) -> int:
        return int(self.codes.size)


@dataclass(frozen=True, eq=False)
class Sample:
    """An immutable weighted sample (see module docstring). Build it with :func:`from_frame` or
    :func:`prosperity.io.load`; every array is read-only and has one value per unit."""

    incomes: Mapping[str, np.ndarray]
    weight: np.ndarray
    weight_name: str | None = None
    labels: Mapping[str, Labels] = field(default_factory=dict)
    hierarchy: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    strata: np.ndarray | None = None
    strata_name: str | None = None
    psu: np.ndarray | None = None
    psu_name: str | None = None
    fpc: np.ndarray | None = None
    fpc_name: str | None = None
    components: Mapping[str, np.ndarray] = field(default_factory=dict)
    household_size: np.ndarray | None = None
    equivalence: str | None = None
    unit: str = "person"
    row_number: np.ndarray | None = None  # 1-based data row of each unit when rows were excluded
    excluded: Mapping[str, int] = field(default_factory=dict)  # reason -> number of rows excluded
    source: str | None = None

    @property
    def n(self) -> int:
        return int(self.weight.size)

    @property
    def income_names(self) -> tuple[str, ...]:
        return tuple(self.incomes)

    def income(self, name: str | None = None) -> np.ndarray:
        """The income array ``name`` (the first concept by default)."""
        if name is None:
            return next(iter(self.incomes.values()))
        if name not in self.incomes:
            raise column_not_found(name, "income", list(self.incomes) + list(self.components))
        return self.incomes[name]

    @property
    def n_excluded(self) -> int:
        return int(sum(self.excluded.values()))

    def data_rows(self, positions) -> np.ndarray:
        """1-based data rows of the input for unit positions (accounts for excluded rows)."""
        positions = np.asarray(positions, dtype=np.int64)
        return (self.row_number[positions] if self.row_number is not None else positions + 1)

    def to_frame(self) -> pd.DataFrame:
        """The sample as a pandas frame (labels decoded), e.g. to inspect what was loaded."""
        cols = dict(self.incomes)
        cols.update(self.components)
        cols[self.weight_name or "weight"] = self.weight
        for name, lab in self.labels.items():
            cols[name] = lab.values
        for name, arr in ((self.strata_name, self.strata), (self.psu_name, self.psu), (self.fpc_name, self.fpc)):
            if arr is not None and name not in cols:
                cols[name] = arr
        return pd.DataFrame(cols)

    def __repr__(self) -> str:
        lines = [f"Sample: {self.n:,} {self.unit}{'s' if self.n != 1 else ''}" + (f" from {self.source}" if self.source else "")]
        wsum = float(self.weight.sum()) if self.n else 0.0
        lines.append(f"  income      {', '.join(self.incomes)}" + (f" (equivalised: {self.equivalence})" if self.equivalence else ""))
        if self.components:
            lines.append(f"  components  {', '.join(self.components)}")
        lines.append(f"  weight      {self.weight_name or '(none: every unit 1)'}; sum {wsum:,.6g}")
        design = []
        if self.strata is not None:
            design.append(f"strata {self.strata_name} ({len(pd.unique(self.strata)):,})")
        if self.psu is not None:
            design.append(f"PSU {self.psu_name}")
        if self.fpc is not None:
            design.append(f"fpc {self.fpc_name}")
        lines.append(f"  design      {', '.join(design) if design else 'none (independent units)'}")
        if self.hierarchy:
            lines.append("  hierarchy   " + " > ".join(f"{h} ({len(self.labels[h].levels):,})" for h in self.hierarchy))
        if self.groups:
            lines.append("  groups      " + ", ".join(f"{g} ({len(self.labels[g].levels):,})" for g in self.groups))
        if self.excluded:
            lines.append("  excluded    " + "; ".join(f"{v:,} rows with {k}" for k, v in self.excluded.items()))
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# construction from a data frame
# ---------------------------------------------------------------------------------------------


def _columns_of(data) -> list[str]:
    if isinstance(data, pd.DataFrame):
        return [str(c) for c in data.columns]
    if hasattr(data, "columns") and hasattr(data, "get_column"):  # polars
        return list(data.columns)
    if isinstance(data, Mapping):
        return [str(c) for c in data]
    raise TypeError(
        f"data must be a pandas or polars DataFrame, a dict of arrays, a file path or a Sample, got {type(data).__name__}"
    )


def _raw_column(data, name: str) -> np.ndarray:
    """One column as a NumPy array without copying when the frame already holds NumPy data."""
    if isinstance(data, pd.DataFrame):
        col = data[name]
        if isinstance(col, pd.DataFrame):
            raise InvalidValueError(f"column {name!r} appears more than once in the data", column=name,
                                    hint="rename the duplicated columns so each name is unique")
        dtype = col.dtype
        if isinstance(dtype, pd.CategoricalDtype):
            return col.array  # keep the categories (their order, and unused ones: see table.measure)
        if pd.api.types.is_extension_array_dtype(dtype) and pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
            return col.to_numpy(dtype=np.float64, na_value=np.nan)
        return col.to_numpy()
    if hasattr(data, "get_column"):  # polars
        return data.get_column(name).to_numpy()
    return np.asarray(data[name])


def _readonly(a: np.ndarray) -> np.ndarray:
    v = a.view()
    v.flags.writeable = False
    return v


def numeric_column(raw: np.ndarray, name: str, role: str) -> np.ndarray:
    """float64 view/copy of a column, or an error naming the rows that are not numbers."""
    kind = raw.dtype.kind
    if kind in "fiu":
        return raw.astype(np.float64, copy=False)
    if kind == "b":
        raise InvalidValueError(f"{role} column {name!r} holds true/false values, not numbers", column=name,
                                hint=f"choose the numeric {role} column")
    if kind in "mM":
        raise InvalidValueError(f"{role} column {name!r} holds dates or durations, not numbers", column=name,
                                hint=f"choose the numeric {role} column")
    series = pd.Series(raw, copy=False)
    conv = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.isnan(conv) & ~series.isna().to_numpy()
    if bad.any():
        rows, count, examples = offending_rows(bad, raw)
        raise InvalidValueError(
            f"{role} column {name!r} is not numeric: {count:,} value{'s' if count != 1 else ''} cannot be read as numbers",
            column=name, rows=rows, n_rows=count, examples=examples,
            hint="remove thousands separators, currency signs and units, write decimals with a point, and leave "
            "missing values empty (or NA); in pandas, convert with pd.to_numeric after cleaning",
        )
    return conv


def _label_missing(raw) -> np.ndarray:
    return np.asarray(pd.isna(raw))


def factorize(raw: np.ndarray) -> Labels:
    """Labels with sorted levels (a pandas Categorical keeps its categories, in their order, used or
    not); missing labels must have been removed or reported before."""
    if isinstance(raw, pd.Categorical):
        return Labels(_readonly(raw.codes.astype(np.int64)), _readonly(np.asarray(raw.categories, dtype=object)))
    codes, levels = pd.factorize(raw, sort=True)
    levels = np.asarray(levels)
    if levels.dtype.kind == "O":
        levels = levels.astype(object)
    return Labels(_readonly(codes.astype(np.int64, copy=False)), _readonly(levels))


def check_nesting(hierarchy: Sequence[str], labels: Mapping[str, Labels], row_number=None) -> None:
    """Each finer level must lie in exactly one unit of the level above (a city in one province)."""
    for coarse, fine in zip(hierarchy[:-1], hierarchy[1:]):
        c, f = labels[coarse], labels[fine]
        first = np.full(len(f.levels), -1, dtype=np.int64)
        first[f.codes[::-1]] = c.codes[::-1]  # the coarse code at each fine level's first row
        clash = c.codes != first[f.codes]
        if not clash.any():
            continue
        k = int(np.flatnonzero(clash)[0])
        name = f.levels[f.codes[k]]
        in_fine = np.flatnonzero(f.codes == f.codes[k])
        parents = pd.unique(c.levels[c.codes[in_fine]])
        rows_each = []
        for p in parents[:4]:
            pos = in_fine[c.levels[c.codes[in_fine]] == p][:1]
            rows_each.append(int((row_number[pos] if row_number is not None else pos + 1)[0]))
        n_bad_levels = len(np.unique(f.codes[clash]))
        listing = ", ".join(f"{format_value(p)} (e.g. data row {r})" for p, r in zip(parents, rows_each))
        raise NestingError(
            f"hierarchy does not nest: {fine} {format_value(name)} lies in {len(parents)} different {coarse} values (data rows count from 1 below the header): "
            f"{listing}" + (f"; {n_bad_levels - 1:,} other {fine} value(s) have the same problem" if n_bad_levels > 1 else ""),
            column=fine, rows=rows_each, n_rows=len(rows_each),
            hint=f"give each {fine} a name that is unique across {coarse} values (e.g. combine them as "
            f"'{coarse} / {fine}'), correct the misassigned rows, or pass {fine!r} as a group column instead of a hierarchy level",
        )


def check_not_empty(sample: Sample) -> None:
    """A sample with no units (a file with a header only, or every row excluded) cannot be measured."""
    if sample.n == 0:
        raise EmptyGroupError("the data have no rows" + (" left after excluding missing values" if sample.excluded else ""),
                              hint="check the file and the columns chosen")


_INCOME_DOMAINS = {"nonnegative": ("negative", lambda v: v < 0, "non-negative"),
                   "positive": ("zero or negative", lambda v: ~(v > 0), "positive")}


def check_income_domain(sample: Sample, income: str, domain: str, users: Sequence[str], *, alternative: str | None = None,
                        y: np.ndarray | None = None) -> None:
    """Refuse incomes outside ``domain`` (``"nonnegative"`` or ``"positive"``; ``"any"`` accepts all)
    with a located error: ``users`` (what needs them, e.g. ``["mld"]``) need ..., the rows and values,
    and how to fix it (``alternative``, e.g. "leave mld out", comes first). ``y``: the income array
    when the caller has it already."""
    if domain == "any":
        return
    y = sample.income(income) if y is None else y
    word, bad_fn, need = _INCOME_DOMAINS[domain]
    if y.size == 0 or not bad_fn(np.asarray(np.min(y))):
        return
    idx = np.flatnonzero(bad_fn(y))
    if domain == "positive":
        word = "zero" if np.all(y[idx] == 0) else "negative" if np.all(y[idx] < 0) else word
    raise InvalidValueError(
        f"{', '.join(users)} need{'s' if len(users) == 1 else ''} {need} incomes, but income column {income!r} has "
        f"{idx.size:,} {word} value{'s' if idx.size != 1 else ''}",
        column=income, rows=sample.data_rows(idx[:5]).tolist(), n_rows=int(idx.size), examples=list(y[idx[:3]]),
        hint=(f"{alternative}, or " if alternative else "") + "decide explicitly what these incomes mean and recode or "
        "remove the rows before measuring (e.g. bottom-code at a small positive amount)",
    )


def column_roles(incomes: Sequence[str], *, weight=None, strata=None, psu=None, fpc=None, household_size=None,
                 adults=None, children=None, scale=None, hierarchy=(), groups=(), components=(), **_ignored) -> list[tuple[str, str]]:
    """(column, role) for every column a sample uses, roles named as in error messages."""
    roles: list[tuple[str, str]] = [(c, "income") for c in incomes] + [(c, "income component") for c in components]
    for role, col in (("weight", weight), ("strata", strata), ("PSU", psu), ("fpc", fpc), ("household size", household_size),
                      ("adults", adults), ("children", children), ("equivalence scale", scale)):
        if col is not None:
            roles.append((col, role))
    roles += [(c, "hierarchy") for c in hierarchy or ()] + [(c, "group") for c in groups or ()]
    return roles


def from_frame(
    data,
    income: str | Sequence[str],
    *,
    weight: str | None = None,
    strata: str | None = None,
    psu: str | None = None,
    fpc: str | None = None,
    hierarchy: Sequence[str] = (),
    groups: Sequence[str] = (),
    components: Sequence[str] = (),
    household_size: str | None = None,
    adults: str | None = None,
    children: str | None = None,
    equivalence: str | None = None,
    scale: str | None = None,
    unit: str = "person",
    drop_missing: bool = False,
    source: str | None = None,
) -> Sample:
    """Build a validated :class:`Sample` from a pandas or polars DataFrame (or a dict of arrays).

    ``income``: one column or several (income concepts). ``components``: income by source.
    ``hierarchy``: label columns from coarse to fine that must nest (region, province, city).
    ``groups``: cross-cutting label columns (urban/rural, sex). ``equivalence``: ``per_capita``,
    ``oecd_modified`` (needs ``adults``, ``children``), ``oecd``, ``square_root`` or ``power:THETA``
    (need ``household_size``); or ``scale=`` a precomputed scale column. Incomes are divided by the
    scale. ``unit="household"``: rows are households, and weights are multiplied by
    ``household_size`` so that measures describe persons (EU-SILC convention).
    ``drop_missing``: exclude rows with a missing value in any column used, and record their
    number in ``Sample.excluded`` (otherwise missing values are an error).
    """
    available = _columns_of(data)
    incomes = [income] if isinstance(income, str) else list(income)
    if not incomes:
        raise MeasureSpecError("no income column given", hint="name the income column, e.g. income='eqIncome'")
    hierarchy, groups, components = tuple(hierarchy), tuple(groups), tuple(components)
    if unit not in UNITS:
        raise MeasureSpecError(f"unit must be 'person' or 'household', got {unit!r}",
                               hint="unit='household' when each row is a household and measures should describe persons")
    roles = column_roles(incomes, weight=weight, strata=strata, psu=psu, fpc=fpc, household_size=household_size,
                         adults=adults, children=children, scale=scale, hierarchy=hierarchy, groups=groups,
                         components=components)
    for col, role in roles:
        if col not in available:
            raise column_not_found(col, role, available)
    dup_labels = [c for c in hierarchy if c in groups]
    if dup_labels:
        raise MeasureSpecError(f"column(s) {dup_labels} given both as hierarchy and as group", hint="name each label column once")

    numeric_roles = {"income", "income component", "weight", "fpc", "household size", "adults", "children", "equivalence scale"}
    arrays: dict[str, np.ndarray] = {}
    missing: dict[str, np.ndarray] = {}
    for col, role in roles:
        key = f"{role}:{col}"
        raw = _raw_column(data, col)
        if role in numeric_roles:
            arr = numeric_column(raw, col, role)
            inf = np.isinf(arr)
            if inf.any():
                rows, count, ex = offending_rows(inf, arr)
                raise InvalidValueError(f"{role} column {col!r} has infinite values", column=col, rows=rows, n_rows=count,
                                        examples=ex, hint="replace them with real values or remove these rows")
            miss = np.isnan(arr)
        else:
            arr = raw
            miss = _label_missing(raw)
        arrays[key] = arr
        if miss.any():
            missing[key] = miss

    row_number = None
    excluded: dict[str, int] = {}
    if missing:
        if not drop_missing:
            key, miss = next(iter(missing.items()))
            role, col = key.split(":", 1)
            rows, count, _ = offending_rows(miss)
            others = [k.split(":", 1)[1] for k in list(missing)[1:]]
            raise InvalidValueError(
                f"{role} column {col!r} has {count:,} missing value{'s' if count != 1 else ''}"
                + (f" (columns {others} have missing values too)" if others else ""),
                column=col, rows=rows, n_rows=count,
                hint="fill them in, or exclude these rows on purpose with drop_missing=True (CLI: --drop-missing); "
                "the number of excluded rows is then reported",
            )
        drop = np.zeros(len(next(iter(arrays.values()))), dtype=bool)
        for key, miss in missing.items():
            role, col = key.split(":", 1)
            new = miss & ~drop
            excluded[f"missing {role} {col!r}"] = int(new.sum())
            drop |= miss
        keep = ~drop
        row_number = _readonly(np.flatnonzero(keep) + 1)
        arrays = {k: a[keep] for k, a in arrays.items()}
        excluded = {k: v for k, v in excluded.items() if v}
    n = len(next(iter(arrays.values())))

    def get(role, col):
        return None if col is None else arrays[f"{role}:{col}"]

    if weight is None:
        w = np.ones(n)
    else:
        w = get("weight", weight)
        bad = ~(w > 0)
        if bad.any():
            zero = w == 0
            which = "zero" if zero[bad].all() else "negative" if (w[bad] < 0).all() else "zero or negative"
            rows, count, ex = offending_rows(bad, w, row_number)
            raise InvalidValueError(
                f"weight column {weight!r} has {count:,} {which} weight{'s' if count != 1 else ''}; weights must be positive",
                column=weight, rows=rows, n_rows=count, examples=ex,
                hint="a weight is the number of population units a row represents: correct these rows, or remove them "
                "from the data if they represent nobody (e.g. df[df[weight] > 0])",
            )

    # equivalence scale and household rows
    size = None
    if household_size is not None:
        size = get("household size", household_size)
        bad = ~(size > 0)
        if bad.any():
            rows, count, ex = offending_rows(bad, size, row_number)
            raise InvalidValueError(
                f"household size column {household_size!r} must be positive", column=household_size,
                rows=rows, n_rows=count, examples=ex, hint="fix these rows: a household has at least one member",
            )
    eq_label = None
    divisor = None
    if scale is not None:
        if equivalence is not None:
            raise MeasureSpecError("give either an equivalence scale name or a precomputed scale column, not both",
                                   hint=f"drop equivalence={equivalence!r} or scale={scale!r}")
        divisor = check_scale(get("equivalence scale", scale), scale, row_number)
        eq_label = f"scale column {scale!r}"
    elif equivalence is not None:
        kind, _ = parse_scale(equivalence)
        divisor = equivalence_scale(equivalence, household_size=size, adults=get("adults", adults),
                                    children=get("children", children), row_number=row_number)
        eq_label = equivalence
    if unit == "household":
        if size is None:
            raise MeasureSpecError("unit='household' needs the household size to turn household weights into person weights",
                                   hint="give household_size= (CLI: --household-size)")
        w = w * size

    inc = {}
    for col in incomes:
        y = get("income", col)
        inc[col] = _readonly(y / divisor if divisor is not None else y)
    comps = {}
    for col in components:
        y = get("income component", col)
        comps[col] = _readonly(y / divisor if divisor is not None else y)

    labels = {}
    for col in hierarchy:
        labels[col] = factorize(get("hierarchy", col))
    for col in groups:
        labels[col] = factorize(get("group", col))
    if len(hierarchy) > 1:
        check_nesting(hierarchy, labels, row_number)

    fpc_arr = get("fpc", fpc)
    if fpc_arr is not None and not (fpc_arr > 0).all():
        bad = ~(fpc_arr > 0)
        rows, count, ex = offending_rows(bad, fpc_arr, row_number)
        raise InvalidValueError(f"fpc column {fpc!r} must be positive", column=fpc, rows=rows, n_rows=count, examples=ex,
                                hint="give the number of PSUs in the stratum's population (or the sampling fraction, <= 1)")

    return Sample(
        incomes=MappingProxyType(inc),
        weight=_readonly(w),
        weight_name=weight,
        labels=MappingProxyType(labels),
        hierarchy=hierarchy,
        groups=groups,
        strata=None if strata is None else _readonly(get("strata", strata)),
        strata_name=strata,
        psu=None if psu is None else _readonly(get("PSU", psu)),
        psu_name=psu,
        fpc=None if fpc_arr is None else _readonly(fpc_arr),
        fpc_name=fpc,
        components=MappingProxyType(comps),
        household_size=None if size is None else _readonly(size),
        equivalence=eq_label,
        unit=unit,
        row_number=row_number,
        excluded=MappingProxyType(excluded),
        source=source,
    )
