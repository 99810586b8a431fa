"""Fixtures for the dynamics tests: the US state income panel (giddy's example data) and its
contiguity (libpysal ``states48.gal``, stored here so the tests run without libpysal)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import prosperity
from prosperity.dynamics import RegionPanel, SpatialWeights

DATA = Path(prosperity.__file__).parent / "data"

# libpysal examples/us_income/states48.gal: row positions of usjoin.csv (0 = Alabama ... 47 = Wyoming)
STATES48_GAL = {
    0: (7, 8, 21, 39), 1: (3, 4, 25, 28, 41), 2: (15, 21, 22, 33, 39, 40), 3: (1, 25, 34),
    4: (1, 13, 24, 28, 33, 41, 47), 5: (18, 29, 36), 6: (17, 27, 35), 7: (0, 8), 8: (0, 7, 30, 37, 39),
    9: (23, 25, 34, 41, 44, 47), 10: (11, 12, 14, 22, 46), 11: (10, 14, 19, 32), 12: (10, 20, 22, 24, 38, 46),
    13: (4, 22, 24, 33), 14: (10, 11, 22, 32, 39, 43, 45), 15: (2, 21, 40), 16: (26,), 17: (6, 35, 43, 45),
    18: (5, 26, 29, 36, 42), 19: (11, 32, 46), 20: (12, 31, 38, 46), 21: (0, 2, 15, 39),
    22: (2, 10, 12, 13, 14, 24, 33, 39), 23: (9, 31, 38, 47), 24: (4, 12, 13, 22, 38, 47), 25: (1, 3, 9, 34, 41),
    26: (16, 18, 42), 27: (6, 29, 35), 28: (1, 4, 33, 40, 41), 29: (5, 18, 27, 35, 42), 30: (8, 37, 39, 43),
    31: (20, 23, 38), 32: (11, 14, 19, 35, 45), 33: (2, 4, 13, 22, 28, 40), 34: (3, 9, 25, 44),
    35: (6, 17, 27, 29, 32, 45), 36: (5, 18), 37: (8, 30), 38: (12, 20, 23, 24, 31, 47),
    39: (0, 2, 8, 14, 21, 22, 30, 43), 40: (2, 15, 28, 33), 41: (1, 4, 9, 25, 28, 47), 42: (18, 26, 29),
    43: (14, 17, 30, 39, 45), 44: (9, 34), 45: (14, 17, 32, 35, 43), 46: (10, 12, 19, 20), 47: (4, 9, 23, 24, 38, 41),
}


@pytest.fixture(scope="session")
def usjoin() -> pd.DataFrame:
    return pd.read_csv(DATA / "pysal_usjoin_state_pcincome_1929_2009.csv")


@pytest.fixture(scope="session")
def usjoin_long(usjoin) -> pd.DataFrame:
    """usjoin in long form: Name, year (int), income."""
    long = usjoin.drop(columns="STATE_FIPS").melt(id_vars="Name", var_name="year", value_name="income")
    long["year"] = long["year"].astype(int)
    return long


@pytest.fixture(scope="session")
def us_panel(usjoin) -> RegionPanel:
    return RegionPanel.from_wide(usjoin.drop(columns="STATE_FIPS"), region="Name", name="pcincome")


@pytest.fixture(scope="session")
def us_pci(usjoin) -> np.ndarray:
    """regions x years array, giddy's ``pci`` (transposed as in its Spatial_Markov example)."""
    return usjoin[[str(y) for y in range(1929, 2010)]].to_numpy(float)


@pytest.fixture(scope="session")
def us_weights(usjoin) -> SpatialWeights:
    names = list(usjoin["Name"])
    return SpatialWeights.from_neighbors({names[i]: tuple(names[j] for j in nb) for i, nb in STATES48_GAL.items()})
