"""A survey design from per-row strata / PSU / fpc values, checked, with the package's messages.

Used wherever design values arrive as arrays or columns next to the incomes (the nested decomposition,
growth incidence); :func:`prosperity.measure` builds its design through its sample layer, with the same
messages (:mod:`prosperity.io.errors`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..io.errors import (DesignError, InvalidValueError, MeasureSpecError, format_value, fpc_not_constant,
                         offending_rows, single_psu_strata)
from ..io.sample import numeric_column
from .design import LONELY_PSU_RULES, Design

_ROLES = {"strata": "strata", "psu": "PSU", "fpc": "fpc"}


def check_lonely_rule(lonely_psu: str) -> None:
    if lonely_psu not in LONELY_PSU_RULES:
        raise MeasureSpecError(f"unknown lonely_psu rule {lonely_psu!r}", hint=f"use one of {', '.join(LONELY_PSU_RULES)}")


def given_design(design, n: int, what: str = "the data have") -> Design:
    """A ready-made :class:`Design` for ``n`` units: the right type and size, lonely PSUs refused
    under its ``"fail"`` rule. ``what`` completes "the design describes N units but ... M rows"."""
    if not isinstance(design, Design):
        raise MeasureSpecError(f"design must be a prosperity.variance.Design, got {type(design).__name__}",
                               hint="build it with Design.build(n, strata=..., psu=..., fpc=...), or pass strata / psu / fpc values")
    if design.n != n:
        raise MeasureSpecError(f"the design describes {design.n:,} units but {what} {n:,} rows",
                               hint="build the Design from the same rows, in the same order")
    refuse_lonely_psus(design, None)
    return design


def refuse_lonely_psus(design: Design, strata_name: str | None, what: str = "PSU") -> None:
    """Strata with a single PSU have no variance: an error under the ``"fail"`` rule."""
    single = design.n_h == 1
    if single.any() and design.lonely_psu == "fail":
        labels = [format_value(x) for x in np.asarray(design.stratum_labels).astype(object)[single][:5]]  # str, not np.str_
        raise single_psu_strata(labels, int(single.sum()), strata_name, what)


def design_from_columns(n: int, *, strata=None, psu=None, fpc=None, lonely_psu: str = "fail",
                        names: dict | None = None) -> Design | None:
    """The :class:`Design` of ``n`` rows from strata / PSU / fpc values (one per row; None when none is
    given), checked as :func:`prosperity.measure` checks its design columns. ``names``: what to call
    each column in messages (``{"strata": "db040", ...}``; default the Series' name or the role)."""
    check_lonely_rule(lonely_psu)
    given = {k: v for k, v in dict(strata=strata, psu=psu, fpc=fpc).items() if v is not None}
    if not given:
        return None
    names = dict(names or {})
    arrays = {key: _design_column(values, key, names, n) for key, values in given.items()}
    if "fpc" in arrays:
        f = arrays["fpc"]
        s_codes = pd.factorize(arrays["strata"])[0] if "strata" in arrays else np.zeros(n, dtype=np.int64)
        first = np.empty(int(s_codes.max()) + 1)
        first[s_codes[::-1]] = f[::-1]
        bad = first[s_codes] != f
        if bad.any():
            raise fpc_not_constant(names["fpc"], *offending_rows(bad, f))
    try:
        built = Design.build(n, lonely_psu=lonely_psu, **arrays)
    except ValueError as exc:
        raise DesignError(f"invalid survey design: {exc}", column=names.get("fpc"),
                          hint="check the fpc column: population PSUs per stratum (>= sampled PSUs) or fractions <= 1") from None
    refuse_lonely_psus(built, names.get("strata"), "PSU" if "psu" in arrays else "unit")
    return built


def _design_column(values, key: str, names: dict, n: int) -> np.ndarray:
    """One design column as an array, checked: one value per row, none missing (fpc: numbers)."""
    role = _ROLES[key]
    name = names.get(key)
    if not name:
        attr = getattr(values, "name", None)
        name = names[key] = str(attr) if isinstance(attr, str) and attr else key
    arr = values.to_numpy() if hasattr(values, "to_numpy") else np.asarray(values)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise MeasureSpecError(f"{role} column {name!r} has shape {arr.shape}; expected one value per row ({n:,} rows)",
                               column=name, hint="give one value per observation, in the order of the incomes")
    if key == "fpc":
        arr = numeric_column(arr, name, "fpc")
        inf = np.isinf(arr)
        if inf.any():
            rows, count, ex = offending_rows(inf, arr)
            raise InvalidValueError(f"fpc column {name!r} has infinite values", column=name, rows=rows, n_rows=count,
                                    examples=ex, hint="replace them with real values or remove these rows")
    miss = np.asarray(pd.isna(arr))
    if miss.any():
        rows, count, _ = offending_rows(miss)
        raise InvalidValueError(
            f"{role} column {name!r} has {count:,} missing value{'s' if count != 1 else ''}", column=name, rows=rows,
            n_rows=count,
            hint="fill them in, or remove these rows first: every row needs its stratum and PSU for "
            "design-based standard errors",
        )
    return arr
