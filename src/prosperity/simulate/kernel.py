"""Every rule of :func:`engine.evaluate` fused in one compiled pass over households (the fast path).

The readable formulas are the vectorised functions of :mod:`prosperity.simulate.rules` and the NumPy
branch of ``engine.evaluate``; this module computes exactly the same quantities in one loop over
households. Persons are stored in household order, so household ``h`` owns persons
``starts[h] .. starts[h+1]-1``: for each household the loop runs its persons' rules (employee social
insurance and housing fund, ``rules.social_insurance``; special additional deductions,
``rules.special_additional_deductions``; taxable income and IIT, ``rules.income_tax`` /
``rules.marginal_rate_tax``; the residents' pension, ``rules.resident_pension``; the childcare subsidy,
``rules.childcare_subsidy``), adds them up in registers in person order (the order of ``np.bincount``),
then computes the household's income before transfers, the east -> west levy, the dibao means test and
benefit (``rules.dibao``), disposable income and the central/local budget balances, and writes each
result once. No intermediate array, no gather over persons, no second pass over memory.

The arithmetic follows the NumPy formulas operation by operation, so both paths give bit-identical
numbers (tests compare them on every shipped reform, with and without a wage bump, on 1 and 3
threads). Inputs that do not depend on parameters are packed once per population
(:func:`prepared`: household start offsets, one flag byte per person, ages and dependants counts as
bytes when they are small integers, exact), so a pass reads about 11 bytes per person and 45 per
household. Results can be written into the arrays of a previous evaluation (``buffers``): no fresh
memory to page-fault in.

Used when numba is available and no reform replaces one of the rules; otherwise ``engine.evaluate``
runs the NumPy rules. Regional transfers that depend on the whole distribution (east -> west
assistance, ecological compensation) need every household's income before transfers first: then the
pass runs twice (``persons_only`` gives the per-capita incomes, the transfers are distributed, the full
pass follows).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..compiled import lazily_compiled
from .rules import MONTHS

FUSED_RULES = ("social_insurance", "special_additional_deductions", "income_tax", "resident_pension",
               "childcare_subsidy", "dibao")

EARNER, COVERED, PRIMARY, EMPLOYEE_PENSIONER = 1, 2, 4, 8

# the scalar parameters, in the order of the ``par`` vector the compiled pass reads
PARAMETERS = ("si_floor", "si_ceiling", "si_employee_rate", "si_housing_rate", "si_employer_rate",
              "sad_education", "sad_infant", "sad_elderly", "basic_deduction", "pension_age", "pension_minimum",
              "child_age_limit", "child_amount", "standard_urban", "standard_rural", "iit_central",
              "central_share_east", "levy_rate")

# household outputs of the full pass, in the compiled pass's argument order
OUTPUTS = ("iit", "si_employee", "housing_fund", "si_employer_pension", "resident_pension", "childcare_subsidy",
           "resident_pension_recipients", "gross_wage", "market_income", "levy", "dibao_standard_monthly",
           "dibao_eligible", "dibao", "disposable", "disposable_pc", "central", "local")


@lazily_compiled
def household_pass(h0, h1, persons_only, starts, wage, extra, flags, age, province, children_education, infants,
                   elders, wage_household, business_property, other_transfers, size, urban, dibao_scale, take_up,
                   east, donor, average_wage_by_province, top_up_by_province, thresholds, rates, tax_at_thresholds,
                   par, east_west, ecological,
                   iit_o, si_o, hf_o, er_o, pension_o, child_o, recipients_o, gross_o, market_o, levy_o,
                   standard_o, eligible_o, dibao_o, disposable_o, disposable_pc_o, central_o, local_o,
                   pre_pc_o, iit_person, taxable_person):
    """Households ``h0 .. h1-1``. An output array of length 0 is not written. ``extra`` (per-person wage
    added, for marginal rates), ``east_west`` and ``ecological`` (per-household transfers) of length 0
    mean none. ``persons_only``: write only ``pre_pc_o``, the per-capita income before transfers."""
    si_floor, si_ceiling, si_employee_rate, si_housing_rate, si_employer_rate = par[0], par[1], par[2], par[3], par[4]
    sad_education, sad_infant, sad_elderly, basic_deduction = par[5], par[6], par[7], par[8]
    pension_age, pension_minimum, child_age_limit, child_amount = par[9], par[10], par[11], par[12]
    standard_urban, standard_rural, iit_central, central_share_east, levy_rate = par[13], par[14], par[15], par[16], par[17]
    k_max = thresholds.shape[0] - 1
    with_extra = extra.shape[0] > 0
    with_ew = east_west.shape[0] > 0
    with_eco = ecological.shape[0] > 0
    per_person = iit_person.shape[0] > 0
    w_iit, w_si, w_hf, w_er = iit_o.shape[0] > 0, si_o.shape[0] > 0, hf_o.shape[0] > 0, er_o.shape[0] > 0
    w_pension, w_child, w_recipients = pension_o.shape[0] > 0, child_o.shape[0] > 0, recipients_o.shape[0] > 0
    w_gross, w_market, w_levy, w_standard = gross_o.shape[0] > 0, market_o.shape[0] > 0, levy_o.shape[0] > 0, standard_o.shape[0] > 0
    w_eligible, w_dibao, w_disposable = eligible_o.shape[0] > 0, dibao_o.shape[0] > 0, disposable_o.shape[0] > 0
    w_disposable_pc, w_central, w_local = disposable_pc_o.shape[0] > 0, central_o.shape[0] > 0, local_o.shape[0] > 0
    for h in range(h0, h1):
        prov = province[h]
        avg = average_wage_by_province[prov]
        lo = si_floor * avg
        hi = si_ceiling * avg
        top_up = top_up_by_province[prov]
        monthly = children_education[h] * sad_education + infants[h] * sad_infant
        if elders[h] > 0:
            monthly = monthly + sad_elderly
        sad_primary = monthly * MONTHS
        iit_h = 0.0
        si_h = 0.0
        hf_h = 0.0
        er_h = 0.0
        pension_h = 0.0
        child_h = 0.0
        recipients_h = 0.0
        minimum_h = 0.0
        wage_h = 0.0
        for i in range(starts[h], starts[h + 1]):
            f = flags[i]
            w = wage[i]
            if with_extra:
                w = w + extra[i]
            if f & COVERED:
                base = min(max(w, lo), hi)
            else:
                base = 0.0
            si = base * si_employee_rate
            hf = base * si_housing_rate
            sad = sad_primary if f & PRIMARY else 0.0
            earned = w if f & EARNER else 0.0
            taxable = max(earned - basic_deduction - si - hf - sad, 0.0)
            k = 0
            for j in range(1, k_max + 1):  # thresholds ascending: k = last j with t_j <= taxable (no branch)
                k += thresholds[j] <= taxable
            tax = tax_at_thresholds[k] + rates[k] * (taxable - thresholds[k])
            a = age[i]
            pension = 0.0
            if a >= pension_age and not (f & EMPLOYEE_PENSIONER):
                pension = (pension_minimum + top_up) * MONTHS
            child = child_amount if a < child_age_limit else 0.0
            iit_h += tax
            si_h += si
            hf_h += hf
            er_h += base * si_employer_rate
            pension_h += pension
            child_h += child
            if pension > 0:
                recipients_h += 1.0
                if a >= pension_age:
                    minimum_h += pension_minimum * MONTHS
            wage_h += w
            if per_person:
                iit_person[i] = tax
                taxable_person[i] = taxable
        gross = wage_h if with_extra else wage_household[h]
        market = gross + business_property[h]
        pre = market + other_transfers[h] + pension_h + child_h - iit_h - si_h - hf_h
        n = size[h]
        if persons_only:
            pre_pc_o[h] = pre / n
            continue
        levy = levy_rate * max(pre, 0.0) if (levy_rate != 0 and donor[h]) else 0.0
        ew = east_west[h] if with_ew else 0.0
        eco = ecological[h] if with_eco else 0.0
        means = pre + ew + eco - levy - child_h
        national = standard_urban if urban[h] else standard_rural
        standard = national * dibao_scale[h]
        gap = standard * MONTHS * n - means
        benefit = gap if (take_up[h] and gap > 0) else 0.0
        disposable = pre + ew + eco - levy + benefit
        central_pension = minimum_h * (central_share_east if east[h] else 1.0)
        if w_iit:
            iit_o[h] = iit_h
        if w_si:
            si_o[h] = si_h
        if w_hf:
            hf_o[h] = hf_h
        if w_er:
            er_o[h] = er_h
        if w_pension:
            pension_o[h] = pension_h
        if w_child:
            child_o[h] = child_h
        if w_recipients:
            recipients_o[h] = recipients_h
        if w_gross:
            gross_o[h] = gross
        if w_market:
            market_o[h] = market
        if w_levy:
            levy_o[h] = levy
        if w_standard:
            standard_o[h] = standard
        if w_eligible:
            eligible_o[h] = means < standard * MONTHS * n
        if w_dibao:
            dibao_o[h] = benefit
        if w_disposable:
            disposable_o[h] = disposable
        if w_disposable_pc:
            disposable_pc_o[h] = disposable / n
        if w_central:
            central_o[h] = iit_central * iit_h + levy - ew - child_h - central_pension
        if w_local:
            local_o[h] = (1 - iit_central) * iit_h - benefit - (pension_h - central_pension) - eco


THREADS = max(1, min(4, os.cpu_count() or 1))
PARALLEL_MIN_PERSONS = 200_000
_EMPTY = np.zeros(0)
_EMPTY_BOOL = np.zeros(0, dtype=bool)
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor(workers: int) -> ThreadPoolExecutor:
    """One thread pool kept for the process (started on first use; creating one costs ~0.1 ms a call)."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool._max_workers < workers:
            _pool = ThreadPoolExecutor(workers, thread_name_prefix="prosperity-simulate")
        return _pool


