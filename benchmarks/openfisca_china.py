"""A minimal OpenFisca country package written for the benchmark: the same four rules as
``prosperity.simulate.rules`` (employee social insurance and housing fund, individual income tax with
the special additional deductions, residents' basic pension, dibao), the same parameter files (the
bundled ``prosperity/simulate/parameters`` directory loads unchanged in ``ParameterNode``), on the same
persons and households.

Entities: person, household (one role, ``member``). Inputs are what the prosperity baseline fixes
(gross wage per earner, coverage, the provincial average wage, the dependants counts, age, employee
pensioner status, the provincial pension top-up, take-up draw, the household's other income and its
provincial dibao scaling); everything else is a formula. Parameters are read at ``AT`` (prosperity's
default instant, 30 June of the year) rather than at the period's start, so both engines use the same
values. OpenFisca stores ``float`` variables as float32: results agree to float32 precision.
"""

from __future__ import annotations

import numpy as np
from openfisca_core.entities import build_entity
from openfisca_core.periods import DateUnit
from openfisca_core.simulations import SimulationBuilder
from openfisca_core.taxbenefitsystems import TaxBenefitSystem
from openfisca_core.variables import Variable

AT = "2024-06-30"
YEAR = DateUnit.YEAR

Household = build_entity(key="household", plural="households", label="Household",
                         roles=[{"key": "member", "plural": "members", "label": "Member"}])
Person = build_entity(key="person", plural="persons", label="Person", is_person=True)


def _input(name, entity, value_type=float):
    return type(name, (Variable,), {"value_type": value_type, "entity": entity, "definition_period": YEAR,
                                    "label": name})


gross_wage = _input("gross_wage", Person)
earner = _input("earner", Person, bool)
si_covered = _input("si_covered", Person, bool)
average_wage_local = _input("average_wage_local", Person)
is_primary_earner = _input("is_primary_earner", Person, bool)
age = _input("age", Person, int)
employee_pensioner = _input("employee_pensioner", Person, bool)
pension_top_up_monthly = _input("pension_top_up_monthly", Person)
children_education = _input("children_education", Household)
infants = _input("infants", Household)
elders = _input("elders", Household)
urban = _input("urban", Household, bool)
dibao_scale = _input("dibao_scale", Household)
dibao_take_up = _input("dibao_take_up", Household, bool)
other_income = _input("other_income", Household)


class contribution_base(Variable):
    value_type, entity, definition_period, label = float, Person, YEAR, "Social-insurance contribution base"

    def formula(person, period, parameters):
        p = parameters(AT).social_insurance.base
        avg = person("average_wage_local", period)
        base = np.clip(person("gross_wage", period), p.floor_share_of_average_wage * avg,
                       p.ceiling_share_of_average_wage * avg)
        return np.where(person("si_covered", period), base, 0.0)


class si_employee(Variable):
    value_type, entity, definition_period, label = float, Person, YEAR, "Employee social insurance"

    def formula(person, period, parameters):
        e = parameters(AT).social_insurance.employee
        return person("contribution_base", period) * (e.pension + e.medical + e.unemployment)


class housing_fund(Variable):
    value_type, entity, definition_period, label = float, Person, YEAR, "Employee housing fund"

    def formula(person, period, parameters):
        return person("contribution_base", period) * parameters(AT).social_insurance.employee.housing_fund


class special_additional_deductions(Variable):
    value_type, entity, definition_period, label = float, Person, YEAR, "Special additional deductions"

    def formula(person, period, parameters):
        s = parameters(AT).iit.special_additional_deductions
        hh = person.household
        monthly = (hh("children_education", period) * s.child_education + hh("infants", period) * s.infant_care
                   + (hh("elders", period) > 0) * s.elderly_support_only_child)
        return np.where(person("is_primary_earner", period), monthly * 12.0, 0.0)


class taxable_income(Variable):
    value_type, entity, definition_period, label = float, Person, YEAR, "Taxable comprehensive income"

    def formula(person, period, parameters):
        wage = np.where(person("earner", period), person("gross_wage", period), 0.0)
        return np.maximum(wage - parameters(AT).iit.basic_deduction - person("si_employee", period)
                          - person("housing_fund", period) - person("special_additional_deductions", period), 0.0)


class iit(Variable):
    value_type, entity, definition_period, label = float, Person, YEAR, "Individual income tax"

    def formula(person, period, parameters):
        return parameters(AT).iit.rates.calc(person("taxable_income", period))


class resident_pension(Variable):
    value_type, entity, definition_period, label = float, Person, YEAR, "Residents' basic pension"

    def formula(person, period, parameters):
        p = parameters(AT).resident_pension
        eligible = (person("age", period) >= p.eligibility_age) & ~person("employee_pensioner", period)
        return np.where(eligible, (p.minimum + person("pension_top_up_monthly", period)) * 12.0, 0.0)


class means_test_income(Variable):
    value_type, entity, definition_period, label = float, Household, YEAR, "Income before dibao"

    def formula(household, period, parameters):
        s = household.sum
        return (s(household.members("gross_wage", period)) + household("other_income", period)
                + s(household.members("resident_pension", period)) - s(household.members("iit", period))
                - s(household.members("si_employee", period)) - s(household.members("housing_fund", period)))


class dibao(Variable):
    value_type, entity, definition_period, label = float, Household, YEAR, "Minimum living allowance"

    def formula(household, period, parameters):
        std = parameters(AT).dibao.standard
        monthly = np.where(household("urban", period), std.urban, std.rural) * household("dibao_scale", period)
        gap = monthly * 12.0 * household.nb_persons() - household("means_test_income", period)
        return np.where(household("dibao_take_up", period) & (gap > 0), gap, 0.0)


class disposable_income(Variable):
    value_type, entity, definition_period, label = float, Household, YEAR, "Household disposable income"

    def formula(household, period, parameters):
        return household("means_test_income", period) + household("dibao", period)


VARIABLES = [gross_wage, earner, si_covered, average_wage_local, is_primary_earner, age, employee_pensioner,
             pension_top_up_monthly, children_education, infants, elders, urban, dibao_scale, dibao_take_up,
             other_income, contribution_base, si_employee, housing_fund, special_additional_deductions,
             taxable_income, iit, resident_pension, means_test_income, dibao, disposable_income]


def tax_benefit_system(parameters_dir: str) -> TaxBenefitSystem:
    tbs = TaxBenefitSystem([Household, Person])
    tbs.load_parameters(parameters_dir)
    tbs.add_variables(*VARIABLES)
    return tbs


def simulation(tbs: TaxBenefitSystem, person_household: np.ndarray, inputs: dict, period: str = "2024"):
    """An OpenFisca simulation of these persons (``person_household``: 0-based household index per
    person, sorted) with the input arrays ``inputs`` ({variable: array})."""
    builder = SimulationBuilder()
    builder.create_entities(tbs)
    n_persons, n_households = len(person_household), int(person_household[-1]) + 1
    builder.declare_person_entity("person", np.arange(n_persons))
    households = builder.declare_entity("household", np.arange(n_households))
    builder.join_with_persons(households, person_household, np.zeros(n_persons, dtype=int))
    sim = builder.build(tbs)
    for name, values in inputs.items():
        sim.set_input(name, period, values)
    return sim
