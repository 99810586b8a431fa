"""Published margins a synthetic population must reproduce, assembled from the bundled tables.

Cells are province x area (urban/rural): 62 cells for the 31 NBS provinces. For each cell: the
resident population and the mean per-capita disposable income. Area-level (urban/rural) targets:
quintile-group means (NBS groups = 20% of *households* ranked by per-capita income) and the shares
of the four income sources.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from prosperity import datasets

AREAS = ("urban", "rural")
SOURCES = ("wage", "net_business", "net_property", "net_transfer")
YEARS = range(2016, 2025)

CENSUS_FILE = Path(__file__).resolve().parent.parent / "data" / "china_census2020_household_size_age.csv"


def census_2020() -> pd.DataFrame:
    """2020 census inputs (household sizes, age bands) with each figure's ``status``: verified (read in
    the NBS communique), secondary (official figure read in press reports of the release or yearbook),
    derived (arithmetic on verified figures) or assumption (not checked against a census table)."""
    return pd.read_csv(CENSUS_FILE, dtype={"category": str})


def _census_inputs() -> tuple[dict[int, float], tuple[tuple[int, int, float], ...]]:
    census = census_2020()
    sizes = census[census["table"] == "household_size"]
    shares = {int(k): float(v) for k, v in zip(sizes["category"], sizes["share"])}
    if abs(sum(shares.values()) - 1.0) > 1e-9:
        raise ValueError(f"{CENSUS_FILE.name}: household-size shares sum to {sum(shares.values())}, not 1")
    ages = census[(census["table"] == "age") & (census["category"] != "total")]
    total = float(census.query("table == 'age' and category == 'total'")["count"].iloc[0])
    bands = []
    for label, count in zip(ages["category"], ages["count"]):
        low, high = (int(label[:-1]), MAX_AGE) if label.endswith("+") else map(int, label.split("-"))
        bands.append((low, high, float(count) / total))
    return shares, tuple(bands)


MAX_AGE = 95
# Household-size distribution of family households (share of households; 8 = 8 or more persons) and
# age bands (low, high, share of persons), read from the census file; see its status column.
HOUSEHOLD_SIZE_SHARES, AGE_BANDS = _census_inputs()
MAX_HOUSEHOLD_SIZE = 127  # household_size is stored as int8
SHARE_TOLERANCE = 1e-6


@dataclass(frozen=True)
class HouseholdSizes:
    """Shares of family households by size (persons), sizes increasing; the largest size means "that
    many or more" (and is generated as exactly that many). Hashable, so calibrations are cached per
    distribution. Build one with :func:`household_size_distribution` (validated)."""

    sizes: tuple[int, ...]
    shares: tuple[float, ...]

    @property
    def largest(self) -> int:
        return self.sizes[-1]

    @property
    def mean(self) -> float:
        """Mean household size (the largest size counted as that many persons)."""
        return sum(s * p for s, p in zip(self.sizes, self.shares)) / sum(self.shares)

    def as_dict(self) -> dict[int, float]:
        return dict(zip(self.sizes, self.shares))

    def label(self, size: int) -> str:
        return f"{size}+" if size == self.largest else str(size)


DEFAULT_HOUSEHOLD_SIZES = HouseholdSizes(tuple(HOUSEHOLD_SIZE_SHARES), tuple(HOUSEHOLD_SIZE_SHARES.values()))


def household_size_distribution(household_sizes=None) -> HouseholdSizes:
    """The household-size distribution to use: ``None`` = the bundled census 2020 shares (see the
    status column of the census file: 2..8+ are assumptions), else a mapping {size: share} or a pandas
    Series indexed by size (sizes positive integers, the largest meaning that many or more; shares of
    households, >= 0, summing to 1 within 1e-6, at least two of them positive). Raises ValueError
    naming the offending size; shares are never rescaled silently."""
    if household_sizes is None:
        return DEFAULT_HOUSEHOLD_SIZES
    if isinstance(household_sizes, HouseholdSizes):
        household_sizes = household_sizes.as_dict()
    if isinstance(household_sizes, pd.Series):
        entries = list(zip(household_sizes.index.tolist(), household_sizes.tolist()))
    elif isinstance(household_sizes, Mapping):
        entries = list(household_sizes.items())
    else:
        raise TypeError(f"household_sizes must be a mapping {{size: share}}, a pandas Series indexed by size or None "
                        f"(the bundled census 2020 shares), got {type(household_sizes).__name__}")
    return _validated_sizes(entries, "household_sizes")


def read_household_sizes(path: str | Path) -> HouseholdSizes:
    """A household-size distribution from a CSV file with a header line ``size,share`` and one row per
    size (e.g. the national row of the census yearbook's family-household-size table, divided by its
    total). Errors name the data row (counted from 1 below the header)."""
    from prosperity.io.read import read_header, read_table

    name = f"household sizes file {Path(path).name!r}"
    header = read_header(path)
    missing = [c for c in ("size", "share") if c not in header]
    if missing:
        raise ValueError(f"{name} lacks the column(s) {', '.join(map(repr, missing))} (its columns: "
                         f"{', '.join(map(str, header))}). Fix: a header line size,share and one row per household "
                         "size, e.g. 1,0.2539")
    frame = read_table(path, columns=["size", "share"])
    if frame.empty:
        raise ValueError(f"{name} has a header but no data rows. Fix: one row per household size, e.g. 1,0.2539")
    entries = list(zip(frame["size"].tolist(), frame["share"].tolist()))
    return _validated_sizes(entries, name, row=lambda i: i + 1)


def _as_size(raw) -> int | None:
    """A household size as an int, or None when ``raw`` is not a whole number."""
    if isinstance(raw, (bool, np.bool_)):
        return None
    if isinstance(raw, (int, np.integer)):
        return int(raw)
    if isinstance(raw, (float, np.floating)):
        return int(raw) if np.isfinite(raw) and float(raw).is_integer() else None
    if isinstance(raw, str) and raw.strip().isdigit():
        return int(raw.strip())
    return None


def _as_share(raw) -> float | None:
    if isinstance(raw, (bool, np.bool_)):
        return None
    try:
        return float(raw)
    except (TypeError, ValueError):
        return None


def _validated_sizes(entries, what: str, row=None) -> HouseholdSizes:
    """Check (size, share) entries; ``row(i)`` names entry i's data row in messages (files only)."""
    if not entries:
        raise ValueError(f"{what} is empty. Fix: give the share of family households of every size, e.g. "
                         "{1: 0.25, 2: 0.30, 3: 0.21, ...} (the largest size meaning that many or more), or None "
                         "for the bundled census 2020 distribution")
    at = (lambda i: "") if row is None else (lambda i: f"data row {row(i)}: ")
    note = "" if row is None else " (data rows count from 1 below the header)"
    seen: dict[int, int] = {}
    pairs = []
    for i, (raw_size, raw_share) in enumerate(entries):
        size = _as_size(raw_size)
        if size is None or size < 1:
            hint = (f"write {str(raw_size).strip()[:-1]}: the largest size already means that many or more"
                    if str(raw_size).strip().endswith("+") else
                    "sizes are numbers of persons 1, 2, 3, ... (the largest meaning that many or more)")
            raise ValueError(f"{what}: {at(i)}size {raw_size!r} is not a positive whole number of persons{note}. "
                             f"Fix: {hint}")
        if size > MAX_HOUSEHOLD_SIZE:
            raise ValueError(f"{what}: {at(i)}size {size} exceeds {MAX_HOUSEHOLD_SIZE} persons{note}. Fix: fold the "
                             "largest sizes into one 'that many or more' size (e.g. 10 for 10+)")
        if size in seen:
            where = "" if row is None else f" (data rows {row(seen[size])} and {row(i)}; data rows count from 1 below the header)"
            raise ValueError(f"{what}: size {size} is given twice{where}. Fix: give each size once")
        seen[size] = i
        share = _as_share(raw_share)
        if share is None or not np.isfinite(share) or share < 0:
            got = ("missing (NaN)" if share is not None and np.isnan(share) else
                   f"{raw_share!r}, not a number" if share is None else f"{share:g}")
            raise ValueError(f"{what}: {at(i)}the share of size {size} is {got}{note}; a share of households must be "
                             "a finite number >= 0. Fix: give every size its share between 0 and 1 (0 for a size "
                             "with no households)")
        pairs.append((size, share))
    positive = [i for i, (_, share) in enumerate(pairs) if share > 0]
    if len(positive) < 2:
        only = (f"{at(0)}only one size is given (size {pairs[0][0]})" if len(pairs) == 1 else
                f"{at(positive[0])}only size {pairs[positive[0]][0]} has a positive share" if positive else
                "every share is 0")
        raise ValueError(f"{what}: {only}{note}; the generator needs at least two household sizes with positive "
                         "shares (the size gradient of per-capita income is fitted across sizes). Fix: give the share "
                         "of every size, e.g. 1..8 with 8 meaning 8 or more")
    total = sum(share for _, share in pairs)
    if abs(total - 1.0) > SHARE_TOLERANCE:
        if 99 < total < 101:
            hint = "they look like percentages: divide each by 100"
        elif total > 1.5:
            hint = f"if they are numbers of households, divide each by their total ({total:,.10g})"
        else:
            hint = "correct them, or divide each by their sum if they are rounded published shares"
        raise ValueError(f"{what}: the shares of sizes {min(seen)}..{max(seen)} sum to {total:.10g}, not 1 "
                         f"(tolerance {SHARE_TOLERANCE:g}); they are not rescaled silently. Fix: {hint}")
    pairs.sort()
    return HouseholdSizes(tuple(s for s, _ in pairs), tuple(p for _, p in pairs))


