"""The simulated population: persons in households in provinces, as arrays, and the net-to-gross
baseline that makes the rules reproduce observed disposable income.

Input: a person-level frame (one row per person) with household_id, age, province_en, area
(urban/rural), weight (persons represented by the row; equal within a household), and household
per-capita income components in yuan a year: wage_income_pc_yuan, net_business_income_pc_yuan,
net_property_income_pc_yuan, net_transfer_income_pc_yuan (they add up to disp_income_pc_yuan). This is
what :func:`prosperity.synth.synthesize_population` gives; other microdata are renamed with
``columns={"their name": "our name"}``.

Net-to-gross assumptions (each written in docs/simulate.md):

1. NBS convention: wage income is recorded *before* IIT and employee social-insurance contributions,
   which sit in transfer payments (转移性支出), so net transfer income = transfers received - taxes and
   contributions paid - other payments. The observed wage is therefore the gross wage
   (``wages="gross"``, default). For microdata with net wages, ``wages="net"`` inverts the baseline
   tax and contribution rules earner by earner (bisection, 1e-3 yuan).
2. Earners: household members aged 18-59 share the household's wage income equally; a household with
   wage income but no member aged 18-59 gives it to its members aged 18+. The first earner is the
   primary earner and claims the household's special additional deductions (one parent may claim 100 %).
3. Employee pensioners: members aged 60+ of a household whose net transfer income per member aged 60+
   is at least ``resident_pension.employee_pension_threshold`` (18,000 yuan); the other members aged
   60+ draw the residents' basic pension.
4. Social-insurance coverage: urban earners whose wage is at least the base floor contribute (a
   random share ``social_insurance.coverage_urban`` of them, default all); rural earners are informal.
   The status is fixed at the baseline and kept in reforms and in marginal-rate calculations.
5. Other transfers (the residual): observed net transfer income - simulated (residents' pension +
   childcare subsidy - IIT - employee contributions - housing fund) in the baseline; held fixed. The
   baseline then gives back observed disposable income exactly, plus the baseline dibao (6).
6. Dibao: observed income is taken as income before dibao (a synthetic population cannot tell who
   already receives it); eligible households (means-test income per capita below the standard) take it
   up with a fixed random draw below the take-up rate, calibrated per area to the official number of
   recipients when the year has one (2021, 2024), else ``dibao.take_up_rate``. The baseline dibao total
   is reported in the validation table so the double counting it may imply can be judged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources

import numpy as np
import pandas as pd

from .reform import PROVINCES

REQUIRED = ("household_id", "age", "province_en", "area", "weight", "wage_income_pc_yuan",
            "net_business_income_pc_yuan", "net_property_income_pc_yuan", "net_transfer_income_pc_yuan")
EAST = ("Beijing", "Tianjin", "Hebei", "Shanghai", "Jiangsu", "Zhejiang", "Fujian", "Shandong", "Guangdong", "Hainan")
CENTRAL = ("Shanxi", "Anhui", "Jiangxi", "Henan", "Hubei", "Hunan")
NORTHEAST = ("Liaoning", "Jilin", "Heilongjiang")
REGION_OF = {p: ("East" if p in EAST else "Central" if p in CENTRAL else "Northeast" if p in NORTHEAST else "West")
             for p in PROVINCES}


class PopulationError(ValueError):
    """Input microdata that cannot be simulated, naming the column and rows."""


def _rows(mask: np.ndarray, limit: int = 5) -> str:
    idx = np.flatnonzero(mask)
    shown = ", ".join(str(i) for i in idx[:limit])
    return f"{len(idx)} row(s) (first: {shown})"


@dataclass
class Population:
    """Arrays of one population. Households are 0..H-1; ``person_household`` maps persons to them."""

    person_household: np.ndarray
    age: np.ndarray
    household_weight: np.ndarray  # households represented
    size: np.ndarray
    province: np.ndarray  # index into PROVINCES, per household
    urban: np.ndarray  # bool per household
    wage_household: np.ndarray  # observed wage income of the household (yuan/yr)
    business_property: np.ndarray  # household net business + property income
    net_transfer_household: np.ndarray
    seed: int = 1
    wages: str = "gross"
    attrs: dict = field(default_factory=dict)

    @property
    def n_households(self) -> int:
        return len(self.size)

    @property
    def n_persons(self) -> int:
        return len(self.age)

    @property
    def persons_weight(self) -> np.ndarray:
        return self.household_weight * self.size

    @property
    def region(self) -> np.ndarray:
        codes = np.array([("East", "Central", "West", "Northeast").index(REGION_OF[p]) for p in PROVINCES])
        return codes[self.province]

    def household_sum(self, person_values: np.ndarray) -> np.ndarray:
        return np.bincount(self.person_household, weights=person_values, minlength=self.n_households)

    @classmethod
    def from_frame(cls, frame, columns: dict | None = None, seed: int = 1, wages: str = "gross") -> "Population":
        if hasattr(frame, "to_pandas") and not isinstance(frame, pd.DataFrame):
            frame = frame.to_pandas()
        if columns:
            frame = frame.rename(columns=columns)
        missing = [c for c in REQUIRED if c not in frame.columns]
        if missing:
            hint = (" (this looks like a household-level frame: pass a person-level one, e.g. "
                    "synthesize_population(level='person'))" if "head_age" in frame.columns else "")
            raise PopulationError(f"the population lacks column(s) {', '.join(missing)}{hint}; map yours with "
                                  f"columns={{'your name': 'our name'}} (needed: {', '.join(REQUIRED)})")
        if wages not in ("gross", "net"):
            raise PopulationError(f"wages={wages!r}: say 'gross' (NBS convention) or 'net'")
        if len(frame) == 0:
            raise PopulationError("the population has no rows")
        hid = frame["household_id"].to_numpy()
        order = np.argsort(hid, kind="stable")
        if np.any(order != np.arange(len(order))):
            frame = frame.iloc[order]
            hid = hid[order]
        new = np.concatenate([[True], hid[1:] != hid[:-1]])
        person_household = np.cumsum(new) - 1
        first = np.flatnonzero(new)

        age = frame["age"].to_numpy(float)
        bad = ~np.isfinite(age) | (age < 0) | (age > 130)
        if bad.any():
            raise PopulationError(f"column 'age': missing or outside 0..130 in {_rows(bad)}; fix or drop those persons")
        weight = frame["weight"].to_numpy(float)
        bad = ~np.isfinite(weight) | ~(weight > 0)
        if bad.any():
            raise PopulationError(f"column 'weight': zero, negative or missing in {_rows(bad)}; every person needs a positive weight")
        area = frame["area"].astype(str).str.lower().to_numpy()
        bad = ~np.isin(area, ["urban", "rural"])
        if bad.any():
            raise PopulationError(f"column 'area': values must be 'urban' or 'rural', found {sorted(set(area[bad]))[:5]} in {_rows(bad)}")
        prov = frame["province_en"].astype(str).to_numpy()
        known = np.isin(prov, PROVINCES)
        if not known.all():
            raise PopulationError(f"column 'province_en': unknown province(s) {sorted(set(prov[~known]))[:5]} in "
                                  f"{_rows(~known)}; use the English names {', '.join(PROVINCES[:4])}, ...")
        comps = {}
        for c in REQUIRED[5:]:
            v = frame[c].to_numpy(float)
            bad = ~np.isfinite(v)
            if bad.any():
                raise PopulationError(f"column {c!r}: missing or non-finite in {_rows(bad)}; impute or drop those households (and say how many)")
            comps[c] = v
        if (comps["wage_income_pc_yuan"] < 0).any():
            raise PopulationError(f"column 'wage_income_pc_yuan': negative wages in {_rows(comps['wage_income_pc_yuan'] < 0)}")
        for name, values in (("weight", weight), ("area", area), ("province_en", prov)) + tuple(comps.items()):
            differs = values[first][person_household] != values
            if differs.any():
                raise PopulationError(f"column {name!r} differs between members of the same household in "
                                      f"{_rows(differs)}; household-level values must be equal for all members")
        size = np.bincount(person_household).astype(float)
        pidx = {p: i for i, p in enumerate(PROVINCES)}
        return cls(
            person_household=person_household.astype(np.int64), age=age,
            household_weight=weight[first], size=size,
            province=np.array([pidx[p] for p in prov[first]], dtype=np.int64) if len(first) < 100
            else pd.Categorical(prov[first], categories=PROVINCES).codes.astype(np.int64),
            urban=area[first] == "urban",
            wage_household=comps["wage_income_pc_yuan"][first] * size,
            business_property=(comps["net_business_income_pc_yuan"][first] + comps["net_property_income_pc_yuan"][first]) * size,
            net_transfer_household=comps["net_transfer_income_pc_yuan"][first] * size,
            seed=seed, wages=wages, attrs=dict(getattr(frame, "attrs", {}) or {}),
        )


def _data(name: str) -> pd.DataFrame:
    return pd.read_csv(resources.files("prosperity") / "data" / name)


def provincial_context(year: int) -> pd.DataFrame:
    """Per province (in PROVINCES order): relative per-capita disposable income of ``year`` and relative
    per-capita consumption of ``year - 1`` (2016 uses 2016), both relative to the 2024-population-weighted
    mean of the provinces; population 2020 (census) for per-capita CO2."""
    panel = _data("china_prov_income_consumption_fiscal_2016_2024_nbs.csv")
    pop = _data("china_prov_population_2024_nbs.csv").set_index("province_en")["pop_total_10k"]
    years = sorted(panel["year"].unique())
    if year not in years:
        raise ValueError(f"year {year}: provincial data cover {years[0]}-{years[-1]}")
    def rel(col, y):
        s = panel[panel["year"] == y].set_index("province_en")[col].reindex(PROVINCES)
        w = pop.reindex(PROVINCES)
        return s / float(np.sum(s * w) / np.sum(w))
    out = pd.DataFrame({"income_rel": rel("disp_income_pc_yuan", year),
                        "consumption_rel": rel("consumption_exp_pc_yuan", max(year - 1, years[0]))})
    return out


def co2_context(year: int) -> pd.DataFrame:
    """Per province: CO2 (t) per capita and GDP per capita (yuan) in the latest CEADs year <= ``year``
    (the bundled inventory ends in 2019; Tibet is not in it), population from the 2020 census."""
    co2 = _data("china_prov_co2_ceads_1997_2019.csv")
    y = min(int(year), int(co2["year"].max()))
    c = co2[co2["year"] == y].set_index("province_en")["co2_mt_total"].reindex(PROVINCES)
    census = _data("china_prov_population_census2020.csv")
    people = census.set_index("province_en")["population_2020"].reindex(PROVINCES).astype(float)
    gdp = _data("china_prov_gdp_1993_2023_nbs.csv")
    g = gdp[gdp["year"] == y].set_index("province_en")
    col = "gdp_100m_yuan_nbs_2005_2023_revised"
    gdp_y = g[col].reindex(PROVINCES).astype(float) * 1e8
    return pd.DataFrame({"co2_t_per_capita": c * 1e6 / people, "gdp_per_capita": gdp_y / people,
                         "population_2020": people, "co2_year": y})
