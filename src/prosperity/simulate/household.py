"""One hypothetical household through every rule, and its net-income and marginal-rate curve over a
range of earnings (PolicyEngine's household calculator, EUROMOD's hypothetical-household tool).

The household claims what it is entitled to (dibao take-up 1); an urban earner is a formal employee
(contributes on the wage clipped to the base band) unless ``formal=False``; rural earners are informal
unless ``formal=True``; members aged 60+ draw the residents' pension unless ``employee_pension``.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .engine import Fixed, check_in_force, evaluate
from .parameter_tree import ParameterTree, bundled_parameters, default_instant
from .population import Population, co2_context, provincial_context
from .reform import PROVINCES, Reform, ReformError


@dataclass(frozen=True)
class HouseholdResult:
    """``steps``: one row per step of every rule (household totals, yuan a year); ``members``: per
    person; ``curve``: disposable income and METR as the primary earner's wage varies."""

    description: dict
    steps: pd.DataFrame
    members: pd.DataFrame
    curve: pd.DataFrame
    reform_name: str

    def to_frame(self) -> pd.DataFrame:
        return self.steps.copy()

    def to_dict(self) -> dict:
        def records(df):
            return json.loads(df.to_json(orient="records", double_precision=12))
        return {"household": self.description, "reform": self.reform_name, "steps": records(self.steps),
                "members": records(self.members), "curve": records(self.curve)}

    def __repr__(self) -> str:
        s = self.steps.set_index("step")["amount"]
        return (f"HouseholdResult({self.description['province']} {self.description['area']}, "
                f"{self.description['persons']} persons: gross {s['gross wages']:,.0f} -> disposable "
                f"{s['disposable income']:,.0f} yuan/yr)")


def _scaling_norm(context) -> dict:
    """The normalisation of consumption-scaled dibao standards, with the 2024 provincial urban and rural
    populations as weights (a population simulation uses its own weights)."""
    from importlib import resources

    pop = pd.read_csv(resources.files("prosperity") / "data" / "china_prov_population_2024_nbs.csv").set_index("province_en")
    rel = context["consumption_rel"].reindex(PROVINCES).to_numpy(float)
    out = {}
    for area in ("urban", "rural"):
        w = pop[f"pop_{area}_10k"].reindex(PROVINCES).to_numpy(float)
        out[area] = float(w.sum() / np.dot(w, rel))
    return out


def _population(wages_primary, others, province, area, size_ages) -> Population:
    """n copies of one household (one per primary wage) as a Population."""
    n = len(wages_primary)
    k = len(size_ages)
    hh = np.repeat(np.arange(n), k)
    pidx = PROVINCES.index(province)
    return Population(person_household=hh, age=np.tile(np.array(size_ages, float), n), household_weight=np.ones(n),
                      size=np.full(n, float(k)), province=np.full(n, pidx), urban=np.full(n, area == "urban"),
                      wage_household=wages_primary + others["spouse_wage"],
                      business_property=np.full(n, others["business"] + others["property"]),
                      net_transfer_household=np.full(n, others["other_transfers"]))


