"""The simulation: a baseline built once (net-to-gross, take-up calibration, cached results) and
reforms evaluated against it.

>>> from prosperity.synth import synthesize_population
>>> from prosperity.simulate import Simulation, load_reforms
>>> sim = Simulation(synthesize_population(2024, persons=10**5), year=2024)  # doctest: +SKIP
>>> result = sim.run(load_reforms(["dibao_plus_20pct"]))  # doctest: +SKIP
>>> result.summary            # Gini, poverty, middle-income share ... baseline, reform, change  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from ..measures.allocation import reuse_freed_memory
from . import kernel as K
from . import rules as R
from .parameter_tree import ParameterTree, bundled_parameters, default_instant
from .population import REGION_OF, Population, co2_context, provincial_context
from .reform import PROVINCES, REGIONS, Reform, ReformError

LEDGER = ("central", "local", "social_insurance_funds", "housing_fund")


@dataclass
class Fixed:
    """What the baseline fixes for every scenario: earners, pensioner status, coverage, take-up draws,
    the residual other transfers and the take-up rates."""

    wage_person: np.ndarray
    earner: np.ndarray
    primary: np.ndarray
    employee_pensioner: np.ndarray
    covered: np.ndarray
    children_education: np.ndarray  # per household
    infants: np.ndarray
    elders: np.ndarray
    take_up_draw: np.ndarray  # per household
    other_transfers: np.ndarray  # per household (residual)
    take_up_rate: dict  # {"urban": r, "rural": r}
    take_up_source: str
    income_rel: np.ndarray  # per province
    consumption_rel: np.ndarray
    co2: object  # DataFrame per province
    scaling_norm: dict = None  # {"urban": c, "rural": c}: person-weighted mean of scaled standards = national
    derived: dict = field(default_factory=dict, repr=False)  # per-household arrays derived from the above, by key
    province_persons: dict = None  # {"all": persons, "rural": rural persons} per province (see province_persons)
    waterfill: object = None  # the low-income floor (None: rules.waterfill; a chunked run's: the whole population's floor)

    def per_household(self, key, make):
        """``make()`` computed once per ``key`` (a tuple naming what it depends on) and kept."""
        if key not in self.derived:
            self.derived[key] = make()
        return self.derived[key]


OPTIONAL_PARAMETERS = ("dibao.recipients.",)  # official counts: absent years fall back to dibao.take_up_rate


class ParameterNotInForce(ValueError):
    """A rule needs a parameter that has no value at the simulated date."""


def check_in_force(p: dict, instant: dt.date, tree: ParameterTree) -> None:
    """Refuse a date at which a parameter the rules need has no value (before its first dated value)."""
    missing = [k for k, v in p.items() if v is None and not k.startswith(OPTIONAL_PARAMETERS)]
    if missing:
        def first(path):
            try:
                entries = getattr(tree.leaf(path), "entries", None)
            except KeyError:
                return "none"
            return entries[0][0].isoformat() if entries else "none"
        detail = "; ".join(f"{k} (first value from {first(k)})" for k in missing)
        raise ParameterNotInForce(f"parameters not in force on {instant.isoformat()}: {detail}. Choose a later "
                                  "year, or give them a value from that date in a reform (PATH: {YYYY-MM-DD: VALUE})")


def _province_values(p: dict, prefix: str) -> np.ndarray:
    return np.array([float(p.get(f"{prefix}.{name}") or 0.0) for name in PROVINCES])


def _names(value: str) -> list[str]:
    return [s.strip() for s in str(value or "").split(";") if s.strip()]


def province_persons(pop: Population) -> dict:
    """Persons represented per province, all (``"all"``) and rural (``"rural"``): what the regional
    transfers' funds and per-capita payments are spread over."""
    pw = pop.persons_weight
    return {"all": np.bincount(pop.province, weights=pw, minlength=len(PROVINCES)),
            "rural": np.bincount(pop.province, weights=np.where(pop.urban, 0.0, pw), minlength=len(PROVINCES))}


def _persons_by_province(pop: Population, fixed: Fixed, which: str) -> np.ndarray:
    """``province_persons(pop)[which]``, or the whole population's when ``fixed`` carries it (a chunk of a
    larger population: :mod:`prosperity.backends.simulate`)."""
    totals = fixed.province_persons if fixed is not None and fixed.province_persons is not None else province_persons(pop)
    return totals[which]


