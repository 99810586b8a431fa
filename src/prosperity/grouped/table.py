"""Grouped (tabulated) income data as statistics offices publish it, validated once.

A :class:`GroupedTable` holds one row per group, lowest first:

- ``population_share``  share of the *population unit the table is about* in each group (sums to 1);
- ``mean``              mean income of each group (optional if ``income_share`` is given);
- ``income_share``      share of total income held by each group (optional if ``mean`` is given);
- ``threshold``         lower income bound of each group (optional; the first may be 0);
- ``overall_mean``      the published overall mean (optional; else implied by the group means).

Household- versus person-based groups: a quintile table built from 20 % *households* (China NBS)
does not have 20 % of *persons* in each group. Pass the person shares if you know them, or use
:func:`prosperity.grouped.households.calibrate_person_shares` to estimate them from the published
per-person mean (and median). The table itself records what it was told in ``unit``.

Every check raises :class:`GroupedDataError` naming the row (1-based, lowest group first) and the
column, and saying how to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

SHARE_TOLERANCE = 1e-3  # |sum of shares - 1| allowed before we refuse the table


class GroupedDataError(ValueError):
    """A grouped table that cannot describe an income distribution; the message says where."""


def _as_float_array(values, column: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raw = np.asarray(values, dtype=object).ravel()
        conv = pd.to_numeric(pd.Series(raw), errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        found = np.flatnonzero(np.isnan(conv) & ~pd.isna(raw))
        k = int(found[0]) if found.size else 0
        raise GroupedDataError(
            f"column {column!r} must be numeric: data row {k + 1} holds {str(raw[k])!r} (data rows count from 1 below the "
            "header); remove thousands separators, units and text, and write decimals with a point") from None
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise GroupedDataError(
            f"column {column!r}: data row {bad[0] + 1} is missing or not a finite number ({float(arr[bad[0]])!r}); "
            "fill it in or drop the group and renormalise the shares"
        )
    return arr


def _check_shares(arr: np.ndarray, column: str, *, allow_zero: bool = False) -> None:
    low = np.flatnonzero(arr < 0 if allow_zero else arr <= 0)
    if low.size:
        raise GroupedDataError(
            f"column {column!r}: data row {low[0] + 1} is {arr[low[0]]:g}; every group needs a positive share"
        )
    total = float(arr.sum())
    if abs(total - 1.0) > SHARE_TOLERANCE:
        hint = " (they look like percentages: divide by 100)" if abs(total - 100.0) < 100 * SHARE_TOLERANCE else ""
        raise GroupedDataError(
            f"column {column!r} sums to {total:.6g}, not 1{hint}; shares must add up to 1 over all rows"
        )


@dataclass(frozen=True)
class GroupedTable:
    """Validated grouped data; build it with :meth:`from_arrays`, :meth:`from_frame` or :func:`read_grouped_csv`."""

    population_share: np.ndarray
    mean: np.ndarray | None  # group means, or None when only income shares are known
    income_share: np.ndarray | None
    threshold: np.ndarray | None
    overall_mean: float | None  # published or implied overall mean (None: shares only, no level)
    unit: str = "person"  # what population_share counts: "person" or "household"
    notes: tuple[str, ...] = field(default_factory=tuple)

    # ----------------------------------------------------------------- construction
    @classmethod
    def from_arrays(
        cls,
        population_share,
        *,
        mean=None,
        income_share=None,
        threshold=None,
        overall_mean: float | None = None,
        unit: str = "person",
    ) -> "GroupedTable":
        """Validate the published columns and derive the missing ones (shares <-> means)."""
        if unit not in ("person", "household"):
            raise GroupedDataError(f"unit must be 'person' or 'household', got {unit!r}")
        ps = _as_float_array(population_share, "population_share")
        n = ps.size
        if n < 2:
            raise GroupedDataError(f"a grouped table needs at least 2 groups (rows), got {n}")
        _check_shares(ps, "population_share")
        ps = ps / ps.sum()
        notes: list[str] = []

        def same_length(arr, column):
            if arr.size != n:
                raise GroupedDataError(f"column {column!r} has {arr.size} rows but population_share has {n}")
            return arr

        m = None if mean is None else same_length(_as_float_array(mean, "mean"), "mean")
        s = None if income_share is None else same_length(_as_float_array(income_share, "income_share"), "income_share")
        t = None if threshold is None else same_length(_as_float_array(threshold, "threshold"), "threshold")
        if m is None and s is None and t is None:
            raise GroupedDataError("give at least one of the columns 'mean', 'income_share' or 'threshold'")
        if overall_mean is not None:
            overall_mean = float(overall_mean)
            if not np.isfinite(overall_mean) or overall_mean <= 0:
                raise GroupedDataError(f"the overall mean must be a positive number, got {overall_mean!r}")

        if m is not None:
            bad = np.flatnonzero(m <= 0)
            if bad.size:
                raise GroupedDataError(
                    f"column 'mean': data row {bad[0] + 1} is {m[bad[0]]:g}; group means must be positive "
                    "(grouped-data methods model positive incomes)"
                )
            dec = np.flatnonzero(np.diff(m) <= 0)
            if dec.size:
                k = dec[0]
                raise GroupedDataError(
                    f"column 'mean': data row {k + 2} ({m[k + 1]:g}) is not above data row {k + 1} ({m[k]:g}); "
                    "groups must be sorted from the poorest to the richest, with increasing means"
                )
        if s is not None:
            _check_shares(s, "income_share")
            s = s / s.sum()
            rel = s / ps  # group mean relative to the overall mean
            dec = np.flatnonzero(np.diff(rel) <= 0)
            if dec.size:
                k = dec[0]
                raise GroupedDataError(
                    f"column 'income_share': data row {k + 2} holds {rel[k + 1]:.4g} times its population share, "
                    f"not more than data row {k + 1} ({rel[k]:.4g}); income per head must increase from group to "
                    "group (rows lowest first), so the Lorenz curve is convex"
                )
        if t is not None:
            if t[0] < 0:
                raise GroupedDataError(f"column 'threshold': row 1 is {t[0]:g}; thresholds must be >= 0")
            dec = np.flatnonzero(np.diff(t) <= 0)
            if dec.size:
                k = dec[0]
                raise GroupedDataError(
                    f"column 'threshold': data row {k + 2} ({t[k + 1]:g}) is not above data row {k + 1} ({t[k]:g}); "
                    "thresholds are the lower bounds of the groups and must increase"
                )

        # derive the missing pieces
        if m is not None:
            implied = float(np.dot(ps, m))
            if s is not None:
                s_from_m = ps * m / implied
                k = int(np.argmax(np.abs(s_from_m - s)))
                if abs(s_from_m[k] - s[k]) > 5e-3:
                    raise GroupedDataError(
                        f"columns 'mean' and 'income_share' disagree at data row {k + 1}: the means imply an income "
                        f"share of {s_from_m[k]:.4f}, the table says {s[k]:.4f}; give only one of them"
                    )
            s = ps * m / implied
            if overall_mean is None:
                overall_mean = implied
            elif abs(overall_mean / implied - 1) > 5e-3:
                notes.append(
                    f"the overall mean {overall_mean:.6g} differs from the population-share-weighted mean of the "
                    f"groups {implied:.6g} by {100 * (overall_mean / implied - 1):+.2f} %: are the shares household "
                    "shares rather than person shares? (see grouped.households.calibrate_person_shares)"
                )
        elif s is not None and overall_mean is not None:
            m = s * overall_mean / ps
        if t is not None and m is not None:
            # each group mean must lie inside its bracket
            upper = np.append(t[1:], np.inf)
            bad = np.flatnonzero((m < t) | (m > upper))
            if bad.size:
                k = bad[0]
                raise GroupedDataError(
                    f"data row {k + 1}: the group mean {m[k]:g} lies outside its bracket [{t[k]:g}, {upper[k]:g}) "
                    "given by column 'threshold'; thresholds are lower bounds of each group"
                )
        return cls(ps, m, s, t, overall_mean, unit, tuple(notes))

    @classmethod
    def from_frame(cls, frame, *, overall_mean: float | None = None, unit: str = "person") -> "GroupedTable":
        """Read a pandas or polars frame with the columns ``population_share`` and ``mean`` /
        ``income_share`` / ``threshold`` (one row per group, lowest first).

        Cumulative columns ``cum_population_share`` / ``cum_income_share`` (PIP type 1) are accepted too.
        """
        if not isinstance(frame, pd.DataFrame):
            try:
                frame = frame.to_pandas()
            except AttributeError:
                frame = pd.DataFrame(frame)
        cols = {c.strip().lower(): c for c in frame.columns}
        known = {"population_share", "mean", "income_share", "threshold", "cum_population_share", "cum_income_share"}
        unknown = sorted(set(cols) - known - {"group", "label", "name"})
        if unknown:
            raise GroupedDataError(
                f"unknown column(s) {unknown}; expected population_share plus mean and/or income_share "
                "(and threshold where known)"
            )

        def col(name):
            return frame[cols[name]].to_numpy() if name in cols else None

        ps = col("population_share")
        if ps is None and "cum_population_share" in cols:
            ps = np.diff(np.concatenate([[0.0], _as_float_array(col("cum_population_share"), "cum_population_share")]))
        if ps is None:
            raise GroupedDataError("the table needs a 'population_share' column (share of the population in each group)")
        share = col("income_share")
        if share is None and "cum_income_share" in cols:
            share = np.diff(np.concatenate([[0.0], _as_float_array(col("cum_income_share"), "cum_income_share")]))
        return cls.from_arrays(ps, mean=col("mean"), income_share=share, threshold=col("threshold"),
                               overall_mean=overall_mean, unit=unit)

    # ----------------------------------------------------------------- derived views
    @property
    def n_groups(self) -> int:
        return int(self.population_share.size)

    @property
    def cum_population(self) -> np.ndarray:
        """Cumulative population shares P_k at the upper end of each group (last = 1)."""
        c = np.cumsum(self.population_share)
        c[-1] = 1.0
        return c

    @property
    def cum_income(self) -> np.ndarray:
        """Cumulative income shares L_k (the empirical Lorenz points; last = 1)."""
        if self.income_share is None:
            raise GroupedDataError("this table has no income information (only thresholds): give 'mean' or 'income_share'")
        c = np.cumsum(self.income_share)
        c[-1] = 1.0
        return c

    @property
    def has_shares(self) -> bool:
        return self.income_share is not None

    def require_mean(self, method: str) -> float:
        if self.overall_mean is None:
            raise GroupedDataError(
                f"method {method!r} needs the income level: give group means, or the overall mean (--mean)"
            )
        return float(self.overall_mean)

    def with_population_share(self, population_share, unit: str = "person") -> "GroupedTable":
        """The same groups (means, thresholds) with different population shares, e.g. person shares."""
        return GroupedTable.from_arrays(
            population_share, mean=self.mean, threshold=self.threshold,
            income_share=None if self.mean is not None else self.income_share,
            overall_mean=None if self.mean is not None else self.overall_mean, unit=unit,
        )

    def to_frame(self) -> pd.DataFrame:
        out = {"population_share": self.population_share, "cum_population_share": self.cum_population}
        if self.mean is not None:
            out["mean"] = self.mean
        if self.income_share is not None:
            out["income_share"] = self.income_share
            out["cum_income_share"] = self.cum_income
        if self.threshold is not None:
            out["threshold"] = self.threshold
        return pd.DataFrame(out, index=pd.RangeIndex(1, self.n_groups + 1, name="group"))

    def __repr__(self) -> str:
        cols = [c for c, v in (("mean", self.mean), ("income_share", self.income_share), ("threshold", self.threshold)) if v is not None]
        mean = "unknown" if self.overall_mean is None else f"{self.overall_mean:.6g}"
        return f"GroupedTable({self.n_groups} groups of {self.unit}s; columns population_share, {', '.join(cols)}; mean {mean})"


def read_grouped_csv(path, *, overall_mean: float | None = None, unit: str = "person") -> GroupedTable:
    """Read a table with one row per group, lowest first (see :class:`GroupedTable`): CSV, or any
    format :func:`prosperity.io.read.read_table` reads, with its located messages (missing file with a
    did-you-mean, empty file, unreadable content)."""
    from ..io.read import read_table

    frame = read_table(Path(path))
    if frame.empty:
        raise GroupedDataError(f"{Path(path).name!r} has a header but no data rows; "
                               "give one row per group, lowest first")
    return GroupedTable.from_frame(frame, overall_mean=overall_mean, unit=unit)
