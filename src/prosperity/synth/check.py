"""Compare a synthetic population with the published margins it was built from."""

from __future__ import annotations

import numpy as np
import pandas as pd

from prosperity import datasets
from prosperity.measures.gini import gini

from .targets import (AGE_BANDS, AREAS, DEFAULT_HOUSEHOLD_SIZES, SOURCES, build_targets, census_2020,
                      household_size_distribution)


def household_group_means(income: np.ndarray, size: np.ndarray, weight: np.ndarray, groups: int = 5) -> np.ndarray:
    """NBS-style quintile groups: households ranked by per-capita income, cut into ``groups`` equal
    (weighted) household groups; returns each group's person-weighted mean income. A household
    straddling a cut is split between groups in proportion to its weight."""
    order = np.argsort(income, kind="stable")
    y, s, w = income[order], size[order], weight[order]
    cum = np.cumsum(w)
    total = cum[-1]
    lower = cum - w
    out = np.empty(groups)
    for k in range(groups):
        a, b = total * k / groups, total * (k + 1) / groups
        share = np.clip(np.minimum(cum, b) - np.maximum(lower, a), 0.0, None)  # household weight in group
        out[k] = np.sum(share * s * y) / np.sum(share * s)
    return out


def _households(frame: pd.DataFrame) -> pd.DataFrame:
    if "person_number" in frame.columns:
        return frame[frame["person_number"] == 1]
    return frame


def _persons_weight(frame: pd.DataFrame) -> np.ndarray:
    w = frame["weight"].to_numpy(float)
    return w if "person_number" in frame.columns else w * frame["household_size"].to_numpy(float)


def margins(frame: pd.DataFrame, year: int = 2024, *, calibrate_gini: bool | None = None,
            household_sizes=None) -> pd.DataFrame:
    """Tidy comparison of a synthetic population (person or household level) with its targets.

    Columns: margin, key, role (target: calibrated to; validation: not used in the calibration), target,
    synthetic, rel_error (synthetic / target - 1). ``calibrate_gini``: whether the official Gini was a
    target (default: read from ``frame.attrs``, else False). Margins: cell_mean and
    cell_population (62 cells), quintile_group_mean (urban/rural: targets; national: validation),
    area_mean, source_share, gini (national vs the official NBS Gini: validation),
    mean_household_size (census 2020 mean family household size; with a household-size distribution of
    your own, that distribution's mean), household_size_share (the distribution used), age_share.
    ``household_sizes``: the distribution the population was generated with, {size: share} or a Series
    (default: ``frame.attrs["household_sizes"]`` if present, else the bundled census shares).
    """
    if household_sizes is None:
        household_sizes = frame.attrs.get("household_sizes")
    sizes_used = household_size_distribution(household_sizes)
    targets = build_targets(year)
    rows: list[tuple[str, str, float, float]] = []
    hh = _households(frame)
    pw = _persons_weight(frame)
    y_person = frame["disp_income_pc_yuan"].to_numpy(float)

    keys = frame["province_en"].astype(str) + "/" + frame["area"].astype(str)
    tab = pd.DataFrame({"key": keys, "pw": pw, "py": pw * y_person}).groupby("key", sort=False)[["pw", "py"]].sum()
    for cell in targets.cells.itertuples(index=False):
        key = f"{cell.province_en}/{cell.area}"
        got = tab.loc[key] if key in tab.index else pd.Series({"pw": 0.0, "py": np.nan})
        rows.append(("cell_mean", key, cell.mean_income_pc_yuan, got["py"] / got["pw"]))
        rows.append(("cell_population", key, cell.population, got["pw"]))

    published = datasets.nbs_income_quintiles().query("year == @year")
    for area in (*AREAS, "national"):
        sub = hh if area == "national" else hh[hh["area"] == area]
        means = household_group_means(sub["disp_income_pc_yuan"].to_numpy(float),
                                      sub["household_size"].to_numpy(float), sub["weight"].to_numpy(float))
        target = published.query("area == @area").sort_values("quintile")["disp_income_pc_yuan"].to_numpy(float)
        # compare shapes: group means relative to the area mean (levels are fixed by the provincial means)
        person_sub = frame if area == "national" else frame[frame["area"] == area]
        mean = np.average(person_sub["disp_income_pc_yuan"], weights=_persons_weight(person_sub))
        survey_mean = datasets.nbs_household_survey(wide=True).set_index(["area", "year"]).loc[(area, year), "disp_income_pc_yuan"]
        rows.append(("area_mean", area, survey_mean, mean))
        for k in range(5):
            rows.append(("quintile_group_relative_mean", f"{area}/Q{k + 1}", target[k] / survey_mean, means[k] / mean))

    for area in AREAS:
        sub = frame[frame["area"] == area]
        w = _persons_weight(sub)
        total = np.sum(w * sub["disp_income_pc_yuan"].to_numpy(float))
        for source in SOURCES:
            got = np.sum(w * sub[f"{source}_income_pc_yuan"].to_numpy(float)) / total
            rows.append(("source_share", f"{area}/{source}", targets.source_shares.loc[area, source], got))

    official = datasets.nbs_official_gini().set_index("year")["gini"]
    rows.append(("gini", "national (official NBS)", official.get(year, np.nan), gini(y_person, pw)))

    mean_size = float(np.average(hh["household_size"], weights=hh["weight"]))
    if sizes_used == DEFAULT_HOUSEHOLD_SIZES:
        census = census_2020().set_index(["table", "category"])["count"]
        census_mean_size = census[("family_household_population", "total")] / census[("family_households", "total")]
        rows.append(("mean_household_size", "all (census 2020)", float(census_mean_size), mean_size))
    else:
        rows.append(("mean_household_size", "all (household_sizes given)", sizes_used.mean, mean_size))
    hh_size, hh_weight = hh["household_size"].to_numpy(), hh["weight"].to_numpy(float)
    for size, share in zip(sizes_used.sizes, sizes_used.shares):
        got = np.sum(hh_weight[hh_size == size]) / np.sum(hh_weight)
        rows.append(("household_size_share", sizes_used.label(size), share, float(got)))
    if "age" in frame.columns:
        age = frame["age"].to_numpy()
        for low, high, mass in AGE_BANDS:
            inside = (age >= low) & (age <= high)
            rows.append(("age_share", f"{low}-{high}", mass, float(np.sum(pw[inside]) / np.sum(pw))))

    if calibrate_gini is None:
        calibrate_gini = bool(frame.attrs.get("calibrate_gini", False))
    out = pd.DataFrame(rows, columns=["margin", "key", "target", "synthetic"])
    validation = out["key"].str.startswith("national/") | (out["margin"] == "area_mean")
    if not calibrate_gini:
        validation |= out["margin"] == "gini"
    out.insert(2, "role", np.where(validation, "validation", "target"))
    out["rel_error"] = out["synthetic"] / out["target"] - 1.0
    return out