def _distribute(rule: str, fund_by_province, pop: Population, pre_income_pc, eligible_province,
                fixed: Fixed | None = None) -> np.ndarray:
    """Per-household payments (yuan a year per household) spending each province's fund by ``rule``."""
    pw = pop.persons_weight
    in_prov = eligible_province[pop.province]
    if rule == "low_income":
        waterfill = fixed.waterfill if fixed is not None and fixed.waterfill is not None else R.waterfill
        topup_pc = waterfill(pre_income_pc, np.where(in_prov, pw, 0.0), pop.province,
                             np.where(eligible_province, fund_by_province, 0.0), len(PROVINCES))
        return np.where(in_prov, topup_pc * pop.size, 0.0)
    target = in_prov & (pop.urban == False if rule == "rural" else True)  # noqa: E712
    people = np.where(eligible_province, _persons_by_province(pop, fixed, "rural" if rule == "rural" else "all"), 0.0)
    per_capita = np.divide(fund_by_province, people, out=np.zeros(len(PROVINCES)), where=people > 0)
    return np.where(target, per_capita[pop.province] * pop.size, 0.0)


def evaluate(pop: Population, fixed: Fixed, p: dict, rules: dict | None = None, extra_wage=None, *,
             per_person: bool = True, fused: bool = True, outputs=None, buffers=None) -> dict:
    """Every rule for every household and person under parameters ``p``; returns arrays (households
    unless named ``*_person``). ``extra_wage``: per-person wage added (for marginal rates).
    ``per_person``: also return each person's IIT and taxable income (``iit_person``,
    ``taxable_income_person``). All the rules run in one compiled pass over households
    (:mod:`.kernel`) unless ``fused=False``, numba is missing or a reform replaces one of them (then
    the NumPy rules run).

    ``outputs``: the names of the household results wanted (default: all; e.g. ``("iit", "si_employee",
    "housing_fund", "resident_pension", "dibao", "disposable")``); the compiled pass then writes only
    those (the NumPy path computes everything and returns the subset). ``buffers``: a previous result
    whose arrays are overwritten with this one's (no fresh memory; that result is then this one)."""
    # written into reused buffers, the compiled pass allocates no large array: the allocator tuning (its
    # exit, malloc_trim, costs ~0.4 ms a call on a 1 GB heap) is then not needed
    reused = buffers is not None and fused and not (set(rules or ()) & set(K.FUSED_RULES)) and not _transfers_active(p)
    with (nullcontext() if reused else reuse_freed_memory(pop.n_persons)):
        out = _evaluate(pop, fixed, p, rules, extra_wage, per_person, fused, outputs, buffers)
    if outputs is not None:
        out = {k: v for k, v in out.items() if k in outputs or k.endswith("_person")}
    return out


def _household_arrays(pop: Population, fixed: Fixed, p: dict) -> dict:
    """Per-household arrays the dibao and budget rules read that depend on parameters only through a few
    switches, kept in ``fixed`` by those switches: the dibao standard's provincial scaling, the take-up
    draw below the take-up rate, east-region and east->west donor indicators."""
    H = pop.n_households
    scaled = bool(p["dibao.provincial_scaling"])
    scale = fixed.per_household(("dibao_scale", scaled), lambda: (
        fixed.consumption_rel[pop.province] * np.where(pop.urban, fixed.scaling_norm["urban"], fixed.scaling_norm["rural"])
        if scaled else np.ones(H)))
    rates = (fixed.take_up_rate["urban"], fixed.take_up_rate["rural"])
    take_up = fixed.per_household(("take_up",) + rates, lambda: fixed.take_up_draw < np.where(pop.urban, *rates))
    east = fixed.per_household(("east",), lambda: np.array([REGION_OF[x] == "East" for x in PROVINCES])[pop.province])
    region_of_prov = np.array([REGIONS.index(REGION_OF[x]) for x in PROVINCES])
    donor_regions = tuple(REGIONS.index(r) for r in _names(p["regional_transfers.east_west.donor_region"]))
    donor = fixed.per_household(("donor",) + donor_regions,
                                lambda: np.isin(region_of_prov, donor_regions)[pop.province])
    return {"dibao_scale": scale, "take_up": take_up, "east": east, "donor": donor}


