"""Bundled data sets: loaders returning tidy frames with metadata, the province crosswalk,
boundaries and adjacency.

>>> from prosperity import datasets
>>> datasets.list_datasets()                     # name, description, source, licence, rows, columns  # doctest: +SKIP
>>> datasets.load_dataset("nbs_income_quintiles")  # or datasets.nbs_income_quintiles()  # doctest: +SKIP
>>> datasets.province_adcode(["Xizang", "内蒙古"]).tolist()
[540000, 150000]

Every loader takes ``backend="pandas"`` (default) or ``"polars"``; pandas frames carry dataset,
source, licence, units and notes in ``frame.attrs`` (polars frames have no attrs: use
:func:`dataset_info`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import china, microdata  # noqa: F401  (registers the loaders)
from ._registry import REGISTRY, DatasetInfo
from .china import (
    cpi_national,
    nbs_household_survey,
    nbs_income_quintiles,
    nbs_income_sources_1978_2022,
    nbs_official_gini,
    provincial_gdp_1993_2023,
    provincial_gpi_panel_1985_2018,
    provincial_gpi_panel_columns,
    provincial_income_2019,
    provincial_income_consumption_2016_2024,
    provincial_population_2024,
    provincial_population_census2020,
    urban_rural_income_gini_1978_2016,
)
from .microdata import datt1998, enigh_2008, enigh_2016, eusilc, ilocos, pysal_mexico, pysal_us_income
from .provinces import (
    REGIONS,
    province_adcode,
    province_adjacency,
    province_adjacency_matrix,
    province_boundaries,
    provinces,
)

__all__ = [
    "DatasetInfo", "REGIONS", "dataset_info", "dataset_path", "list_datasets", "load_dataset",
    "provinces", "province_adcode", "province_boundaries", "province_adjacency", "province_adjacency_matrix",
    "cpi_national", "nbs_household_survey", "nbs_income_quintiles", "nbs_income_sources_1978_2022",
    "nbs_official_gini", "provincial_gdp_1993_2023", "provincial_gpi_panel_1985_2018",
    "provincial_gpi_panel_columns", "provincial_income_2019", "provincial_income_consumption_2016_2024",
    "provincial_population_2024", "provincial_population_census2020", "urban_rural_income_gini_1978_2016",
    "datt1998", "enigh_2008", "enigh_2016", "eusilc", "ilocos", "pysal_mexico", "pysal_us_income",
]

_BOUNDARIES = DatasetInfo(
    name="province_boundaries",
    file="china_provinces_naturalearth.geojson",
    description="China province boundaries (GeoJSON dict): 31 provinces + Hong Kong, Macao, Taiwan + Paracel Islands",
    source="Natural Earth 10m admin-1/admin-0 (2016 vintage) via github FTChinese/map-geojson @ cb9d731",
    licence="public domain (Natural Earth); FTChinese extract MIT",
    units={"coordinates": "WGS84 degrees, rounded to 4 decimals"},
    notes="De-facto Natural Earth lines, not official PRC claims. Properties: adcode, name_zh, name_en, "
    "ne_name, iso_3166_2, nbs31.",
    kind="geojson",
)


def _all_infos() -> dict[str, DatasetInfo]:
    infos = {name: info for name, (info, _) in REGISTRY.items()}
    infos[_BOUNDARIES.name] = _BOUNDARIES
    return infos


def _resolve(name: str) -> DatasetInfo:
    infos = _all_infos()
    if name not in infos:
        import difflib

        close = difflib.get_close_matches(name, list(infos), n=3, cutoff=0.4)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise KeyError(f"unknown dataset {name!r}.{hint} See prosperity.datasets.list_datasets().")
    return infos[name]


def dataset_info(name: str) -> DatasetInfo:
    """Metadata of a bundled dataset (file, description, source, licence, units, notes)."""
    return _resolve(name)


def dataset_path(name: str) -> Path:
    """Path of the file behind a bundled dataset (inside the installed package)."""
    return _resolve(name).path


def load_dataset(name: str, **options):
    """Load a bundled dataset by name (options are passed to its loader, e.g. ``backend="polars"``).
    ``province_boundaries`` returns the GeoJSON dict."""
    info = _resolve(name)
    if info.kind == "geojson":
        return province_boundaries()
    return REGISTRY[name][1](**options)


def list_datasets() -> pd.DataFrame:
    """One row per bundled dataset: name, description, source, licence, rows, columns, file."""
    rows = []
    for name, info in _all_infos().items():
        if info.kind == "geojson":
            features = province_boundaries()["features"]
            n_rows, n_cols = len(features), len(features[0]["properties"]) + 1
        else:
            frame = REGISTRY[name][1]()
            n_rows, n_cols = frame.shape
        rows.append({"name": name, "description": info.description, "source": info.source,
                     "licence": info.licence, "rows": n_rows, "columns": n_cols, "file": info.file})
    return pd.DataFrame(rows)
