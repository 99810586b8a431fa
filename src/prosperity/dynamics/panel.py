"""A balanced region x time panel keyed by region id: the input of every dynamics routine.

Regions are rows and periods are columns (the layout of PySAL ``giddy``). Values are looked up by
(region, time) keys, never by position, so two panels (or a panel and a spatial-weights object) are
aligned by id. Bad input (duplicate keys, gaps, non-numeric or non-finite values) raises an error that
names the offending region, period and column.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


def _plain(v):
    """numpy scalars -> Python scalars (for readable messages and hashable ids)."""
    return v.item() if isinstance(v, np.generic) else v


def _to_pandas(data) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    to_pandas = getattr(data, "to_pandas", None)  # polars, pyarrow
    if callable(to_pandas):
        return to_pandas()
    raise TypeError(f"expected a pandas or polars DataFrame, got {type(data).__name__}")


@dataclass(frozen=True)
class RegionPanel:
    """Values of ``n`` regions over ``T`` periods, rows = regions, columns = periods.

    ``weights`` (optional, same shape) are region sizes such as population, used by weighted
    measures (population-weighted CV, weighted Gini, weighted densities).
    """

    regions: tuple
    times: np.ndarray
    values: np.ndarray
    weights: np.ndarray | None = None
    name: str = "value"
    notes: tuple = field(default=())

    def __post_init__(self):
        values = np.asarray(self.values, dtype=np.float64)
        if values.ndim != 2 or values.shape != (len(self.regions), len(self.times)):
            raise ValueError(
                f"values must have shape (regions, times) = ({len(self.regions)}, {len(self.times)}), "
                f"got {values.shape}"
            )
        if len(set(self.regions)) != len(self.regions):
            dup = pd.Series(self.regions)[pd.Series(self.regions).duplicated()].tolist()
            raise ValueError(f"region ids must be unique; duplicated: {dup[:5]}")
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "times", np.asarray(self.times))
        if self.weights is not None:
            wts = np.asarray(self.weights, dtype=np.float64)
            if wts.shape != values.shape:
                raise ValueError(f"weights must have the shape of values {values.shape}, got {wts.shape}")
            bad = np.argwhere(~np.isfinite(wts) | (wts < 0))
            if bad.size:
                i, t = bad[0]
                raise ValueError(
                    f"weights must be finite and >= 0; region {self.regions[i]!r}, time {self.times[t]!r} "
                    f"has {wts[i, t]!r}"
                )
            object.__setattr__(self, "weights", wts)

    # ----------------------------------------------------------------- construction
    @classmethod
    def from_long(
        cls, data, *, region: str, time: str, value: str, weight: str | None = None, incomplete: str = "error"
    ) -> "RegionPanel":
        """Build from a long frame with one row per (region, time).

        Every region must be observed (with a finite value) in every period. ``incomplete="error"``
        (default) raises an error listing the gaps; ``"drop"`` drops the regions with gaps and records
        which ones in ``notes`` (never silently). Non-numeric entries always raise.
        """
        if incomplete not in ("error", "drop"):
            raise ValueError(f"incomplete must be 'error' or 'drop', got {incomplete!r}")
        df = _to_pandas(data)
        cols = [region, time, value] + ([weight] if weight else [])
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise KeyError(f"column(s) {missing} not found; available columns: {list(df.columns)}")
        df = df[cols].copy()
        dup = df.duplicated([region, time], keep=False)
        if dup.any():
            rows = (np.flatnonzero(dup.to_numpy())[:5] + 1).tolist()
            first = [_plain(v) for v in df.loc[dup, [region, time]].iloc[0].tolist()]
            raise ValueError(
                f"(region, time) must be unique: {first} appears more than once (data rows "
                f"{', '.join(map(str, rows))}; data rows count from 1 below the header); "
                "aggregate or drop duplicates first"
            )
        for col in [value] + ([weight] if weight else []):
            num = pd.to_numeric(df[col], errors="coerce")
            bad = num.isna() & df[col].notna()
            if bad.any():
                r = df.loc[bad].iloc[0]
                raise ValueError(
                    f"column {col!r} must be numeric; data row {int(np.flatnonzero(bad.to_numpy())[0]) + 1} "
                    f"(region {_plain(r[region])!r}, time {_plain(r[time])!r}) has {r[col]!r} ({int(bad.sum())} such "
                    "rows; data rows count from 1 below the header). Fix: remove thousands separators, units and "
                    "text such as 'n/a' (leave missing cells empty)"
                )
            num = num.astype(float)
            df[col] = num.where(np.isfinite(num))
        regions = tuple(_plain(r) for r in pd.unique(df[region]))
        times = np.sort(pd.unique(df[time]))
        df[region] = df[region].map(_plain)
        wide = df.pivot(index=region, columns=time, values=value).reindex(index=list(regions), columns=times)
        wts = None
        if weight:
            wts = df.pivot(index=region, columns=time, values=weight).reindex(index=list(regions), columns=times)
        gap = wide.isna().to_numpy() | (wts.isna().to_numpy() if weight else False)
        notes = ()
        if gap.any():
            by_region = {regions[i]: [_plain(times[t]) for t in np.flatnonzero(gap[i])] for i in np.flatnonzero(gap.any(axis=1))}
            described = "; ".join(
                f"{r!r}: {len(ts)} periods ({ts[0]}..{ts[-1]})" for r, ts in list(by_region.items())[:6]
            )
            if incomplete == "error":
                raise ValueError(
                    f"the panel is unbalanced: {int(gap.sum())} (region, time) cells are missing or not finite "
                    f"in {value!r}{' or ' + repr(weight) if weight else ''}: {described}; restrict the frame to regions "
                    "and periods observed throughout, or pass incomplete='drop' to drop these regions"
                )
            keep = ~gap.any(axis=1)
            regions = tuple(r for r, k in zip(regions, keep) if k)
            wide = wide.loc[list(regions)]
            if weight:
                wts = wts.loc[list(regions)]
            notes = (f"dropped {len(by_region)} region(s) with missing values: {described}",)
            if not regions:
                raise ValueError(f"every region has missing values ({described}); nothing is left")
        return cls(
            regions, times, wide.to_numpy(dtype=float), None if wts is None else wts.to_numpy(dtype=float),
            name=value, notes=notes,
        )

    @classmethod
    def from_wide(cls, data, *, region: str, times=None, weights=None, name: str = "value") -> "RegionPanel":
        """Build from a wide frame: one row per region, one column per period (like ``usjoin.csv``)."""
        df = _to_pandas(data)
        if region not in df.columns:
            raise KeyError(f"region column {region!r} not found; available columns: {list(df.columns)}")
        if times is None:
            times = [c for c in df.columns if c != region and pd.api.types.is_numeric_dtype(df[c])]
        long = df.melt(id_vars=[region], value_vars=list(times), var_name="__time", value_name="__value")
        try:
            long["__time"] = long["__time"].astype(int)
        except (TypeError, ValueError):
            pass
        panel = cls.from_long(long, region=region, time="__time", value="__value")
        return cls(panel.regions, panel.times, panel.values, weights, name=name, notes=panel.notes)

    # ----------------------------------------------------------------- views
    @property
    def n_regions(self) -> int:
        return len(self.regions)

    @property
    def n_times(self) -> int:
        return len(self.times)

    def require_positive(self, what: str) -> None:
        bad = np.argwhere(self.values <= 0)
        if bad.size:
            i, t = bad[0]
            raise ValueError(
                f"{what} needs strictly positive values (it takes logs); region {self.regions[i]!r}, "
                f"time {self.times[t]!r} has {self.values[i, t]!r}"
            )

    def relative(self, weighted: bool = False) -> "RegionPanel":
        """Values divided by each period's cross-region mean (population-weighted if ``weighted``)."""
        if weighted:
            if self.weights is None:
                raise ValueError("weighted=True needs a panel with weights (e.g. population)")
            mean = (self.values * self.weights).sum(axis=0) / self.weights.sum(axis=0)
        else:
            mean = self.values.mean(axis=0)
        return RegionPanel(self.regions, self.times, self.values / mean, self.weights, f"relative {self.name}", self.notes)

    def select(self, times=None, regions=None) -> "RegionPanel":
        """Sub-panel for the given periods and/or regions (looked up by key; unknown keys raise)."""
        ti = np.arange(self.n_times) if times is None else np.array([self._time_index(t) for t in times])
        ri = np.arange(self.n_regions) if regions is None else np.array([self.region_index(r) for r in regions])
        w = None if self.weights is None else self.weights[np.ix_(ri, ti)]
        return RegionPanel(tuple(self.regions[i] for i in ri), self.times[ti], self.values[np.ix_(ri, ti)], w, self.name, self.notes)

    def region_index(self, region) -> int:
        try:
            return self.regions.index(region)
        except ValueError:
            raise KeyError(f"region {region!r} is not in the panel (regions: {list(self.regions)[:8]}...)") from None

    def _time_index(self, t) -> int:
        hits = np.flatnonzero(self.times == t)
        if not hits.size:
            raise KeyError(f"time {t!r} is not in the panel (times {self.times[0]}..{self.times[-1]})")
        return int(hits[0])

    def to_frame(self) -> pd.DataFrame:
        """Long tidy frame: region, time, value (and weight)."""
        out = pd.DataFrame(
            {
                "region": np.repeat(np.array(self.regions, dtype=object), self.n_times),
                "time": np.tile(self.times, self.n_regions),
                self.name: self.values.ravel(),
            }
        )
        if self.weights is not None:
            out["weight"] = self.weights.ravel()
        return out

    def __repr__(self) -> str:
        w = ", weighted" if self.weights is not None else ""
        notes = "".join(f"\n  note: {n}" for n in self.notes)
        return (
            f"RegionPanel({self.name!r}: {self.n_regions} regions x {self.n_times} periods "
            f"{_plain(self.times[0])}..{_plain(self.times[-1])}{w}){notes}"
        )


def as_panel(
    data, *, region=None, time=None, value=None, weight=None, regions=None, times=None, incomplete: str = "error"
) -> RegionPanel:
    """Accept a :class:`RegionPanel`, a long frame (with column names) or a 2-D array (rows = regions)."""
    if isinstance(data, RegionPanel):
        return data
    if isinstance(data, np.ndarray) or isinstance(data, (list, tuple)):
        arr = np.asarray(data, dtype=np.float64)
        if arr.ndim != 2:
            raise ValueError(f"a panel array must be 2-D (regions x times), got shape {arr.shape}")
        regs = tuple(range(arr.shape[0])) if regions is None else tuple(regions)
        tms = np.arange(arr.shape[1]) if times is None else np.asarray(times)
        return RegionPanel(regs, tms, arr)
    if region is None or time is None or value is None:
        raise ValueError("for a data frame, name the region=, time= and value= columns")
    return RegionPanel.from_long(data, region=region, time=time, value=value, weight=weight, incomplete=incomplete)
