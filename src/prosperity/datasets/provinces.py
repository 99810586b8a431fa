"""Province crosswalk (adcode, NBS English name, Chinese names, NBS regions), name resolution,
boundaries and adjacency.

Every join between provincial tables goes through the GB/T 2260 ``adcode`` (an int, e.g. Beijing =
110000): names are resolved to adcodes with :func:`province_adcode`, which accepts NBS English names,
Chinese full or short names, common romanisations (``Xizang``, ``Nei Mongol``) and adcodes, and
raises a clear error with close matches for anything it does not know.

Regions follow the NBS four-way division (国家统计局 "东西中部和东北地区划分方法", 2011):
East (10), Central (6), West (12), Northeast (3).
"""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

__all__ = [
    "REGIONS",
    "provinces",
    "province_adcode",
    "province_boundaries",
    "province_adjacency",
    "province_adjacency_matrix",
]

REGIONS = ("East", "Central", "West", "Northeast")

# adcode, NBS English name, Chinese full name, Chinese short name, pinyin, NBS region, extra aliases
_CROSSWALK: tuple[tuple[int, str, str, str, str, str, tuple[str, ...]], ...] = (
    (110000, "Beijing", "北京市", "北京", "Beijing", "East", ("Peking",)),
    (120000, "Tianjin", "天津市", "天津", "Tianjin", "East", ()),
    (130000, "Hebei", "河北省", "河北", "Hebei", "East", ()),
    (140000, "Shanxi", "山西省", "山西", "Shanxi", "Central", ()),
    (150000, "Inner Mongolia", "内蒙古自治区", "内蒙古", "Neimenggu", "West",
     ("Inner Mongol", "Nei Mongol", "Nei Menggu", "Neimongol")),
    (210000, "Liaoning", "辽宁省", "辽宁", "Liaoning", "Northeast", ()),
    (220000, "Jilin", "吉林省", "吉林", "Jilin", "Northeast", ()),
    (230000, "Heilongjiang", "黑龙江省", "黑龙江", "Heilongjiang", "Northeast", ()),
    (310000, "Shanghai", "上海市", "上海", "Shanghai", "East", ()),
    (320000, "Jiangsu", "江苏省", "江苏", "Jiangsu", "East", ()),
    (330000, "Zhejiang", "浙江省", "浙江", "Zhejiang", "East", ()),
    (340000, "Anhui", "安徽省", "安徽", "Anhui", "Central", ()),
    (350000, "Fujian", "福建省", "福建", "Fujian", "East", ()),
    (360000, "Jiangxi", "江西省", "江西", "Jiangxi", "Central", ()),
    (370000, "Shandong", "山东省", "山东", "Shandong", "East", ()),
    (410000, "Henan", "河南省", "河南", "Henan", "Central", ()),
    (420000, "Hubei", "湖北省", "湖北", "Hubei", "Central", ()),
    (430000, "Hunan", "湖南省", "湖南", "Hunan", "Central", ()),
    (440000, "Guangdong", "广东省", "广东", "Guangdong", "East", ("Canton",)),
    (450000, "Guangxi", "广西壮族自治区", "广西", "Guangxi", "West", ("Guangxi Zhuang",)),
    (460000, "Hainan", "海南省", "海南", "Hainan", "East", ()),
    (500000, "Chongqing", "重庆市", "重庆", "Chongqing", "West", ()),
    (510000, "Sichuan", "四川省", "四川", "Sichuan", "West", ()),
    (520000, "Guizhou", "贵州省", "贵州", "Guizhou", "West", ()),
    (530000, "Yunnan", "云南省", "云南", "Yunnan", "West", ()),
    (540000, "Tibet", "西藏自治区", "西藏", "Xizang", "West", ()),
    (610000, "Shaanxi", "陕西省", "陕西", "Shaanxi", "West", ("Shensi",)),
    (620000, "Gansu", "甘肃省", "甘肃", "Gansu", "West", ()),
    (630000, "Qinghai", "青海省", "青海", "Qinghai", "West", ()),
    (640000, "Ningxia", "宁夏回族自治区", "宁夏", "Ningxia", "West", ("Ningxia Hui",)),
    (650000, "Xinjiang", "新疆维吾尔自治区", "新疆", "Xinjiang", "West", ("Xinjiang Uygur", "Xinjiang Uyghur")),
    (710000, "Taiwan", "台湾省", "台湾", "Taiwan", "", ()),
    (810000, "Hong Kong", "香港特别行政区", "香港", "Xianggang", "", ("Hongkong", "HKSAR")),
    (820000, "Macao", "澳门特别行政区", "澳门", "Aomen", "", ("Macau", "MSAR")),
)

# Administrative suffixes dropped before matching (English and Chinese).
_SUFFIXES = re.compile(
    r"(specialadministrativeregion|autonomousregion|municipality|province|sar|shi|sheng|zizhiqu)$"
)
_ZH_SUFFIXES = re.compile(r"(壮族自治区|回族自治区|维吾尔自治区|特别行政区|自治区|省|市)$")


