"""World Bank prosperity gap and shared prosperity (bottom-40 growth, premium)."""

import numpy as np
import pytest

from prosperity.measures.prosperity import (
    annualized_growth, bottom_mean, prosperity_gap, shared_prosperity,
)


def test_prosperity_gap_by_hand():
    # z / y = 25/10, 25/25, 25/50 = 2.5, 1, .5 -> mean 4/3
    assert prosperity_gap([10, 25, 50], z=25) == pytest.approx(4 / 3)
    # weights 1, 2, 1: (2.5 + 2 + .5) / 4
    assert prosperity_gap([10, 25, 50], [1, 2, 1], z=25) == pytest.approx(1.25)
    # doubling every income halves the gap; the default standard is 25 $ a day
    assert prosperity_gap([20, 50, 100]) == pytest.approx(2 / 3)


def test_prosperity_gap_needs_positive_incomes():
    with pytest.raises(ValueError, match=r"needs positive incomes: 2 income\(s\) are <= 0 \(smallest -1\)"):
        prosperity_gap([-1, 0, 10])


def test_bottom_mean_splits_the_boundary_unit():
    assert bottom_mean([1, 2, 3, 4, 10]) == pytest.approx(1.5)  # exactly the two poorest
    # four units: 40 % = 1.6 units -> (1 + .6 x 2) / 1.6
    assert bottom_mean([1, 2, 3, 4]) == pytest.approx(2.2 / 1.6)
    # weights as replication
    assert bottom_mean([1, 2, 3], [2, 2, 1]) == pytest.approx(bottom_mean([1, 1, 2, 2, 3]))


def test_shared_prosperity_by_hand():
    # means 4 -> 4.6 (15 %); bottom two 1.5 -> 2.5 (66.7 %) over one year
    sp = shared_prosperity([1, 2, 3, 4, 10], [2, 4, 3, 4, 10], years=1)
    assert sp.growth_mean == pytest.approx(0.15)
    assert sp.growth_bottom == pytest.approx(2 / 3)
    assert sp.premium == pytest.approx(2 / 3 - 0.15)
    # over 5 years the rates are annualised: (4.6/4)^(1/5) - 1
    sp5 = shared_prosperity([1, 2, 3, 4, 10], [2, 4, 3, 4, 10], years=5)
    assert sp5.growth_mean == pytest.approx(1.15 ** 0.2 - 1)
    assert sp5.premium == pytest.approx((5 / 3) ** 0.2 - 1.15 ** 0.2)
    frame = sp5.to_frame()
    assert list(frame["quantity"])[-1] == "premium" and "growth_bottom40" in set(frame["quantity"])
    assert "premium" in repr(sp5)


def test_shared_prosperity_on_enigh_2008_2016():
    import prosperity

    from pathlib import Path

    import pandas as pd

    data = Path(prosperity.__file__).parent / "data"
    a = pd.read_csv(data / "dineq_mex_inc_2008_enigh_sample.csv")
    b = pd.read_csv(data / "dineq_mex_inc_2016_enigh_sample.csv")
    inc, wcol = "income", "factor"  # household income and expansion factor
    ya, wa = a[inc].to_numpy(float), a[wcol].to_numpy(float)
    yb, wb = b[inc].to_numpy(float), b[wcol].to_numpy(float)
    sp = shared_prosperity(ya, yb, wa, wb, years=8)
    mean_a, mean_b = np.dot(wa, ya) / wa.sum(), np.dot(wb, yb) / wb.sum()
    assert sp.growth_mean == pytest.approx((mean_b / mean_a) ** (1 / 8) - 1, rel=1e-12)
    assert sp.bottom_mean_start == pytest.approx(bottom_mean(ya, wa), rel=1e-15)


def test_growth_input_errors():
    with pytest.raises(ValueError, match="years between the two samples must be positive"):
        annualized_growth(1, 2, 0)
    with pytest.raises(ValueError, match="bottom share must lie in"):
        bottom_mean([1, 2], share=0)
