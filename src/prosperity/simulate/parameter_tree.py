"""Dated policy parameters in OpenFisca's parameter-file format, and their values on a date.

A parameter file is a YAML mapping whose nodes hold children, a leaf holds ``values`` keyed by start
date (``2019-01-01: {value: 60000}``; ``value: null`` ends a parameter), and a scale holds
``brackets`` (each a ``threshold`` and a ``rate``, both dated). ``metadata`` carries ``unit``,
``period``, ``status`` (S sourced, U unverified, A assumption, C computed) and ``reference`` (title
and href as text). The files load unchanged in ``openfisca_core.parameters.ParameterNode``
(tested), so they can be exchanged with that ecosystem.

:class:`ParameterTree` reads the bundled directory once; ``tree.at(date)`` returns the flat mapping
``{path: value}`` of the values in force on ``date`` (EUROMOD's convention: a year is simulated with
the values in force on 30 June, :func:`default_instant`). A scale's value is a :class:`Brackets`.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import yaml

NODE_KEYS = {"description", "metadata", "documentation"}
PARAMETER_KEYS = {"values", "description", "metadata", "documentation", "unit", "reference"}


def default_instant(year: int) -> dt.date:
    """The date whose values simulate ``year``: 30 June (EUROMOD's rule for mid-year changes)."""
    return dt.date(int(year), 6, 30)


@dataclass(frozen=True)
class Brackets:
    """A marginal-rate scale in force on a date: ``thresholds[0] == 0``, strictly increasing;
    ``rates[k]`` applies to the part of the base between ``thresholds[k]`` and ``thresholds[k+1]``."""

    thresholds: np.ndarray
    rates: np.ndarray

    def quick_deductions(self) -> np.ndarray:
        """The published 'quick deduction' (速算扣除数) of each bracket: tax = base x rate_k - qd_k,
        qd_k = sum_{j<k} (t_{j+1} - t_j)(r_k - r_j) ... computed as t_k r_k - tax(t_k)."""
        return self.thresholds * self.rates - self.tax_at_thresholds()

    def tax_at_thresholds(self) -> np.ndarray:
        widths = np.diff(self.thresholds)
        return np.concatenate([[0.0], np.cumsum(widths * self.rates[:-1])])

    def __repr__(self) -> str:
        pairs = ", ".join(f"{t:g}:{r:g}" for t, r in zip(self.thresholds, self.rates))
        return f"Brackets({pairs})"


@dataclass
class DatedValues:
    """One parameter: ``entries`` sorted by start date; ``None`` values end the parameter."""

    path: str
    entries: list  # [(date, value)]
    metadata: dict = field(default_factory=dict)
    description: str = ""
    file: str = ""
    line: int = 0

    @property
    def unit(self) -> str:
        return str(self.metadata.get("unit", ""))

    def at(self, instant: dt.date):
        value = None
        for start, v in self.entries:
            if start <= instant:
                value = v
            else:
                break
        return value

    def set(self, start: dt.date, stop: dt.date | None, value) -> None:
        """Give ``value`` from ``start`` (to ``stop`` inclusive, then the earlier value resumes)."""
        after = self.at(stop + dt.timedelta(days=1)) if stop is not None else None
        kept = [(d, v) for d, v in self.entries if d < start or (stop is not None and d > stop)]
        kept.append((start, value))
        if stop is not None and not any(d == stop + dt.timedelta(days=1) for d, _ in kept):
            kept.append((stop + dt.timedelta(days=1), after))
        self.entries = sorted(kept, key=lambda e: e[0])


@dataclass
class Scale:
    path: str
    brackets: list  # [(DatedValues threshold, DatedValues rate)]
    metadata: dict = field(default_factory=dict)
    description: str = ""
    file: str = ""

    def at(self, instant: dt.date) -> Brackets | None:
        pairs = [(t.at(instant), r.at(instant)) for t, r in self.brackets]
        pairs = [(t, r) for t, r in pairs if t is not None and r is not None]
        if not pairs:
            return None
        pairs.sort(key=lambda p: p[0])
        return Brackets(np.array([float(t) for t, _ in pairs]), np.array([float(r) for _, r in pairs]))


class ParameterFileError(ValueError):
    """A parameter file that does not follow the format, with the file and key."""


def _as_date(key, where: str) -> dt.date:
    if isinstance(key, dt.datetime):
        return key.date()
    if isinstance(key, dt.date):
        return key
    try:
        return dt.date.fromisoformat(str(key))
    except ValueError:
        raise ParameterFileError(f"{where}: {key!r} is not a date; write start dates as YYYY-MM-DD") from None


def _dated(raw, path: str, file: str, metadata=None, description="") -> DatedValues:
    if not isinstance(raw, dict) or not raw:
        raise ParameterFileError(f"{file}: {path}: 'values' must map start dates (YYYY-MM-DD) to values")
    entries = []
    for key, item in raw.items():
        start = _as_date(key, f"{file}: {path}")
        value = item.get("value") if isinstance(item, dict) else item
        entries.append((start, value))
    entries.sort(key=lambda e: e[0])
    return DatedValues(path, entries, dict(metadata or {}), description, file)


def _walk(raw: dict, prefix: str, file: str, leaves: dict, nodes: dict) -> None:
    nodes[prefix] = {"description": raw.get("description", ""), "metadata": raw.get("metadata") or {}}
    for key, child in raw.items():
        if key in NODE_KEYS:
            continue
        path = f"{prefix}.{key}" if prefix else str(key)
        if not isinstance(child, dict):
            raise ParameterFileError(f"{file}: {path}: expected a node, a parameter (values:) or a scale (brackets:)")
        meta = child.get("metadata") or {}
        if "values" in child:
            leaves[path] = _dated(child["values"], path, file, meta, child.get("description", ""))
        elif "brackets" in child:
            brackets = []
            for k, b in enumerate(child["brackets"]):
                if not isinstance(b, dict) or "threshold" not in b or "rate" not in b:
                    raise ParameterFileError(f"{file}: {path}: bracket {k} needs a threshold and a rate")
                brackets.append((_dated(b["threshold"], f"{path}.brackets.{k}.threshold", file,
                                        {**meta, "unit": meta.get("threshold_unit", "")}),
                                 _dated(b["rate"], f"{path}.brackets.{k}.rate", file, {**meta, "unit": meta.get("rate_unit", "")})))
            leaves[path] = Scale(path, brackets, dict(meta), child.get("description", ""), file)
        else:
            _walk(child, path, file, leaves, nodes)


class ParameterTree:
    """All parameters of the model, by dotted path (``iit.basic_deduction``,
    ``dibao.standard.urban``, ``resident_pension.provincial_top_up.Zhejiang``)."""

    def __init__(self, leaves: dict, nodes: dict):
        self.leaves = leaves
        self.nodes = nodes

    @classmethod
    def load(cls, directory: str | Path | None = None) -> "ParameterTree":
        root = Path(str(resources.files("prosperity") / "simulate" / "parameters")) if directory is None else Path(directory)
        leaves: dict = {}
        nodes: dict = {}
        files = sorted(root.glob("*.yaml"))
        if not files:
            raise ParameterFileError(f"no parameter files (*.yaml) in {root}")
        for path in files:
            try:
                raw = yaml.safe_load(path.read_text(encoding="utf-8"))
            except yaml.YAMLError as exc:
                raise ParameterFileError(f"{path}: not valid YAML: {exc}") from None
            if not isinstance(raw, dict):
                raise ParameterFileError(f"{path}: a parameter file must be a mapping")
            _walk(raw, path.stem, path.name, leaves, nodes)
        return cls(leaves, nodes)

    def copy(self) -> "ParameterTree":
        return ParameterTree(copy.deepcopy(self.leaves), self.nodes)

    def paths(self) -> list[str]:
        """Every settable path: leaves, and each bracket's threshold and rate."""
        out = []
        for path, leaf in self.leaves.items():
            if isinstance(leaf, Scale):
                for k in range(len(leaf.brackets)):
                    out += [f"{path}.brackets.{k}.threshold", f"{path}.brackets.{k}.rate"]
            else:
                out.append(path)
        return out

    def leaf(self, path: str) -> DatedValues:
        """The dated values at ``path`` (a parameter or one bracket's threshold/rate)."""
        if path in self.leaves and isinstance(self.leaves[path], DatedValues):
            return self.leaves[path]
        head, _, tail = path.partition(".brackets.")
        scale = self.leaves.get(head)
        if isinstance(scale, Scale) and tail:
            k, _, which = tail.partition(".")
            if k.isdigit() and which in ("threshold", "rate") and int(k) < len(scale.brackets):
                return scale.brackets[int(k)][0 if which == "threshold" else 1]
        raise KeyError(path)

    def at(self, instant: dt.date) -> dict:
        """``{path: value}`` in force on ``instant`` (scales as :class:`Brackets`)."""
        return {path: leaf.at(instant) for path, leaf in self.leaves.items()}

    def metadata(self, path: str) -> dict:
        try:
            return self.leaf(path).metadata
        except KeyError:
            head = path.partition(".brackets.")[0]
            return self.leaves[head].metadata


_BUNDLED: ParameterTree | None = None


def bundled_parameters() -> ParameterTree:
    """The bundled tree, read once per process (callers copy before changing it)."""
    global _BUNDLED
    if _BUNDLED is None:
        _BUNDLED = ParameterTree.load()
    return _BUNDLED