def _key(name: str) -> str:
    """Normalised matching key: NFKC, lower case, letters/CJK only, administrative suffix dropped."""
    text = unicodedata.normalize("NFKC", str(name)).strip().lower()
    text = re.sub(r"[^0-9a-z\u4e00-\u9fff]+", "", text)
    text = _ZH_SUFFIXES.sub("", text) or text
    previous = None
    while previous != text:
        previous = text
        text = _SUFFIXES.sub("", text) or previous
    return text


@lru_cache(maxsize=1)
def provinces() -> pd.DataFrame:
    """The province crosswalk: one row per province-level unit (31 NBS provinces + Taiwan, Hong Kong,
    Macao), columns ``adcode`` (int), ``province_en`` (NBS English name), ``province_zh`` (full
    Chinese name), ``province_zh_short``, ``pinyin``, ``region`` (NBS East/Central/West/Northeast;
    empty outside the 31), ``nbs31`` (bool: covered by NBS provincial tables), ``nbs_order`` (1..31,
    the order of NBS tables)."""
    rows = [
        {
            "adcode": code, "province_en": en, "province_zh": zh, "province_zh_short": short,
            "pinyin": pinyin, "region": region, "nbs31": bool(region),
        }
        for code, en, zh, short, pinyin, region, _ in _CROSSWALK
    ]
    frame = pd.DataFrame(rows)
    frame["nbs_order"] = pd.array([i + 1 if ok else pd.NA for i, ok in enumerate(frame["nbs31"])], dtype="Int64")
    frame.attrs.update(
        source="NBS administrative division codes (GB/T 2260) and the NBS East/Central/West/Northeast division (2011)",
        licence="public facts",
        units={"adcode": "GB/T 2260 code"},
    )
    return frame.copy()


@lru_cache(maxsize=1)
def _lookup() -> dict[str, int]:
    table: dict[str, int] = {}
    for code, en, zh, short, pinyin, _, aliases in _CROSSWALK:
        for name in (en, zh, short, pinyin, str(code), str(code)[:2], *aliases):
            table[_key(name)] = code
    return table


def province_adcode(names: str | int | Iterable[str | int]) -> int | np.ndarray:
    """Resolve province names (English, Chinese, pinyin, aliases) or adcodes to int adcodes.

    A scalar returns an int; a sequence (list, Series, array) returns an int64 array in the same order.
    Unknown names raise ``KeyError`` naming each unknown value, its position, and close matches.
    """
    scalar = isinstance(names, (str, int, np.integer))
    values = [names] if scalar else list(names)
    table = _lookup()
    codes = np.empty(len(values), dtype=np.int64)
    unknown: list[str] = []
    for i, value in enumerate(values):
        if isinstance(value, (int, np.integer)) or (isinstance(value, float) and float(value).is_integer()):
            value = str(int(value))
        code = table.get(_key(value))
        if code is None:
            known = sorted({n for row in _CROSSWALK for n in (row[1], row[2], row[4], *row[6])})
            close = difflib.get_close_matches(str(value), known, n=3, cutoff=0.6)
            close += [n for n in difflib.get_close_matches(_key(value), [_key(k) for k in known], n=3, cutoff=0.6)
                      if n not in {_key(c) for c in close}]
            hint = f"did you mean {', '.join(map(repr, close))}?" if close else "no close match"
            unknown.append(f"{value!r} (position {i}): {hint}")
            continue
        codes[i] = code
    if unknown:
        raise KeyError(
            "unknown province name(s): " + "; ".join(unknown)
            + ". Use an NBS English name (e.g. 'Inner Mongolia'), a Chinese name (e.g. '内蒙古') or a"
            " GB/T 2260 adcode (e.g. 150000); see prosperity.datasets.provinces()."
        )
    return int(codes[0]) if scalar else codes


def province_boundaries() -> dict:
    """Province boundaries as a GeoJSON FeatureCollection (dict): Natural Earth 10m admin-1 (2016
    vintage, public domain), 31 provinces + Hong Kong, Macao, Taiwan + a separate Paracel Islands
    feature (``adcode`` None). Properties: adcode (str), name_zh, name_en, ne_name, iso_3166_2, nbs31."""
    path = resources.files("prosperity") / "data" / "china_provinces_naturalearth.geojson"
    return json.loads(path.read_text(encoding="utf-8"))


def _rings(geometry: dict) -> list[np.ndarray]:
    if geometry["type"] == "Polygon":
        polygons = [geometry["coordinates"]]
    elif geometry["type"] == "MultiPolygon":
        polygons = geometry["coordinates"]
    else:
        raise ValueError(f"unsupported geometry type {geometry['type']!r} (expected Polygon or MultiPolygon)")
    return [np.asarray(ring, dtype=float) for polygon in polygons for ring in polygon]


