"""The dataset registry: every bundled data set is a named loader with its file, source, licence,
units and notes. Loaders register themselves with :func:`dataset`; ``list_datasets`` reads this table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pandas as pd

BACKENDS = ("pandas", "polars")


@dataclass(frozen=True)
class DatasetInfo:
    """Metadata of one bundled data set (copied into ``frame.attrs`` of what its loader returns)."""

    name: str
    file: str
    description: str
    source: str
    licence: str
    units: dict[str, str] = field(default_factory=dict)
    notes: str = ""
    kind: str = "table"  # "table" or "geojson"

    @property
    def path(self) -> Path:
        return Path(str(resources.files("prosperity") / "data" / self.file))

    def attrs(self) -> dict:
        return {
            "dataset": self.name, "description": self.description, "source": self.source,
            "licence": self.licence, "units": dict(self.units), "notes": self.notes, "file": self.file,
        }


REGISTRY: dict[str, tuple[DatasetInfo, Callable]] = {}


def dataset(**info) -> Callable[[Callable], Callable]:
    """Register a loader under ``info['name']``."""

    def wrap(loader: Callable) -> Callable:
        meta = DatasetInfo(**info)
        if meta.name in REGISTRY:
            raise RuntimeError(f"dataset {meta.name!r} registered twice")
        REGISTRY[meta.name] = (meta, loader)
        loader.info = meta
        return loader

    return wrap


def read_csv(info: DatasetInfo, **options) -> pd.DataFrame:
    return pd.read_csv(info.path, **options)


def finish(frame: pd.DataFrame, info: DatasetInfo, backend: str, **extra_attrs):
    """Attach metadata and convert to the requested backend. Polars frames carry no attrs: use
    ``dataset_info(name)`` for their metadata."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    frame = frame.reset_index(drop=True)
    frame.attrs.update(info.attrs(), **extra_attrs)
    if backend == "polars":
        import polars as pl

        return pl.from_pandas(frame)
    return frame
