"""Urban-rural share of the Theil index in the three-gaps table (bundled NBS tables, 2015-2024)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from prosperity.decompose.gaps import china_gaps, china_national_tables, urban_rural_gap


@pytest.fixture(scope="module")
def wide():
    return china_gaps().wide()


def test_between_urban_rural_theil_uses_the_survey_implied_urban_share(wide):
    # 2024: national 41,314, urban 54,188, rural 23,119 yuan per head
    u = (41314 - 23119) / (54188 - 23119)
    assert wide.loc[2024, "urban_share_implied"] == pytest.approx(u, abs=1e-12)
    mu = u * 54188 + (1 - u) * 23119
    expected = u * 54188 / mu * np.log(54188 / mu) + (1 - u) * 23119 / mu * np.log(23119 / mu)
    assert wide.loc[2024, "theil_urban_rural"] == pytest.approx(expected, abs=1e-14)
    assert expected == pytest.approx(0.07374, abs=1e-5)


def test_share_of_total_theil_of_the_quintile_mixture(wide):
    share = wide["urban_rural_share_of_theil"]
    assert share.loc[2015] == pytest.approx(0.3632, abs=5e-4)
    assert share.loc[2024] == pytest.approx(0.2617, abs=5e-4)
    assert (np.diff(share.to_numpy()) < 0.003).all()  # falls almost every year: 0.36 -> 0.26
    assert wide["theil_total_mixture"].between(0.28, 0.31).all()
    np.testing.assert_allclose(share, wide["theil_urban_rural"] / wide["theil_total_mixture"], rtol=1e-14)


def test_total_equals_the_theil_of_the_mixture_distribution(wide):
    # T = s_U T_U + s_R T_R + T_between holds exactly; compare with the Theil of the fitted mixture itself
    from prosperity.grouped import GroupedTable, Mixture, calibrate_person_shares, fit_grouped
    from prosperity.grouped.distribution import theil

    ur, _ = china_national_tables()
    r = ur.set_index("year").loc[2024]
    comps = []
    for area in ("urban", "rural"):
        table = GroupedTable.from_arrays([0.2] * 5, mean=[r[f"{area}_q{k}"] for k in range(1, 6)], unit="household")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            comps.append(fit_grouped(calibrate_person_shares(table, r[f"{area}_income"]).table, "auto").distribution)
    u = wide.loc[2024, "urban_share_implied"]
    mix = Mixture(comps, [u, 1 - u], ["urban", "rural"])
    assert mix.between_theil() == pytest.approx(wide.loc[2024, "theil_urban_rural"], abs=1e-12)
    assert theil(mix) == pytest.approx(wide.loc[2024, "theil_total_mixture"], abs=2e-4)


def test_ratio_to_between_province_theil(wide):
    ratio = wide["urban_rural_to_province_theil"]
    assert np.isnan(ratio.loc[2015])  # no provincial table for 2015
    np.testing.assert_allclose(ratio.loc[2016:], (wide["theil_urban_rural"] / wide["theil_between"]).loc[2016:], rtol=1e-14)
    assert ratio.loc[2016] == pytest.approx(2.197, abs=1e-3) and ratio.loc[2024] == pytest.approx(1.719, abs=1e-3)


def test_no_quintiles_no_share():
    out = urban_rural_gap(3.0, 1.0, national_income=2.0)
    assert "urban_rural_share_of_theil" not in out and "theil_total_mixture" not in out
    out = urban_rural_gap(3.0, 1.0, urban_share=0.5, urban_quintiles=[1, 2, 3, 4, 5], rural_quintiles=[0.3, 0.6, 1, 1.4, 1.7])
    assert 0 < out["urban_rural_share_of_theil"] < 1