def _adjacent_pairs_shapely(features: Sequence[dict], tolerance: float) -> set[tuple[int, int]]:
    import shapely
    from shapely.geometry import shape

    geoms = [shape(f["geometry"]) for f in features]
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="dwithin", distance=tolerance)
    return {(int(a), int(b)) for a, b in zip(left, right) if a < b}


def _adjacent_pairs_vertices(features: Sequence[dict], tolerance: float) -> set[tuple[int, int]]:
    # Snap every vertex to a grid of size ``tolerance`` and call two units adjacent when they share
    # a snapped vertex (or one in the 8 neighbouring grid cells).
    owner: dict[tuple[int, int], set[int]] = {}
    for index, feature in enumerate(features):
        for ring in _rings(feature["geometry"]):
            for cell in {tuple(c) for c in np.round(ring / tolerance).astype(np.int64)}:
                owner.setdefault(cell, set()).add(index)
    pairs: set[tuple[int, int]] = set()
    for (x, y), units in owner.items():
        near = set(units)
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                near |= owner.get((x + dx, y + dy), set())
        for a in units:
            pairs.update((min(a, b), max(a, b)) for b in near if a != b)
    return pairs


def province_adjacency(
    *,
    nbs31_only: bool = True,
    tolerance: float = 1e-3,
    method: str = "auto",
    link_islands: bool = False,
) -> pd.DataFrame:
    """Pairs of provinces that share a boundary, computed from the bundled Natural Earth boundaries
    and keyed by adcode (never by position).

    Two units are adjacent when their boundaries come within ``tolerance`` degrees (the shipped
    coordinates are rounded to 4 decimals, so exact touching is not reliable). ``method``: ``"shapely"``
    (geometric distance), ``"vertices"`` (shared vertices on a ``tolerance`` grid, no dependency) or
    ``"auto"`` (shapely when installed). Hainan has no land neighbour; ``link_islands=True`` links it to
    Guangdong (across the Qiongzhou Strait) so that spatial weights have no island.

    Returns a tidy frame with one row per unordered pair (``adcode_a < adcode_b``): adcode_a,
    adcode_b, province_a, province_b, sorted by adcodes.
    """
    if method not in {"auto", "shapely", "vertices"}:
        raise ValueError(f"method must be 'auto', 'shapely' or 'vertices', got {method!r}")
    features = [
        f for f in province_boundaries()["features"]
        if f["properties"]["adcode"] is not None and (f["properties"]["nbs31"] or not nbs31_only)
    ]
    if method == "auto":
        try:
            import shapely  # noqa: F401

            method = "shapely"
        except ImportError:
            method = "vertices"
    find = _adjacent_pairs_shapely if method == "shapely" else _adjacent_pairs_vertices
    codes = [int(f["properties"]["adcode"]) for f in features]
    pairs = {tuple(sorted((codes[a], codes[b]))) for a, b in find(features, tolerance)}
    if link_islands:
        pairs.add((440000, 460000))
    names = provinces().set_index("adcode")["province_en"]
    frame = pd.DataFrame(sorted(pairs), columns=["adcode_a", "adcode_b"]).astype("int64")
    frame["province_a"] = frame["adcode_a"].map(names)
    frame["province_b"] = frame["adcode_b"].map(names)
    frame.attrs.update(
        source="computed from Natural Earth 10m admin-1 boundaries (china_provinces_naturalearth.geojson)",
        licence="public domain (Natural Earth)",
        method=method,
        tolerance_degrees=tolerance,
    )
    return frame


def province_adjacency_matrix(adcodes: Iterable[int | str] | None = None, **options) -> pd.DataFrame:
    """Binary contiguity matrix as a DataFrame indexed (rows and columns) by adcode, in the order of
    ``adcodes`` (names or codes accepted, resolved by :func:`province_adcode`; default: the 31 NBS
    provinces in NBS order). Options are passed to :func:`province_adjacency`."""
    if adcodes is None:
        order = provinces().query("nbs31")["adcode"].to_numpy()
    else:
        order = np.asarray(province_adcode(list(adcodes)), dtype=np.int64)
    if len(set(order.tolist())) != len(order):
        raise ValueError("adcodes contain duplicates; give each province once")
    if not options.get("nbs31_only", True) or not set(order.tolist()) <= set(provinces().query("nbs31")["adcode"]):
        options["nbs31_only"] = False
    edges = province_adjacency(**options)
    position = {int(c): i for i, c in enumerate(order)}
    matrix = np.zeros((len(order), len(order)), dtype=np.int8)
    for a, b in zip(edges["adcode_a"], edges["adcode_b"]):
        if a in position and b in position:
            matrix[position[a], position[b]] = matrix[position[b], position[a]] = 1
    return pd.DataFrame(matrix, index=pd.Index(order, name="adcode"), columns=pd.Index(order, name="adcode"))
