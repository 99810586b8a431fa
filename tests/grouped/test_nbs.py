"""NBS 2022: reconstructions from the quintile tables (numbers shown in docs/grouped.md)."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "scripts" / "nbs_gini.py"


def test_nbs_2022_row():
    spec = importlib.util.spec_from_file_location("nbs_gini", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    from prosperity.datasets.china import nbs_household_survey

    row = mod.year_row(nbs_household_survey(wide=True), 2022, 0.467)
    assert row["trapezoid"] == pytest.approx(0.390, abs=5e-4)
    for m in ("gq", "beta", "gpinter", "histogram", "lognormal"):
        assert 0.405 < row[m] < 0.42
    assert row["person_auto"] == pytest.approx(0.422, abs=1e-3)
    assert row["person_auto"] > row["gq"]  # person shares raise the Gini
    assert row["mixture"] == pytest.approx(0.421, abs=1e-3)
    assert row["mixture_mean"] == pytest.approx(36883, rel=1e-9)  # the mixture reproduces the mean exactly
    assert row["urban_share"] == pytest.approx(0.5746, abs=1e-4)
    assert row["mixture_median"] < row["published_median"]  # the honest gap documented in docs/grouped.md


def test_nbs_bounds_and_leave_one_out():
    spec = importlib.util.spec_from_file_location("nbs_gini", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    df = mod.nbs_table()
    r22 = df.set_index("year").loc[2022]
    # Gastwirth bounds of the household table and of the person-share table (docs/grouped.md)
    assert (round(r22.bound_low, 3), round(r22.bound_high, 3)) == (0.390, 0.463)
    assert (round(r22.person_bound_low, 3), round(r22.person_bound_high, 3)) == (0.400, 0.467)
    # the official Gini sits at the top of what the tables allow: the tables alone cannot reach it
    assert (df.official - df.mixture).min() > 0.03
    assert (df.person_bound_high - df.official).abs().max() < 0.011  # near the upper bound every year
    # a method that uses the official Ginis of the other years (leave-one-out): within 0.01 every year
    loo = mod.leave_one_out_position(df)
    assert (loo - df.official).abs().max() < 0.01
