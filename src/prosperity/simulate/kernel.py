"""The person-level rules fused in one compiled pass (the fast path of :func:`engine.evaluate`).

The readable formulas are the vectorised functions of :mod:`prosperity.simulate.rules`; this module
computes exactly the same quantities, person by person in household order, in one loop that reads each
input once and adds each result straight into its household's total: employee social insurance and
housing fund (``rules.social_insurance``), special additional deductions
(``rules.special_additional_deductions``), taxable income and IIT (``rules.income_tax`` and
``rules.marginal_rate_tax``), the residents' pension (``rules.resident_pension``) and the childcare
subsidy (``rules.childcare_subsidy``). The arithmetic follows the NumPy formulas operation by operation,
so both paths give the same numbers (tests compare them on every shipped reform and on random
populations). Used when numba is available and no reform replaces one of these rules; otherwise
``engine.evaluate`` runs the NumPy rules.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..compiled import lazily_compiled
from .rules import MONTHS

FUSED_RULES = ("social_insurance", "special_additional_deductions", "income_tax", "resident_pension",
               "childcare_subsidy")


@lazily_compiled
def person_rules_loop(person_household, wage, extra, earner, covered, primary, employee_pensioner, age,
                      province_h, average_wage_by_province, top_up_by_province,
                      children_education_h, infants_h, elders_h,
                      si_floor, si_ceiling, si_employee_rate, si_housing_rate, si_employer_rate,
                      sad_education, sad_infant, sad_elderly, basic_deduction,
                      thresholds, rates, tax_at_thresholds,
                      pension_age, pension_minimum, child_age_limit, child_amount,
                      out_h, iit_person, taxable_person):
    """One pass over persons. ``out_h`` (9 x households), rows: iit, si_employee, housing_fund,
    si_employer_pension, resident_pension, childcare_subsidy, resident_pension_recipients, the
    national-minimum part of the pension, gross wage (with ``extra``). ``extra`` has length 0 (no extra
    wage) or one value per person. ``iit_person`` / ``taxable_person`` of length 0 are not written."""
    n = person_household.shape[0]
    k_max = thresholds.shape[0] - 1
    with_extra = extra.shape[0] > 0
    per_person = iit_person.shape[0] > 0
    for i in range(n):
        h = person_household[i]
        prov = province_h[h]
        w = wage[i]
        if with_extra:
            w = w + extra[i]
        avg = average_wage_by_province[prov]
        if covered[i]:
            lo = si_floor * avg
            hi = si_ceiling * avg
            base = min(max(w, lo), hi)
        else:
            base = 0.0
        si = base * si_employee_rate
        hf = base * si_housing_rate
        if primary[i]:
            monthly = children_education_h[h] * sad_education + infants_h[h] * sad_infant
            if elders_h[h] > 0:
                monthly = monthly + sad_elderly
            sad = monthly * MONTHS
        else:
            sad = 0.0
        earned = w if earner[i] else 0.0
        taxable = max(earned - basic_deduction - si - hf - sad, 0.0)
        k = 0
        while k < k_max and thresholds[k + 1] <= taxable:
            k += 1
        tax = tax_at_thresholds[k] + rates[k] * (taxable - thresholds[k])
        a = age[i]
        pension = 0.0
        if a >= pension_age and not employee_pensioner[i]:
            pension = (pension_minimum + top_up_by_province[prov]) * MONTHS
        child = child_amount if a < child_age_limit else 0.0
        out_h[0, h] += tax
        out_h[1, h] += si
        out_h[2, h] += hf
        out_h[3, h] += base * si_employer_rate
        out_h[4, h] += pension
        out_h[5, h] += child
        if pension > 0:
            out_h[6, h] += 1.0
            if a >= pension_age:
                out_h[7, h] += pension_minimum * MONTHS
        out_h[8, h] += w
        if per_person:
            iit_person[i] = tax
            taxable_person[i] = taxable


THREADS = max(1, min(4, os.cpu_count() or 1))
PARALLEL_MIN_PERSONS = 200_000


def _household_aligned_bounds(person_household: np.ndarray, parts: int) -> list[int]:
    """Person indices cutting ``person_household`` (sorted) into ``parts`` runs of whole households."""
    n = person_household.size
    cuts = [0]
    for k in range(1, parts):
        i = int(np.searchsorted(person_household, person_household[n * k // parts], side="left"))
        if i > cuts[-1]:
            cuts.append(i)
    cuts.append(n)
    return cuts


def person_rules(pop, fixed, p, top_up_by_province, extra_wage=None, per_person=False):
    """The fused pass for population ``pop`` under parameters ``p``; returns the household arrays (and
    the per-person IIT and taxable income when ``per_person``), or None without numba."""
    loop = person_rules_loop()
    if loop is None:
        return None
    scale = p["iit.rates"]
    H, n = pop.n_households, pop.n_persons
    out = np.zeros((9, H))
    iit_person = np.empty(n if per_person else 0)
    taxable_person = np.empty(n if per_person else 0)
    extra = np.zeros(0) if extra_wage is None else np.ascontiguousarray(extra_wage, dtype=np.float64)
    employee = (p["social_insurance.employee.pension"] + p["social_insurance.employee.medical"]
                + p["social_insurance.employee.unemployment"])
    sad = "iit.special_additional_deductions."
    scalars = (
        np.ascontiguousarray(p["social_insurance.average_wage"] * fixed.income_rel, dtype=np.float64),
        np.ascontiguousarray(top_up_by_province, dtype=np.float64),
        np.ascontiguousarray(fixed.children_education, dtype=np.float64),
        np.ascontiguousarray(fixed.infants, dtype=np.float64), np.ascontiguousarray(fixed.elders, dtype=np.float64),
        float(p["social_insurance.base.floor_share_of_average_wage"]),
        float(p["social_insurance.base.ceiling_share_of_average_wage"]), float(employee),
        float(p["social_insurance.employee.housing_fund"]), float(p["social_insurance.employer.pension"]),
        float(p[sad + "child_education"]), float(p[sad + "infant_care"]), float(p[sad + "elderly_support_only_child"]),
        float(p["iit.basic_deduction"]),
        np.ascontiguousarray(scale.thresholds, dtype=np.float64), np.ascontiguousarray(scale.rates, dtype=np.float64),
        np.ascontiguousarray(scale.tax_at_thresholds(), dtype=np.float64),
        float(p["resident_pension.eligibility_age"]), float(p["resident_pension.minimum"]),
        float(p["child_subsidy.age_limit"]), float(p["child_subsidy.under3"]))

    def chunk(a, b):
        loop(pop.person_household[a:b], fixed.wage_person[a:b], extra[a:b] if extra.size else extra,
             fixed.earner[a:b], fixed.covered[a:b], fixed.primary[a:b], fixed.employee_pensioner[a:b], pop.age[a:b],
             pop.province, *scalars, out, iit_person[a:b] if per_person else iit_person,
             taxable_person[a:b] if per_person else taxable_person)

    # persons are in household order: chunks cut at household starts write disjoint households, so the
    # compiled loop (which releases the GIL) runs on several threads at once
    bounds = _household_aligned_bounds(pop.person_household, THREADS if n >= PARALLEL_MIN_PERSONS else 1)
    if len(bounds) == 2:
        chunk(0, n)
    else:
        with ThreadPoolExecutor(len(bounds) - 1) as pool:
            list(pool.map(lambda k: chunk(bounds[k], bounds[k + 1]), range(len(bounds) - 1)))
    names = ("iit", "si_employee", "housing_fund", "si_employer_pension", "resident_pension", "childcare_subsidy",
             "resident_pension_recipients", "pension_minimum_part", "gross_wage")
    result = {name: out[j] for j, name in enumerate(names)}
    if per_person:
        result["iit_person"], result["taxable_income_person"] = iit_person, taxable_person
    return result


@lazily_compiled
def income_before_transfers_loop(gross_wage, business_property, other_transfers, resident_pension, childcare,
                                 iit, si_employee, housing_fund, size, pre, pre_pc):
    """pre = gross wage + business/property + other transfers + pension + childcare - IIT - contributions
    - housing fund, per household (``engine.evaluate``'s ``pre``), and per capita."""
    for h in range(pre.shape[0]):
        market = gross_wage[h] + business_property[h]
        v = market + other_transfers[h] + resident_pension[h] + childcare[h] - iit[h] - si_employee[h] - housing_fund[h]
        pre[h] = v
        pre_pc[h] = v / size[h]


@lazily_compiled
def dibao_and_budgets_loop(pre, east_west, ecological, levy, childcare, urban, scale, take_up, size, iit,
                           resident_pension, minimum_part, east, standard_urban, standard_rural,
                           iit_central, central_share_east,
                           standard_out, eligible_out, dibao_out, disposable_out, disposable_pc_out,
                           central_out, local_out):
    """Per household: the dibao standard, means test and benefit (``rules.dibao``), disposable income
    and the central and local budget balances (``engine.evaluate``), in the NumPy formulas' order."""
    for h in range(pre.shape[0]):
        means = pre[h] + east_west[h] + ecological[h] - levy[h] - childcare[h]
        national = standard_urban if urban[h] else standard_rural
        standard = national * scale[h]
        standard_out[h] = standard
        eligible_out[h] = means < standard * MONTHS * size[h]
        gap = standard * MONTHS * size[h] - means
        benefit = gap if (take_up[h] and gap > 0) else 0.0
        dibao_out[h] = benefit
        disposable = pre[h] + east_west[h] + ecological[h] - levy[h] + benefit
        disposable_out[h] = disposable
        disposable_pc_out[h] = disposable / size[h]
        central_pension = minimum_part[h] * (central_share_east if east[h] else 1.0)
        central_out[h] = iit_central * iit[h] + levy[h] - east_west[h] - childcare[h] - central_pension
        local_out[h] = (1 - iit_central) * iit[h] - benefit - (resident_pension[h] - central_pension) - ecological[h]