def _transfers_active(p: dict) -> bool:
    return p["regional_transfers.east_west.amount_per_capita"] > 0 or \
        p["regional_transfers.ecological_compensation.carbon_price"] > 0


def _regional_transfers(pop: Population, fixed: Fixed, p: dict, pre_pc) -> tuple:
    """East -> central/west assistance and ecological compensation per household (yuan a year), and the
    ecological fund by donor province; ``pre_pc`` (per-capita income before transfers) is read only
    when a fund is distributed to low-income households first."""
    H = pop.n_households
    region_of_prov = np.array([REGIONS.index(REGION_OF[x]) for x in PROVINCES])
    ew = "regional_transfers.east_west."
    recipient_regions = [REGIONS.index(r) for r in _names(p[ew + "recipient_regions"])]
    recipient_prov = np.isin(region_of_prov, recipient_regions)
    east_west = np.zeros(H)
    if p[ew + "amount_per_capita"] > 0:
        persons_prov = _persons_by_province(pop, fixed, "all")
        fund = p[ew + "amount_per_capita"] * persons_prov * recipient_prov
        east_west = _distribute(p[ew + "distribution"], fund, pop, pre_pc, recipient_prov, fixed)
    eco = "regional_transfers.ecological_compensation."
    ecological = np.zeros(H)
    eco_fund_by_donor = np.zeros(len(PROVINCES))
    if p[eco + "carbon_price"] > 0:
        c = fixed.co2
        excess_t = np.nan_to_num(np.maximum(c["co2_t_per_capita"].to_numpy() - p[eco + "co2_threshold_per_capita"], 0.0))
        donors = np.nan_to_num(c["gdp_per_capita"].to_numpy()) >= p[eco + "gdp_threshold_per_capita"]
        eco_fund_by_donor = np.where(donors, p[eco + "carbon_price"] * excess_t * c["population_2020"].to_numpy(), 0.0)
        recipients = np.isin(np.array(PROVINCES), _names(p[eco + "recipients"]))
        share = np.where(recipients, _persons_by_province(pop, fixed, "all"), 0.0)
        fund = eco_fund_by_donor.sum() * share / share.sum() if share.sum() > 0 else np.zeros(len(PROVINCES))
        ecological = _distribute(p[eco + "distribution"], fund, pop, pre_pc, recipients, fixed)
    return east_west, ecological, eco_fund_by_donor


def _evaluate(pop, fixed, p, rules, extra_wage, per_person, fused, outputs, buffers) -> dict:
    top_up_prov = _province_values(p, "resident_pension.provincial_top_up")
    hh_arrays = _household_arrays(pop, fixed, p)
    if fused and not (set(rules or ()) & set(K.FUSED_RULES)):
        wanted = K.OUTPUTS if outputs is None else tuple(o for o in K.OUTPUTS if o in outputs)
        transfers = _transfers_active(p)
        if transfers:
            first = K.run(pop, fixed, p, top_up_prov, hh_arrays, extra_wage=extra_wage, persons_only=True)
            pre_pc = None if first is None else first["pre_pc"]
        if not transfers or pre_pc is not None:
            east_west, ecological, eco_fund = (_regional_transfers(pop, fixed, p, pre_pc) if transfers else
                                               (None, None, np.zeros(len(PROVINCES))))
            out = K.run(pop, fixed, p, top_up_prov, hh_arrays, extra_wage=extra_wage, east_west=east_west,
                        ecological=ecological, per_person=per_person, outputs=wanted, buffers=buffers)
            if out is not None:
                if extra_wage is None and "gross_wage" in wanted:
                    out["gross_wage"] = pop.wage_household
                if outputs is None:
                    H = pop.n_households
                    out["east_west_transfer"] = np.zeros(H) if east_west is None else east_west
                    out["ecological_compensation"] = np.zeros(H) if ecological is None else ecological
                    out["ecological_fund_by_donor"] = eco_fund
                    out["social_insurance_funds"] = out["si_employee"]
                    out["housing_fund_accounts"] = out["housing_fund"]
                return out
    return _evaluate_numpy(pop, fixed, p, rules, extra_wage, top_up_prov, hh_arrays)


