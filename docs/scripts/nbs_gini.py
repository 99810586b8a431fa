"""Gini of China's per-capita disposable income reconstructed from NBS quintile tables, 2015-2024.

Prints the markdown table of docs/grouped.md. Run: python docs/scripts/nbs_gini.py
Columns: trapezoid Lorenz through the five national points; GQ, Beta, gpinter, histogram and
log-normal on the national household-quintile table (20 % of households each, as published);
``auto`` after the person-share correction (shares that reproduce the per-person mean); the
urban + rural mixture (each area person-share corrected, weighted by the urban population share
implied by the three published means); the official Gini.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from prosperity.datasets.china import nbs_household_survey, nbs_official_gini
from prosperity.grouped import GroupedTable, Mixture, calibrate_person_shares, fit_grouped
from prosperity.grouped.bounds import grouped_bounds

METHODS = ("gq", "beta", "gpinter", "histogram", "lognormal")


def trapezoid_gini(means: np.ndarray) -> float:
    s = means / means.sum()
    L = np.concatenate([[0.0], np.cumsum(s)])
    P = np.linspace(0, 1, means.size + 1)
    return float(1 - np.sum((P[1:] - P[:-1]) * (L[1:] + L[:-1])))


def year_row(survey: pd.DataFrame, year: int, official: float) -> dict:
    row: dict = {"year": year, "official": official}
    area = {}
    for a in ("national", "urban", "rural"):
        r = survey[(survey.area == a) & (survey.year == year)].iloc[0]
        means = np.array([r[f"disp_income_pc_q{k}_yuan"] for k in range(1, 6)], dtype=float)
        area[a] = {"means": means, "mean": float(r["disp_income_pc_yuan"]), "median": float(r["disp_income_pc_median_yuan"])}
    nat = area["national"]
    table = GroupedTable.from_arrays([0.2] * 5, mean=nat["means"], unit="household")
    row["trapezoid"] = trapezoid_gini(nat["means"])
    for m in METHODS:
        row[m] = fit_grouped(table, m).measures()["gini"]
    b = grouped_bounds(table)
    row["bound_low"], row["bound_high"] = b.gini_low, b.gini_high
    person = calibrate_person_shares(table, nat["mean"]).table
    bp = grouped_bounds(person)
    row["person_bound_low"], row["person_bound_high"] = bp.gini_low, bp.gini_high
    fit = fit_grouped(person, "auto")
    row["person_auto"] = fit.measures()["gini"]
    row["person_auto_median"] = fit.distribution.median()
    comps = {}
    for a in ("urban", "rural"):
        t = GroupedTable.from_arrays([0.2] * 5, mean=area[a]["means"], unit="household")
        comps[a] = fit_grouped(calibrate_person_shares(t, area[a]["mean"]).table, "auto").distribution
    urban_share = (nat["mean"] - area["rural"]["mean"]) / (area["urban"]["mean"] - area["rural"]["mean"])
    mix = Mixture([comps["urban"], comps["rural"]], [urban_share, 1 - urban_share], ["urban", "rural"])
    mm = mix.measures()
    row["mixture"] = mm["gini"]
    row["urban_share"] = urban_share
    row["mixture_mean"] = mm["mean"]
    row["mixture_median"] = mm["median"]
    row["published_mean"], row["published_median"] = nat["mean"], nat["median"]
    return row


def leave_one_out_position(df: pd.DataFrame) -> pd.Series:
    """USES OFFICIAL GINIS OF OTHER YEARS: the official Gini's position inside the person-share
    bounds, lambda = (G_official - G_low) / (G_high - G_low), averaged over the other years and
    applied to this year's bounds (validated leaving each year out; the year's own official Gini
    is never used for its estimate)."""
    lam = (df["official"] - df["person_bound_low"]) / (df["person_bound_high"] - df["person_bound_low"])
    out = []
    for i in range(len(df)):
        lam_other = lam.drop(df.index[i]).mean()
        r = df.iloc[i]
        out.append(r["person_bound_low"] + lam_other * (r["person_bound_high"] - r["person_bound_low"]))
    return pd.Series(out, index=df.index, name="loo_position")


def nbs_table() -> pd.DataFrame:
    survey = nbs_household_survey(wide=True)
    official = nbs_official_gini().set_index("year")["gini"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pd.DataFrame([year_row(survey, y, float(official[y])) for y in range(2015, 2025)])


if __name__ == "__main__":
    df = nbs_table()
    cols = ["trapezoid", *METHODS, "person_auto", "mixture", "official"]
    df["loo_position"] = leave_one_out_position(df)
    print("| year | household table: bounds | person shares: bounds | tables-only estimate (mixture) | official "
          "| official - estimate | official inside the person bounds | leave-one-out position* | its error |")
    print("|---|---|---|---|---|---|---|---|---|")
    for _, r in df.iterrows():
        print(f"| {int(r.year)} | [{r.bound_low:.3f}, {r.bound_high:.3f}] | [{r.person_bound_low:.3f}, {r.person_bound_high:.3f}] "
              f"| {r.mixture:.3f} | {r.official:.3f} | {r.official - r.mixture:+.3f} | "
              f"{'yes' if r.person_bound_low <= r.official <= r.person_bound_high else 'no'} | {r.loo_position:.3f} "
              f"| {r.loo_position - r.official:+.3f} |")
    print()
    print("| year | " + " | ".join(cols) + " | urban share | median: published / mixture |")
    print("|---|" + "---|" * (len(cols) + 2))
    for _, r in df.iterrows():
        cells = " | ".join(f"{r[c]:.3f}" for c in cols)
        print(f"| {int(r.year)} | {cells} | {r.urban_share:.3f} | {r.published_median:,.0f} / {r.mixture_median:,.0f} |")
    gap = df["official"] - df["mixture"]
    print(f"\nmean gap official - mixture: {gap.mean():.3f}; official - national GQ: {(df['official'] - df['gq']).mean():.3f}")
