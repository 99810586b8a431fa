"""The 2020 census inputs of the synthetic population: read from the bundled file, with status."""

from __future__ import annotations

import numpy as np
import pytest

from prosperity.synth.targets import AGE_BANDS, HOUSEHOLD_SIZE_SHARES, census_2020


def test_age_bands_are_the_communique_counts():
    # Communique No. 5, Table 5-1: 0-14 253,383,938 (17.95 %), 15-59 894,376,020 (63.35 %),
    # 60+ 264,018,766 (18.70 %), of which 65+ 190,635,280 (13.50 %); total 1,411,778,724
    total = 1_411_778_724
    assert [(lo, hi) for lo, hi, _ in AGE_BANDS] == [(0, 14), (15, 59), (60, 64), (65, 95)]
    shares = np.array([m for _, _, m in AGE_BANDS])
    np.testing.assert_allclose(shares, np.array([253_383_938, 894_376_020, 264_018_766 - 190_635_280, 190_635_280]) / total)
    assert shares.sum() == pytest.approx(1.0, abs=1e-15)
    assert np.round(100 * shares, 2).tolist() == [17.95, 63.35, 5.20, 13.50]


def test_household_sizes_and_every_figure_has_a_status():
    census = census_2020()
    assert set(census["status"]) <= {"verified", "secondary", "derived", "assumption"}
    assert census["source"].notna().all()
    sizes = census[census["table"] == "household_size"].set_index("category")
    assert sizes.loc["1", "status"] == "secondary" and sizes.loc["1", "share"] == 0.2539
    assert (sizes.drop(index="1")["status"] == "assumption").all()  # not verified: labelled, not silent
    assert sum(HOUSEHOLD_SIZE_SHARES.values()) == pytest.approx(1.0, abs=1e-12)
    mean_assumed = sum(k * v for k, v in HOUSEHOLD_SIZE_SHARES.items())
    counts = census.set_index(["table", "category"])["count"]
    mean_census = counts[("family_household_population", "total")] / counts[("family_households", "total")]
    assert mean_census == pytest.approx(2.6162, abs=1e-4)  # 129,281 / 49,416 (ten-thousands)
    assert mean_assumed == pytest.approx(mean_census, rel=0.003)
