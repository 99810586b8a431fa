"""Spatial weights keyed by region id: contiguity from boundaries, row standardisation, spatial lags.

A :class:`SpatialWeights` holds a neighbour list per region id (binary weights), or with ``values`` a
weight per link (general weights, as read from a ``.gwt`` file by :func:`prosperity.spatial.read_gwt`). It is aligned to a panel by id
(:meth:`SpatialWeights.matrix` with the panel's region order), never by position: a region of the
panel missing from the weights raises an error naming it (the alignment trap of ``libpysal.W`` built
from a dict, which sorts ids unless ``id_order`` is given).

Queen contiguity: two polygons are neighbours when their boundaries share at least one point; rook:
when they share a segment of positive length. Islands (no neighbour) keep an all-zero row by default
(``islands="keep"``, as esda/giddy do); ``islands="nearest"`` links each island to its nearest region
(common practice for Hainan -> Guangdong).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class SpatialWeights:
    """Neighbour lists by region id (symmetric for contiguity); binary unless ``values`` gives one
    weight per listed neighbour (id -> tuple of floats in the order of ``neighbors[id]``)."""

    ids: tuple
    neighbors: dict  # id -> tuple of neighbour ids
    values: dict | None = None  # id -> tuple of weights (None: binary, every link 1)

    def __post_init__(self):
        known = set(self.ids)
        for i, nb in self.neighbors.items():
            if i not in known:
                raise ValueError(f"neighbour list given for unknown region {i!r}")
            unknown = [j for j in nb if j not in known]
            if unknown:
                raise ValueError(f"region {i!r} lists unknown neighbours {unknown}")
        if self.values is not None:
            for i, nb in self.neighbors.items():
                if len(self.values.get(i, ())) != len(nb):
                    raise ValueError(f"region {i!r} has {len(nb)} neighbours but {len(self.values.get(i, ()))} weights")

    @classmethod
    def from_neighbors(cls, neighbors: dict, ids=None, values: dict | None = None) -> "SpatialWeights":
        ids = tuple(neighbors) if ids is None else tuple(ids)
        vals = None if values is None else {i: tuple(float(v) for v in values.get(i, ())) for i in ids}
        return cls(ids, {i: tuple(neighbors.get(i, ())) for i in ids}, vals)

    def weight(self, i, j) -> float:
        """w_ij (0 when j is not a neighbour of i)."""
        nb = self.neighbors[i]
        if j not in nb:
            return 0.0
        return 1.0 if self.values is None else self.values[i][nb.index(j)]

    def subset(self, order) -> "SpatialWeights":
        """The weights among the regions of ``order`` only (links to other regions dropped), in that order."""
        order = tuple(order)
        missing = [r for r in order if r not in self.neighbors]
        if missing:
            raise KeyError(f"region(s) {missing[:8]} have no entry in the spatial weights (weights ids look like "
                           f"{list(self.ids)[:5]}); match the panel's region ids to the weights' id field")
        keep = set(order)
        nb, vals = {}, {}
        for r in order:
            pairs = [(j, 1.0 if self.values is None else v)
                     for j, v in zip(self.neighbors[r], self.values[r] if self.values is not None else self.neighbors[r])
                     if j in keep]
            nb[r] = tuple(j for j, _ in pairs)
            vals[r] = tuple(v for _, v in pairs)
        return SpatialWeights(order, nb, None if self.values is None else vals)

    @property
    def islands(self) -> list:
        return [i for i in self.ids if not self.neighbors.get(i)]

    def matrix(self, order=None, row_standardize: bool = True) -> np.ndarray:
        """Dense n x n matrix in the given region order (default: ``ids``); row-standardised by default.

        Islands keep a zero row (their spatial lag is 0)."""
        order = self.ids if order is None else tuple(order)
        index = {r: k for k, r in enumerate(order)}
        missing = [r for r in order if r not in self.neighbors]
        if missing:
            raise KeyError(
                f"region(s) {missing[:8]} have no entry in the spatial weights (weights ids look like "
                f"{list(self.ids)[:5]}); match the panel's region ids to the weights' id field"
            )
        w = np.zeros((len(order), len(order)))
        for r, k in index.items():
            vals = self.values[r] if self.values is not None else (1.0,) * len(self.neighbors[r])
            for j, v in zip(self.neighbors[r], vals):
                if j in index:
                    w[k, index[j]] = v
        if row_standardize:
            rs = w.sum(axis=1, keepdims=True)
            w = np.divide(w, rs, out=np.zeros_like(w), where=rs > 0)
        return w

    def to_frame(self) -> pd.DataFrame:
        """Edge list: region, neighbor, weight (1 for binary weights)."""
        rows = [(i, j, 1.0 if self.values is None else self.values[i][k])
                for i in self.ids for k, j in enumerate(self.neighbors[i])]
        return pd.DataFrame(rows, columns=["region", "neighbor", "weight"])

    def __repr__(self) -> str:
        n = len(self.ids)
        links = sum(len(v) for v in self.neighbors.values())
        isl = self.islands
        return (
            f"SpatialWeights({n} regions, {links} links, mean {links / max(n, 1):.2f} neighbours, "
            f"islands {isl[:5]}{'...' if len(isl) > 5 else ''})"
        )


def spatial_lag(w: np.ndarray, values: np.ndarray) -> np.ndarray:
    """W y for each column of ``values`` (rows = regions in the order of ``w``)."""
    return w @ values


def contiguity_weights(
    source,
    *,
    id_field: str = "adcode",
    kind: str = "queen",
    tolerance: float = 0.0,
    islands: str = "keep",
    keep=None,
) -> SpatialWeights:
    """Contiguity weights from polygon boundaries (GeoJSON path, GeoJSON dict, or {id: shapely geometry}).

    ``kind``: ``"queen"`` (shared point) or ``"rook"`` (shared edge). ``tolerance`` (in coordinate units)
    treats polygons closer than it as touching, for boundaries digitised with small gaps.
    ``keep``: optional predicate on a feature's properties (e.g. ``lambda p: p["nbs31"]``).
    """
    from shapely import STRtree
    from shapely.geometry import shape

    if kind not in ("queen", "rook"):
        raise ValueError(f"kind must be 'queen' or 'rook', got {kind!r}")
    if islands not in ("keep", "nearest"):
        raise ValueError(f"islands must be 'keep' or 'nearest', got {islands!r}")
    if isinstance(source, dict) and source.get("type") != "FeatureCollection":
        geoms = dict(source)
    else:
        if isinstance(source, (str, Path)):
            try:
                source = json.loads(Path(source).read_text(encoding="utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise ValueError(f"cannot read {Path(source).name!r} as GeoJSON ({exc}). Fix: give a GeoJSON "
                                 "FeatureCollection of the region boundaries (e.g. exported from QGIS or geopandas).") from None
            if not isinstance(source, dict) or not isinstance(source.get("features"), list):
                raise ValueError("the boundaries are not a GeoJSON FeatureCollection (no 'features' list). Fix: give "
                                 "a FeatureCollection with one feature per region.")
        geoms = {}
        for k, feat in enumerate(source["features"]):
            props = feat.get("properties") or {}
            if keep is not None and not keep(props):
                continue
            if id_field not in props:
                raise KeyError(f"feature {k} has no property {id_field!r} (properties: {list(props)})")
            rid = props[id_field]
            if rid in geoms:
                raise ValueError(f"id {rid!r} (field {id_field!r}) appears in more than one feature")
            geoms[rid] = shape(feat["geometry"])
    ids = tuple(geoms)
    polys = [geoms[i] for i in ids]
    tree = STRtree(polys)
    neighbors = {i: [] for i in ids}
    for a, geom in enumerate(polys):
        probe = geom.buffer(tolerance) if tolerance > 0 else geom
        for b in tree.query(probe, predicate="intersects"):
            b = int(b)
            if b <= a:
                continue
            if kind == "rook":
                shared = probe.intersection(polys[b])
                if shared.length <= 0 and shared.area <= 0:
                    continue
            neighbors[ids[a]].append(ids[b])
            neighbors[ids[b]].append(ids[a])
    if islands == "nearest":
        for a, i in enumerate(ids):
            if neighbors[i]:
                continue
            dist = [polys[a].distance(p) if b != a else np.inf for b, p in enumerate(polys)]
            j = ids[int(np.argmin(dist))]
            neighbors[i].append(j)
            neighbors[j].append(i)
    return SpatialWeights(ids, {i: tuple(sorted(set(v), key=ids.index)) for i, v in neighbors.items()})


def china_province_weights(id_field: str = "name_en", kind: str = "queen", islands: str = "keep") -> SpatialWeights:
    """Contiguity weights of the 31 mainland provinces from the bundled Natural Earth boundaries.

    ``id_field``: ``"name_en"`` (NBS English names, as in the GPI panel), ``"adcode"`` or ``"name_zh"``.
    Hainan is an island: ``islands="nearest"`` links it to Guangdong.
    """
    from importlib.resources import files

    path = files("prosperity") / "data" / "china_provinces_naturalearth.geojson"
    return contiguity_weights(
        json.loads(path.read_text(encoding="utf-8")),
        id_field=id_field,
        kind=kind,
        islands=islands,
        keep=lambda p: bool(p.get("nbs31")),
    )
