"""Checks that incomes lie in the domain a measure accepts, with errors that name the offending rows.

Domains (as in :mod:`prosperity.measures.registry`): ``"any"``, ``"nonnegative"`` (zeros allowed),
``"positive"``. A :class:`SortedIncome` is checked in O(1) (its smallest income comes first); raw
arrays take one pass. Rows are reported in the order the incomes were given.
"""

from __future__ import annotations

import numpy as np

from .estimate import SortedIncome, income_weight_arrays

_RULES = {
    "nonnegative": ("non-negative", lambda v: v >= 0),
    "positive": ("positive", lambda v: v > 0),
}


def require_income_domain(y, domain: str, measure: str, hint: str = "") -> None:
    """Raise ``ValueError`` unless every income in ``y`` (array or SortedIncome) is in ``domain``."""
    if domain == "any":
        return
    if domain not in _RULES:
        raise ValueError(f"unknown income domain {domain!r}")
    word, ok = _RULES[domain]
    if isinstance(y, SortedIncome):
        if y.n == 0 or ok(y.y[0]):
            if not np.isnan(y.y[-1]):
                return
        values = y.y
        rows_of = y.order
    else:
        values = np.asarray(y, dtype=np.float64)
        smallest = values.min() if values.size else 0.0
        if ok(smallest):
            return
        rows_of = None
    bad = np.flatnonzero(~ok(values))
    rows = bad if rows_of is None else np.sort(rows_of[bad])
    first = int(rows[0])
    value = float(values[bad[0]]) if rows_of is None else float(values[np.flatnonzero(rows_of == first)[0]])
    what = "missing (NaN)" if np.isnan(value) else repr(value)
    shown = ", ".join(str(int(r)) for r in rows[:5]) + (" ..." if rows.size > 5 else "")
    raise ValueError(
        f"{measure} needs {word} incomes, but {rows.size} row(s) are not (rows {shown}; row {first} is {what}). "
        f"Drop or recode those rows before computing it{hint}."
    )


def incomes_and_weights(y, w, domain: str, measure: str, hint: str = "") -> tuple[np.ndarray, np.ndarray, float, float]:
    """Incomes, weights, N = sum w and the smallest income, from a SortedIncome or from raw arrays
    (left unsorted: for measures that do not need the order), after checking the income domain."""
    if isinstance(y, SortedIncome):
        if w is not None:
            raise TypeError("pass weights inside the SortedIncome, not separately")
        s = y
        y, w, big_n, y_min = s.y, s.w, s.total, float(s.y[0])
        ok = y_min >= 0 if domain == "nonnegative" else (y_min > 0 if domain == "positive" else True)
        if not ok or np.isnan(s.y[-1]):
            require_income_domain(s, domain, measure, hint)
        return y, w, big_n, y_min
    y, w = income_weight_arrays(y, w)
    y_min = float(y.min())
    ok = y_min >= 0 if domain == "nonnegative" else (y_min > 0 if domain == "positive" else not np.isnan(y_min))
    if not ok:
        require_income_domain(y, domain, measure, hint)
    return y, w, float(w.sum()), y_min