@dataclass(frozen=True)
class Targets:
    """Margins for one year. ``cells``: adcode, province_en, region, area, population (persons),
    mean_income_pc_yuan. ``quintile_means``: area x quintile group mean (yuan, households in 5 equal
    groups). ``area_means``: published area means. ``source_shares``: area x source share of income."""

    year: int
    cells: pd.DataFrame
    quintile_means: pd.DataFrame
    area_means: pd.Series
    source_shares: pd.DataFrame
    urban_rural_ratio: float
    notes: tuple[str, ...] = field(default=())


def _population(year: int) -> pd.DataFrame:
    """Urban and rural resident population by province (persons), adcode-indexed."""
    if year not in YEARS:
        raise ValueError(f"year must be in 2016..2024 (provincial income tables), got {year}")
    latest = datasets.provincial_population_2024().set_index("adcode")[["pop_urban_10k", "pop_rural_10k"]]
    if year == 2024:
        pop = latest
    else:
        panel = datasets.provincial_gpi_panel_1985_2018()
        if year <= 2018:
            pop = panel.query("year == @year").set_index("adcode")[["pop_urban_10k", "pop_rural_10k"]]
        else:  # 2019-2023: linear interpolation between the 2018 panel and the 2024 NBS figures
            base = panel.query("year == 2018").set_index("adcode")[["pop_urban_10k", "pop_rural_10k"]]
            t = (year - 2018) / 6
            pop = (1 - t) * base.loc[latest.index] + t * latest
    return pop * 1e4