def _evaluate_numpy(pop, fixed, p, rules, extra_wage, top_up_prov, hh_arrays) -> dict:
    """The readable path: the vectorised rules of :mod:`.rules`, one NumPy expression at a time."""
    rule = {name: getattr(R, name) for name in ("social_insurance", "special_additional_deductions", "income_tax",
                                                 "resident_pension", "childcare_subsidy", "dibao")}
    rule.update(rules or {})
    hh = pop.person_household
    H = pop.n_households

    def hsum(x):
        return np.bincount(hh, weights=x, minlength=H)

    wage = fixed.wage_person if extra_wage is None else fixed.wage_person + extra_wage
    avg_wage_person = (p["social_insurance.average_wage"] * fixed.income_rel)[pop.province][hh]
    si = rule["social_insurance"](wage, fixed.covered, avg_wage_person, p)
    sad = rule["special_additional_deductions"](fixed.children_education[hh], fixed.infants[hh],
                                                fixed.elders[hh], fixed.primary, p)
    tax = rule["income_tax"](np.where(fixed.earner, wage, 0.0), si["si_employee"], si["housing_fund"], sad, p)
    pension = rule["resident_pension"](pop.age, fixed.employee_pensioner, top_up_prov[pop.province][hh], p)
    child = rule["childcare_subsidy"](pop.age, p)
    out = {"iit": hsum(tax["iit"]), "si_employee": hsum(si["si_employee"]), "housing_fund": hsum(si["housing_fund"]),
           "si_employer_pension": hsum(si["si_employer_pension"]), "resident_pension": hsum(pension),
           "childcare_subsidy": hsum(child), "resident_pension_recipients": hsum(pension > 0),
           "gross_wage": hsum(wage) if extra_wage is not None else pop.wage_household}
    minimum_part = np.where(pop.age >= p["resident_pension.eligibility_age"], 1.0, 0.0) * (pension > 0) \
        * p["resident_pension.minimum"] * R.MONTHS
    minimum_h = np.bincount(hh, weights=minimum_part, minlength=H)
    out["iit_person"] = tax["iit"]
    out["taxable_income_person"] = tax["taxable_income"]
    market = out["gross_wage"] + pop.business_property
    pre = (market + fixed.other_transfers + out["resident_pension"] + out["childcare_subsidy"]
           - out["iit"] - out["si_employee"] - out["housing_fund"])
    pre_pc = pre / pop.size

    # regional transfers: east -> central/west (levy on donors' households), ecological compensation
    ew = "regional_transfers.east_west."
    levy = (np.where(hh_arrays["donor"], p[ew + "levy_rate"] * np.maximum(pre, 0.0), 0.0) if p[ew + "levy_rate"] != 0
            else np.zeros(H))
    east_west, ecological, eco_fund_by_donor = _regional_transfers(pop, fixed, p, pre_pc)
    out.update(levy=levy, east_west_transfer=east_west, ecological_compensation=ecological)
    out["ecological_fund_by_donor"] = eco_fund_by_donor

    # dibao: means test on income excluding dibao and the childcare subsidy
    scale, take_up, east = hh_arrays["dibao_scale"], hh_arrays["take_up"], hh_arrays["east"]
    iit_central = p["iit.revenue_share_central"]
    out["market_income"] = market
    means = pre + east_west + ecological - levy - out["childcare_subsidy"]
    national = np.where(pop.urban, p["dibao.standard.urban"], p["dibao.standard.rural"])
    standard = national * scale
    out["dibao_standard_monthly"] = standard
    out["dibao_eligible"] = means < standard * R.MONTHS * pop.size
    out["dibao"] = rule["dibao"](means, pop.size, standard, take_up, p)
    out["disposable"] = pre + east_west + ecological - levy + out["dibao"]
    out["disposable_pc"] = out["disposable"] / pop.size
    central_pension = minimum_h * np.where(east, p["resident_pension.central_share_east"], 1.0)
    out["central"] = (iit_central * out["iit"] + levy - east_west - out["childcare_subsidy"] - central_pension)
    out["local"] = ((1 - iit_central) * out["iit"] - out["dibao"] - (out["resident_pension"] - central_pension)
                    - ecological)
    out["social_insurance_funds"] = out["si_employee"]
    out["housing_fund_accounts"] = out["housing_fund"]
    return out


