"""Published margins a synthetic population must reproduce, assembled from the bundled tables.

Cells are province x area (urban/rural): 62 cells for the 31 NBS provinces. For each cell: the
resident population and the mean per-capita disposable income. Area-level (urban/rural) targets:
quintile-group means (NBS groups = 20% of *households* ranked by per-capita income) and the shares
of the four income sources.
"""

from __future__ import annotations

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
