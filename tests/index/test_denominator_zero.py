"""A denominator of 0 gives no value (missing), never inf: the cell is named in a warning and in the step
log, the missing-data rule takes over, and the other units' scores are exactly those of the data with
that cell missing."""

import numpy as np
import pandas as pd
import pytest

from prosperity.index.framework import loads
from prosperity.index.pipeline import build_index

FW = """name: small
defaults: {weighting: equal}
dimensions:
  - code: only
    indicators:
      - {code: x_pc, column: x, denominator: pop, direction: "+"}
      - {code: y, direction: "+"}
"""
DATA = pd.DataFrame({"region": list("abcd"), "x": [10.0, 20.0, 30.0, 40.0], "pop": [1.0, 0.0, 5.0, 8.0],
                     "y": [1.0, 2.0, 3.0, 4.0]})


def test_zero_denominator_is_missing_and_named():
    with pytest.warns(UserWarning, match=r"1 cell\(s\) have no value because the denominator is 0 .*x_pc in b"):
        res = build_index(DATA, loads(FW), year=None)
    assert np.isnan(res.raw["x_pc"][1]) and np.isfinite(res.normalised.to_numpy()[[0, 2, 3]]).all()
    rec = res.steps["denominate"]
    assert rec.count("cells_lost") == 1 and rec.names("cells_lost") == ("x_pc",)
    # by hand: x_pc = 10, -, 6, 5 -> min-max 1, -, 0.2, 0; y -> 0, 1/3, 2/3, 1; b scored on y alone
    scores = res.scores.set_index("region")["score"]
    assert scores.tolist() == pytest.approx([0.5, 1 / 3, (0.2 + 2 / 3) / 2, 0.5], abs=1e-14)
    assert np.isfinite(scores).all()


def test_same_as_the_cell_missing_in_the_data():
    missing = DATA.assign(x=[10.0, np.nan, 30.0, 40.0], pop=[1.0, 1.0, 5.0, 8.0])
    with pytest.warns(UserWarning):
        zero = build_index(DATA, loads(FW), year=None)
    ref = build_index(missing, loads(FW), year=None)
    assert zero.scores["score"].tolist() == ref.scores["score"].tolist()
