"""Extreme values: incomes and weights near the limits of floating point, held exactly as y 2^-k and
w 2^-m (a power of two changes no digit), and the check that no inf / NaN reaches a result without a
reason.
"""

from __future__ import annotations

import math

import numpy as np

from ..io.errors import InvalidValueError, ProsperityInputError, format_value, offending_rows
from ..io.sample import Sample
from ..measures.estimate import SortedIncome
from .plan import _group_text, _Requested

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
        from ..measures.catalog import INCOME_SCALING, WEIGHT_SCALE_DEPENDENT

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

        from ..measures.catalog import INCOME_PARAMS

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
        from ..measures.catalog import INCOME_SCALING

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

