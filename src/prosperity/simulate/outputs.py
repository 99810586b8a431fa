"""What a reform does, baseline vs reform: distribution measures, deciles, winners and losers,
regions, fiscal cost, effective tax rates and the validation of the baseline.

Conventions (written in docs/simulate.md):
- incomes are household per-capita disposable income, person-weighted (weight x household size),
  not equivalised (NBS convention);
- deciles are fixed on baseline income (person-weighted), every scenario is read in them;
- relative poverty lines at 40/50/60 % of the *baseline* median are held fixed ("anchored"); the
  at-risk-of-poverty rate (ARPR) uses each scenario's own 60 % line (Eurostat);
- absolute lines: World Bank 3.65 and 6.85 dollars a day at 2017 PPP, converted with the ICP 2017
  household-consumption PPP for China (4.184 yuan per dollar, status U) and the bundled national CPI;
- middle-income group: NBS absolute band 100,000-500,000 yuan a year for a 3-person household at
  2018 prices (33,333-166,667 per capita), uprated with the national CPI; relative band 75-200 % of
  the scenario's median;
- winners and losers (PolicyEngine's five bins): change of household disposable income relative to
  baseline (|baseline| floored at 1 yuan): gain > 5 %, gain 0.1-5 %, no change within 0.1 %, loss
  0.1-5 %, loss > 5 %;
- net fiscal cost = change in total household disposable income = minus the change in the balances
  of the central and local budgets, social-insurance funds and housing-fund accounts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources

import numpy as np
import pandas as pd
import yaml

from ..measures.entropy import theil_estimate
from ..measures.estimate import SortedIncome
from ..measures.gini import gini_sorted
from ..measures.middle import middle_absolute_sorted, middle_relative_sorted
from ..measures.poverty import arpr_sorted, fgt_sorted
from ..measures.quantiles import quantile_sorted
from ..measures.shares import qsr_estimate
from ..synth.check import household_group_means
from .population import PROVINCES

PPP_2017 = 4.184  # yuan per international dollar, ICP 2017 household consumption, China [U]
WB_LINES = (3.65, 6.85)
BINS = ("gain_more_5pct", "gain_less_5pct", "no_change", "lose_less_5pct", "lose_more_5pct")
METR_STEP = 100.0  # yuan a year added to the primary earner's wage
FISCAL_ITEMS = (("iit", "revenue", "central 60 % / local 40 %"), ("si_employee", "revenue", "social-insurance funds"),
                ("housing_fund", "revenue", "housing-fund accounts"), ("levy", "revenue", "central"),
                ("resident_pension", "spending", "central (national minimum; 50 % in the east) / local (top-ups)"),
                ("childcare_subsidy", "spending", "central"), ("dibao", "spending", "local"),
                ("east_west_transfer", "spending", "central"),
                ("ecological_compensation", "spending", "local (donor provinces)"))
BALANCES = (("central", "central"), ("local", "local"), ("social_insurance_funds", "social_insurance_funds"),
            ("housing_fund_accounts", "housing_fund_accounts"))
TAXES = ("iit", "si_employee", "housing_fund", "levy")
BENEFITS = ("resident_pension", "dibao", "childcare_subsidy", "east_west_transfer", "ecological_compensation")


def _cpi_factor(from_year: int, to_year: int) -> float:
    cpi = pd.read_csv(resources.files("prosperity") / "data" / "china_cpi_national_2016_2025_nbs.csv").set_index("year")
    idx = cpi["cpi_all_prev_year_eq_100"] / 100.0
    f = 1.0
    for y in range(from_year + 1, to_year + 1):
        if y not in idx.index:
            raise ValueError(f"CPI for {y} is not bundled (2016-2025): cannot uprate {from_year} prices to {to_year}")
        f *= float(idx.loc[y])
    return f


RELATIVE_LINES = (0.4, 0.5, 0.6)  # fractions of the baseline median, held fixed in every scenario


def scenario_lines(year: int, base_median: float) -> tuple[dict[str, float], tuple[float, float]]:
    """The poverty lines of every scenario (World Bank 3.65 and 6.85 dollars a day at 2017 PPP uprated
    with the CPI; 40/50/60 % of the baseline median) and the NBS absolute middle-income band uprated
    from 2018 prices."""
    cpi = _cpi_factor(2017, year) if year >= 2017 else 1.0
    lines = {f"wb{str(x).replace('.', '')}": x * 365 * PPP_2017 * cpi for x in WB_LINES}
    lines.update({f"rel{int(f * 100)}": f * base_median for f in RELATIVE_LINES})
    f18 = _cpi_factor(2018, year) if year >= 2018 else 1.0
    return lines, (100_000 / 3 * f18, 500_000 / 3 * f18)


def _sorted_from(y, w, start_order=None) -> SortedIncome:
    """``y`` sorted with its weights. With ``start_order`` (the baseline's order), the values are first
    put in that order, where a reform leaves them nearly sorted, and then sorted stably (timsort runs
    through the sorted stretches in linear time): the same sorted incomes as a fresh sort, ties kept
    in the baseline's order."""
    if start_order is None:
        return SortedIncome.from_arrays(y, w)
    y = np.asarray(y, dtype=np.float64)
    near = y[start_order]
    inner = np.argsort(near, kind="stable")
    order = start_order[inner]
    ws = w[order]
    return SortedIncome(near[inner], ws, np.cumsum(ws), order)


def _sorted_subset(s: SortedIncome, mask: np.ndarray) -> SortedIncome:
    """The observations of ``s`` with ``mask`` (in input order) true, still sorted (no new sort)."""
    keep = mask[s.order]
    ws = s.w[keep]
    position_in_subset = np.cumsum(mask) - 1
    return SortedIncome(s.y[keep], ws, np.cumsum(ws), position_in_subset[s.order[keep]])


def _measures(y_pc, pw, lines, nbs_band, base_median, start_order=None) -> dict:
    s = _sorted_from(y_pc, pw, start_order)
    out = {"mean_income_pc": float(np.dot(s.y, s.w) / s.total), "median_income_pc": quantile_sorted(s, 0.5),
           "gini": gini_sorted(s, influence=False).value}
    try:
        out["theil"] = theil_estimate(y_pc, pw, influence=False).value
    except ValueError:
        out["theil"] = float("nan")  # negative incomes: the Theil index is not defined
    out["s80_s20"] = qsr_estimate(s, influence=False).value
    for name, z in lines.items():
        out[f"poverty_headcount_{name}"] = fgt_sorted(s, z, 0.0, influence=False).value
        out[f"poverty_gap_{name}"] = fgt_sorted(s, z, 1.0, influence=False).value
    out["arpr_60pct_own_median"] = arpr_sorted(s, influence=False).value
    out["middle_income_share_nbs_absolute"] = middle_absolute_sorted(s, influence=False, lower=nbs_band[0],
                                                                     upper=nbs_band[1]).value
    out["middle_income_share_relative_75_200"] = middle_relative_sorted(s, influence=False).value
    return out, s


def _bins(change, base) -> np.ndarray:
    rel = change / np.maximum(np.abs(base), 1.0)
    return np.select([rel > 0.05, rel >= 0.001, rel > -0.001, rel > -0.05], [0, 1, 2, 3], 4)


def _wsum(w, x, groups, n):
    return np.bincount(groups, weights=w * x, minlength=n)


@dataclass(frozen=True)
class SimulationResult:
    """Baseline vs reform. Every table is a tidy frame; ``to_json()`` is the CLI's JSON contract."""

    year: int
    reform_name: str
    reform_changes: tuple
    summary: pd.DataFrame
    deciles: pd.DataFrame
    winners_losers: pd.DataFrame
    by_area: pd.DataFrame
    by_province: pd.DataFrame
    fiscal: pd.DataFrame
    effective_rates: pd.DataFrame
    validation: pd.DataFrame
    net_cost_bn: float
    identity_residual_bn: float
    budget_neutral: dict | None = None
    assumptions: tuple = ()
    warnings: tuple = ()
    population: dict = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """The summary table (measure, baseline, reform, change)."""
        return self.summary.copy()

    def tables(self) -> dict:
        return {"summary": self.summary, "deciles": self.deciles, "winners_losers": self.winners_losers,
                "by_area": self.by_area, "by_province": self.by_province, "fiscal": self.fiscal,
                "effective_rates": self.effective_rates, "validation": self.validation}

    def to_dict(self) -> dict:
        def records(df):
            return json.loads(df.to_json(orient="records", double_precision=15))
        return {"year": self.year, "population": self.population,
                "reform": {"name": self.reform_name, "changes": list(self.reform_changes)},
                "budget_neutral": self.budget_neutral, "net_cost_bn_yuan": self.net_cost_bn,
                "identity_residual_bn_yuan": self.identity_residual_bn,
                **{k: records(v) for k, v in self.tables().items()},
                "assumptions": list(self.assumptions), "warnings": list(self.warnings)}

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def __repr__(self) -> str:
        s = self.summary.set_index("measure")
        pick = [m for m in ("gini", "poverty_headcount_rel40", "middle_income_share_nbs_absolute") if m in s.index]
        parts = ", ".join(f"{m} {s.loc[m, 'baseline']:.4f}->{s.loc[m, 'reform']:.4f}" for m in pick)
        warn = f", {len(self.warnings)} warning(s)" if self.warnings else ""
        return f"SimulationResult({self.year}, {self.reform_name!r}: net cost {self.net_cost_bn:,.1f} bn yuan; {parts}{warn})"


def taxes_and_benefits(st) -> tuple[np.ndarray, np.ndarray]:
    """Per household: taxes and contributions paid (TAXES), benefits received (BENEFITS), summed in that order."""
    taxes = st["iit"] + st["si_employee"] + st["housing_fund"] + st["levy"]
    benefits = st["resident_pension"] + st["dibao"] + st["childcare_subsidy"] + st["east_west_transfer"] + st["ecological_compensation"]
    return taxes, benefits


def result_warnings(validation: pd.DataFrame, residual: float, net_cost: float) -> list[str]:
    """The warnings a result carries: validation rows outside their tolerance, an accounting identity that
    does not close (residual beyond 1e-6 of the net cost, in bn yuan)."""
    warnings = []
    bad = validation[~validation["within_tolerance"]]
    if len(bad):
        warnings.append("the baseline is outside its validation tolerance on: " + "; ".join(bad["row"]))
    if abs(residual) > 1e-6 * max(1.0, abs(net_cost)) + 1e-6:
        warnings.append(f"accounting identity residual {residual:.6f} bn yuan")
    return warnings


def assumptions_of(sim) -> tuple[str, ...]:
    """The assumptions every result states (take-up, date, income concept, fixed deciles and lines)."""
    return (f"dibao take-up: {sim.fixed.take_up_source} (urban {sim.fixed.take_up_rate['urban']:.3f}, "
            f"rural {sim.fixed.take_up_rate['rural']:.3f})",
            f"parameters in force on {sim.instant.isoformat()}",
            "incomes: household per-capita disposable income, person-weighted, not equivalised",
            "deciles and relative poverty lines (40/50/60 % of the median) fixed on the baseline")


def summary_table(base_measures: dict, reform_measures: dict, lines: dict) -> pd.DataFrame:
    """measure, baseline, reform, change, unit, line_yuan (the line of the poverty rows)."""
    summary = pd.DataFrame({"measure": list(base_measures), "baseline": list(base_measures.values()),
                            "reform": [reform_measures[k] for k in base_measures]})
    summary["change"] = summary["reform"] - summary["baseline"]
    summary["unit"] = ["yuan" if "income_pc" in m else "index" if m in ("gini", "theil", "s80_s20") else "share"
                       for m in summary["measure"]]
    line_of = {f"poverty_headcount_{k}": v for k, v in lines.items()} | {f"poverty_gap_{k}": v for k, v in lines.items()}
    summary["line_yuan"] = [line_of.get(m, np.nan) for m in summary["measure"]]
    return summary


def _metr(sim, state_fn, reform, base_state) -> np.ndarray:
    """Per household: 1 - d(disposable)/d(wage) for METR_STEP yuan more on the primary earner's wage
    (NaN for households without an earner)."""
    pop, fixed = sim.population, sim.fixed
    extra = np.where(fixed.primary, METR_STEP, 0.0)
    bumped = state_fn(reform, extra)
    has = np.bincount(pop.person_household, weights=fixed.primary, minlength=pop.n_households) > 0
    return np.where(has, 1.0 - (bumped["disposable"] - base_state["disposable"]) / METR_STEP, np.nan)


class BaselineStats:
    """The baseline statistics the validation table compares with published figures, from the arrays
    of the whole population (a chunked run gives the same numbers from its sums and sorted passes)."""

    def __init__(self, sim, base, s_base):
        self.pop, self.base, self.s_base = sim.population, base, s_base

    def _mask(self, area: str) -> np.ndarray:
        return np.ones(self.pop.n_households, bool) if area == "national" else self.pop.urban == (area == "urban")

    def quintile_means(self, area: str):
        """NBS quintile group means of per-capita income (None when the area has no household)."""
        mask = self._mask(area)
        if not mask.any():
            return None
        return household_group_means(self.base["disposable_pc"][mask], self.pop.size[mask], self.pop.household_weight[mask])

    def has_households(self, area: str) -> bool:
        return bool(self._mask(area).any())

    def gini(self) -> float:
        return gini_sorted(self.s_base, influence=False).value

    def mean_income(self, area: str) -> float:
        pw, mask = self.pop.persons_weight, self._mask(area)
        return float(np.dot(pw[mask], self.base["disposable_pc"][mask]) / pw[mask].sum())

    def total(self, name: str) -> float:
        """sum over households of weight x ``name``."""
        return float(np.dot(self.pop.household_weight, self.base[name]))

    def recipients(self, area: str) -> float:
        return float(np.sum(np.where(self._mask(area) & (self.base["dibao"] > 0), self.pop.persons_weight, 0.0)))

    def standard(self, area: str) -> float:
        pw, mask = self.pop.persons_weight, self._mask(area)
        return float(np.dot(pw[mask], self.base["dibao_standard_monthly"][mask]) / pw[mask].sum())


def _validation(sim, base, s_base) -> pd.DataFrame:
    return validation_table(sim, BaselineStats(sim, base, s_base))


def validation_table(sim, stats) -> pd.DataFrame:
    """The baseline against published figures (NBS quintiles, Gini, means; IIT, dibao, pensions)."""
    year = sim.year
    rows = []
    q = pd.read_csv(resources.files("prosperity") / "data" / "china_income_quintiles_2015_2024_nbs.csv")
    q = q[q["year"] == year]
    for area in ("national", "urban", "rural"):
        target = q[q["area"] == area].sort_values("quintile")["disp_income_pc_yuan"].to_numpy(float)
        sim_means = stats.quintile_means(area) if len(target) == 5 else None
        if sim_means is None:
            continue
        for k in range(5):
            rows.append((f"quintile mean {area} Q{k + 1}", "yuan", target[k], sim_means[k], "rel", 0.05, "S",
                         "NBS household survey (bundled)"))
    long = pd.read_csv(resources.files("prosperity") / "data" / "china_nbs_national_household_survey_2015_2024_long.csv")
    long = long[long["year"] == year].set_index("indicator_zh")["value"]
    gini_official = long.get("居民人均可支配收入基尼系数")
    if gini_official is not None:
        rows.append(("Gini (official, per-capita, person-weighted)", "index", float(gini_official),
                     stats.gini(), "abs", 0.03, "S", "NBS"))
    for area, key in (("urban", "城镇居民人均可支配收入(元)"), ("rural", "农村居民人均可支配收入(元)")):
        if key in long.index and stats.has_households(area):
            rows.append((f"mean income {area}", "yuan", float(long[key]), stats.mean_income(area), "rel", 0.02, "S", "NBS"))
    targets = yaml.safe_load((resources.files("prosperity") / "simulate" / "validation_targets.yaml").read_text())
    iit = targets["iit_revenue_bn"]
    if year in iit["values"]:
        rows.append(("IIT revenue (bn yuan; model: wages only)", "bn yuan", float(iit["values"][year]),
                     stats.total("iit") / 1e9, "rel", iit["tolerance_rel"], iit["status"], iit["source"]))
    p = sim.params
    for area in ("urban", "rural"):
        if not stats.has_households(area):  # a population without this area: nothing to compare
            continue
        recipients = stats.recipients(area)
        official = p.get(f"dibao.recipients.{area}")
        if official:
            rows.append((f"dibao recipients {area} (m)", "million persons", float(official) / 1e6, recipients / 1e6,
                         "rel", 0.10, "S", f"official count; take-up {sim.fixed.take_up_source}"))
        std = stats.standard(area)
        rows.append((f"dibao average standard {area}", "yuan/person/month", float(p[f"dibao.standard.{area}"]), std,
                     "rel", 0.05, sim.tree.leaf(f"dibao.standard.{area}").metadata.get("status", "S/U"),
                     "national average of local standards (dibao.yaml)"))
    pens = targets["resident_pension_recipients_m"]
    years = [y for y in pens["values"] if y <= year]
    if years:
        ref = max(years)
        rows.append((f"residents' pension recipients (m; {ref} figure)", "million persons", float(pens["values"][ref]),
                     stats.total("resident_pension_recipients") / 1e6, "rel", pens["tolerance_rel"],
                     pens["status"], pens["source"]))
    rows.append(("baseline dibao total (bn yuan; added to observed income)", "bn yuan", float("nan"),
                 stats.total("dibao") / 1e9, "none", float("nan"), "C", "see docs/simulate.md, net-to-gross 6"))
    df = pd.DataFrame(rows, columns=["row", "unit", "published", "baseline", "tolerance_kind", "tolerance", "status", "source"])
    err = np.where(df["tolerance_kind"] == "rel", df["baseline"] / df["published"] - 1.0, df["baseline"] - df["published"])
    df["error"] = err
    df["within_tolerance"] = np.where(df["tolerance_kind"] == "none", True, np.abs(err) <= df["tolerance"])
    return df


def build_result(sim, reform, state, *, metr: bool = True, solved=None) -> SimulationResult:
    pop, base, year = sim.population, sim.baseline, sim.year
    w, pw, size = pop.household_weight, pop.persons_weight, pop.size
    if sim._baseline_sorted is None:
        s = SortedIncome.from_arrays(base["disposable_pc"], pw)
        base_median = quantile_sorted(s, 0.5)
        lines, nbs_band = scenario_lines(year, base_median)
        base_measures, s_base = _measures(base["disposable_pc"], pw, lines, nbs_band, base_median)
        deciles_edges = np.array([quantile_sorted(s_base, k / 10) for k in range(1, 10)])
        decile = np.searchsorted(deciles_edges, base["disposable_pc"], side="right")
        sim._baseline_sorted = dict(lines=lines, nbs_band=nbs_band, measures=base_measures, s=s_base,
                                    decile=decile, median=base_median, validation=_validation(sim, base, s_base))
    cache = sim._baseline_sorted
    lines, decile = cache["lines"], cache["decile"]
    ref_measures, s_reform = _measures(state["disposable_pc"], pw, lines, cache["nbs_band"], cache["median"],
                                       start_order=cache["s"].order)
    summary = summary_table(cache["measures"], ref_measures, lines)

    change = state["disposable"] - base["disposable"]
    bins = _bins(change, base["disposable"])
    # deciles
    d_persons = _wsum(pw, np.ones_like(pw), decile, 10)
    d_base = _wsum(w, base["disposable"], decile, 10)
    d_change = _wsum(w, change, decile, 10)
    deciles = pd.DataFrame({"decile": np.arange(1, 11), "persons_m": d_persons / 1e6,
                            "baseline_income_pc": d_base / d_persons, "change_pc_yuan": d_change / d_persons,
                            "change_pct": 100 * d_change / d_base})
    # winners and losers: overall and by decile (shares of persons)
    wl = np.zeros((11, 5))
    for b in range(5):
        wl[:10, b] = _wsum(pw, bins == b, decile, 10) / d_persons
        wl[10, b] = np.sum(pw * (bins == b)) / pw.sum()
    winners = pd.DataFrame(wl, columns=BINS)
    winners.insert(0, "group", [f"decile {k}" for k in range(1, 11)] + ["all"])

    # by area and province
    def group_table(groups, n, names):
        persons = _wsum(pw, np.ones_like(pw), groups, n)
        b = _wsum(w, base["disposable"], groups, n)
        c = _wsum(w, change, groups, n)
        z = lines["rel60"]
        pb = _wsum(pw, base["disposable_pc"] < z, groups, n) / persons
        pr = _wsum(pw, state["disposable_pc"] < z, groups, n) / persons
        db = _wsum(pw, base["dibao"] > 0, groups, n)
        dr = _wsum(pw, state["dibao"] > 0, groups, n)
        reg = _wsum(w, state["east_west_transfer"] + state["ecological_compensation"] - state["levy"], groups, n)
        return pd.DataFrame({"group": names, "persons_m": persons / 1e6, "baseline_income_pc": b / persons,
                             "change_pc_yuan": c / persons, "change_pct": 100 * c / b,
                             "poverty_rel60_baseline": pb, "poverty_rel60_reform": pr,
                             "dibao_recipients_m_baseline": db / 1e6, "dibao_recipients_m_reform": dr / 1e6,
                             "regional_transfers_net_bn": reg / 1e9})
    area = np.where(pop.urban, 0, 1)
    with np.errstate(invalid="ignore", divide="ignore"):  # empty groups (0/0) are dropped below
        by_area = group_table(area, 2, ["urban", "rural"])
        by_province = group_table(pop.province, len(PROVINCES), list(PROVINCES))
    present = [k for k in (0, 1) if np.any(area == k)]  # an area without households gets no row (as provinces)
    if "gini_area" not in cache:
        cache["gini_area"] = {k: gini_sorted(_sorted_subset(cache["s"], area == k), influence=False).value
                              for k in present}
    gini_area = {k: (cache["gini_area"][k], gini_sorted(_sorted_subset(s_reform, area == k), influence=False).value)
                 for k in present}
    by_area = by_area.iloc[present].reset_index(drop=True)
    by_area["gini_baseline"] = [gini_area[k][0] for k in present]
    by_area["gini_reform"] = [gini_area[k][1] for k in present]
    by_province = by_province[by_province["persons_m"] > 0].reset_index(drop=True)

    # fiscal
    fiscal = pd.DataFrame([(name, kind, who, float(np.dot(w, base[name])) / 1e9, float(np.dot(w, state[name])) / 1e9)
                           for name, kind, who in FISCAL_ITEMS], columns=["item", "kind", "budget", "baseline_bn", "reform_bn"])
    sectors = BALANCES
    sector_rows = pd.DataFrame([(f"balance: {label}", "balance", label, float(np.dot(w, base[key])) / 1e9,
                                 float(np.dot(w, state[key])) / 1e9) for key, label in sectors], columns=fiscal.columns)
    fiscal = pd.concat([fiscal, sector_rows], ignore_index=True)
    fiscal["change_bn"] = fiscal["reform_bn"] - fiscal["baseline_bn"]
    net_cost = float(np.dot(w, change)) / 1e9
    balance_change = float(sector_rows["reform_bn"].sum() - sector_rows["baseline_bn"].sum())
    residual = net_cost + balance_change

    # effective tax rates by decile
    def aetr(st):
        taxes, benefits = taxes_and_benefits(st)
        return _wsum(w, taxes - benefits, decile, 10) / _wsum(w, st["market_income"], decile, 10)
    rates = pd.DataFrame({"decile": np.arange(1, 11), "aetr_baseline": aetr(base), "aetr_reform": aetr(state)})
    if metr:
        if sim._baseline_metr is None:
            sim._baseline_metr = _metr(sim, sim.evaluate, None, base)
        mb = sim._baseline_metr
        mr = _metr(sim, sim.evaluate, reform, state)
        ok = np.isfinite(mb)
        rates["metr_baseline"] = _wsum(pw, np.where(ok, mb, 0.0), decile, 10) / _wsum(pw, ok, decile, 10)
        rates["metr_reform"] = _wsum(pw, np.where(ok, mr, 0.0), decile, 10) / _wsum(pw, ok, decile, 10)
        rates["earner_households_share"] = _wsum(pw, ok, decile, 10) / d_persons

    validation = cache["validation"]
    warnings = result_warnings(validation, residual, net_cost)
    changes = [c.describe() for c in (reform.changes if reform else ())]
    assumptions = assumptions_of(sim)
    return SimulationResult(
        year=year, reform_name=reform.name if reform else "baseline", reform_changes=tuple(changes),
        summary=summary, deciles=deciles, winners_losers=winners, by_area=by_area, by_province=by_province,
        fiscal=fiscal, effective_rates=rates, validation=validation, net_cost_bn=net_cost,
        identity_residual_bn=residual,
        budget_neutral={"parameter": solved[0], "value": solved[1]} if solved else None,
        assumptions=assumptions, warnings=tuple(warnings),
        population={"households": int(pop.n_households), "persons": int(pop.n_persons),
                    "households_represented_m": float(w.sum()) / 1e6, "persons_represented_m": float(pw.sum()) / 1e6},
    )
