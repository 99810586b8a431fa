"""Worked example for docs/dynamics.md: China's regional gap 1985-2018 and 2016-2024.

Run:  python docs/scripts/china_dynamics.py  (prints the tables pasted into docs/dynamics.md)

Data (bundled, see src/prosperity/data/SOURCES.md):
- provincial GPI input panel 1985-2018: GDP (100 million yuan, current prices), year-end population
  (10k persons; partly imputed by the panel's authors), price index (1997 = 1; one national series
  repeated for every province, with three entry errors that the script reports and overrides).
  There is no provincial disposable income in this panel, so the long-run variable is real GDP per
  capita at 1997 prices: gdp * 1e4 / population / cpi_1997eq1 (yuan per person).
- NBS provincial per-capita disposable income 2016-2024 (all residents, current yuan) and the 2024
  year-end population (used as constant weights).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from prosperity.datasets import load_dataset
from prosperity.dynamics import (
    RegionPanel,
    SpatialWeights,
    beta_convergence,
    china_province_weights,
    convergence_clubs,
    density_path,
    growth_incidence,
    poverty_change_decomposition,
    markov,
    panel_beta_convergence,
    rank_mobility,
    sigma_convergence,
    spatial_markov,
)

pd.set_option("display.width", 160)
pd.set_option("display.max_columns", 20)


def long_run_panel() -> RegionPanel:
    gpi = load_dataset("provincial_gpi_panel_1985_2018")
    df = gpi[["province_en", "year", "gdp_100m_yuan", "pop_total_10k", "cpi_1997eq1"]].copy()
    # The panel's price index is one national series repeated for every province, except three
    # entries that differ from the year's common value (entry errors: a 100x or 2-6x jump for one
    # province and year). Deflate by the common (median) value and show the entries overridden.
    national = df.groupby("year")["cpi_1997eq1"].transform("median")
    odd = df[(df["cpi_1997eq1"] - national).abs() > 1e-9]
    for _, r in odd.iterrows():
        print(f"price index entry {r['province_en']} {r['year']}: {r['cpi_1997eq1']:.6g} "
              f"(national value that year {national[r.name]:.6g}) -> national value used")
    df["real_gdp"] = df["gdp_100m_yuan"] / national  # 100 million yuan at 1997 prices
    # Chongqing was part of Sichuan until 1997: keep one "Sichuan (incl. Chongqing)" unit throughout
    df["unit"] = df["province_en"].replace({"Chongqing": "Sichuan"})
    df = df.dropna(subset=["real_gdp", "pop_total_10k"])
    agg = df.groupby(["unit", "year"], as_index=False)[["real_gdp", "pop_total_10k"]].sum()
    agg["gdp_pc_1997_yuan"] = agg["real_gdp"] * 1e4 / agg["pop_total_10k"]
    # Hainan became a province in 1988 and has no 1985-1987 values: dropped explicitly (note kept)
    return RegionPanel.from_long(agg, region="unit", time="year", value="gdp_pc_1997_yuan", weight="pop_total_10k",
                                 incomplete="drop")


def merged_weights(regions) -> SpatialWeights:
    """Queen contiguity from the bundled boundaries, with Chongqing's borders given to Sichuan."""
    w = china_province_weights()
    nb = {}
    for r in regions:
        own = set(w.neighbors[r]) | (set(w.neighbors["Chongqing"]) if r == "Sichuan" else set())
        own = {"Sichuan" if j == "Chongqing" else j for j in own} - {r}
        nb[r] = tuple(j for j in regions if j in own)
    return SpatialWeights.from_neighbors(nb, ids=regions)


def section(title: str) -> None:
    print(f"\n### {title}\n")