def _small_ints(x: np.ndarray) -> np.ndarray:
    """``x`` as uint8 when every value is an integer in 0..255 (exact: the pass converts it back to the
    same float), else ``x`` unchanged."""
    if x.size and np.all((x >= 0) & (x <= 255) & (x == np.floor(x))):
        return x.astype(np.uint8)
    return np.ascontiguousarray(x)


def household_bounds(starts: np.ndarray, parts: int) -> list[int]:
    """Household indices cutting the households into ``parts`` runs of about equal numbers of persons."""
    H, n = starts.size - 1, int(starts[-1])
    cuts = [0]
    for k in range(1, parts):
        h = int(np.searchsorted(starts, n * k // parts, side="left"))
        if cuts[-1] < h < H:
            cuts.append(h)
    cuts.append(H)
    return cuts


def prepared(pop, fixed) -> dict:
    """The pass's parameter-free inputs packed once per population and kept in ``fixed.derived``:
    household start offsets, one flag byte per person (earner, covered, primary earner, employee
    pensioner), ages and dependants counts as bytes (when they are integers 0..255), provinces as bytes."""
    key = ("kernel_inputs", id(pop.person_household), id(pop.age), id(fixed.earner), id(fixed.covered),
           id(fixed.primary), id(fixed.employee_pensioner))

    def make():
        H = pop.n_households
        starts = np.zeros(H + 1, dtype=np.int64)
        np.cumsum(np.bincount(pop.person_household, minlength=H), out=starts[1:])
        flags = (fixed.earner.astype(np.uint8) * EARNER | fixed.covered.astype(np.uint8) * COVERED
                 | fixed.primary.astype(np.uint8) * PRIMARY
                 | fixed.employee_pensioner.astype(np.uint8) * EMPLOYEE_PENSIONER).astype(np.uint8)
        return {"starts": starts, "flags": flags, "age": _small_ints(pop.age),
                "province": pop.province.astype(np.uint8) if pop.province.max(initial=0) < 256 else pop.province,
                "children_education": _small_ints(fixed.children_education), "infants": _small_ints(fixed.infants),
                "elders": _small_ints(fixed.elders),
                "bounds": household_bounds(starts, THREADS if pop.n_persons >= PARALLEL_MIN_PERSONS else 1)}

    return fixed.per_household(key, make)


def parameters_vector(p: dict) -> np.ndarray:
    """The scalar parameters the pass reads, in :data:`PARAMETERS` order."""
    employee = (p["social_insurance.employee.pension"] + p["social_insurance.employee.medical"]
                + p["social_insurance.employee.unemployment"])
    sad = "iit.special_additional_deductions."
    values = {"si_floor": p["social_insurance.base.floor_share_of_average_wage"],
              "si_ceiling": p["social_insurance.base.ceiling_share_of_average_wage"], "si_employee_rate": employee,
              "si_housing_rate": p["social_insurance.employee.housing_fund"],
              "si_employer_rate": p["social_insurance.employer.pension"], "sad_education": p[sad + "child_education"],
              "sad_infant": p[sad + "infant_care"], "sad_elderly": p[sad + "elderly_support_only_child"],
              "basic_deduction": p["iit.basic_deduction"], "pension_age": p["resident_pension.eligibility_age"],
              "pension_minimum": p["resident_pension.minimum"], "child_age_limit": p["child_subsidy.age_limit"],
              "child_amount": p["child_subsidy.under3"], "standard_urban": p["dibao.standard.urban"],
              "standard_rural": p["dibao.standard.rural"], "iit_central": p["iit.revenue_share_central"],
              "central_share_east": p["resident_pension.central_share_east"],
              "levy_rate": p["regional_transfers.east_west.levy_rate"]}
    return np.array([float(values[k]) for k in PARAMETERS])


def _buffer(buffers, name, H, dtype=np.float64):
    b = (buffers or {}).get(name)
    if isinstance(b, np.ndarray) and b.shape == (H,) and b.dtype == dtype and b.flags.writeable \
            and b.flags.c_contiguous and b.base is None:
        return b
    return np.empty(H, dtype=dtype)


def run(pop, fixed, p, top_up_by_province, household_arrays, *, extra_wage=None, east_west=None, ecological=None,
        persons_only=False, per_person=False, outputs=OUTPUTS, buffers=None):
    """The compiled pass for population ``pop`` under parameters ``p`` (None without numba).

    ``household_arrays``: ``dibao_scale``, ``take_up``, ``east``, ``donor`` (per household, from
    ``engine.evaluate``). ``outputs``: the names of :data:`OUTPUTS` to write (the others are not computed
    into memory). ``buffers``: a mapping whose arrays of the right shape and dtype receive the results
    (e.g. a previous evaluation's, which is then overwritten). Returns ``{name: array}``; with
    ``persons_only``, ``{"pre_pc": per-capita income before transfers}``."""
    loop = household_pass()
    if loop is None:
        return None
    packed = prepared(pop, fixed)
    H = pop.n_households
    scale = p["iit.rates"]
    if persons_only:
        outputs = ()
    unknown = set(outputs) - set(OUTPUTS)
    if unknown:
        raise ValueError(f"unknown output(s) {sorted(unknown)}; choose from {', '.join(OUTPUTS)}")
    if extra_wage is None:
        outputs = tuple(o for o in outputs if o != "gross_wage")  # the observed household wage
    res = {name: _buffer(buffers, name, H, bool if name == "dibao_eligible" else np.float64) for name in outputs}
    pre_pc = np.empty(H) if persons_only else _EMPTY
    iit_person = _buffer(buffers, "iit_person", pop.n_persons) if per_person else _EMPTY
    taxable_person = _buffer(buffers, "taxable_income_person", pop.n_persons) if per_person else _EMPTY
    extra = _EMPTY if extra_wage is None else np.ascontiguousarray(extra_wage, dtype=np.float64)
    args = (packed["starts"], fixed.wage_person, extra, packed["flags"], packed["age"], packed["province"],
            packed["children_education"], packed["infants"], packed["elders"], pop.wage_household,
            pop.business_property, fixed.other_transfers, pop.size, pop.urban, household_arrays["dibao_scale"],
            household_arrays["take_up"], household_arrays["east"], household_arrays["donor"],
            np.ascontiguousarray(p["social_insurance.average_wage"] * fixed.income_rel, dtype=np.float64),
            np.ascontiguousarray(top_up_by_province, dtype=np.float64),
            np.ascontiguousarray(scale.thresholds, dtype=np.float64), np.ascontiguousarray(scale.rates, dtype=np.float64),
            np.ascontiguousarray(scale.tax_at_thresholds(), dtype=np.float64), parameters_vector(p),
            _EMPTY if east_west is None else np.ascontiguousarray(east_west, dtype=np.float64),
            _EMPTY if ecological is None else np.ascontiguousarray(ecological, dtype=np.float64),
            *(res.get(name, _EMPTY_BOOL if name == "dibao_eligible" else _EMPTY) for name in OUTPUTS),
            pre_pc, iit_person, taxable_person)
    bounds = packed["bounds"] if len(packed["bounds"]) - 1 == _parts(pop) else household_bounds(packed["starts"], _parts(pop))
    if len(bounds) == 2:
        loop(0, H, persons_only, *args)
    else:
        # the runs write disjoint households (and persons); the compiled loop releases the GIL
        futures = [_executor(len(bounds) - 1).submit(loop, bounds[k], bounds[k + 1], persons_only, *args)
                   for k in range(len(bounds) - 1)]
        for f in futures:
            f.result()
    if persons_only:
        return {"pre_pc": pre_pc}
    if per_person:
        res["iit_person"], res["taxable_income_person"] = iit_person, taxable_person
    return res


def _parts(pop) -> int:
    return THREADS if pop.n_persons >= PARALLEL_MIN_PERSONS else 1