def build_targets(year: int = 2024, *, population: pd.DataFrame | None = None) -> Targets:
    """Assemble the margins for ``year`` (2016-2024).

    Provincial urban/rural means are not published in the bundled tables. Assumption: within every
    province the urban/rural mean ratio is one common value, chosen so that the national urban and
    rural means implied by the cells have the published urban/rural ratio; each province's urban and
    rural means then average (population-weighted) exactly to its published mean.

    ``population``: optional frame with adcode, pop_urban (persons), pop_rural (persons) replacing the
    default (2024 NBS; 2016-2018 the provincial panel; 2019-2023 interpolated).
    """
    income = datasets.provincial_income_consumption_2016_2024().query("year == @year").set_index("adcode")
    if population is None:
        pop = _population(year)
        pop.columns = ["pop_urban", "pop_rural"]
    else:
        missing = {"adcode", "pop_urban", "pop_rural"} - set(population.columns)
        if missing:
            raise ValueError(f"population frame lacks column(s) {sorted(missing)}; need adcode, pop_urban, pop_rural (persons)")
        pop = population.assign(adcode=datasets.province_adcode(population["adcode"])).set_index("adcode")[["pop_urban", "pop_rural"]]
    if set(pop.index) != set(income.index):
        raise ValueError(f"population must cover the 31 provinces; missing {sorted(set(income.index) - set(pop.index))}")
    pop = pop.loc[income.index]

    survey = datasets.nbs_household_survey(wide=True).set_index(["area", "year"])
    area_means = pd.Series({a: survey.loc[(a, year), "disp_income_pc_yuan"] for a in AREAS})
    published_ratio = area_means["urban"] / area_means["rural"]

    mean = income["disp_income_pc_yuan"].to_numpy(float)
    urban_share = (pop["pop_urban"] / pop.sum(axis=1)).to_numpy()
    pu, pr = pop["pop_urban"].to_numpy(), pop["pop_rural"].to_numpy()

    def implied_ratio(ratio: float) -> float:
        rural = mean / (urban_share * ratio + 1 - urban_share)
        return (np.sum(pu * ratio * rural) / pu.sum()) / (np.sum(pr * rural) / pr.sum()) - published_ratio

    ratio = brentq(implied_ratio, 1.0, 10.0, xtol=1e-12)
    rural_mean = mean / (urban_share * ratio + 1 - urban_share)
    names = datasets.provinces().set_index("adcode")
    rows = []
    for area, pop_col, cell_mean in (("urban", pu, ratio * rural_mean), ("rural", pr, rural_mean)):
        rows.append(pd.DataFrame({
            "adcode": income.index.to_numpy(np.int64), "province_en": names.loc[income.index, "province_en"].to_numpy(),
            "region": names.loc[income.index, "region"].to_numpy(), "area": area,
            "population": pop_col.astype(float), "mean_income_pc_yuan": cell_mean,
        }))
    cells = pd.concat(rows, ignore_index=True)

    quintiles = datasets.nbs_income_quintiles().query("year == @year and area in @AREAS")
    quintile_means = quintiles.pivot(index="area", columns="quintile", values="disp_income_pc_yuan").loc[list(AREAS)]
    shares = pd.DataFrame(
        {s: [survey.loc[(a, year), f"{s}_income_pc_yuan"] for a in AREAS] for s in SOURCES}, index=list(AREAS)
    )
    shares = shares.div(shares.sum(axis=1), axis=0)
    notes = (
        f"urban/rural mean ratio {ratio:.4f} common to all provinces (published national ratio {published_ratio:.4f})",
        "population: " + ("user-supplied" if population is not None else
                          "NBS 2024" if year == 2024 else "provincial panel" if year <= 2018 else
                          "interpolated between the 2018 panel and NBS 2024"),
    )
    return Targets(year, cells, quintile_means, area_means, shares, float(ratio), notes)
