"""The Python API refuses arguments of the wrong type with the package's own error, naming the
argument, what it got and what to write (issue 13: ``measure(df, income=0)``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import prosperity
from prosperity.io.arguments import ArgumentTypeError
from prosperity.io.errors import ProsperityInputError

FRAME = pd.DataFrame({"y": [1.0, 2.0, 3.0, 4.0], "w": [1.0, 1.0, 2.0, 1.0], "g": ["a", "a", "b", "b"]})

CASES = [  # keyword arguments, expected fragments of the message
    (dict(income=0), ["measure(income=0)", "name of a column", "got int", "income='py010n'"]),
    (dict(income=["y"]), ["measure(income=['y'])", "got list"]),
    (dict(income="y", weight=3), ["measure(weight=3)", "got int"]),
    (dict(income="y", strata=1.5), ["measure(strata=1.5)", "got float"]),
    (dict(income="y", measures=5), ["measure(measures=5)", "measure name", "['gini', 'atkinson:0.5', 'fgt:0']"]),
    (dict(income="y", measures=[]), ["measure(measures=[])", "non-empty"]),
    (dict(income="y", measures=["gini", 2]), ["measure(measures=['gini', 2])"]),
    (dict(income="y", by=7), ["measure(by=7)", "7 is of type int"]),
    (dict(income="y", by=["g", None]), ["None is of type NoneType"]),
    (dict(income="y", relative_line="0.6"), ["measure(relative_line='0.6')", "must be a number", "got str"]),
    (dict(income="y", poverty_line=True), ["poverty_line=True", "must be a number", "got bool"]),
    (dict(income="y", confidence=None), ["confidence=None", "must be a number"]),
    (dict(income="y", replicates=2.5), ["replicates=2.5", "whole number"]),
    (dict(income="y", seed="1"), ["seed='1'", "whole number"]),
    (dict(income="y", se="no"), ["se='no'", "True or False"]),
    (dict(income="y", margins="yes"), ["margins='yes'", "True or False"]),
]


@pytest.mark.parametrize("kwargs,fragments", CASES, ids=[str(c[0]) for c in CASES])
def test_wrong_types_are_named(kwargs, fragments):
    with pytest.raises(ArgumentTypeError) as info:
        prosperity.measure(FRAME, **kwargs)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message
    assert isinstance(info.value, ProsperityInputError) and isinstance(info.value, TypeError)


def test_right_types_still_work():
    r = prosperity.measure(FRAME, income="y", weight="w", measures="gini", by=("g",), se=np.True_,
                           relative_line=np.float64(0.6), seed=np.int64(3))
    g = r.to_frame()
    # Gini of (1, 2, 3, 3, 4) with weight 2 on 3: sum|yi - yj| / (2 n^2 mean) over the replicated sample
    x = np.array([1.0, 2.0, 3.0, 3.0, 4.0])
    expected = np.abs(x[:, None] - x[None, :]).sum() / (2 * len(x) ** 2 * x.mean())
    whole = g[g["measure"] == "gini"].iloc[0]
    assert whole["value"] == pytest.approx(expected, rel=1e-12)
