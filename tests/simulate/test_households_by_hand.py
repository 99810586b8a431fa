"""Typical households computed by hand, every step written out, against ``calculate_household``.

Parameters used (bundled files, in force on 30 June of the year):
  2024: national average wage 124,110 (``social_insurance.average_wage``), provincial average wage =
  that x the province's disposable income relative to the population-weighted provincial mean
  (``provincial_context``); employee social insurance 8 + 2 + 0.5 = 10.5 %, housing fund 5 %, on the wage
  clipped to [60 %, 300 %] of the provincial average wage; basic deduction 60,000; child education
  2,000 / month per child, infant care 2,000 / month; residents' pension minimum 123 / month; dibao
  national standards 798.1 (urban) / 593.9 (rural) per person per month, scaled by provincial consumption.
  2017: basic deduction 42,000 and the 2011 monthly scale annualised (0 / 18,000 / 54,000 / 108,000 ...).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import prosperity
from prosperity.simulate import Reform, load_reforms
from prosperity.simulate.household import _scaling_norm, calculate_household
from prosperity.simulate.population import provincial_context

DATA = Path(prosperity.__file__).parent / "data"
AVG_WAGE_2024 = 124110.0
SI_RATE, HF_RATE = 0.08 + 0.02 + 0.005, 0.05


def rel_2024(column: str, year_of_column: int) -> pd.Series:
    """Province / population-weighted mean of the provinces, read straight from the bundled CSVs."""
    panel = pd.read_csv(DATA / "china_prov_income_consumption_fiscal_2016_2024_nbs.csv")
    pop = pd.read_csv(DATA / "china_prov_population_2024_nbs.csv").set_index("province_en")["pop_total_10k"]
    s = panel[panel["year"] == year_of_column].set_index("province_en")[column]
    w = pop.reindex(s.index)
    return s / float((s * w).sum() / w.sum())


INCOME_REL = rel_2024("disp_income_pc_yuan", 2024)
CONSUMPTION_REL = rel_2024("consumption_exp_pc_yuan", 2023)


def avg_wage(province: str) -> float:
    return AVG_WAGE_2024 * INCOME_REL[province]


def dibao_standard(province: str, area: str) -> float:
    national = {"urban": 798.1, "rural": 593.9}[area]
    return national * CONSUMPTION_REL[province] * _scaling_norm(provincial_context(2024))[area]


def step(result, name: str) -> float:
    return float(result.steps.set_index("step").loc[name, "amount"])


def test_context_is_the_published_tables():
    ctx = provincial_context(2024)
    np.testing.assert_allclose(ctx["income_rel"].to_numpy(), INCOME_REL.reindex(ctx.index).to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(ctx["consumption_rel"].to_numpy(), CONSUMPTION_REL.reindex(ctx.index).to_numpy(), rtol=1e-12)
    # Beijing's disposable income is about twice the mean of the provinces, Gansu's about 0.64
    assert 2.0 < INCOME_REL["Beijing"] < 2.1 and 0.6 < INCOME_REL["Gansu"] < 0.7


def test_scaled_dibao_standards_average_to_the_national_standard():
    pop = pd.read_csv(DATA / "china_prov_population_2024_nbs.csv").set_index("province_en")
    for area, national in (("urban", 798.1), ("rural", 593.9)):
        w = pop[f"pop_{area}_10k"]
        standards = pd.Series({p: dibao_standard(p, area) for p in w.index})
        assert float((standards * w).sum() / w.sum()) == pytest.approx(national, rel=1e-12)


def test_1_beijing_single_earner_below_the_contribution_floor():
    r = calculate_household(wage=120_000, province="Beijing", area="urban")
    base = 0.6 * avg_wage("Beijing")            # 120,000 < floor 153,556: contributions on the floor
    si, hf = SI_RATE * base, HF_RATE * base       # 16,123.43 and 7,677.82
    taxable = 120_000 - 60_000 - si - hf          # 36,198.75
    iit = 0.03 * 36_000 + 0.10 * (taxable - 36_000)  # 1,080 + 19.88
    assert step(r, "employee social insurance") == pytest.approx(-si, rel=1e-12)
    assert step(r, "housing provident fund") == pytest.approx(-hf, rel=1e-12)
    assert step(r, "taxable income") == pytest.approx(taxable, rel=1e-12)
    assert step(r, "income tax (IIT)") == pytest.approx(-iit, rel=1e-12)
    assert iit == pytest.approx(1099.875, abs=0.01)
    assert step(r, "disposable income") == pytest.approx(120_000 - si - hf - iit, rel=1e-12)
    assert step(r, "employer pension contribution") == pytest.approx(0.16 * base, rel=1e-12)
    # +100 yuan of wage: base stays at the floor, tax at 10 % -> METR 0.10
    at = r.curve.set_index("wage").loc[120_000.0, "metr"]
    assert at == pytest.approx(0.10, abs=1e-9)


def test_2_zhejiang_earner_with_a_child_in_school():
    r = calculate_household(wage=120_000, province="Zhejiang", area="urban", spouse=True, children_ages=(8,))
    base = max(120_000, 0.6 * avg_wage("Zhejiang"))  # floor 120,474
    si, hf = SI_RATE * base, HF_RATE * base         # 12,649.76 and 6,023.69
    taxable = 120_000 - 60_000 - si - hf - 2_000 * 12  # child education 24,000 -> 17,326.55
    iit = 0.03 * taxable                              # 519.80
    assert iit == pytest.approx(519.796, abs=0.01)
    assert step(r, "income tax (IIT)") == pytest.approx(-iit, rel=1e-12)
    assert step(r, "disposable income") == pytest.approx(120_000 - si - hf - iit, rel=1e-12)
    assert step(r, "disposable income per capita") == pytest.approx((120_000 - si - hf - iit) / 3, rel=1e-12)
    assert step(r, "dibao") == 0.0


def test_3_shanghai_top_earner_capped_base_and_45_percent_bracket():
    r = calculate_household(wage=1_200_000, province="Shanghai", area="urban")
    base = 3.0 * avg_wage("Shanghai")              # capped at 300 %
    si, hf = SI_RATE * base, HF_RATE * base
    taxable = 1_200_000 - 60_000 - si - hf
    assert taxable > 960_000
    iit = 0.45 * taxable - 181_920                 # published quick deduction of the 45 % bracket
    assert step(r, "income tax (IIT)") == pytest.approx(-iit, rel=1e-12)
    assert iit <= 0.45 * taxable
    assert r.curve.set_index("wage").loc[1_200_000.0, "metr"] == pytest.approx(0.45, abs=1e-9)


def test_4_henan_rural_informal_couple_pays_nothing_and_gets_no_dibao():
    r = calculate_household(wage=30_000, province="Henan", area="rural", spouse=True)
    assert step(r, "employee social insurance") == 0.0   # rural earners are informal by default
    assert step(r, "income tax (IIT)") == 0.0            # 30,000 < 60,000 basic deduction
    assert dibao_standard("Henan", "rural") * 12 * 2 < 30_000
    assert step(r, "dibao") == 0.0
    assert step(r, "disposable income") == 30_000


def test_5_gansu_rural_no_earnings_with_a_pensioner_gets_dibao_on_top_of_the_pension():
    r = calculate_household(wage=0, province="Gansu", area="rural", elderly=1)
    pension = 123 * 12                                   # 1,476
    standard = dibao_standard("Gansu", "rural")          # about 445.8 a month
    dibao = standard * 12 * 2 - pension                  # difference payment for 2 persons
    assert step(r, "residents' basic pension") == pension
    assert step(r, "dibao standard (per person, per month)") == pytest.approx(standard, rel=1e-12)
    assert step(r, "dibao") == pytest.approx(dibao, rel=1e-12)
    assert step(r, "disposable income") == pytest.approx(standard * 24, rel=1e-12)


def test_6_employee_pensioner_draws_no_residents_pension():
    r = calculate_household(wage=0, province="Gansu", area="rural", elderly=1, employee_pension=True,
                            other_transfers=30_000)
    assert step(r, "residents' basic pension") == 0.0
    assert step(r, "dibao") == 0.0                      # 30,000 of pension > 2 x 12 x 445.8
    assert step(r, "disposable income") == 30_000


def test_7_childcare_subsidy_2025_not_counted_in_the_means_test():
    r = calculate_household(wage=0, year=2025, province="Henan", area="urban", spouse=True, children_ages=(1,))
    standard = dibao_standard("Henan", "urban")          # 2025 uses the 2024 standards and context
    assert step(r, "childcare subsidy") == 3_600
    assert step(r, "dibao") == pytest.approx(standard * 12 * 3, rel=1e-12)  # the subsidy does not reduce it
    assert step(r, "disposable income") == pytest.approx(standard * 36 + 3_600, rel=1e-12)
    r24 = calculate_household(wage=0, year=2024, province="Henan", area="urban", spouse=True, children_ages=(1,))
    assert step(r24, "childcare subsidy") == 0.0         # not in force before 2025


def test_8_infant_care_deduction():
    r = calculate_household(wage=200_000, year=2025, province="Henan", area="urban", children_ages=(1,))
    base = max(200_000, 0.6 * avg_wage("Henan"))
    base = min(base, 3.0 * avg_wage("Henan"))
    si, hf = SI_RATE * base, HF_RATE * base
    taxable = 200_000 - 60_000 - si - hf - 2_000 * 12   # infant care 2,000 a month
    iit = 0.10 * taxable - 2_520
    assert step(r, "income tax (IIT)") == pytest.approx(-iit, rel=1e-12)
    assert step(r, "disposable income") == pytest.approx(200_000 - si - hf - iit + 3_600, rel=1e-12)


def test_9_two_earners_each_with_a_basic_deduction_primary_claims_the_child():
    r = calculate_household(wage=200_000, spouse_wage=150_000, province="Jiangsu", area="urban", children_ages=(10,))
    lo, hi = 0.6 * avg_wage("Jiangsu"), 3.0 * avg_wage("Jiangsu")
    assert lo < 150_000 and 200_000 < hi                 # both wages inside the band
    t1 = 200_000 * (1 - SI_RATE - HF_RATE) - 60_000 - 24_000  # 84,000... primary: 200,000 - 31,000 - 60,000 - 24,000
    t2 = 150_000 * (1 - SI_RATE - HF_RATE) - 60_000
    tax1, tax2 = 0.10 * t1 - 2_520, 0.10 * t2 - 2_520
    members = r.members.set_index("member")
    assert members.loc["primary earner", "taxable_income"] == pytest.approx(t1, rel=1e-12)
    assert members.loc["spouse", "taxable_income"] == pytest.approx(t2, rel=1e-12)
    assert step(r, "income tax (IIT)") == pytest.approx(-(tax1 + tax2), rel=1e-12)
    assert step(r, "disposable income") == pytest.approx(350_000 * (1 - SI_RATE - HF_RATE) - tax1 - tax2, rel=1e-12)


def test_10_guizhou_rural_large_household_dibao():
    r = calculate_household(wage=10_000, province="Guizhou", area="rural", children_ages=(5, 12), elderly=1)
    standard = dibao_standard("Guizhou", "rural")
    means = 10_000 + 123 * 12                             # wage + residents' pension
    assert step(r, "dibao") == pytest.approx(standard * 12 * 4 - means, rel=1e-12)
    assert step(r, "disposable income per capita") == pytest.approx(standard * 12, rel=1e-12)


def test_11_bracket_edges_equal_the_published_quick_deductions():
    # informal (no contributions): taxable = wage - 60,000
    for wage, tax in ((96_000, 1_080), (204_000, 0.20 * 144_000 - 16_920), (360_000, 0.25 * 300_000 - 31_920),
                      (480_000, 0.30 * 420_000 - 52_920), (720_000, 0.35 * 660_000 - 85_920),
                      (1_020_000, 0.45 * 960_000 - 181_920)):
        r = calculate_household(wage=wage, province="Beijing", area="urban", formal=False)
        assert step(r, "income tax (IIT)") == pytest.approx(-tax, rel=1e-12), wage


def test_12_year_2017_uses_the_2011_scale_annualised():
    r = calculate_household(wage=100_000, year=2017, province="Beijing", area="urban", formal=False)
    taxable = 100_000 - 42_000                            # 3,500 a month
    iit = 18_000 * 0.03 + 36_000 * 0.10 + (taxable - 54_000) * 0.20  # 540 + 3,600 + 800
    assert iit == 4_940
    assert step(r, "income tax (IIT)") == pytest.approx(-iit, rel=1e-12)


def test_13_reform_dibao_plus_20pct():
    reform = load_reforms(["dibao_plus_20pct"])
    base = calculate_household(wage=0, province="Gansu", area="rural", elderly=1)
    r = calculate_household(wage=0, province="Gansu", area="rural", elderly=1, reform=reform)
    standard = 1.2 * dibao_standard("Gansu", "rural")
    assert step(r, "dibao") == pytest.approx(standard * 24 - 1_476, rel=1e-12)
    assert step(r, "disposable income") - step(base, "disposable income") == pytest.approx(
        0.2 * dibao_standard("Gansu", "rural") * 24, rel=1e-12)


def test_14_reform_pension_300_is_clawed_back_by_dibao_for_a_dibao_household():
    reform = load_reforms(["resident_pension_300"])
    base = calculate_household(wage=0, province="Gansu", area="rural", elderly=1)
    r = calculate_household(wage=0, province="Gansu", area="rural", elderly=1, reform=reform)
    assert step(r, "residents' basic pension") == 300 * 12
    assert step(r, "dibao") == pytest.approx(step(base, "dibao") - (300 - 123) * 12, rel=1e-12)
    assert step(r, "disposable income") == pytest.approx(step(base, "disposable income"), rel=1e-12)


def test_15_reform_50pct_bracket():
    reform = load_reforms(["iit_top_bracket_50pct"])
    base = calculate_household(wage=3_000_000, province="Shanghai", area="urban")
    r = calculate_household(wage=3_000_000, province="Shanghai", area="urban", reform=reform)
    taxable = step(base, "taxable income")
    assert step(base, "income tax (IIT)") == pytest.approx(-(0.45 * taxable - 181_920), rel=1e-12)
    assert step(r, "income tax (IIT)") == pytest.approx(-(0.45 * taxable - 181_920 + 0.05 * (taxable - 1_500_000)),
                                                        rel=1e-12)
    assert r.curve.set_index("wage").loc[3_000_000.0, "metr"] == pytest.approx(0.50, abs=1e-9)


def test_bad_household_inputs_are_named():
    with pytest.raises(ValueError, match="did you mean 'Zhejiang'"):
        calculate_household(wage=1, province="Zhejang")
    with pytest.raises(ValueError, match="urban or rural"):
        calculate_household(wage=1, area="town")
    with pytest.raises(ValueError, match="non-negative"):
        calculate_household(wage=-5)


def test_household_json_keys():
    d = calculate_household(wage=50_000, children_ages=(2,)).to_dict()
    assert set(d) == {"household", "reform", "steps", "members", "curve"}
    assert {"wage", "disposable_income", "metr"} <= set(d["curve"][0])


def test_2015_has_no_provincial_context_and_says_so():
    with pytest.raises(ValueError, match="not in force on 2015-06-30: .*social_insurance.average_wage"):
        calculate_household(wage=1, year=2015)