def main() -> None:
    panel = long_run_panel()
    print(repr(panel))

    section("sigma-convergence, real GDP per capita 1985-2018")
    sig = sigma_convergence(panel)
    print(sig.series.loc[[1985, 1990, 1995, 2000, 2005, 2010, 2015, 2018]].round(4).to_string())
    print()
    print(sig.trend.round(6).to_string())
    for a, b in [(1985, 1990), (1990, 2003), (2003, 2018)]:
        sub = sigma_convergence(panel.select(times=range(a, b + 1)), ["sd_log", "cv_weighted"])
        t = sub.trend
        print(f"{a}-{b}: sd_log slope {t.loc['sd_log', 'slope']:+.5f} (p {t.loc['sd_log', 'p_value']:.3g}); "
              f"cv_weighted slope {t.loc['cv_weighted', 'slope']:+.5f} (p {t.loc['cv_weighted', 'p_value']:.3g})")

    section("beta-convergence")
    print(beta_convergence(panel))
    print(beta_convergence(panel, start=2003, end=2018))
    for eff in ("time", "region", "twoway"):
        print(panel_beta_convergence(panel, span=5, effects=eff))

    section("Markov chain of relative GDP per capita (per-year quintiles, annual transitions)")
    m = markov(panel, 5)
    print(m)
    print(m.summary_frame().round(4).to_string(index=False))
    fixed = markov(panel, cutoffs=[0.6, 0.8, 1.0, 1.5])
    print("\nfixed relative-income classes (cut-offs 0.6, 0.8, 1.0, 1.5 x national mean):")
    print(fixed)

    section("spatial Markov (queen contiguity, Hainan excluded, k = m = 3 pooled classes)")
    w = merged_weights(panel.regions)
    print(w)
    sm = spatial_markov(panel, w, k=3, m=3)
    print(sm)
    print("ergodic by lag class:\n", pd.DataFrame(sm.ergodic, index=sm.lag_labels, columns=sm.labels).round(4).to_string())

    section("rank mobility (Kendall tau vs 1985; spatial tau on neighbour pairs)")
    rm = rank_mobility(panel, w, pairs="first", permutations=999, rng=20240501)
    print(rm.table.set_index("time_to").loc[[1990, 2000, 2010, 2018],
                                               ["tau", "tau_spatial", "tau_spatial_p_value"]].round(4).to_string())

    section("kernel density of relative GDP per capita (Gaussian, Silverman bandwidth)")
    dp = density_path(panel, times=[1985, 2000, 2018], points=512)
    print(dp)
    print(dp.peaks().round(3).to_string(index=False))

    section("club convergence (Phillips-Sul; log real GDP per capita, HP filter lambda = 400)")
    clubs = convergence_clubs(panel)
    print(clubs)

    section("2016-2024: per-capita disposable income (NBS), 31 provinces")
    inc = load_dataset("provincial_income_consumption_2016_2024")
    pop = load_dataset("provincial_population_2024")[["province_en", "pop_total_10k"]]
    inc = inc.merge(pop, on="province_en", how="left", validate="many_to_one")
    p2 = RegionPanel.from_long(inc, region="province_en", time="year", value="disp_income_pc_yuan", weight="pop_total_10k")
    print(repr(p2))
    s2 = sigma_convergence(p2)
    print(s2.series.round(4).to_string())
    print()
    print(s2.trend[["slope", "se", "p_value"]].round(6).to_string())
    print(beta_convergence(p2))
    m2 = markov(p2, 4)
    print(m2)
    top = p2.values[:, -1] / p2.values[:, 0]
    print("income ratio highest / lowest province: "
          f"{p2.values[:, 0].max() / p2.values[:, 0].min():.3f} (2016) -> {p2.values[:, -1].max() / p2.values[:, -1].min():.3f} (2024)")
    print(f"nominal growth 2016-2024, province range: {top.min() ** (1 / 8) - 1:.4f} .. {top.max() ** (1 / 8) - 1:.4f} per year")
    gic = growth_incidence((p2.values[:, 0], p2.weights[:, 0]), (p2.values[:, -1], p2.weights[:, -1]),
                           years=8, percentiles=np.arange(0.1, 1.0, 0.1))
    print("\ngrowth incidence across the population-weighted distribution of province means, per year:")
    print(gic.curve.round(4).to_string(index=False))
    print(gic)

    section("growth incidence 2016-2024 from the NBS national quintile table (2016 prices)")
    from prosperity.grouped import GroupedTable, fit_grouped

    quint = load_dataset("nbs_income_quintiles")
    quint = quint[quint["area"] == "national"]
    cpi = load_dataset("cpi_national").set_index("year")["cpi_all_2016_eq_100"]

    def fitted(year):
        means = quint[quint["year"] == year].sort_values("quintile")["disp_income_pc_yuan"].to_numpy() * 100 / cpi[year]
        return fit_grouped(GroupedTable.from_arrays([0.2] * 5, mean=means, unit="household"), "gpinter")

    f16, f24 = fitted(2016), fitted(2024)
    line = 10_000.0  # yuan per person per year at 2016 prices (illustrative)
    g = growth_incidence(f16, f24, years=8, line=line)
    print(g.curve.iloc[[0, 9, 19, 39, 49, 59, 79, 89, 98]].round(4).to_string(index=False))
    print(g)
    print(poverty_change_decomposition(f16, f24, line))
    print(poverty_change_decomposition(f16, f24, line, method="datt-ravallion"))


if __name__ == "__main__":
    main()