def budget_neutral_bracket(tree: ParameterTree, instant: dt.date, year: int, reform: Reform, path: str,
                           bounds=None) -> tuple[dt.date, tuple[float, float]]:
    """Where a budget-neutral solve of ``path`` starts (the reform's first date, at the latest
    ``instant``) and its bracket: ``bounds``, else [0, 1] for a rate (unit ``/1``) and
    [0, max(10 |current value|, 10^6)] otherwise. An unknown ``path`` raises with a did-you-mean."""
    start = min((c.start for c in reform.changes), default=dt.date(year, 1, 1))
    start = min(start, instant)
    try:
        leaf = reform.apply(tree).leaf(path)
    except KeyError:
        Reform("check", ()).with_value(path, 0.0, start).apply(tree)  # raises with a did-you-mean
        raise
    current = leaf.at(instant)
    if bounds is None:
        bounds = (0.0, 1.0) if leaf.unit == "/1" else (0.0, max(10.0 * abs(current or 0.0), 1e6))
    return start, tuple(bounds)


def solve_net_cost(f, path: str, target: float, bounds) -> float:
    """The root of ``f(x)`` = net cost at ``x`` minus ``target`` (yuan) in ``bounds`` by Brent's method
    (``scipy.optimize.brentq``, xtol = 1e-10 max(1, |hi|), rtol = 1e-12); ReformError when ``f`` has the
    same sign at both ends."""
    lo, hi = bounds
    f_lo, f_hi = f(lo), f(hi)
    if np.sign(f_lo) == np.sign(f_hi) and f_lo != 0 and f_hi != 0:
        raise ReformError([f"budget-neutral: {path} cannot reach a net cost of {target / 1e9:,.1f} bn yuan: "
                           f"over [{lo:g}, {hi:g}] the net cost runs from {(f_lo + target) / 1e9:,.1f} to "
                           f"{(f_hi + target) / 1e9:,.1f} bn yuan; choose another parameter or widen its range"])
    return optimize.brentq(f, lo, hi, xtol=1e-10 * max(1.0, abs(hi)), rtol=1e-12)


