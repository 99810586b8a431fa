"""Generates the China example of docs/index.md: 31 provinces, 1997-2018 (the years of the bundled
GPI panel in which all 31 provinces exist: Chongqing became a province in 1997).

    python docs/scripts/china_index.py > /tmp/china_index.txt
"""

import warnings

import pandas as pd

from prosperity.index import build_index, dimension_obstacles, leave_one_out, sobol_indices, uncertainty
from prosperity.index.china import china_provincial_panel

pd.set_option("display.width", 120)
warnings.simplefilter("ignore")

panel = china_provincial_panel(1997, 2018)
res = build_index(panel, "affluence_sharing", region="province", year="year", imputation="linear,mean")
print(res.framework.describe())
print("\nsteps:")
for s in res.steps:
    print(" ", s)
print("\nweights (within dimension, effective):")
print(res.weights[["dimension", "direction", "within_group", "effective"]].round(4).to_string())

alts = dict(normalisations=["minmax", "zscore", "rank"], weightings=["entropy", "critic", "equal"],
            aggregations=["arithmetic", "geometric", "topsis"], weight_noise=0.25, exclude_one=True)
ua = uncertainty(res, 5000, seed=2024, **alts)
frame = res.to_frame().merge(ua.summary[["region", "year", "median_rank", "rank_q05", "rank_q95"]],
                             on=["region", "year"])
for y in (1997, 2018):
    print(f"\nscores and ranks {y} (rank interval: 5-95 % over 5000 Monte Carlo draws):")
    t = frame[frame.year == y].sort_values("rank")
    cols = ["region", "score", "rank", "median_rank", "rank_q05", "rank_q95", "affluence", "sharing",
            "income_gap", "urban_rural", "public_services"]
    print(t[cols].round(3).to_string(index=False))

print("\ncoupling coordination affluence x sharing (standard C, D = sqrt(C T)), 2018:")
cc = res.coupling[res.coupling.year == 2018].sort_values("D", ascending=False)
print(cc[["region", "C", "T", "D", "level", "level_en", "E"]].round(3).to_string(index=False))
print("\ncoupling level counts by year:")
print(pd.crosstab(res.coupling.year, res.coupling.level_en).loc[[1997, 2002, 2007, 2012, 2018]].to_string())

print("\nobstacle degree by dimension, 2018 (share of the gap to the best, %):")
ob = dimension_obstacles(res)
print((ob[ob.year == 2018].set_index("region")[["affluence", "sharing"]] * 100).round(1)
      .sort_values("affluence", ascending=False).head(8).to_string())

print("\neffective weights measured on the result:")
print(res.influence.round(3).to_string())

sa = sobol_indices(res, 1000, seed=2024, n_boot=200, **alts)
print("\nSobol indices of y = mean |rank - nominal rank| (N = 1000):")
print(sa.indices.round(3).to_string())
print("\nleave one indicator out:")
print(leave_one_out(res).round(3).sort_values("mean_abs_rank_change", ascending=False).to_string())

print("\nnational mean score by year (pooled panel: comparable across years):")
print(res.scores.groupby("year").score.mean().round(3).loc[[1997, 2000, 2005, 2010, 2015, 2018]].to_string())

z = build_index(china_provincial_panel(2016, 2023), "zhejiang_2025", region="province", year="year")
print("\nZhejiang 2025 targets, realisation degree (实现程度) 2023, top 8:")
zt = z.to_frame()
print(zt[zt.year == 2023].sort_values("rank").head(8)[["region", "score", "rank", "economy", "income"]]
      .round(3).to_string(index=False))
print("Zhejiang over time:")
print(zt[zt.region == "Zhejiang"][["year", "score", "economy", "income", "gaps", "public_services"]].round(3)
      .to_string(index=False))
