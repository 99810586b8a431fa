"""Reconcile a population with the national household survey before simulating.

The synthetic population (:mod:`prosperity.synth`) is built from the *provincial* income tables, whose
population-weighted means lie 5-6 % below the *national* household survey (NBS publishes both; they
come from different aggregations), and its urban share is the residence-based urbanisation rate (67 %
in 2024) while the survey's own urban/rural split implies a lower share. A microsimulation baseline
must reproduce the survey it is validated against, so, as net-income models calibrate their input data
to published totals (EUROMOD's and PolicyEngine's practice), :func:`reconcile_to_survey` makes two
adjustments, each written down and reported:

1. **Urban share of persons.** The survey's national mean is a person-weighted mix of its urban and rural
   means: mean = s * urban + (1 - s) * rural, so s* = (mean - rural) / (urban - rural) (2024:
   (41,314 - 23,119) / (54,188 - 23,119) = 0.5856). Urban persons' weights are multiplied by s*/s and
   rural ones' by (1 - s*)/(1 - s): total persons unchanged, provinces' relative sizes within an area
   unchanged.
2. **Quintile means within each area.** Households of an area ranked by per-capita disposable income
   and cut into five groups of equal household weight (NBS's quintiles are 20 % of households, see
   :func:`prosperity.synth.check.household_group_means`) are moved by one increasing piecewise-linear
   map T with knots at the four cut incomes, chosen so that every group's person-weighted mean equals
   the published one: within group k, T(y) = t_{k-1} + (t_k - t_{k-1}) r with r = (y - c_{k-1}) /
   (c_k - c_{k-1}), so the group mean is t_{k-1} (1 - rho_k) + t_k rho_k (rho_k the mean of r) and the
   knots follow one by one from t_0 = c_0 x (published Q1 mean / current Q1 mean). T keeps every
   household's rank. Each household's income components (wages, business, property, transfers) are
   scaled by the same factor T(y)/y, so their shares are kept.

What it cannot do: the official Gini (0.465 in 2024) is not a target. Published quintile means with
smooth distributions within groups give about 0.42; a population that matches both needs within-group
spreads the tables do not show (see docs/simulate.md, validation).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from importlib import resources

import numpy as np
import pandas as pd

from ..synth.check import household_group_means
from .population import PopulationError

COMPONENTS = ("wage_income_pc_yuan", "net_business_income_pc_yuan", "net_property_income_pc_yuan",
              "net_transfer_income_pc_yuan")
INCOME = "disp_income_pc_yuan"
_SURVEY_KEYS = {"national": "居民人均可支配收入(元)", "urban": "城镇居民人均可支配收入(元)", "rural": "农村居民人均可支配收入(元)"}


@dataclass(frozen=True)
class Reconciliation:
    """What :func:`reconcile_to_survey` changed: the urban share of persons before and after, the weight
    factors, and per area and quintile the published mean, the aim of the input (the published mean less
    what the model adds on top of observed income), the input's mean before and after; from
    :func:`reconciled_simulation` also the baseline's mean and its error (``baseline``,
    ``error_baseline``)."""

    year: int
    urban_share_before: float
    urban_share_after: float
    weight_factor_urban: float
    weight_factor_rural: float
    quintiles: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        return self.quintiles.copy()

    def __repr__(self) -> str:
        if "error_baseline" in self.quintiles:
            what, worst = "the baseline's", float(np.abs(self.quintiles["error_baseline"]).max())
        else:
            what, worst = "the input's", float(np.abs(self.quintiles["error_after"]).max())
        return (f"Reconciliation({self.year}: urban share of persons {self.urban_share_before:.4f} -> "
                f"{self.urban_share_after:.4f}; {what} 10 area quintile means matched, largest relative "
                f"error {worst:.1e})")


def survey_targets(year: int) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """The national household survey's means (national, urban, rural) and household quintile means
    (urban, rural) of ``year`` from the bundled NBS files."""
    data = resources.files("prosperity") / "data"
    long = pd.read_csv(data / "china_nbs_national_household_survey_2015_2024_long.csv")
    long = long[long["year"] == year].set_index("indicator_zh")["value"]
    q = pd.read_csv(data / "china_income_quintiles_2015_2024_nbs.csv")
    q = q[q["year"] == year]
    means = {area: float(long[key]) for area, key in _SURVEY_KEYS.items() if key in long.index}
    quintiles = {area: q[q["area"] == area].sort_values("quintile")["disp_income_pc_yuan"].to_numpy(float)
                 for area in ("urban", "rural")}
    missing = [a for a in _SURVEY_KEYS if a not in means] + [a for a, v in quintiles.items() if len(v) != 5]
    if missing:
        raise PopulationError(f"the bundled NBS survey tables have no {year} figures for {', '.join(missing)} "
                              "(bundled years: 2015-2024); reconcile with another year or pass reconcile=None")
    return means, quintiles


def _monotone_map(y: np.ndarray, size: np.ndarray, w: np.ndarray, target: np.ndarray) -> np.ndarray:
    """T(y) of the module docstring for one area's households (per-capita incomes ``y``, sizes, household
    weights); returns T(y) in the input order."""
    order = np.argsort(y, kind="stable")
    ys, ss, ws = y[order], size[order], w[order]
    cum = np.cumsum(ws)
    mid = (cum - ws / 2) / cum[-1]
    group = np.minimum((mid * 5).astype(np.int64), 4)  # the group holding the household's midpoint
    cuts = np.empty(6)
    cuts[0], cuts[5] = ys[0], ys[-1]
    for k in range(1, 5):
        below, above = ys[group == k - 1], ys[group == k]
        cuts[k] = 0.5 * (below[-1] + above[0])  # between the groups' neighbouring households
    pw = ss * ws
    rho = np.empty(5)
    for k in range(5):
        m = group == k
        width = cuts[k + 1] - cuts[k]
        r = (ys[m] - cuts[k]) / width if width > 0 else np.full(int(m.sum()), 0.5)
        rho[k] = float(np.dot(pw[m], r) / pw[m].sum())
    current = np.array([np.dot(pw[group == k], ys[group == k]) / pw[group == k].sum() for k in range(5)])
    t = np.empty(6)
    t[0] = cuts[0] * target[0] / current[0]
    for k in range(5):
        t[k + 1] = (target[k] - t[k] * (1.0 - rho[k])) / rho[k]
    if not np.all(np.diff(t) > 0):
        raise PopulationError(f"cannot match the quintile means {target.tolist()} with an increasing map of this "
                              f"population's incomes (knots {np.round(t, 1).tolist()}); use more persons")
    out = np.empty_like(y)
    out[order] = np.interp(ys, cuts, t)
    return out


def reconcile_to_survey(frame: pd.DataFrame, year: int, *, iterations: int = 3,
                        offsets: dict | None = None) -> tuple[pd.DataFrame, Reconciliation]:
    """A copy of the person-level population ``frame`` reconciled with the national household survey of
    ``year`` (see the module docstring), and what changed. ``frame`` has the columns of
    :func:`prosperity.synth.synthesize_population` (``level='person'``). ``offsets``: per area, five
    amounts subtracted from the published quintile means before matching (what the model adds on top
    of observed income, see :func:`reconciled_simulation`)."""
    need = ("household_id", "area", "weight", INCOME) + COMPONENTS
    missing = [c for c in need if c not in frame.columns]
    if missing:
        raise PopulationError(f"reconcile_to_survey needs column(s) {', '.join(missing)} (a person-level population)")
    means, quintiles = survey_targets(int(year))
    df = frame.copy()
    first = ~df["household_id"].duplicated()
    hh = df.loc[first, ["household_id", "area", "weight", INCOME]].set_index("household_id")
    hh["size"] = df.groupby("household_id", sort=False).size().reindex(hh.index).to_numpy(float)
    urban = (hh["area"].astype(str).str.lower() == "urban").to_numpy()
    persons = hh["weight"].to_numpy(float) * hh["size"].to_numpy(float)
    share = float(persons[urban].sum() / persons.sum())
    target_share = (means["national"] - means["rural"]) / (means["urban"] - means["rural"])
    if not (0 < share < 1 and 0 < target_share < 1):
        raise PopulationError(f"urban share of persons {share:.4f} or the survey's {target_share:.4f} is not strictly "
                              "between 0 and 1: the population needs urban and rural households")
    f_u, f_r = target_share / share, (1 - target_share) / (1 - share)
    w = hh["weight"].to_numpy(float) * np.where(urban, f_u, f_r)
    y0 = hh[INCOME].to_numpy(float)
    y = y0.copy()
    size = hh["size"].to_numpy(float)
    rows = []
    for area, mask in (("urban", urban), ("rural", ~urban)):
        before = household_group_means(y0[mask], size[mask], w[mask])
        aim = quintiles[area] - (np.asarray(offsets[area], float) if offsets else 0.0)
        goal = aim.copy()
        for _ in range(iterations):
            # the map assigns a straddling household to the group of its midpoint, NBS's groups split it:
            # correct the knots' targets by what remains (converges in 2-3 passes to ~1e-9)
            ya = _monotone_map(y0[mask], size[mask], w[mask], goal)
            goal = goal + (aim - household_group_means(ya, size[mask], w[mask]))
        y[mask] = ya
        after = household_group_means(ya, size[mask], w[mask])
        for k in range(5):
            rows.append((area, k + 1, quintiles[area][k], aim[k], before[k], after[k]))
    factor = np.where(y0 != 0, y / np.where(y0 != 0, y0, 1.0), 1.0)
    per_person = pd.Series(factor, index=hh.index).reindex(df["household_id"]).to_numpy()
    w_person = pd.Series(w, index=hh.index).reindex(df["household_id"]).to_numpy()
    for c in COMPONENTS + (INCOME,):
        df[c] = df[c].to_numpy(float) * per_person
    df["weight"] = w_person
    table = pd.DataFrame(rows, columns=["area", "quintile", "published", "aim", "before", "after"])
    table["error_before"] = table["before"] / table["published"] - 1  # the input as given
    table["error_after"] = table["after"] / table["aim"] - 1  # the reconciled input against its aim
    df.attrs = dict(frame.attrs) | {"reconciled_to_survey": int(year)}
    return df, Reconciliation(int(year), share, target_share, f_u, f_r, table)


def reconciled_simulation(frame: pd.DataFrame, year: int, *, passes: int = 4, **simulation_options):
    """A :class:`~prosperity.simulate.Simulation` whose *baseline* disposable income matches the survey's
    area quintile means, and the :class:`Reconciliation` of its input.

    The baseline adds the simulated dibao to observed income (net-to-gross assumption 6 in
    docs/simulate.md): it lifts the bottom quintiles above the published means (rural Q1 +16 % in 2024
    when the input alone is matched). So the published means are the targets of the *baseline*: each pass
    builds the simulation, measures by how much its baseline quintile means exceed the published ones,
    and matches the input to the published means minus that excess (a fixed point; 4 passes leave
    < 1e-4 relative)."""
    from .engine import Simulation

    offsets = None
    for _ in range(passes):
        reconciled, rec = reconcile_to_survey(frame, year, offsets=offsets)
        sim = Simulation(reconciled, year, **simulation_options)
        pop, base = sim.population, sim.baseline
        _, quintiles = survey_targets(int(year))
        new, achieved_by = {}, {}
        for area, urban in (("urban", True), ("rural", False)):
            m = pop.urban == urban
            achieved_by[area] = household_group_means(base["disposable_pc"][m], pop.size[m], pop.household_weight[m])
            new[area] = (np.asarray(offsets[area]) if offsets else 0.0) + (achieved_by[area] - quintiles[area])
        offsets = new
    table = rec.quintiles.copy()
    table["baseline"] = [achieved_by[a][k] for a, k in zip(table["area"], table["quintile"] - 1)]
    table["error_baseline"] = table["baseline"] / table["published"] - 1
    return sim, replace(rec, quintiles=table)
