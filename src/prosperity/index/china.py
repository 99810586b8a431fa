"""Provincial indicator panel for China built from the bundled data (31 provinces).

Two sources, merged on (province, year):

* 1985-2018, from ``china_prov_gpi_panel_1985_2018.csv`` (raw inputs of the provincial Genuine
  Progress Indicator, Ji et al.): per-capita GDP, consumption, public spending, urban/rural gaps in
  household spending, Atkinson index, pollution and energy intensities, ...
* 2016-2024, from the NBS exports ``china_prov_income_consumption_fiscal_2016_2024_nbs.csv``
  (per-capita disposable income and consumption, local budget revenue), ``china_prov_gdp_1993_2023_nbs.csv``
  (GDP, revised series) and population (GPI panel to 2018, census 2020, NBS 2024; the years between are
  linear interpolations, flagged in ``pop_interpolated``).

Every derived column is documented in :data:`INDICATORS` (unit, definition). Indicators the
frameworks ask for but the bundled data lack (R&D, patents, trade, FDI, disposable-income Gini,
middle-income share, urban-rural *income* ratio by province, ...) are marked ``available: false``
in the framework files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parent.parent / "data"

INDICATORS: dict[str, tuple[str, str]] = {
    # code: (unit, definition)
    "gdp_pc": ("yuan", "GDP / year-end population, current prices (GPI panel to 2018; NBS revised GDP after)"),
    "consumption_pc": ("yuan", "household consumption (national accounts) / population, current prices"),
    "wage_avg": ("yuan", "average wage of employed staff, current prices"),
    "capital_pc": ("yuan (1997 prices)", "capital stock / population"),
    "real_growth": ("%", "growth of real GDP per capita (deflated by the provincial CPI), year on year"),
    "urbanisation": ("%", "urban / total population"),
    "unemployment_rate": ("%", "registered unemployed / (employed + unemployed)"),
    "atkinson": ("index", "Atkinson inequality index used in the provincial GPI"),
    "durables_ur_ratio": ("ratio", "urban / rural per-capita services of consumer durables"),
    "health_ur_ratio": ("ratio", "urban / rural per-capita private health spending"),
    "education_ur_ratio": ("ratio", "urban / rural per-capita private education spending"),
    "pub_education_pc": ("yuan", "local public education spending / population"),
    "pub_health_pc": ("yuan", "local public health spending / population"),
    "pub_transport_pc": ("yuan", "local public transport spending / population"),
    "consumption_share": ("%", "household consumption / GDP"),
    "investment_rate": ("%", "gross fixed capital formation / GDP"),
    "so2_intensity": ("t per 100 million yuan", "SO2 emissions / GDP"),
    "coal_intensity": ("10k t per 100 million yuan", "coal consumption / GDP"),
    "effluent_intensity": ("10k t per 100 million yuan", "waste-water effluent / GDP"),
    "forest_change": ("10k ha", "change in forest area"),
    "divorce_rate": ("per 10k persons", "divorces / population"),
    "crime_cost_share": ("% of GDP", "cost of crime / GDP"),
    "working_hours": ("hours/week", "average working hours per week"),
    "commuting_min": ("minutes/day", "average commuting time"),
    "disp_income_pc": ("yuan", "per-capita disposable income of residents (NBS), 2016-2024"),
    "consumption_exp_pc": ("yuan", "per-capita consumption expenditure of residents (NBS), 2016-2024"),
    "income_share_gdp": ("%", "disposable income x population / GDP (居民收入占GDP比重), 2016-2023"),
    "fiscal_revenue_pc": ("yuan", "local general budget revenue / population, 2016-2024"),
    "real_income_growth": ("%", "growth of per-capita disposable income deflated by the provincial CPI"),
}


def _gpi() -> pd.DataFrame:
    d = pd.read_csv(DATA / "china_prov_gpi_panel_1985_2018.csv")
    pop = d.pop_total * 1e4
    out = pd.DataFrame({"province": d.province, "year": d.year})
    out["pop"] = pop
    out["gdp_pc"] = d.gdp * 1e8 / pop
    out["consumption_pc"] = d.household_consumption * 1e8 / pop
    out["wage_avg"] = d.wage_avg
    out["capital_pc"] = d.capital_stock_1997p * 1e8 / pop
    out["urbanisation"] = d.pop_urban / d.pop_total * 100
    out["unemployment_rate"] = d.unemployment / (d.employment + d.unemployment) * 100
    out["atkinson"] = d.atkinson_index
    out["durables_ur_ratio"] = d.services_consumer_durables_urban_pc / d.services_consumer_durables_rural_pc
    out["health_ur_ratio"] = d.privexp_health_urban_pc / d.privexp_health_rural_pc
    out["education_ur_ratio"] = d.privexp_education_urban_pc / d.privexp_education_rural_pc
    out["pub_education_pc"] = d.pubexp_education_local * 1e8 / pop
    out["pub_health_pc"] = d.pubexp_health_local * 1e8 / pop
    out["pub_transport_pc"] = d.pubexp_transport_local * 1e8 / pop
    out["consumption_share"] = d.household_consumption / d.gdp * 100
    out["investment_rate"] = d.gfcf / d.gdp * 100
    out["so2_intensity"] = d.so2_emission_t / d.gdp
    out["coal_intensity"] = d.coal_10kt / d.gdp
    out["effluent_intensity"] = d.effluent_10kt / d.gdp
    out["forest_change"] = d.forest_change
    out["divorce_rate"] = d.divorces / pop * 1e4
    out["crime_cost_share"] = d.cost_crime / d.gdp * 100
    out["working_hours"] = d.working_hours_week
    out["commuting_min"] = d.commuting_min_day
    real = out.gdp_pc / d.cpi_1997eq1
    out["real_growth"] = (real / real.groupby(d.province).shift(1) - 1) * 100
    return out


def _population_2016_2024(gpi: pd.DataFrame) -> pd.DataFrame:
    p24 = pd.read_csv(DATA / "china_prov_population_2024_nbs.csv")
    p20 = pd.read_csv(DATA / "china_prov_population_census2020.csv")
    known = pd.concat([
        gpi.loc[gpi.year >= 2016, ["province", "year", "pop"]],
        pd.DataFrame({"province": p20.province_en, "year": 2020, "pop": p20.population_2020.astype(float)}),
        pd.DataFrame({"province": p24.province_en, "year": 2024, "pop": p24.pop_total_10k * 1e4}),
    ])
    known = known[known.province.isin(p24.province_en)]
    rows = []
    for prov, g in known.groupby("province"):
        g = g.sort_values("year")
        for y in range(2016, 2025):
            v = float(np.interp(y, g.year, g["pop"]))
            rows.append((prov, y, v, y not in set(g.year)))
    return pd.DataFrame(rows, columns=["province", "year", "pop", "pop_interpolated"])


def _nbs(pop: pd.DataFrame) -> pd.DataFrame:
    inc = pd.read_csv(DATA / "china_prov_income_consumption_fiscal_2016_2024_nbs.csv")
    gdp = pd.read_csv(DATA / "china_prov_gdp_1993_2023_nbs.csv")
    gdp = gdp.rename(columns={"province_en": "province"})[["province", "year", "gdp_100m_yuan_nbs_2005_2023_revised"]]
    d = inc.rename(columns={"province_en": "province"}).merge(pop, on=["province", "year"], how="left")
    d = d.merge(gdp, on=["province", "year"], how="left")
    out = pd.DataFrame({"province": d.province, "year": d.year})
    out["disp_income_pc"] = d.disp_income_pc_yuan.astype(float)
    out["consumption_exp_pc"] = d.consumption_exp_pc_yuan.astype(float)
    out["fiscal_revenue_pc"] = d.local_general_budget_revenue_100m_yuan * 1e8 / d["pop"]
    out["income_share_gdp"] = d.disp_income_pc_yuan * d["pop"] / (d.gdp_100m_yuan_nbs_2005_2023_revised * 1e8) * 100
    out["gdp_pc_nbs"] = d.gdp_100m_yuan_nbs_2005_2023_revised * 1e8 / d["pop"]
    real = d.disp_income_pc_yuan / (d.cpi_prev_year_eq_100 / 100)
    prev = d.groupby("province").disp_income_pc_yuan.shift(1)
    out["real_income_growth"] = (real / prev - 1) * 100
    out["pop_nbs"] = d["pop"]
    out["pop_interpolated"] = d.pop_interpolated
    return out


# Each column's role and direction ("+" more is better, "-" less is better, "moderate" best inside a
# band): carried in ``frame.attrs["columns"]`` so an index without a framework never guesses one.
DIRECTIONS: dict[str, str] = {
    "gdp_pc": "+", "consumption_pc": "+", "wage_avg": "+", "capital_pc": "+", "real_growth": "+",
    "urbanisation": "+", "unemployment_rate": "-", "atkinson": "-", "durables_ur_ratio": "-",
    "health_ur_ratio": "-", "education_ur_ratio": "-", "pub_education_pc": "+", "pub_health_pc": "+",
    "pub_transport_pc": "+", "consumption_share": "+", "investment_rate": "moderate", "so2_intensity": "-",
    "coal_intensity": "-", "effluent_intensity": "-", "forest_change": "+", "divorce_rate": "-",
    "crime_cost_share": "-", "working_hours": "-", "commuting_min": "-", "disp_income_pc": "+",
    "consumption_exp_pc": "+", "income_share_gdp": "+", "fiscal_revenue_pc": "+", "real_income_growth": "+",
}
COLUMN_ROLES: dict[str, str] = {"province": "identifier", "year": "identifier", "pop": "denominator",
                                "pop_interpolated": "flag"}


def column_metadata() -> dict[str, dict]:
    """{column: {"role": indicator|identifier|denominator|flag, "direction": ..., "unit": ..., "definition": ...}}."""
    meta = {c: {"role": r} for c, r in COLUMN_ROLES.items()}
    for code, (unit, definition) in INDICATORS.items():
        meta[code] = {"role": "indicator", "direction": DIRECTIONS[code], "unit": unit, "definition": definition}
    meta["investment_rate"]["interval"] = [30, 45]  # the five_concepts framework's illustrative band
    return meta


def china_provincial_panel(start: int | None = None, end: int | None = None) -> pd.DataFrame:
    """Long panel: one row per (province, year), 1985-2024, indicator columns as in
    :data:`INDICATORS`. ``gdp_pc`` uses the GPI panel to 2018 and the NBS revised GDP (with
    interpolated population where flagged) from 2019; other columns are NaN outside their source's
    years."""
    gpi = _gpi()
    pop = _population_2016_2024(gpi)
    nbs = _nbs(pop)
    d = gpi.merge(nbs, on=["province", "year"], how="outer")
    late = d.year > 2018
    d.loc[late, "gdp_pc"] = d.loc[late, "gdp_pc_nbs"]
    d["pop"] = d["pop"].fillna(d["pop_nbs"])
    d = d.drop(columns=["gdp_pc_nbs", "pop_nbs"])
    order = pd.read_csv(DATA / "china_prov_population_2024_nbs.csv").province_en.tolist()
    d["province"] = pd.Categorical(d.province, categories=order, ordered=True)
    d = d.sort_values(["province", "year"]).reset_index(drop=True)
    d["province"] = d.province.astype(str)
    if start is not None:
        d = d[d.year >= start]
    if end is not None:
        d = d[d.year <= end]
    d = d.reset_index(drop=True)
    d.attrs["columns"] = column_metadata()
    return d
