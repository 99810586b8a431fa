"""``.gal`` / ``.gwt`` readers against libpysal's own readers on its example files, and located errors
(file and line) on malformed files."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from prosperity.spatial import WeightsFileError, read_gal, read_gwt, read_weights

libpysal = pytest.importorskip("libpysal")
from libpysal import examples  # noqa: E402

GAL = ["states48.gal", "mexico.gal", "stl.gal", "columbus.gal", "sids2.gal", "rook31.gal", "virginia_queen.gal", "book.gal"]
GWT = ["baltim_k4.gwt", "juvenile.gwt"]


@pytest.mark.filterwarnings("ignore::UserWarning")  # libpysal: disconnected components
@pytest.mark.parametrize("name", GAL)
def test_gal_equals_libpysal(name):
    path = examples.get_path(name)
    ours = read_gal(path)
    ref = libpysal.io.open(path).read()
    assert list(ours.ids) == list(ref.id_order)
    for i in ours.ids:
        assert list(ours.neighbors[i]) == list(ref.neighbors[i]), i
    np.testing.assert_array_equal(ours.matrix(row_standardize=False), ref.full()[0])


@pytest.mark.parametrize("name", GWT)
def test_gwt_equals_libpysal(name):
    path = examples.get_path(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # libpysal: no .dbf next to juvenile.gwt, unordered string ids
        ref = libpysal.io.open(path).read()
    # libpysal takes the id type and order from a .dbf next to the file when there is one (baltim: int)
    ours = read_gwt(path, id_type=type(ref.id_order[0]))
    assert set(ours.ids) == set(ref.id_order)
    for i in ref.id_order:
        assert list(ours.neighbors[i]) == list(ref.neighbors[i]), i
        assert list(ours.values[i]) == list(ref.weights[i]), i
    order = list(ref.id_order)
    np.testing.assert_array_equal(ours.matrix(order, row_standardize=False), ref.full()[0])
    assert read_weights(path, id_type=type(ref.id_order[0])).values == ours.values


def test_int_ids_and_islands(tmp_path):
    p = tmp_path / "w.gal"
    p.write_text("0 3 shp ID\n1 1\n2\n2 1\n1\n3 0\n\n")
    w = read_gal(p, id_type=int)
    assert w.ids == (1, 2, 3) and w.neighbors == {1: (2,), 2: (1,), 3: ()} and w.islands == [3]


BAD_GAL = [
    ("", 1, "empty"),
    ("3 x\n", 1, "header has 2 fields"),
    ("2\n0 1\n1\n", 4, "file ends after 1"),
    ("2\n0 1 7\n1\n1 1\n0\n", 2, "two fields"),
    ("2\n0 2\n1\n1 1\n0\n", 3, "announces 2 neighbours"),
    ("2\n0 1\n1\n0 1\n1\n", 4, r"second time \(first at line 2\)"),
    ("2\n0 1\n5\n1 1\n0\n", 3, r"\['5'\] of region '0' are not regions"),
    ("1\n0 1\n1\n1 1\n0\n", 4, "file goes on"),
    ("2\n0 x\n1\n1 1\n0\n", 2, "whole number"),
    ("2\n0 2\n1 1\n1 1\n0\n", 3, "more than once"),
]


@pytest.mark.parametrize("text,line,message", BAD_GAL)
def test_bad_gal_located(tmp_path, text, line, message):
    p = tmp_path / "bad.gal"
    p.write_text(text)
    with pytest.raises(WeightsFileError, match=message) as exc:
        read_gal(p)
    assert exc.value.line == line
    assert str(exc.value).startswith(f"bad.gal line {line}:")


BAD_GWT = [
    ("0 2 shp\n", 1, "header has 3 fields"),
    ("0 2 shp ID\n", 2, "no links"),
    ("0 2 shp ID\n1 2 0.5\n2 1\n", 3, "three fields"),
    ("0 2 shp ID\n1 2 abc\n", 2, "not a number"),
    ("0 2 shp ID\n1 2 nan\n", 2, "not finite"),
    ("0 2 shp ID\n1 2 1\n2 1 1\n1 2 3\n", 4, "second time \\(first at line 2\\)"),
    ("0 3 shp ID\n1 2 1\n2 1 1\n", 1, "announces 3 regions but the links name 2"),
]


@pytest.mark.parametrize("text,line,message", BAD_GWT)
def test_bad_gwt_located(tmp_path, text, line, message):
    p = tmp_path / "bad.gwt"
    p.write_text(text)
    with pytest.raises(WeightsFileError, match=message) as exc:
        read_gwt(p)
    assert exc.value.line == line


def test_missing_file_and_unknown_extension(tmp_path):
    with pytest.raises(WeightsFileError, match="does not exist"):
        read_gal(tmp_path / "nope.gal")
    (tmp_path / "w.txt").write_text("1\n")
    with pytest.raises(WeightsFileError, match="unknown weights format"):
        read_weights(tmp_path / "w.txt")
    with pytest.raises(ValueError):  # the package's input error is a ValueError
        read_gal(tmp_path / "nope.gal")
