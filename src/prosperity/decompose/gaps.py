"""The three gaps of common prosperity, by year: regional, urban-rural, rich-poor.

Regional (units = provinces; ``mean`` income per head, ``population``):
    cv                 standard deviation / mean of the unit means (unweighted, ddof = 0)
    cv_weighted        population-weighted CV (Williamson 1965)
    theil_between      Theil T between units, population-weighted: sum_i s_i log(mu_i / mu)
    max_min_ratio      highest / lowest unit mean
    poorest_to_mean    population-weighted mean of the ``poorest`` units with the lowest means / overall mean
Urban-rural (national means per head):
    urban_rural_income_ratio, urban_rural_consumption_ratio,
    urban_share_implied  urban population share implied by mu = u mu_U + (1 - u) mu_R,
    theil_urban_rural    Theil T between the urban and the rural population (their means only).
    theil_total_mixture  Theil T of the national distribution rebuilt as the population-weighted
                         mixture of the urban and rural distributions fitted to their quintile
                         tables (prosperity.grouped, person-share corrected); by the exact
                         decomposition T = s_U T_U + s_R T_R + T_between (s = income shares).
    urban_rural_share_of_theil   theil_urban_rural / theil_total_mixture.
    urban_rural_to_province_theil  theil_urban_rural / theil_between (provinces; years with both).
Rich-poor (quintile table: mean income per head of each fifth):
    s80_s20 (= Q5/Q1 for equal-sized groups), q4_q2, q5_q3,
    middle_share       income share of the middle three fifths (Q2-Q4),
    gini_quintiles     Gini of the five-point Lorenz curve (a lower bound: no inequality inside a fifth),
    gini_official      the published Gini, when given.

Targets are data: ``{"urban_rural_income_ratio": ("<", 1.9)}``; each row gets ``target``,
``distance`` (value - target) and ``met``. The defaults are *illustrative* (from the project's brief),
not official targets: pass your own.

NBS quintiles are 20 % groups of *households*, not of persons; S80/S20 from them is the ratio of
the groups' per-capita means (see the grouped-data notes).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT_TARGETS: dict[str, tuple[str, float]] = {"urban_rural_income_ratio": ("<", 1.9)}

GAP_OF = {
    "cv": "regional", "cv_weighted": "regional", "theil_between": "regional", "max_min_ratio": "regional",
    "poorest_to_mean": "regional", "urban_rural_income_ratio": "urban_rural",
    "urban_rural_consumption_ratio": "urban_rural", "urban_share_implied": "urban_rural",
    "theil_urban_rural": "urban_rural", "theil_total_mixture": "urban_rural",
    "urban_rural_share_of_theil": "urban_rural", "urban_rural_to_province_theil": "urban_rural", "s80_s20": "rich_poor", "q4_q2": "rich_poor", "q5_q3": "rich_poor",
    "middle_share": "rich_poor", "gini_quintiles": "rich_poor", "gini_official": "rich_poor",
}


@dataclass(frozen=True, eq=False)
class GapsTable:
    """Long table: year, gap, indicator, value, target, distance, met."""

    frame: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        return self.frame.copy()

    def wide(self) -> pd.DataFrame:
        """Years in rows, indicators in columns."""
        return self.frame.pivot(index="year", columns="indicator", values="value")[
            [c for c in GAP_OF if c in set(self.frame.indicator)]]

    def __repr__(self) -> str:
        years = sorted(self.frame.year.unique())
        return f"GapsTable({len(self.frame)} rows, years {years[0]}-{years[-1]}, indicators {self.frame.indicator.nunique()})"


def parse_targets(items) -> dict[str, tuple[str, float]]:
    """``["urban_rural_income_ratio<1.9", "s80_s20<5"]`` -> targets dict."""
    out = {}
    for item in items:
        for op in ("<", ">"):
            if op in item:
                name, value = item.split(op, 1)
                try:
                    out[name.strip()] = (op, float(value))
                except ValueError:
                    raise ValueError(f"target {item!r}: {value.strip()!r} is not a number; write e.g. "
                                     f"{name.strip()}{op}1.9") from None
                break
        else:
            raise ValueError(f"target {item!r} must look like indicator<value or indicator>value")
    return out


def regional_gap(mean, population, poorest: int = 5) -> dict[str, float]:
    mu_i = np.asarray(mean, float)
    pop = np.asarray(population, float)
    if mu_i.size == 0 or (mu_i <= 0).any() or (pop <= 0).any():
        raise ValueError("regional gap: every unit needs a positive mean and population")
    p = pop / pop.sum()
    mu = float(np.dot(p, mu_i))
    s = p * mu_i / mu
    low = np.argsort(mu_i)[:poorest]
    return {
        "cv": float(mu_i.std() / mu_i.mean()),
        "cv_weighted": float(np.sqrt(np.dot(p, (mu_i - mu) ** 2)) / mu),
        "theil_between": float(np.dot(s, np.log(mu_i / mu))),
        "max_min_ratio": float(mu_i.max() / mu_i.min()),
        "poorest_to_mean": float(np.dot(pop[low], mu_i[low]) / pop[low].sum() / mu),
    }


def urban_rural_gap(urban_income, rural_income, national_income=None, urban_consumption=None,
                    rural_consumption=None, urban_share=None, urban_quintiles=None,
                    rural_quintiles=None) -> dict[str, float]:
    out = {"urban_rural_income_ratio": urban_income / rural_income}
    if urban_consumption is not None and rural_consumption is not None:
        out["urban_rural_consumption_ratio"] = urban_consumption / rural_consumption
    if urban_share is None and national_income is not None:
        urban_share = (national_income - rural_income) / (urban_income - rural_income)
        out["urban_share_implied"] = urban_share
    if urban_share is not None:
        u = float(urban_share)
        mu = u * urban_income + (1 - u) * rural_income
        out["theil_urban_rural"] = (u * urban_income / mu) * np.log(urban_income / mu) + (
            (1 - u) * rural_income / mu) * np.log(rural_income / mu)
        if urban_quintiles is not None and rural_quintiles is not None:
            within = {area: quintile_table_theil(q, m) for area, q, m in (
                ("urban", urban_quintiles, urban_income), ("rural", rural_quintiles, rural_income))}
            s_urban = u * urban_income / mu
            total = s_urban * within["urban"] + (1 - s_urban) * within["rural"] + out["theil_urban_rural"]
            out["theil_total_mixture"] = total
            out["urban_rural_share_of_theil"] = out["theil_urban_rural"] / total
    return {k: float(v) for k, v in out.items()}


def quintile_table_theil(quintile_means, mean: float) -> float:
    """Theil T of the distribution fitted to a household-quintile table (NBS: five groups of 20 % of
    households, per-capita group means) with ``prosperity.grouped``: person shares calibrated so the
    table reproduces the per-person ``mean``, then the automatic Lorenz-curve fit."""
    import warnings

    from prosperity.grouped import GroupedTable, calibrate_person_shares, fit_grouped
    from prosperity.grouped.distribution import theil

    table = GroupedTable.from_arrays([0.2] * 5, mean=np.asarray(quintile_means, float), unit="household")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fit diagnostics (validity notes) are not errors here
        return float(theil(fit_grouped(calibrate_person_shares(table, mean).table, "auto").distribution))


def rich_poor_gap(quintile_means, gini_official=None) -> dict[str, float]:
    q = np.asarray(quintile_means, float)
    if q.shape != (5,) or (np.diff(q) < 0).any() or (q <= 0).any():
        raise ValueError(f"rich-poor gap needs five positive, ascending quintile means, got {q.tolist()}")
    shares = q / q.sum()
    lorenz = np.concatenate(([0.0], np.cumsum(shares)))
    out = {
        "s80_s20": q[4] / q[0], "q4_q2": q[3] / q[1], "q5_q3": q[4] / q[2],
        "middle_share": shares[1:4].sum(),
        "gini_quintiles": 1.0 - 0.2 * float(np.sum(lorenz[1:] + lorenz[:-1])),
    }
    if gini_official is not None and np.isfinite(gini_official):
        out["gini_official"] = gini_official
    return {k: float(v) for k, v in out.items()}


def three_gaps(provinces: pd.DataFrame | None = None, urban_rural: pd.DataFrame | None = None,
               quintiles: pd.DataFrame | None = None, *, targets: dict | None = None, poorest: int = 5) -> GapsTable:
    """Assemble the three gaps by year.

    ``provinces``: columns year, mean, population (one row per province and year).
    ``urban_rural``: year, urban_income, rural_income and optionally national_income,
    urban_consumption, rural_consumption, urban_share, urban_q1..urban_q5 and rural_q1..rural_q5
    (quintile-group means: adds theil_total_mixture and urban_rural_share_of_theil). ``quintiles``: year, q1..q5 and optionally
    gini_official.
    """
    targets = DEFAULT_TARGETS if targets is None else targets
    rows = []

    def add(year, values: dict):
        for k, v in values.items():
            rows.append({"year": int(year), "gap": GAP_OF.get(k, "other"), "indicator": k, "value": v})

    if provinces is not None:
        for year, g in provinces.groupby("year"):
            add(year, regional_gap(g["mean"], g["population"], poorest))
    if urban_rural is not None:
        for r in urban_rural.to_dict("records"):
            uq = [r[f"urban_q{i}"] for i in range(1, 6)] if "urban_q1" in r else None
            rq = [r[f"rural_q{i}"] for i in range(1, 6)] if "rural_q1" in r else None
            add(r["year"], urban_rural_gap(r["urban_income"], r["rural_income"], r.get("national_income"),
                                           r.get("urban_consumption"), r.get("rural_consumption"), r.get("urban_share"),
                                           uq, rq))
    if quintiles is not None:
        for r in quintiles.to_dict("records"):
            add(r["year"], rich_poor_gap([r[f"q{i}"] for i in range(1, 6)], r.get("gini_official")))
    by_year: dict = {}
    for row in rows:
        by_year.setdefault(row["year"], {})[row["indicator"]] = row["value"]
    for year, values in by_year.items():
        if "theil_urban_rural" in values and values.get("theil_between"):
            add(year, {"urban_rural_to_province_theil": values["theil_urban_rural"] / values["theil_between"]})
    frame = pd.DataFrame(rows, columns=["year", "gap", "indicator", "value"])
    unknown = set(targets) - set(GAP_OF)
    if unknown:
        raise ValueError(f"targets for unknown indicators {sorted(unknown)}; known: {sorted(GAP_OF)}")
    frame["target"] = frame.indicator.map(lambda k: targets[k][1] if k in targets else np.nan)
    frame["distance"] = frame.value - frame.target
    ops = frame.indicator.map(lambda k: targets[k][0] if k in targets else None)
    frame["met"] = [None if op is None else (v < t if op == "<" else v > t)
                    for op, v, t in zip(ops, frame.value, frame.target)]
    return GapsTable(frame.sort_values(["year", "gap", "indicator"]).reset_index(drop=True))


# ------------------------------------------------------------------------------ bundled China data

_DATA = Path(__file__).resolve().parent.parent / "data"

# NBS's four economic regions (东部, 中部, 西部, 东北), by the English province names of the bundled data
CHINA_REGIONS: dict[str, str] = {
    **dict.fromkeys(["Beijing", "Tianjin", "Hebei", "Shanghai", "Jiangsu", "Zhejiang", "Fujian", "Shandong",
                     "Guangdong", "Hainan"], "East"),
    **dict.fromkeys(["Shanxi", "Anhui", "Jiangxi", "Henan", "Hubei", "Hunan"], "Central"),
    **dict.fromkeys(["Inner Mongolia", "Guangxi", "Chongqing", "Sichuan", "Guizhou", "Yunnan", "Tibet", "Shaanxi",
                     "Gansu", "Qinghai", "Ningxia", "Xinjiang"], "West"),
    **dict.fromkeys(["Liaoning", "Jilin", "Heilongjiang"], "Northeast"),
}


def china_province_panel() -> pd.DataFrame:
    """31 provinces x 2016-2024: disposable income per head (NBS) and year-end population (10k).

    Population: 2016-2018 from the provincial GPI panel (year-end), 2020 census (1 Nov), 2024 NBS
    year-end; 2019 and 2021-2023 are interpolated linearly per province (documented approximation).
    """
    inc = pd.read_csv(_DATA / "china_prov_income_consumption_fiscal_2016_2024_nbs.csv")
    gpi = pd.read_csv(_DATA / "china_prov_gpi_panel_1985_2018.csv", usecols=["province", "year", "pop_total"])
    gpi = gpi[gpi.year >= 2016].rename(columns={"province": "province_en", "pop_total": "pop_10k"})
    census = pd.read_csv(_DATA / "china_prov_population_census2020.csv")
    census = census.assign(year=2020, pop_10k=census.population_2020 / 1e4)[["province_en", "year", "pop_10k"]]
    p24 = pd.read_csv(_DATA / "china_prov_population_2024_nbs.csv")
    p24 = p24.rename(columns={"pop_total_10k": "pop_10k"})[["province_en", "year", "pop_10k"]]
    known = pd.concat([gpi, census, p24])
    grid = inc[["province_en", "year"]].merge(known, how="left", on=["province_en", "year"])
    grid = grid.sort_values(["province_en", "year"])
    grid["pop_10k"] = grid.groupby("province_en")["pop_10k"].transform(lambda s: s.interpolate(limit_area="inside"))
    out = inc.merge(grid, on=["province_en", "year"])
    out["region"] = out.province_en.map(CHINA_REGIONS)
    return out.rename(columns={"disp_income_pc_yuan": "mean", "pop_10k": "population"})[
        ["adcode", "region", "province_en", "year", "mean", "population", "consumption_exp_pc_yuan"]]


def china_national_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(urban_rural, quintiles) by year 2015-2024 from the bundled NBS household-survey tables."""
    long = pd.read_csv(_DATA / "china_nbs_national_household_survey_2015_2024_long.csv")
    pick = {
        "national_income": "居民人均可支配收入(元)", "urban_income": "城镇居民人均可支配收入(元)",
        "rural_income": "农村居民人均可支配收入(元)", "urban_consumption": "城镇居民人均消费支出(元)",
        "rural_consumption": "农村居民人均消费支出(元)", "gini_official": "居民人均可支配收入基尼系数",
    }
    cols = {}
    for name, ind in pick.items():
        s = long[long.indicator_zh == ind].set_index("year")["value"]
        cols[name] = s[~s.index.duplicated()]
    wide = pd.DataFrame(cols).reset_index().rename(columns={"index": "year"})
    q_all = pd.read_csv(_DATA / "china_income_quintiles_2015_2024_nbs.csv")
    for area in ("urban", "rural"):
        aq = q_all[q_all.area == area].pivot(index="year", columns="quintile", values="disp_income_pc_yuan")
        aq.columns = [f"{area}_q{c}" for c in aq.columns]
        wide = wide.merge(aq.reset_index(), on="year", how="left")
    q = q_all[q_all.area == "national"].pivot(index="year", columns="quintile", values="disp_income_pc_yuan")
    q.columns = [f"q{c}" for c in q.columns]
    quint = q.reset_index().merge(wide[["year", "gini_official"]], on="year", how="left")
    return wide.drop(columns="gini_official"), quint


def china_gaps(targets: dict | None = None, poorest: int = 5) -> GapsTable:
    """The three gaps for China from the bundled NBS data (provinces 2016-2024, national 2015-2024)."""
    panel = china_province_panel()
    ur, quint = china_national_tables()
    return three_gaps(panel, ur, quint, targets=targets, poorest=poorest)
