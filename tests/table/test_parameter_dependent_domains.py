"""Which incomes a measure accepts can depend on its parameter or its convention."""

import math

import pandas as pd
import pytest

import prosperity
from prosperity.io import InvalidValueError

DATA = pd.DataFrame({"y": [0.0, 1.0, 2.0, 3.0, 4.0], "w": [1.0] * 5})


@pytest.mark.parametrize("name", ["atkinson:1", "atkinson:2", "ge:0", "ge:-1", "mld"])
def test_zero_income_is_refused_where_the_formula_needs_logs_or_inverses(name):
    with pytest.raises(InvalidValueError, match=rf"^{name} needs positive incomes, but income column 'y' has 1 zero "
                                                r"value\. 1 row: data row 1 \(values 0\)"):
        prosperity.measure(DATA, income="y", weight="w", measures=[name], se=False)


def test_zero_income_is_accepted_below_the_thresholds():
    r = prosperity.measure(DATA, income="y", weight="w", measures=["atkinson:0.5", "ge:2", "theil"], se=False)
    # GE(2) = half the squared CV: variance 2, mean 2 -> 0.5 * 2 / 4 = 0.25
    assert r.value_of("ge:2") == pytest.approx(0.25)
    # Theil T with 0 ln 0 = 0: (1/5) sum (y/2) ln(y/2) over y = 1, 2, 3, 4
    expected = sum(y / 2 * math.log(y / 2) for y in (1, 2, 3, 4)) / 5
    assert r.value_of("theil") == pytest.approx(expected)


def test_pip_mld_convention_accepts_zeros():
    # PIP sets incomes <= 0 to 1 after the mean (2) is taken: (ln 2 + ln 2 + 0 + ln(2/3) + ln(1/2)) / 5
    r = prosperity.measure(DATA, income="y", weight="w", measures=["mld"], conventions={"mld": "pip"}, se=False)
    assert r.value_of("mld") == pytest.approx((2 * math.log(2) + math.log(2 / 3) + math.log(0.5)) / 5)
