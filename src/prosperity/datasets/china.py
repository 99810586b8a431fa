"""Loaders for the bundled Chinese official statistics (NBS tables, provincial panels, census).

Every loader returns a tidy pandas frame (or polars with ``backend="polars"``) whose column names
carry their units (``_yuan``, ``_10k`` = 10,000 persons, ``_100m_yuan`` = 100 million yuan, ``_pct``)
and whose ``attrs`` hold dataset, source, licence, units and notes. Provincial frames carry the
GB/T 2260 ``adcode`` (int) and the NBS ``region``; join them on ``adcode``.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ._registry import dataset, finish, read_csv
from .provinces import province_adcode, provinces

NBS = "National Bureau of Statistics of China (NBS), data portal exports (数据来源：国家统计局)"
NBS_LICENCE = "official statistics (public facts); source repository states no licence"


def _with_region(frame: pd.DataFrame, after: str = "province_en") -> pd.DataFrame:
    regions = provinces().set_index("adcode")["region"]
    frame = frame.copy()
    frame.insert(frame.columns.get_loc(after) + 1, "region", frame["adcode"].map(regions))
    return frame


# --------------------------------------------------------------------------------------------- national


_QUINTILE_LABELS = {1: "low", 2: "lower-middle", 3: "middle", 4: "upper-middle", 5: "high"}


@dataset(
    name="nbs_income_quintiles",
    file="china_income_quintiles_2015_2024_nbs.csv",
    description="Per-capita disposable income by income quintile group, national/urban/rural, 2015-2024",
    source=NBS + "; tables 全国/城镇/农村居民按收入五等份分组的收入情况, via github via-cmd/china-life-visualization @ 7447bd7",
    licence=NBS_LICENCE,
    units={"disp_income_pc_yuan": "yuan per person per year, current prices (mean of the quintile group)"},
    notes="Quintile groups rank households by per-capita disposable income (person-weighted); each value "
    "is the group mean. Quintile 1 = lowest 20%.",
)
def nbs_income_quintiles(*, backend: str = "pandas"):
    """NBS per-capita disposable income by quintile group: columns area (national/urban/rural), year,
    quintile (1 = lowest 20%), quintile_label, disp_income_pc_yuan (group mean), indicator_zh."""
    info = nbs_income_quintiles.info
    frame = read_csv(info)
    frame["quintile_label"] = frame["quintile"].map(_QUINTILE_LABELS)
    frame = frame[["area", "year", "quintile", "quintile_label", "disp_income_pc_yuan", "indicator_zh"]]
    order = {"national": 0, "urban": 1, "rural": 2}
    frame = frame.sort_values(["area", "year", "quintile"], key=lambda s: s.map(order) if s.name == "area" else s)
    return finish(frame, info, backend)


# Household survey: English codes for the Chinese indicator names.
_SURVEY_CORE = {
    # income (元)
    "人均可支配收入": ("income", "disp_income_pc", "yuan"),
    "人均可支配收入中位数": ("income", "disp_income_pc_median", "yuan"),
    "人均可支配工资性收入": ("income", "wage_income_pc", "yuan"),
    "人均可支配经营净收入": ("income", "net_business_income_pc", "yuan"),
    "人均可支配财产净收入": ("income", "net_property_income_pc", "yuan"),
    "人均可支配转移净收入": ("income", "net_transfer_income_pc", "yuan"),
    # consumption (元)
    "人均消费支出": ("consumption", "consumption_exp_pc", "yuan"),
    "人均食品烟酒支出": ("consumption", "food_tobacco_liquor_exp_pc", "yuan"),
    "人均衣着支出": ("consumption", "clothing_exp_pc", "yuan"),
    "人均居住支出": ("consumption", "housing_exp_pc", "yuan"),
    "人均生活用品及服务支出": ("consumption", "household_goods_services_exp_pc", "yuan"),
    "人均交通通信支出": ("consumption", "transport_communication_exp_pc", "yuan"),
    "人均教育文化娱乐支出": ("consumption", "education_culture_recreation_exp_pc", "yuan"),
    "人均医疗保健支出": ("consumption", "healthcare_exp_pc", "yuan"),
    "人均其他用品及服务支出": ("consumption", "other_goods_services_exp_pc", "yuan"),
    "人均服务性消费支出": ("consumption", "services_consumption_exp_pc", "yuan"),
    # food (千克)
    "人均粮食消费量": ("food", "grain_consumption_pc", "kg"),
    "人均蔬菜及食用菌消费量": ("food", "vegetables_mushrooms_consumption_pc", "kg"),
    "人均食用油消费量": ("food", "edible_oil_consumption_pc", "kg"),
    "人均肉类消费量": ("food", "meat_consumption_pc", "kg"),
    "人均禽类消费量": ("food", "poultry_consumption_pc", "kg"),
    "人均水产品消费量": ("food", "aquatic_products_consumption_pc", "kg"),
    "人均蛋类消费量": ("food", "eggs_consumption_pc", "kg"),
    "人均奶类消费量": ("food", "dairy_consumption_pc", "kg"),
    "人均鲜瓜果消费量": ("food", "fresh_fruit_melons_consumption_pc", "kg"),
    "人均食糖消费量": ("food", "sugar_consumption_pc", "kg"),
    # other
    "人均可支配收入基尼系数": ("gini", "gini_disp_income_pc", "ratio"),
    "恩格尔系数": ("engel", "engel_coefficient", "pct"),
    "农民工规模": ("migrant_workers", "migrant_workers", "10k"),
    "外出农民工规模": ("migrant_workers", "migrant_workers_outgoing", "10k"),
    "本地农民工规模": ("migrant_workers", "migrant_workers_local", "10k"),
    "跨省流动农民工规模": ("migrant_workers", "migrant_workers_interprovincial", "10k"),
    "农民工月均收入": ("migrant_workers", "migrant_worker_monthly_income", "yuan"),
}
_DURABLES = {
    "家用汽车": "cars", "彩色电视机": "colour_tvs", "微波炉": "microwave_ovens", "排油烟机": "range_hoods",
    "摩托车": "motorcycles", "洗衣机": "washing_machines", "热水器": "water_heaters", "照相机": "cameras",
    "电冰箱（柜）": "refrigerators", "电动助力车": "electric_bikes", "移动电话": "mobile_phones",
    "空调": "air_conditioners", "计算机": "computers",
}
_QUINTILE_ZH = {"低收入组": 1, "中间偏下收入组": 2, "中间收入组": 3, "中间偏上收入组": 4, "高收入组": 5}
# NBS: growth of income and consumption totals is real; other growth rates are nominal.
_REAL_GROWTH = {"disp_income_pc", "consumption_exp_pc"}


def _survey_area(table: str, indicator: str) -> str:
    for prefix, area in (("城镇", "urban"), ("农村", "rural")):
        if table.startswith(prefix) or indicator.startswith(prefix):
            return area
    if table.startswith("农民工"):
        return "migrant_workers"
    return "national"


def _survey_code(indicator: str) -> tuple[str, str, str]:
    """(topic, indicator code with unit suffix, unit) for one Chinese indicator name."""
    text = re.sub(r"^(城镇居民|农村居民|居民)", "", indicator)
    unit_match = re.search(r"\(([^)]*)\)$", text)
    text = re.sub(r"\([^)]*\)$", "", text)
    growth = text.endswith("比上年增长")
    text = text.removesuffix("比上年增长")
    quintile = re.match(r"^(低收入组|中间偏下收入组|中间收入组|中间偏上收入组|高收入组)家庭(城镇居民|农村居民|居民)(.*)$", text)
    if quintile:
        topic, code, unit = "quintiles", f"disp_income_pc_q{_QUINTILE_ZH[quintile.group(1)]}", "yuan"
    elif text.startswith("平均每百户年末") and text.endswith("拥有量"):
        item = text.removeprefix("平均每百户年末").removesuffix("拥有量")
        topic, code, unit = "durables", f"{_DURABLES[item]}_per_100_households", "units per 100 households"
    elif text in _SURVEY_CORE:
        topic, code, unit = _SURVEY_CORE[text]
    else:
        raise KeyError(f"no English code for the NBS indicator {indicator!r}; add it to _SURVEY_CORE")
    if growth:
        kind = "real" if code in _REAL_GROWTH else "nominal"
        return topic, f"{code}_{kind}_growth_pct", f"% on previous year ({kind})"
    if unit in {"yuan", "kg", "10k", "pct"}:
        code = f"{code}_{unit}"
    assert unit_match is None or unit_match.group(1) in {"元", "千克", "万人", "%", "台", "辆", "部"}, indicator
    return topic, code, unit


@dataset(
    name="nbs_household_survey",
    file="china_nbs_national_household_survey_2015_2024_long.csv",
    description="NBS national household survey 2015-2024: income by source, median, consumption by "
    "category, quintiles, Gini, Engel, food, durables, migrant workers (national/urban/rural)",
    source=NBS + "; 17 annual tables, via github via-cmd/china-life-visualization @ 7447bd7",
    licence=NBS_LICENCE,
    units={"value": "see the unit column (yuan per person per year, current prices, unless stated)"},
    notes="Growth of total disposable income and of total consumption is REAL (NBS note); other growth "
    "rates are nominal. Indicator codes carry their unit; indicator_zh keeps the NBS name.",
)
def nbs_household_survey(*, wide: bool = False, backend: str = "pandas"):
    """The NBS national household survey tables 2015-2024.

    Long (default): area (national/urban/rural/migrant_workers), topic, indicator (English code with
    unit), unit, year, value, indicator_zh, table_zh. ``wide=True``: one row per (area, year), one
    column per indicator.
    """
    info = nbs_household_survey.info
    raw = read_csv(info)
    codes = {ind: _survey_code(ind) for ind in raw["indicator_zh"].unique()}
    frame = pd.DataFrame({
        "area": [_survey_area(t, i) for t, i in zip(raw["table_zh"], raw["indicator_zh"])],
        "topic": raw["indicator_zh"].map(lambda i: codes[i][0]),
        "indicator": raw["indicator_zh"].map(lambda i: codes[i][1]),
        "unit": raw["indicator_zh"].map(lambda i: codes[i][2]),
        "year": raw["year"].astype("int64"),
        "value": raw["value"].astype(float),
        "indicator_zh": raw["indicator_zh"],
        "table_zh": raw["table_zh"],
    })
    duplicated = frame.duplicated(["area", "indicator", "year"])
    if duplicated.any():
        raise RuntimeError(f"duplicate survey rows after translation: {frame[duplicated].head()}")
    frame = frame.sort_values(["area", "topic", "indicator", "year"])
    if wide:
        frame = frame.pivot(index=["area", "year"], columns="indicator", values="value").reset_index()
        frame.columns.name = None
    return finish(frame, info, backend)


@dataset(
    name="nbs_official_gini",
    file="china_nbs_national_household_survey_2015_2024_long.csv",
    description="Official NBS Gini coefficient of per-capita disposable income, 2015-2024",
    source=NBS + "; table 居民人均可支配收入基尼系数, via github via-cmd/china-life-visualization @ 7447bd7",
    licence=NBS_LICENCE,
    units={"gini": "ratio in [0, 1]"},
    notes="Person-level per-capita household disposable income, national (urban and rural pooled).",
)
def nbs_official_gini(*, backend: str = "pandas"):
    """Official national Gini of per-capita disposable income: columns year, gini."""
    info = nbs_official_gini.info
    raw = read_csv(info)
    rows = raw[raw["indicator_zh"] == "居民人均可支配收入基尼系数"]
    frame = pd.DataFrame({"year": rows["year"].astype("int64"), "gini": rows["value"].astype(float)})
    return finish(frame.sort_values("year"), info, backend)


@dataset(
    name="nbs_income_sources_1978_2022",
    file="china_national_disposable_income_components_1978_2022_nbs.csv",
    description="National per-capita disposable income and its four sources (wages, business, property, "
    "transfers), 1978-2022",
    source=NBS + "; table A0A01 全国居民人均收入情况, via github TKTKT123/- @ cc948a7",
    licence=NBS_LICENCE,
    units={"*_yuan": "yuan per person per year, current prices", "*_pct": "% on previous year"},
    notes="Sources from 1998 (they sum to the total); median from 2013. Before 2013 values are back-cast "
    "urban/rural population-weighted figures, not unified-survey results.",
)
def nbs_income_sources_1978_2022(*, backend: str = "pandas"):
    """National per-capita disposable income by source, 1978-2022 (yuan, current prices)."""
    info = nbs_income_sources_1978_2022.info
    frame = read_csv(info).rename(columns={
        "disp_income_pc": "disp_income_pc_yuan",
        "disp_income_pc_median": "disp_income_pc_median_yuan",
        "wage_income_pc": "wage_income_pc_yuan",
        "net_business_income_pc": "net_business_income_pc_yuan",
        "net_property_income_pc": "net_property_income_pc_yuan",
        "net_transfer_income_pc": "net_transfer_income_pc_yuan",
        "disp_income_pc_median_growth_pct": "disp_income_pc_median_nominal_growth_pct",
        "wage_income_growth_pct": "wage_income_nominal_growth_pct",
        "net_business_income_growth_pct": "net_business_income_nominal_growth_pct",
        "net_property_income_growth_pct": "net_property_income_nominal_growth_pct",
        "net_transfer_income_growth_pct": "net_transfer_income_nominal_growth_pct",
    })
    return finish(frame, info, backend)


@dataset(
    name="urban_rural_income_gini_1978_2016",
    file="china_national_urban_rural_income_gini_1978_2016.csv",
    description="Urban and rural per-capita income, their ratio, national Gini and regional ratios, 1978-2016",
    source="Kanbur, Wang & Zhang (2021) 'The great Chinese inequality turnaround' (figure data), via github "
    "macoyo2/Income-Inequality-in-China @ 71455bc; NBS and literature",
    licence="none stated; figures are NBS / published",
    units={"urban_income_pc_yuan": "yuan per person, current prices (urban disposable income)",
           "rural_income_pc_yuan": "yuan per person, current prices (net income to 2012, disposable from 2013)",
           "gini": "ratio", "*_ratio": "ratio"},
    notes="Gini 2003-2016 are official NBS figures, earlier years from the literature. Rural income is "
    "net income up to 2012 and disposable income from 2013 (a break in the series).",
)
def urban_rural_income_gini_1978_2016(*, backend: str = "pandas"):
    """Urban/rural per-capita income, ratio, national Gini and regional ratios, 1978-2016."""
    info = urban_rural_income_gini_1978_2016.info
    return finish(read_csv(info), info, backend)


@dataset(
    name="cpi_national",
    file="china_cpi_national_2016_2025_nbs.csv",
    description="National resident CPI (all, urban, rural), previous year = 100, 2016-2025",
    source=NBS + "; 居民消费价格指数, via github Liushenwuzhu-Alpaca/province-economy @ 94b1291",
    licence=NBS_LICENCE,
    units={"*_prev_year_eq_100": "index, previous year = 100"},
)
def cpi_national(*, backend: str = "pandas"):
    """National CPI (previous year = 100), 2016-2025, with a chained index ``cpi_all_2016_eq_100``."""
    info = cpi_national.info
    frame = read_csv(info)
    chained = np.cumprod(frame["cpi_all_prev_year_eq_100"].to_numpy() / 100.0)
    frame["cpi_all_2016_eq_100"] = 100.0 * chained / chained[0]
    return finish(frame, info, backend)


# --------------------------------------------------------------------------------------------- provinces


@dataset(
    name="provincial_income_consumption_2016_2024",
    file="china_prov_income_consumption_fiscal_2016_2024_nbs.csv",
    description="Provincial per-capita disposable income, consumption, local budget revenue and CPI, "
    "31 provinces x 2016-2024",
    source=NBS + " (分省年度数据), via github Liushenwuzhu-Alpaca/province-economy @ 46e915f / 94b1291",
    licence=NBS_LICENCE,
    units={"disp_income_pc_yuan": "yuan per person per year, all residents, current prices",
           "consumption_exp_pc_yuan": "yuan per person per year, current prices",
           "local_general_budget_revenue_100m_yuan": "100 million yuan (本级收入)",
           "cpi_prev_year_eq_100": "index, previous year = 100"},
    notes="Urban and rural provincial means are not in this table.",
)
def provincial_income_consumption_2016_2024(*, backend: str = "pandas"):
    """Provincial income, consumption, local revenue and CPI, 2016-2024 (long: adcode x year)."""
    info = provincial_income_consumption_2016_2024.info
    return finish(_with_region(read_csv(info)), info, backend)


@dataset(
    name="provincial_income_2019",
    file="china_prov_disposable_income_pc_2019_nbs.csv",
    description="Provincial per-capita disposable income 2019 (2 decimals)",
    source=NBS + "; via an ECharts teaching file (repository unknown; values checked against NBS 2019)",
    licence="unknown (NBS official statistics)",
    units={"disp_income_pc_yuan": "yuan per person per year, current prices"},
)
def provincial_income_2019(*, backend: str = "pandas"):
    """Provincial per-capita disposable income in 2019, to 2 decimals."""
    info = provincial_income_2019.info
    return finish(_with_region(read_csv(info)), info, backend)


@dataset(
    name="provincial_gdp_1993_2023",
    file="china_prov_gdp_1993_2023_nbs.csv",
    description="Provincial GDP, 100 million yuan current prices, 31 provinces x 1993-2023, three vintages",
    source=NBS + "; via github Tobby-star/dynamic_datas @ 785e857, ITidol-dream/dynamic_picture @ 7118346, "
    "xiaoqi737/thesis-data-and-code @ e475d87",
    licence=NBS_LICENCE,
    units={"gdp_100m_yuan_*": "100 million yuan, current prices"},
    notes="Three vintages: as published 1993-2017 (before the 2018 economic-census revision), revised "
    "2003-2022 (rounded; 2022 preliminary), revised 2005-2023 (1 decimal, 2022 final). Do not splice "
    "vintages without saying so.",
)
def provincial_gdp_1993_2023(*, backend: str = "pandas"):
    """Provincial GDP in three vintages (long: adcode x year)."""
    info = provincial_gdp_1993_2023.info
    return finish(_with_region(read_csv(info)), info, backend)


@dataset(
    name="provincial_population_2024",
    file="china_prov_population_2024_nbs.csv",
    description="Year-end resident population 2024 by province, total/urban/rural (10k persons)",
    source=NBS + " (分省年度数据 人口), via github Liushenwuzhu-Alpaca/province-economy @ 46e915f",
    licence=NBS_LICENCE,
    units={"pop_*_10k": "10,000 persons, year-end resident population"},
    notes="The 31 provinces sum to 140,628 (10k); the national total 140,828 also counts active servicemen.",
)
def provincial_population_2024(*, backend: str = "pandas"):
    """2024 year-end resident population by province: pop_total_10k, pop_urban_10k, pop_rural_10k."""
    info = provincial_population_2024.info
    return finish(_with_region(read_csv(info)), info, backend)


@dataset(
    name="provincial_population_census2020",
    file="china_prov_population_census2020.csv",
    description="2020 census population by province (31 provinces + Hong Kong, Macao, Taiwan)",
    source="NBS, Communiqué of the Seventh National Population Census (No. 3); HK/Macao/Taiwan from "
    "Worldometers; via github mgastner/cartogram-cpp @ 78628a7",
    licence="official statistics (public facts)",
    units={"pop_census2020_persons": "persons, census reference date 2020-11-01"},
    notes="The 31 mainland provinces sum to 1,409,778,724.",
)
def provincial_population_census2020(*, backend: str = "pandas"):
    """2020 census population by province (persons)."""
    info = provincial_population_census2020.info
    frame = read_csv(info).rename(columns={"population_2020": "pop_census2020_persons"})
    return finish(_with_region(frame), info, backend)


# GPI panel: source column -> column with its unit (columns that already carry one are unchanged).
_GPI_RENAME = {
    "atkinson_index": "atkinson_index",
    "household_consumption": "household_consumption_100m_yuan",
    "services_consumer_durables_urban_pc": "services_consumer_durables_urban_pc_yuan",
    "services_consumer_durables_rural_pc": "services_consumer_durables_rural_pc_yuan",
    "pop_total": "pop_total_10k", "pop_urban": "pop_urban_10k", "pop_rural": "pop_rural_10k",
    "employment": "employment_10k", "unemployment": "unemployment_10k",
    "wage_avg": "wage_avg_yuan", "wage_resident_services": "wage_resident_services_yuan",
    "wage_health_sports_welfare": "wage_health_sports_welfare_yuan",
    "gfcf": "gfcf_100m_yuan", "capital_stock_1997p": "capital_stock_100m_yuan_1997p",
    "gdp": "gdp_100m_yuan", "cost_auto_accidents": "cost_auto_accidents_10k_yuan",
    "divorces": "divorces_couples", "cost_crime": "cost_crime_100m_yuan",
    "forest_change": "forest_change_10k_ha", "wetland_change": "wetland_change_10k_ha",
    "pop_male_15_64": "pop_male_15_64_persons", "pop_female_15_64": "pop_female_15_64_persons",
    "cost_natural_disasters": "cost_natural_disasters_100m_yuan",
    "cost_water_pollution": "cost_water_pollution_100m_yuan",
    "cost_pm10_1997p": "cost_pm10_100m_yuan_1997p",
}
for _level in ("local", "central"):
    for _item in ("education", "health", "transport"):
        _GPI_RENAME[f"pubexp_{_item}_{_level}"] = f"pubexp_{_item}_{_level}_100m_yuan"
for _area in ("urban", "rural"):
    for _item in ("education", "health", "transport"):
        _GPI_RENAME[f"privexp_{_item}_{_area}_pc"] = f"privexp_{_item}_{_area}_pc_yuan"


@dataset(
    name="provincial_gpi_panel_1985_2018",
    file="china_prov_gpi_panel_1985_2018.csv",
    description="Provincial panel 1985-2018 (31 provinces): population urban/rural, GDP, consumption, "
    "wages, public and private spending, environment, energy, prices (GPI raw inputs)",
    source="Ji, Long, Wu, Su, Luo & Costanza, 'A new index reveals declining welfare diversity in China' "
    "(replication data), github xxyyluo/WD @ 3814111",
    licence="none stated (academic replication data; cite the paper)",
    units={"*_10k": "10,000 persons", "*_100m_yuan": "100 million yuan, current prices unless _1997p",
           "*_pc_yuan": "yuan per person", "*_10kt": "10,000 tonnes", "*_t": "tonnes",
           "cpi_1997eq1": "index, 1997 = 1"},
    notes="The authors interpolated/imputed some values (early population differs from official year-end "
    "figures); central expenditure ends 2016; SO2/dust end ~2016. Provincial disposable income is NOT "
    "in this panel. See provincial_gpi_panel_columns for the source unit of every column.",
)
def provincial_gpi_panel_1985_2018(*, backend: str = "pandas"):
    """Provincial GPI input panel 1985-2018 (long: adcode x year), columns renamed with their units."""
    info = provincial_gpi_panel_1985_2018.info
    raw = read_csv(info)
    frame = raw.rename(columns={"province": "province_en", **_GPI_RENAME})
    frame.insert(0, "adcode", province_adcode(frame["province_en"]))
    return finish(_with_region(frame), info, backend)


@dataset(
    name="provincial_gpi_panel_columns",
    file="china_prov_gpi_panel_1985_2018_columns.csv",
    description="Column dictionary of the provincial GPI panel (source sheet and unit row of every column)",
    source="github xxyyluo/WD @ 3814111 (sheet names and unit rows of the source workbook)",
    licence="none stated (academic replication data; cite the paper)",
    units={"unit": "the unit of each panel column, as written in the source sheet's unit row"},
)
def provincial_gpi_panel_columns(*, backend: str = "pandas"):
    """Column dictionary: column (as returned by the panel loader), source_column, source_sheet, unit."""
    info = provincial_gpi_panel_columns.info
    raw = read_csv(info)
    frame = pd.DataFrame({
        "column": raw["column"].map(lambda c: _GPI_RENAME.get(c, c)),
        "source_column": raw["column"],
        "source_sheet": raw["source_sheet"].str.strip(),
        "unit": raw["block_header_unit"],
    })
    return finish(frame, info, backend)
