"""Province crosswalk, name resolution and adjacency."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prosperity import datasets as ds


def test_crosswalk_regions_follow_nbs():
    cw = ds.provinces()
    nbs = cw[cw["nbs31"]]
    assert len(nbs) == 31 and nbs["adcode"].is_unique
    counts = nbs["region"].value_counts().to_dict()
    assert counts == {"West": 12, "East": 10, "Central": 6, "Northeast": 3}
    region = nbs.set_index("province_en")["region"]
    assert region["Hainan"] == "East" and region["Inner Mongolia"] == "West" and region["Guangxi"] == "West"
    assert region["Shanxi"] == "Central" and region["Shaanxi"] == "West" and region["Liaoning"] == "Northeast"


def test_crosswalk_matches_bundled_tables():
    cw = ds.provinces().set_index("adcode")
    for frame in (ds.provincial_population_2024(), ds.provincial_gdp_1993_2023()):
        names = frame.drop_duplicates("adcode").set_index("adcode")
        assert (names["province_en"] == cw.loc[names.index, "province_en"]).all()
        assert (names["province_zh"] == cw.loc[names.index, "province_zh"]).all()


@pytest.mark.parametrize(
    "name, code",
    [("Xizang", 540000), ("西藏", 540000), ("Inner Mongolia Autonomous Region", 150000), ("Nei Mongol", 150000),
     ("内蒙古自治区", 150000), ("shaanxi", 610000), ("Shanxi Province", 140000), ("Hong Kong SAR", 810000),
     (500000, 500000), ("500000", 500000), ("Guangxi Zhuang Autonomous Region", 450000), ("  beijing shi ", 110000)],
)
def test_resolve_aliases(name, code):
    assert ds.province_adcode(name) == code


def test_unknown_names_raise_with_suggestions_and_positions():
    with pytest.raises(KeyError) as error:
        ds.province_adcode(["Sichuan", "Shangai", "Inner Mongolie"])
    message = str(error.value)
    assert "'Shangai' (position 1)" in message and "Shanghai" in message
    assert "'Inner Mongolie' (position 2)" in message and "Inner Mongolia" in message
    assert "Sichuan" not in message.split("did you mean")[0]


@settings(max_examples=50, deadline=None)
@given(st.permutations(ds.provinces()["adcode"].tolist()))
def test_resolution_is_order_preserving(codes):
    names = ds.provinces().set_index("adcode").loc[codes, "province_en"].tolist()
    np.testing.assert_array_equal(ds.province_adcode(names), codes)


KNOWN_NEIGHBOURS = {
    "Hebei": {"Beijing", "Tianjin", "Liaoning", "Inner Mongolia", "Shanxi", "Henan", "Shandong"},
    "Shaanxi": {"Inner Mongolia", "Shanxi", "Henan", "Hubei", "Chongqing", "Sichuan", "Gansu", "Ningxia"},
    "Sichuan": {"Chongqing", "Guizhou", "Yunnan", "Tibet", "Qinghai", "Gansu", "Shaanxi"},
    "Beijing": {"Hebei", "Tianjin"},
    "Shanghai": {"Jiangsu", "Zhejiang"},
    "Guangdong": {"Fujian", "Jiangxi", "Hunan", "Guangxi"},
    "Xinjiang": {"Tibet", "Qinghai", "Gansu"},
}


def _neighbours(edges):
    out: dict[str, set[str]] = {}
    for a, b in zip(edges["province_a"], edges["province_b"]):
        out.setdefault(a, set()).add(b)
        out.setdefault(b, set()).add(a)
    return out


@pytest.mark.parametrize("method", ["shapely", "vertices"])
def test_adjacency_known_neighbours(method):
    if method == "shapely":
        pytest.importorskip("shapely")
    edges = ds.province_adjacency(method=method)
    assert len(edges) == 68
    assert (edges["adcode_a"] < edges["adcode_b"]).all()
    neighbours = _neighbours(edges)
    for province, expected in KNOWN_NEIGHBOURS.items():
        assert neighbours[province] == expected, province
    assert "Hainan" not in neighbours
    linked = _neighbours(ds.province_adjacency(method=method, link_islands=True))
    assert linked["Hainan"] == {"Guangdong"}


def test_adjacency_matrix_follows_requested_order():
    order = ["Beijing", "Tianjin", "Hebei", "Shanghai"]
    m = ds.province_adjacency_matrix(order)
    assert m.index.tolist() == [110000, 120000, 130000, 310000]
    np.testing.assert_array_equal(m.to_numpy(), [[0, 1, 1, 0], [1, 0, 1, 0], [1, 1, 0, 0], [0, 0, 0, 0]])
    reversed_m = ds.province_adjacency_matrix(order[::-1])
    np.testing.assert_array_equal(reversed_m.loc[m.index, m.columns].to_numpy(), m.to_numpy())
    full = ds.province_adjacency_matrix()
    assert full.shape == (31, 31) and (full.to_numpy() == full.to_numpy().T).all() and full.to_numpy().sum() == 136
