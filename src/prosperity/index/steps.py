"""The step log of a composite-index run: each step of the pipeline, in the order it ran, with its
options and what it changed (counted and named).

The steps are COINr's (Becker et al. 2022, COINr: an R package for composite indicators, JOSS 7(78),
4567): ``denominate`` (x / denominator x scale), ``impute``, ``screen`` (drop units and indicators
below a data-availability threshold), ``treat`` (outliers), ``normalise``, ``aggregate`` (weights and
aggregation, level by level up the framework tree). A framework lists them under ``steps:`` in the
order they run; without it the order is :data:`prosperity.index.framework.DEFAULT_ORDER`.

``result.steps`` is a :class:`StepLog`: ``log.records`` holds one :class:`StepRecord` per step in run
order, ``log["impute"]`` picks one by name, ``log.order`` lists the names, ``log.to_frame()`` is one
row per (step, change). Iterating the log, ``len(log)`` and ``log[0]`` work on its detail entries
(the dicts of the JSON ``steps`` list: the framework note, each step, the weighting, the coupling),
as they did when ``result.steps`` was that list, so existing code keeps working.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

# the name of each step's entry in the detail list (the JSON "steps" key, older than the step log)
DETAIL_NAMES = {"denominate": "denomination", "screen": "screening", "impute": "imputation", "treat": "outliers",
                "normalise": "normalisation", "aggregate": "aggregation"}


@dataclass(frozen=True)
class Change:
    """One thing a step changed: ``what`` (e.g. ``cells_imputed``), how many, and which (indicator
    codes, unit labels or group codes)."""

    what: str
    count: int
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class StepRecord:
    """One step as it ran: its 1-based ``position`` in the run, ``name``, the ``options`` it ran with,
    its ``changes`` and a one-line ``summary``. ``detail`` is the step's entry in the detail list
    (for a chained imputation, the entries merged)."""

    position: int
    name: str
    options: dict
    changes: tuple[Change, ...]
    summary: str
    detail: dict = field(default_factory=dict, repr=False)

    def count(self, what: str) -> int:
        """The count of one change (0 when the step records none of that kind)."""
        return next((c.count for c in self.changes if c.what == what), 0)

    def names(self, what: str) -> tuple[str, ...]:
        return next((c.names for c in self.changes if c.what == what), ())

    def options_text(self) -> str:
        def fmt(v):
            if isinstance(v, (list, tuple)):
                return "[" + ", ".join(fmt(x) for x in v) + "]"
            return f"{v:g}" if isinstance(v, float) else str(v)

        return "; ".join(f"{k}: {fmt(v)}" for k, v in self.options.items() if v is not None) or "-"

    def to_dict(self) -> dict:
        return {"position": self.position, "step": self.name,
                "options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.options.items()},
                "changes": [{"what": c.what, "count": c.count, "names": list(c.names)} for c in self.changes],
                "summary": self.summary}


@dataclass(frozen=True)
class StepLog:
    """The steps of one run in the order they ran. ``source`` says where the order came from (the
    framework's ``steps:`` and its line, the ``steps=`` option, or the default order); ``details`` is
    the full detail list (the JSON ``steps`` key: the framework note, every step, the weighting and
    the coupling, as dicts)."""

    records: tuple[StepRecord, ...] = ()
    details: tuple[dict, ...] = ()
    source: str = "default order"

    @property
    def order(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.records)

    def __iter__(self):  # the detail entries, as when result.steps was a list of dicts
        return iter(self.details)

    def __len__(self) -> int:
        return len(self.details)

    def __getitem__(self, key: int | str):
        """``log["impute"]``: the step's :class:`StepRecord`; ``log[i]``: the i-th detail entry."""
        if isinstance(key, str):
            for r in self.records:
                if r.name == key:
                    return r
            raise KeyError(f"no step {key!r} in this run (steps: {', '.join(self.order)})")
        return self.details[key]

    def __contains__(self, name) -> bool:
        return name in self.order

    def to_frame(self) -> pd.DataFrame:
        """One row per (step, change): position, step, options, changed (what), count, names (comma
        separated). A step that changed nothing still has its rows, with count 0."""
        rows = []
        for r in self.records:
            for c in r.changes or (Change("nothing", 0),):
                rows.append({"position": r.position, "step": r.name, "options": r.options_text(), "changed": c.what,
                             "count": int(c.count), "names": ", ".join(c.names)})
        return pd.DataFrame(rows, columns=["position", "step", "options", "changed", "count", "names"])

    def to_dicts(self) -> list[dict]:
        return [r.to_dict() for r in self.records]

    def summary_frame(self) -> pd.DataFrame:
        """One row per step (the CLI's table): #, step, options, changed (the summary line)."""
        return pd.DataFrame({"#": [r.position for r in self.records], "step": [r.name for r in self.records],
                             "options": [r.options_text() for r in self.records],
                             "changed": [r.summary for r in self.records]})


def listing(names, limit: int = 4) -> str:
    """'a, b, c and 2 more' (at most ``limit`` names)."""
    names = list(names)
    if len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[:limit]) + f" and {len(names) - limit} more"