def calculate_household(*, wage: float, year: int = 2024, province: str = "Beijing", area: str = "urban",
                        spouse: bool = False, spouse_wage: float = 0.0, children_ages=(), elderly: int = 0,
                        employee_pension: bool = False, formal: bool | None = None, business: float = 0.0,
                        property_income: float = 0.0, other_transfers: float = 0.0, reform: Reform | None = None,
                        curve_max: float | None = None, curve_points: int = 101,
                        parameters: ParameterTree | None = None) -> HouseholdResult:
    problems = []
    if province not in PROVINCES:
        import difflib
        near = difflib.get_close_matches(province, PROVINCES, n=1)
        problems.append(f"--province {province!r} does not exist" + (f"; did you mean {near[0]!r}?" if near else
                                                                     f" (one of {', '.join(PROVINCES)})"))
    if area not in ("urban", "rural"):
        problems.append(f"--area must be urban or rural, got {area!r}")
    for name, v in (("wage", wage), ("spouse wage", spouse_wage), ("business", business), ("property", property_income)):
        if not (np.isfinite(v) and v >= 0):
            problems.append(f"{name} must be a non-negative amount in yuan a year, got {v!r}")
    if any(not (0 <= a < 30) for a in children_ages):
        problems.append(f"children's ages must be in 0..29, got {list(children_ages)}")
    if elderly < 0 or elderly > 6:
        problems.append(f"--elderly must be 0..6 members aged 60+, got {elderly}")
    if spouse_wage > 0 and not spouse:
        spouse = True
    if problems:
        raise ValueError("; ".join(problems))
    tree = parameters or bundled_parameters()
    if reform is not None:
        tree = reform.apply(tree)
    instant = default_instant(year)
    p = tree.at(instant)
    check_in_force(p, instant, tree)
    ages = [35.0] + ([35.0] if spouse else []) + [float(a) for a in children_ages] + [65.0] * int(elderly)
    others = {"spouse_wage": float(spouse_wage), "business": float(business), "property": float(property_income),
              "other_transfers": float(other_transfers)}
    top = curve_max if curve_max is not None else max(3.0 * wage, 300_000.0)
    grid = np.unique(np.concatenate([[float(wage)], np.linspace(0.0, top, curve_points)]))
    wages = np.concatenate([[float(wage)], grid, grid + 100.0])  # the household, the curve, +100 yuan for METRs
    pop = _population(wages, others, province, area, ages)
    k = len(ages)
    earners_per = 1 + (1 if spouse else 0)
    earner = np.tile(np.array([True] + ([True] if spouse else []) + [False] * (k - earners_per)), len(wages))
    primary = np.tile(np.array([True] + [False] * (k - 1)), len(wages))
    wage_person = np.zeros(len(earner))
    wage_person[primary] = wages
    if spouse:
        wage_person[np.tile(np.array([False, True] + [False] * (k - 2)), len(wages))] = spouse_wage
    formal_job = (area == "urban") if formal is None else bool(formal)
    covered = earner & formal_job & (wage_person > 0)
    older = pop.age >= p["resident_pension.eligibility_age"]
    hh = pop.person_household
    H = pop.n_households
    context = provincial_context(min(max(year, 2016), 2024))
    fixed = Fixed(wage_person=wage_person, earner=earner, primary=primary, employee_pensioner=older & employee_pension,
                  covered=covered,
                  children_education=np.bincount(hh, weights=(pop.age >= 3) & (pop.age < 22) & ~earner, minlength=H),
                  infants=np.bincount(hh, weights=pop.age < 3, minlength=H),
                  elders=np.bincount(hh, weights=older & ~earner, minlength=H),
                  take_up_draw=np.zeros(H), other_transfers=np.full(H, float(other_transfers)),
                  take_up_rate={"urban": 1.0, "rural": 1.0}, take_up_source="hypothetical household claims",
                  income_rel=context["income_rel"].to_numpy(float), consumption_rel=context["consumption_rel"].to_numpy(float),
                  co2=co2_context(year), scaling_norm=_scaling_norm(context))
    fixed.wage_person = wage_person
    out = evaluate(pop, fixed, p, reform.rules if reform else None, extra_wage=np.zeros(len(wage_person)))
    i = 0
    avg_wage = p["social_insurance.average_wage"] * fixed.income_rel[PROVINCES.index(province)]
    lo = p["social_insurance.base.floor_share_of_average_wage"] * avg_wage
    hi = p["social_insurance.base.ceiling_share_of_average_wage"] * avg_wage
    persons = slice(0, k)
    steps = [
        ("gross wages", out["gross_wage"][i], "sum of members' wages"),
        ("contribution base band", np.nan, f"[{lo:,.0f}, {hi:,.0f}] = [60 %, 300 %] x provincial average wage {avg_wage:,.0f}"),
        ("employee social insurance", -out["si_employee"][i], "pension 8 % + medical 2 % + unemployment 0.5 % of the base"),
        ("housing provident fund", -out["housing_fund"][i], f"{p['social_insurance.employee.housing_fund']:.0%} of the base"),
        ("basic deduction", np.nan, f"{p['iit.basic_deduction']:,.0f} per earner"),
        ("taxable income", float(out["taxable_income_person"][persons].sum()), "gross - deductions, per earner, summed"),
        ("income tax (IIT)", -out["iit"][i], f"scale {p['iit.rates']}"),
        ("business and property income", float(business + property_income), "not taxed by the model"),
        ("other transfers", float(other_transfers), "given"),
        ("residents' basic pension", out["resident_pension"][i], f"({p['resident_pension.minimum']:g} + top-up) x 12 per member 60+"),
        ("childcare subsidy", out["childcare_subsidy"][i], f"{p['child_subsidy.under3']:g} per child under 3"),
        ("dibao standard (per person, per month)", out["dibao_standard_monthly"][i], "local standard"),
        ("dibao", out["dibao"][i], "standard x members - means-test income, if positive"),
        ("regional transfers", out["east_west_transfer"][i] + out["ecological_compensation"][i] - out["levy"][i], "east-west and ecological"),
        ("disposable income", out["disposable"][i], "household, yuan a year"),
        ("disposable income per capita", out["disposable_pc"][i], "NBS per-capita income"),
        ("employer pension contribution", out["si_employer_pension"][i], "labour cost, not in disposable income"),
    ]
    steps_df = pd.DataFrame(steps, columns=["step", "amount", "rule"])
    roles = ["primary earner"] + (["spouse"] if spouse else []) + [f"child {a:g}" for a in children_ages] + ["member 60+"] * int(elderly)
    members = pd.DataFrame({"member": roles, "age": ages, "gross_wage": wage_person[persons],
                            "taxable_income": out["taxable_income_person"][persons], "iit": out["iit_person"][persons]})
    n = len(grid)
    d = out["disposable"]
    curve = pd.DataFrame({"wage": grid, "disposable_income": d[1:1 + n], "iit": out["iit"][1:1 + n],
                          "social_insurance": out["si_employee"][1:1 + n] + out["housing_fund"][1:1 + n],
                          "dibao": out["dibao"][1:1 + n],
                          "metr": 1.0 - (d[1 + n:] - d[1:1 + n]) / 100.0})
    description = {"year": year, "instant": instant.isoformat(), "province": province, "area": area, "persons": k,
                   "ages": ages, "wage": wage, "spouse_wage": spouse_wage, "formal_employee": formal_job,
                   "employee_pension": employee_pension}
    return HouseholdResult(description, steps_df, members, curve, reform.name if reform else "baseline")