class Simulation:
    """A population and a year; the baseline is computed once and cached.

    ``population``: a person-level frame (see :mod:`prosperity.simulate.population`) or a
    :class:`Population`. ``parameters``: a :class:`ParameterTree` (default: the bundled one).
    ``instant``: the date whose values are used (default 30 June of ``year``).
    """

    def __init__(self, population, year: int = 2024, *, parameters: ParameterTree | None = None,
                 instant: dt.date | None = None, columns: dict | None = None, seed: int = 1, wages: str = "gross",
                 baseline_reform: Reform | None = None):
        self.year = int(year)
        self.instant = instant or default_instant(year)
        self.population = population if isinstance(population, Population) else Population.from_frame(
            population, columns=columns, seed=seed, wages=wages)
        tree = parameters or bundled_parameters()
        self.tree = baseline_reform.apply(tree) if baseline_reform else tree
        self.params = self.tree.at(self.instant)
        check_in_force(self.params, self.instant, self.tree)
        self.fixed = self._fix_baseline()
        self.baseline = evaluate(self.population, self.fixed, self.params, per_person=False)
        self._baseline_sorted = None
        self._baseline_metr = None
        self.last_run: RunState | None = None  # see run(keep_state=True)

    # -- baseline --------------------------------------------------------------------------------
    def _fix_baseline(self) -> Fixed:
        pop, p = self.population, self.params
        hh, age, H = pop.person_household, pop.age, pop.n_households
        person_draw, household_draw = self._baseline_draws()
        context = provincial_context(self.year)
        income_rel = context["income_rel"].to_numpy(float)
        consumption_rel = context["consumption_rel"].to_numpy(float)
        working = (age >= 18) & (age < 60)
        n_working = np.bincount(hh, weights=working, minlength=H)
        adult = age >= 18
        has_wage = pop.wage_household > 0
        earner = np.where((n_working > 0)[hh], working, adult) & has_wage[hh]
        n_earners = np.bincount(hh, weights=earner, minlength=H)
        # primary earner: the first earner of the household
        idx = np.arange(pop.n_persons)
        first_earner = np.full(H, pop.n_persons)
        np.minimum.at(first_earner, hh[earner], idx[earner])
        primary = earner & (first_earner[hh] == idx)
        share = np.divide(pop.wage_household, n_earners, out=np.zeros(H), where=n_earners > 0)
        wage_person = np.where(earner, share[hh], 0.0)
        older = age >= p["resident_pension.eligibility_age"]
        n_older = np.bincount(hh, weights=older, minlength=H)
        per_older = np.divide(pop.net_transfer_household, n_older, out=np.zeros(H), where=n_older > 0)
        employee_pensioner = older & (per_older >= p["resident_pension.employee_pension_threshold"])[hh]
        avg_wage_person = (p["social_insurance.average_wage"] * income_rel)[pop.province][hh]
        floor = p["social_insurance.base.floor_share_of_average_wage"] * avg_wage_person
        covered = earner & pop.urban[hh] & (wage_person >= floor) & (person_draw < p["social_insurance.coverage_urban"])
        children_education = np.bincount(hh, weights=(age >= 3) & (age < 22) & ~earner, minlength=H)
        infants = np.bincount(hh, weights=age < 3, minlength=H)
        elders = np.bincount(hh, weights=older & ~earner, minlength=H)
        fixed = Fixed(wage_person, earner, primary, employee_pensioner, covered, children_education, infants, elders,
                      household_draw, np.zeros(H), {"urban": 0.0, "rural": 0.0}, "", income_rel, consumption_rel,
                      co2_context(self.year))
        fixed.province_persons = {k: self._total(("province persons", k), v) for k, v in province_persons(pop).items()}
        rel = consumption_rel[pop.province]
        fixed.scaling_norm = {area: self._total(("persons", area), float(pop.persons_weight[pop.urban == u].sum()))
                              / self._total(("scaled persons", area), float(np.dot(pop.persons_weight[pop.urban == u], rel[pop.urban == u])))
                              if (pop.urban == u).any() else 1.0 for area, u in (("urban", True), ("rural", False))}
        if pop.wages == "net":
            fixed.wage_person = self._net_to_gross(fixed)
        first = evaluate(pop, fixed, p)
        fixed.other_transfers = pop.net_transfer_household - (first["resident_pension"] + first["childcare_subsidy"]
                                                              - first["iit"] - first["si_employee"] - first["housing_fund"])
        if pop.wages == "net":  # the observed wage was net: its taxes are not in the observed transfers
            fixed.other_transfers = pop.net_transfer_household - first["resident_pension"] - first["childcare_subsidy"]
        # take-up: calibrated per area to official recipients when the year has them
        second = evaluate(pop, fixed, p)
        for area, urban in (("urban", True), ("rural", False)):
            official = p.get(f"dibao.recipients.{area}")
            eligible = self._total(("dibao eligible", area), float(np.sum(np.where(second["dibao_eligible"] & (pop.urban == urban), pop.persons_weight, 0.0))))
            if official and eligible > 0:
                fixed.take_up_rate[area] = min(1.0, float(official) / eligible)
            else:
                fixed.take_up_rate[area] = float(p["dibao.take_up_rate"])
        fixed.take_up_source = ("calibrated to official recipients" if p.get("dibao.recipients.urban")
                                else f"dibao.take_up_rate = {p['dibao.take_up_rate']:g} (no official count for {self.year})")
        return fixed

    def _baseline_draws(self) -> tuple[np.ndarray, np.ndarray]:
        """The baseline's random draws from one stream: coverage (one per person), then take-up (one per
        household). A chunk of a larger population (:mod:`prosperity.backends.simulate`) reads its own
        stretch of the same stream."""
        rng = np.random.default_rng(self.population.seed + 7919)
        return rng.random(self.population.n_persons), rng.random(self.population.n_households)

    def _total(self, key: tuple, value: float) -> float:
        """A sum over the whole population (the baseline's calibration totals): here ``value`` itself;
        a chunk of a larger population returns the total over every chunk."""
        return value

    def _net_to_gross(self, fixed: Fixed) -> np.ndarray:
        """Gross wage per earner such that gross - contributions - IIT = the observed (net) wage."""
        pop, p = self.population, self.params
        hh = pop.person_household
        net = fixed.wage_person
        avg = (p["social_insurance.average_wage"] * fixed.income_rel)[pop.province][hh]
        sad = R.special_additional_deductions(fixed.children_education[hh], fixed.infants[hh], fixed.elders[hh],
                                              fixed.primary, p)

        def net_of(g):
            si = R.social_insurance(g, fixed.covered, avg, p)
            tax = R.income_tax(g, si["si_employee"], si["housing_fund"], sad, p)["iit"]
            return g - si["si_employee"] - si["housing_fund"] - tax

        lo, hi = net.copy(), net * 3.0 + 1e5
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            below = net_of(mid) < net
            lo = np.where(below, mid, lo)
            hi = np.where(below, hi, mid)
        return np.where(fixed.earner, 0.5 * (lo + hi), 0.0)

    # -- reforms ---------------------------------------------------------------------------------
    def reform_params(self, reform: Reform | None) -> dict:
        return self.tree.at(self.instant) if reform is None else reform.apply(self.tree).at(self.instant)

    def evaluate(self, reform: Reform | None, extra_wage=None) -> dict:
        p = self.reform_params(reform)
        fixed = self.fixed
        if p["dibao.take_up_rate"] != self.params["dibao.take_up_rate"]:  # a reform of take-up itself
            fixed = Fixed(**{**fixed.__dict__, "take_up_rate": {"urban": p["dibao.take_up_rate"],
                                                                 "rural": p["dibao.take_up_rate"]}})
        return evaluate(self.population, fixed, p, reform.rules if reform else None, extra_wage, per_person=False)

    def net_cost(self, state: dict) -> float:
        """Net fiscal cost of a scenario vs the baseline (yuan a year): the change in total household
        disposable income, equal to minus the change in the net fiscal balance of all budgets."""
        w = self.population.household_weight
        return float(np.dot(w, state["disposable"] - self.baseline["disposable"]))

    def solve_budget_neutral(self, reform: Reform, path: str, target: float = 0.0, bounds=None) -> tuple[Reform, float]:
        """The value of parameter ``path`` (from the reform's start date) making the net cost equal to
        ``target`` yuan; raises ReformError when no value in ``bounds`` reaches it."""
        start, bounds = budget_neutral_bracket(self.tree, self.instant, self.year, reform, path, bounds)

        def f(x):
            return self.net_cost(self.evaluate(reform.with_value(path, x, start))) - target

        x = solve_net_cost(f, path, target, bounds)
        return reform.with_value(path, x, start), x

    def run(self, reform: Reform | None = None, *, budget_neutral: str | None = None, target_cost: float = 0.0,
            metr: bool = True, keep_state: bool = False):
        """Evaluate ``reform`` against the cached baseline; returns a :class:`SimulationResult`.

        ``keep_state``: also keep, in :attr:`last_run`, the reform as run (with the solved budget-neutral
        value) and its evaluated state, for :func:`reform_uncertainty` to reuse (neither the solve nor the
        evaluation is then repeated; not part of the result or its JSON)."""
        self.last_run = None
        with reuse_freed_memory(self.population.n_persons):
            return self._run(reform, budget_neutral, target_cost, metr, keep_state)

    def _run(self, reform, budget_neutral, target_cost, metr, keep_state=False):
        from .outputs import build_result

        solved = None
        if budget_neutral:
            reform, solved = self.solve_budget_neutral(reform or Reform("baseline"), budget_neutral, target_cost)
        state = self.evaluate(reform)
        if keep_state:
            self.last_run = RunState(reform, state)
        return build_result(self, reform, state, metr=metr, solved=(budget_neutral, solved) if budget_neutral else None)


@dataclass(frozen=True)
class RunState:
    """What :meth:`Simulation.run` evaluated (with ``keep_state=True``): the reform as run, including a
    solved budget-neutral value, and its state (the arrays of :func:`evaluate`)."""

    reform: Reform | None
    state: dict
