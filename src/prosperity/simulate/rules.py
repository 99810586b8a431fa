"""The tax-benefit rules: small vectorised functions over NumPy arrays, each citing the parameter file
that holds its values and source. Amounts are yuan per year unless named otherwise; ``p`` is the flat
``{path: value}`` mapping of :meth:`ParameterTree.at`.

A reform may replace any of these by name (``Reform(rules={"dibao": my_dibao})``): the replacement
receives the same arguments.
"""

from __future__ import annotations

import numpy as np

from .parameter_tree import Brackets

MONTHS = 12.0


def marginal_rate_tax(base: np.ndarray, scale: Brackets) -> np.ndarray:
    """Tax of a marginal-rate scale: T(b) = T(t_k) + r_k (b - t_k) for t_k <= b < t_{k+1}, T(b <= 0) = 0.
    Equal to the published form b r_k - quick_deduction_k (``iit.rates``; IIT Law art. 3)."""
    b = np.maximum(base, 0.0)
    k = np.searchsorted(scale.thresholds, b, side="right") - 1
    k = np.maximum(k, 0)
    return scale.tax_at_thresholds()[k] + scale.rates[k] * (b - scale.thresholds[k])


def social_insurance(gross_wage, covered, average_wage, p) -> dict:
    """Employee contributions (``social_insurance.yaml``): rate x base for covered earners, the base being
    the wage clipped to [floor, ceiling] x the provincial average wage (60 % / 300 %, 国办发〔2019〕13号).
    Returns employee social insurance (pension + medical + unemployment), housing fund and the employer's
    pension contribution (labour cost, not in disposable income)."""
    lo = p["social_insurance.base.floor_share_of_average_wage"] * average_wage
    hi = p["social_insurance.base.ceiling_share_of_average_wage"] * average_wage
    base = np.where(covered, np.clip(gross_wage, lo, hi), 0.0)
    employee = (p["social_insurance.employee.pension"] + p["social_insurance.employee.medical"]
                + p["social_insurance.employee.unemployment"])
    return {"si_employee": base * employee, "housing_fund": base * p["social_insurance.employee.housing_fund"],
            "si_employer_pension": base * p["social_insurance.employer.pension"]}


def special_additional_deductions(children_education, infants, elderly_parents, is_primary, p) -> np.ndarray:
    """Annual special additional deductions (``iit.yaml``, 国发〔2018〕41号 / 〔2022〕8号 / 〔2023〕13号)
    claimed by the household's primary earner (one parent may claim 100 %): child education and infant
    care per child, elderly support at the only-child amount when a member is 60+ (assumption: synthetic
    households carry no sibling information)."""
    sad = "iit.special_additional_deductions."
    monthly = (children_education * p[sad + "child_education"] + infants * p[sad + "infant_care"]
               + (elderly_parents > 0) * p[sad + "elderly_support_only_child"])
    return np.where(is_primary, monthly * MONTHS, 0.0)


def income_tax(gross_wage, si_employee, housing_fund, sad, p) -> dict:
    """IIT on comprehensive income: taxable = gross - basic deduction (60,000) - specific deductions
    (employee social insurance and housing fund) - special additional deductions; tax by ``iit.rates``."""
    taxable = np.maximum(gross_wage - p["iit.basic_deduction"] - si_employee - housing_fund - sad, 0.0)
    return {"taxable_income": taxable, "iit": marginal_rate_tax(taxable, p["iit.rates"])}


def resident_pension(age, employee_pensioner, top_up_monthly, p) -> np.ndarray:
    """Residents' basic pension (``resident_pension.yaml``): (national minimum + provincial top-up) x 12
    for persons aged 60+ who draw no employee pension."""
    eligible = (age >= p["resident_pension.eligibility_age"]) & ~employee_pensioner
    return np.where(eligible, (p["resident_pension.minimum"] + top_up_monthly) * MONTHS, 0.0)


def childcare_subsidy(age, p) -> np.ndarray:
    """National childcare subsidy (``child_subsidy.yaml``): 3,600 a year per child under 3 from 2025."""
    return np.where(age < p["child_subsidy.age_limit"], p["child_subsidy.under3"], 0.0)


def dibao(means_test_income, size, standard_monthly, take_up, p) -> np.ndarray:
    """Dibao (``dibao.yaml``): a household whose per-capita means-test income is below the local standard
    receives the difference x members (difference payment), if it takes the benefit up.
    ``means_test_income`` is household income excluding dibao and the childcare subsidy (not counted)."""
    gap = standard_monthly * MONTHS * size - means_test_income
    return np.where(take_up & (gap > 0), gap, 0.0)


def waterfill(income_pc, persons, group, fund, n_groups) -> np.ndarray:
    """Payments per household that raise the lowest per-capita incomes of each group to a common floor
    until the group's fund is spent ('low-income households first'). ``persons`` are persons
    represented (weight x size); returns the per-household total payment (yuan a year, per household,
    i.e. per-capita top-up x size / weight units cancel: top-up per capita x members)."""
    out_pc = np.zeros(len(income_pc))
    order = np.lexsort((income_pc, group))
    g, y, n = group[order], income_pc[order], persons[order]
    starts = np.searchsorted(g, np.arange(n_groups), side="left")
    stops = np.searchsorted(g, np.arange(n_groups), side="right")
    floor_pc = np.zeros(len(y))
    for k in range(n_groups):
        a, b = starts[k], stops[k]
        if b <= a or fund[k] <= 0:
            continue
        ys, ns = y[a:b], n[a:b]
        cum_n = np.cumsum(ns)
        cum_yn = np.cumsum(ys * ns)
        # cost of raising everyone below ys[j] to ys[j]: ys[j] cum_n[j-1] - cum_yn[j-1]
        cost = ys * np.concatenate([[0.0], cum_n[:-1]]) - np.concatenate([[0.0], cum_yn[:-1]])
        j = int(np.searchsorted(cost, fund[k], side="right"))  # first j whose cost exceeds the fund
        m = max(j, 1)
        level = (fund[k] + cum_yn[m - 1]) / cum_n[m - 1]
        floor_pc[a:b] = np.maximum(level - ys, 0.0)
    out_pc[order] = floor_pc
    return out_pc
