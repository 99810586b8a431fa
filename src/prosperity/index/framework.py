"""A composite-index framework as data: nested dimensions -> indicators, read from YAML.

.. code-block:: yaml

    name: Affluence x sharing
    defaults: {normalisation: minmax, weighting: entropy, aggregation: arithmetic}
    steps: [denominate, {impute: mean}, screen, treat, normalise, aggregate]   # optional: the order they run
    dimensions:
      - code: affluence
        name: Affluence
        name_zh: 富裕
        weight: 0.5                 # weight of this dimension in its parent (siblings must sum to 1)
        weighting: entropy          # how the children of this node are weighted (overrides defaults)
        aggregation: arithmetic     # how the children are combined
        indicators:
          - code: gdp_pc
            name: GDP per capita
            unit: yuan
            direction: "+"          # "+", "-", or "moderate" (with optimum: or interval: [a, b])
            column: gdp_pc          # data column (default: code)
            denominator: pop_total  # optional: column / denominator * scale
            scale: 1.0
            goalposts: [0, 200000]  # for goalposts normalisation (absolute mode)
            target: 130000          # or {value: 130000, regions: {Zhejiang: 130000}, years: {2025: ...}}
            available: false        # no bundled data; the indicator is skipped with a note

Errors (malformed YAML, unknown keys, wrong types, a direction typo, weights that do not sum to 1,
duplicate codes, a column missing from the data, a step order that cannot run) are collected and raised together as a
:class:`FrameworkError`; each names the key path (``dimensions[affluence].indicators[gdp_pc].direction``)
and the line in the file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..io.errors import data_location
from .aggregate import AGGREGATIONS, ALIASES
from .normalise import METHODS as NORMALISATIONS

FRAMEWORK_DIR = Path(__file__).parent / "frameworks"

DIRECTION_ALIASES = {
    "+": "+", "+1": "+", "1": "+", "positive": "+", "pos": "+", "benefit": "+", "higher": "+",
    "-": "-", "-1": "-", "negative": "-", "neg": "-", "cost": "-", "lower": "-", "−": "-",
    "moderate": "moderate", "optimum": "moderate", "interval": "moderate",
}
WEIGHTINGS = ("equal", "entropy", "critic", "cv", "std", "pca", "pca1", "merec", "gini", "variance", "user", "ahp")


# ----------------------------------------------------------------------------------- errors
@dataclass(frozen=True)
class Issue:
    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.path or '<top>'}: {self.message}"


class FrameworkError(ValueError):
    """One or more problems in a framework; ``.issues`` lists them with key path and line."""

    def __init__(self, issues: list[Issue], source: str = ""):
        self.issues = issues
        self.source = source
        head = f"invalid framework {source}".rstrip() + f" ({len(issues)} problem{'s' * (len(issues) != 1)}):"
        super().__init__("\n".join([head] + [f"  - {i}" for i in issues]))


# ----------------------------------------------------------------------------------- models
class Target(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: float | None = None
    year: int | None = Field(None, description="the year the target is set for (informative)")
    regions: dict[str, Union[float, dict[int, float]]] = Field(default_factory=dict)
    years: dict[int, float] = Field(default_factory=dict)
    note: str | None = None

    def for_unit(self, region, year) -> float:
        r = self.regions.get(str(region)) if region is not None else None
        if isinstance(r, dict):
            if year is not None and int(year) in r:
                return float(r[int(year)])
        elif r is not None:
            return float(r)
        if year is not None and int(year) in self.years:
            return float(self.years[int(year)])
        return float("nan") if self.value is None else float(self.value)


class Indicator(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str
    name: str | None = None
    name_zh: str | None = None
    unit: str | None = None
    direction: Literal["+", "-", "moderate"]
    optimum: float | None = None
    interval: tuple[float, float] | None = None
    column: str | None = None
    denominator: str | None = None
    scale: float = 1.0
    goalposts: tuple[float, float] | None = None
    target: Target | None = None
    weight: float | None = Field(None, ge=0)
    available: bool = True
    source: str | None = None
    note: str | None = None

    @field_validator("direction", mode="before")
    @classmethod
    def _direction(cls, v):
        key = str(v).strip().lower()
        if key not in DIRECTION_ALIASES:
            raise ValueError(f"direction must be '+', '-' or 'moderate', got {v!r}")
        return DIRECTION_ALIASES[key]

    @field_validator("target", mode="before")
    @classmethod
    def _target(cls, v):
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return {"value": float(v)}
        return v

    @model_validator(mode="after")
    def _moderate(self):
        if self.direction == "moderate" and (self.optimum is None) == (self.interval is None):
            raise ValueError("a 'moderate' indicator needs exactly one of optimum: x or interval: [a, b]")
        if self.direction != "moderate" and (self.optimum is not None or self.interval is not None):
            raise ValueError("optimum/interval only apply to direction 'moderate'")
        if self.goalposts is not None and not self.goalposts[0] < self.goalposts[1]:
            raise ValueError(f"goalposts must be [low, high] with low < high, got {list(self.goalposts)}")
        return self

    @property
    def data_column(self) -> str:
        return self.column or self.code

    @property
    def sign(self) -> int:
        return -1 if self.direction == "-" else 1

    def label(self) -> str:
        return self.name or self.code


class Dimension(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str
    name: str | None = None
    name_zh: str | None = None
    weight: float | None = Field(None, ge=0)
    weighting: str | None = None
    aggregation: str | None = None
    ahp: list[list[float]] | None = None
    note: str | None = None
    dimensions: list["Dimension"] = Field(default_factory=list)
    indicators: list[Indicator] = Field(default_factory=list)

    @field_validator("weighting")
    @classmethod
    def _weighting(cls, v):
        if v is not None and v not in WEIGHTINGS:
            raise ValueError(f"weighting must be one of {', '.join(WEIGHTINGS)}, got {v!r}")
        return v

    @field_validator("aggregation")
    @classmethod
    def _aggregation(cls, v):
        if v is not None and ALIASES.get(v, v) not in AGGREGATIONS:
            raise ValueError(f"aggregation must be one of weighted-sum, {', '.join(AGGREGATIONS)}, got {v!r}")
        return v

    @model_validator(mode="after")
    def _children(self):
        if not self.dimensions and not self.indicators:
            raise ValueError("a dimension needs indicators: or dimensions:")
        return self


class Defaults(BaseModel):
    model_config = ConfigDict(extra="forbid")
    normalisation: str = "minmax"
    range: tuple[float, float] = (0.0, 1.0)
    weighting: str = "entropy"
    entropy_variant: str = "zero"
    aggregation: str = "arithmetic"
    mode: Literal["relative", "target"] = "relative"
    scope: Literal["pooled", "by_year"] = "pooled"
    mcda_scope: Literal["per_dimension", "flat"] = "per_dimension"  # where TOPSIS/VIKOR/GRA/Copeland run
    imputation: str = "none"
    treatment: str = "none"
    coupling: str = "standard"
    coupling_floor: float | None = Field(None, gt=0, lt=1, description="U below it is raised to it before C "
                                         "(R mathmodels uses 1e-10): C > 0 when a subsystem scores 0")

    @field_validator("coupling")
    @classmethod
    def _coupling(cls, v):
        from .coupling import VARIANTS

        if v not in VARIANTS:
            raise ValueError(f"coupling must be one of {', '.join(VARIANTS)}, got {v!r}")
        return v

    @field_validator("normalisation")
    @classmethod
    def _norm(cls, v):
        if v not in NORMALISATIONS:
            raise ValueError(f"normalisation must be one of {', '.join(NORMALISATIONS)}, got {v!r}")
        return v

    @field_validator("weighting")
    @classmethod
    def _w(cls, v):
        if v not in WEIGHTINGS:
            raise ValueError(f"weighting must be one of {', '.join(WEIGHTINGS)}, got {v!r}")
        return v

    @field_validator("aggregation")
    @classmethod
    def _a(cls, v):
        if ALIASES.get(v, v) not in AGGREGATIONS:
            raise ValueError(f"aggregation must be one of weighted-sum, {', '.join(AGGREGATIONS)}, got {v!r}")
        return v


class FrameworkModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    name_zh: str | None = None
    description: str | None = None
    version: str | None = None
    references: list[str] = Field(default_factory=list)
    data: dict[str, Any] = Field(default_factory=dict)
    defaults: Defaults = Field(default_factory=Defaults)
    steps: list[Any] | None = Field(None, description="the pipeline's steps in the order they run (see STEPS)")
    dimensions: list[Dimension]


# ----------------------------------------------------------------------------------- tree
@dataclass
class Group:
    """A node of the flattened tree: children are indicator positions or other group positions."""

    code: str
    name: str
    name_zh: str | None
    level: int
    indicator_children: list[int] = field(default_factory=list)
    group_children: list[int] = field(default_factory=list)
    weights: list[float | None] = field(default_factory=list)  # per child, indicators first
    weighting: str | None = None
    aggregation: str | None = None
    ahp: list[list[float]] | None = None
    parent: int | None = None


@dataclass
class Framework:
    """A validated framework. ``indicators`` lists the leaves in file order; ``groups`` lists the
    dimensions bottom-up (children before parents), the last one being the index itself."""

    model: FrameworkModel
    indicators: list[Indicator]
    groups: list[Group]
    source: str = ""
    lines: dict = field(default_factory=dict, repr=False)
    paths: dict = field(default_factory=dict, repr=False)  # indicator code -> key path
    skipped: list[Indicator] = field(default_factory=list)
    steps: tuple["StepSpec", ...] | None = None  # the framework's `steps:` (None: the default order)

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def defaults(self) -> Defaults:
        return self.model.defaults

    @property
    def codes(self) -> list[str]:
        return [i.code for i in self.indicators]

    def dimension_of(self, level: int = 1) -> dict[str, str]:
        """indicator code -> code of its ancestor at ``level`` (1 = top dimensions)."""
        out = {}
        for j, ind in enumerate(self.indicators):
            g = next(k for k, grp in enumerate(self.groups) if j in grp.indicator_children)
            chain = [g]
            while self.groups[chain[-1]].parent is not None:
                chain.append(self.groups[chain[-1]].parent)
            chain = chain[::-1]  # root first
            out[ind.code] = self.groups[chain[min(level, len(chain) - 1)]].code
        return out

    def top_dimensions(self) -> list[int]:
        root = len(self.groups) - 1
        return list(self.groups[root].group_children)

    def check_columns(self, columns) -> None:
        """Raise a located error for every indicator (or denominator) column missing from the data."""
        cols = set(map(str, columns))
        issues = []
        for ind in self.indicators:
            path = self.paths.get(ind.code, ("dimensions",))
            if ind.data_column not in cols:
                key = path + (("column",) if ind.column else ("code",))
                issues.append(Issue(_fmt_path(key, self.model), _line(self.lines, key),
                                    f"column {ind.data_column!r} is not in the data "
                                    f"(available: {', '.join(sorted(cols)[:12])}{' ...' if len(cols) > 12 else ''}); "
                                    "fix the name or mark the indicator `available: false`"))
            if ind.denominator and ind.denominator not in cols:
                key = path + ("denominator",)
                issues.append(Issue(_fmt_path(key, self.model), _line(self.lines, key),
                                    f"denominator column {ind.denominator!r} is not in the data"))
        if issues:
            raise FrameworkError(issues, self.source)

    def describe(self) -> str:
        out = [f"{self.name}" + (f" ({self.model.name_zh})" if self.model.name_zh else "")]

        def walk(g: int, depth: int):
            grp = self.groups[g]
            for j in grp.indicator_children:
                ind = self.indicators[j]
                out.append("  " * depth + f"- {ind.code} [{ind.direction}] {ind.label()}"
                           + (f" ({ind.unit})" if ind.unit else ""))
            for c in grp.group_children:
                sub = self.groups[c]
                out.append("  " * depth + f"+ {sub.code}: {sub.name}")
                walk(c, depth + 1)

        walk(len(self.groups) - 1, 1)
        if self.skipped:
            out.append("  not in the data (skipped): " + ", ".join(i.code for i in self.skipped))
        return "\n".join(out)

    @classmethod
    def flat(cls, columns, negative=(), *, name: str = "quick index", directions: dict | None = None,
             intervals: dict | None = None) -> "Framework":
        """Every column an indicator (one dimension). Directions from ``directions`` ({column: "+",
        "-" or "moderate"}); without it, + unless listed in ``negative`` (the caller has checked that
        every column's direction was declared)."""
        negative = set(negative)
        unknown = negative - set(columns)
        if unknown:
            raise ValueError(f"--negative names columns that are not indicators: {', '.join(sorted(unknown))}")
        directions = dict(directions or {})
        inds = []
        for c in columns:
            d = "-" if c in negative else directions.get(c, "+")
            ind = {"code": str(c), "direction": d}
            if d == "moderate" and intervals and c in intervals:
                ind["interval"] = list(intervals[c])
            inds.append(ind)
        return from_dict({"name": name, "dimensions": [{"code": "index", "name": name, "indicators": inds}]},
                         flatten_single=True)


# ----------------------------------------------------------------------------------- loading
def _line_map(text: str) -> dict:
    """key path (tuple) -> 1-based line of the key (mapping) or item (sequence)."""
    lines: dict = {}

    def walk(node, path):
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                key = path + (k.value,)
                lines[key] = k.start_mark.line + 1
                walk(v, key)
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                key = path + (i,)
                lines[key] = v.start_mark.line + 1
                walk(v, key)

    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is not None:
        walk(root, ())
    return lines


def _line(lines: dict, path: tuple) -> int | None:
    path = tuple(path)
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return lines.get(())


def _fmt_path(path: tuple, data) -> str:
    """dimensions[affluence].indicators[gdp_pc].direction (codes when known, else indices)."""
    out = []
    node = data.model_dump() if isinstance(data, BaseModel) else data
    for p in path:
        if isinstance(p, int):
            label = str(p)
            if isinstance(node, list) and 0 <= p < len(node):
                node = node[p]
                if isinstance(node, dict) and isinstance(node.get("code"), str):
                    label = node["code"]
            else:
                node = None
            out.append(f"[{label}]")
        else:
            out.append(("." if out else "") + str(p))
            node = node.get(p) if isinstance(node, dict) else None
    return "".join(out)


def _pydantic_issues(err: ValidationError, data, lines) -> list[Issue]:
    issues = []
    for e in err.errors():
        loc = tuple(x for x in e["loc"] if not (isinstance(x, str) and x.startswith("function-")))
        # pydantic puts union branch names / tuple positions into loc; keep what maps onto the data
        path = data_location(data, loc, e["type"])
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = f"unknown key {path[-1]!r}"
            parent = path[:-1]
            allowed = _allowed_keys(data, parent)
            if allowed:
                import difflib

                close = difflib.get_close_matches(str(path[-1]), allowed, n=1)
                msg += f" (did you mean {close[0]!r}?)" if close else f" (allowed: {', '.join(allowed)})"
        elif e["type"] == "missing":
            msg = f"required key {path[-1]!r} is missing"
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        line = _line(lines, path if e["type"] != "missing" else path[:-1])
        issues.append(Issue(_fmt_path(path, data), line, msg))
    # one message per (path, message)
    seen, out = set(), []
    for i in issues:
        if (i.path, i.message) not in seen:
            seen.add((i.path, i.message))
            out.append(i)
    return out


def _allowed_keys(data, parent: tuple) -> list[str]:
    node = data
    kinds = []
    for p in parent:
        kinds.append(p)
        try:
            node = node[p]
        except (KeyError, IndexError, TypeError):
            return []
    last = [k for k in kinds if isinstance(k, str)]
    model = FrameworkModel
    if last:
        key = last[-1]
        model = {"dimensions": Dimension, "indicators": Indicator, "defaults": Defaults, "target": Target}.get(key)
        if model is None:
            return []
    return sorted(model.model_fields)


def _semantic_issues(model: FrameworkModel, data, lines) -> list[Issue]:
    issues: list[Issue] = []
    seen: dict[str, tuple] = {}

    def check_weights(children, path, kind_names):
        ws = [(i, c.weight) for i, c in enumerate(children)]
        given = [w for _, w in ws if w is not None]
        if not given:
            return
        if len(given) != len(ws):
            missing = [children[i].code for i, w in ws if w is None]
            issues.append(Issue(_fmt_path(path, data), _line(lines, path),
                                f"weights are given for some {kind_names} but not for {', '.join(missing)}; "
                                "give all or none"))
            return
        total = sum(given)
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            issues.append(Issue(_fmt_path(path, data), _line(lines, path),
                                f"the weights of these {kind_names} sum to {total:.6g}, not 1 "
                                f"({' + '.join(f'{w:g}' for w in given)})"))

    def walk(dim: Dimension, path: tuple):
        for key, items in (("dimensions", dim.dimensions), ("indicators", dim.indicators)):
            for k, child in enumerate(items):
                cpath = path + (key, k)
                if child.code in seen:
                    issues.append(Issue(_fmt_path(cpath + ("code",), data), _line(lines, cpath + ("code",)),
                                        f"duplicate code {child.code!r} (first used at line {_line(lines, seen[child.code])})"))
                else:
                    seen[child.code] = cpath + ("code",)
        children = list(dim.indicators) + list(dim.dimensions)
        if dim.indicators and dim.dimensions and any(c.weight is not None for c in children):
            check_weights(children, path, "children")
        else:
            if dim.indicators:
                check_weights(dim.indicators, path + ("indicators",), "indicators")
            if dim.dimensions:
                check_weights(dim.dimensions, path + ("dimensions",), "dimensions")
        if dim.ahp is not None:
            n = len(children)
            shape_ok = len(dim.ahp) == n and all(len(r) == n for r in dim.ahp)
            if not shape_ok:
                issues.append(Issue(_fmt_path(path + ("ahp",), data), _line(lines, path + ("ahp",)),
                                    f"the AHP matrix must be {n} x {n} (one row and column per child, "
                                    "indicators first, then sub-dimensions)"))
            else:
                from .weights import _check_pairwise

                try:
                    _check_pairwise(dim.ahp)
                except ValueError as exc:
                    issues.append(Issue(_fmt_path(path + ("ahp",), data), _line(lines, path + ("ahp",)), str(exc)))
        if dim.weighting == "ahp" and dim.ahp is None:
            issues.append(Issue(_fmt_path(path + ("weighting",), data), _line(lines, path + ("weighting",)),
                                "weighting 'ahp' needs an `ahp:` pairwise matrix on this dimension"))
        if dim.weighting == "user" and any(c.weight is None for c in children):
            issues.append(Issue(_fmt_path(path + ("weighting",), data), _line(lines, path + ("weighting",)),
                                "weighting 'user' needs a weight on every child"))
        for k, sub in enumerate(dim.dimensions):
            walk(sub, path + ("dimensions", k))

    top = Dimension.model_construct(code="index", dimensions=model.dimensions, indicators=[], weight=None,
                                    weighting=None, aggregation=None, ahp=None)
    for k, d in enumerate(model.dimensions):
        if d.code in seen:
            issues.append(Issue(_fmt_path(("dimensions", k, "code"), data), _line(lines, ("dimensions", k, "code")),
                                f"duplicate code {d.code!r}"))
        seen[d.code] = ("dimensions", k, "code")
    check_weights(model.dimensions, ("dimensions",), "dimensions")
    for k, d in enumerate(model.dimensions):
        walk(d, ("dimensions", k))
    del top
    return issues


# ----------------------------------------------------------------------------------- steps
STEPS = ("denominate", "impute", "screen", "treat", "normalise", "aggregate")
DATA_STEPS = ("denominate", "impute", "screen", "treat")  # work on the indicators' own values
DEFAULT_ORDER = ("denominate", "screen", "impute", "treat", "normalise", "aggregate")  # without `steps:`
COINR_ORDER = ("denominate", "impute", "screen", "treat", "normalise", "aggregate")  # build_example_coin()
# step -> {option: the run option (IndexConfig field) it sets}
STEP_OPTIONS = {
    "denominate": {},
    "impute": {"method": "imputation", "groups": "impute_groups"},
    "screen": {"min_availability": "min_availability"},
    "treat": {"method": "treatment"},
    "normalise": {"method": "normalisation", "range": "range"},
    "aggregate": {"method": "aggregation", "weighting": "weighting", "entropy_variant": "entropy_variant",
                  "min_coverage": "min_coverage"},
}
# defaults: key -> (step, option) that sets the same run option
_DEFAULT_KEYS = {"imputation": ("impute", "method"), "treatment": ("treat", "method"),
                 "normalisation": ("normalise", "method"), "range": ("normalise", "range"),
                 "aggregation": ("aggregate", "method"), "weighting": ("aggregate", "weighting"),
                 "entropy_variant": ("aggregate", "entropy_variant")}
# names people write for a step (suggested, never accepted silently)
_STEP_SYNONYMS = {"normalize": "normalise", "normalisation": "normalise", "normalization": "normalise",
                  "imputation": "impute", "screening": "screen", "outliers": "treat", "treatment": "treat",
                  "winsorise": "treat", "denomination": "denominate", "denominator": "denominate",
                  "aggregation": "aggregate", "weighting": "aggregate", "weights": "aggregate"}


@dataclass(frozen=True)
class StepSpec:
    """One entry of a framework's ``steps:``: the step, its options as written, and its line."""

    name: str
    options: dict = field(default_factory=dict)
    line: int | None = None

    def run_options(self) -> dict:
        """The run options (IndexConfig fields) this step's options set."""
        out = {STEP_OPTIONS[self.name][k]: v for k, v in self.options.items()}
        if "range" in out:
            out["range"] = tuple(float(x) for x in out["range"])
        return out


def suggest_step(name: str) -> str | None:
    import difflib

    key = str(name).strip().lower()
    if key in _STEP_SYNONYMS:
        return _STEP_SYNONYMS[key]
    close = difflib.get_close_matches(key, STEPS, n=1, cutoff=0.6)
    return close[0] if close else None


def check_step_order(names, lines=None) -> list[tuple[int | None, str]]:
    """The problems of an order of step names, as (position in the list or None, message with a fix).

    Rules: every name is one of :data:`STEPS`, listed once; ``normalise`` and ``aggregate`` are
    present, ``aggregate`` after ``normalise``; the data steps (denominate, impute, screen, treat)
    come before ``normalise`` (they work on the indicators' own values, which normalise turns into
    unit-free scores, and which the sensitivity analysis normalises again). ``lines`` (one per name)
    lets the messages point at lines; else positions count from 1."""
    out: list[tuple[int | None, str]] = []

    def at(k: int) -> str:
        ln = lines[k] if lines is not None and k < len(lines) else None
        return f"line {ln}" if ln else f"step {k + 1}"

    first: dict[str, int] = {}
    for k, nm in enumerate(names):
        if nm not in STEPS:
            near = suggest_step(nm)
            out.append((k, f"unknown step {nm!r}" + (f" (did you mean {near!r}?)" if near else "")
                        + f"; the steps are {', '.join(STEPS)}"))
        elif nm in first:
            out.append((k, f"step {nm!r} is listed twice (first at {at(first[nm])}). Fix: list each step "
                        "once, where it should run"))
        else:
            first[nm] = k
    for need in ("normalise", "aggregate"):
        if need not in first:
            out.append((None, f"the steps lack {need!r}, which every index needs. Fix: add `- {need}`"
                        + (" before aggregate" if need == "normalise" else " as the last step")))
    n_at, a_at = first.get("normalise"), first.get("aggregate")
    if n_at is not None and a_at is not None and a_at < n_at:
        out.append((a_at, f"aggregate ({at(a_at)}) comes before normalise ({at(n_at)}): aggregation "
                    "combines normalised indicators. Fix: put normalise before aggregate"))
    end = min(x for x in (n_at, a_at) if x is not None) if (n_at is not None or a_at is not None) else None
    if end is not None:
        after = "normalise" if end == n_at else "aggregate"
        for nm in DATA_STEPS:
            k = first.get(nm)
            if k is not None and k > end:
                out.append((k, f"{nm} ({at(k)}) comes after {after} ({at(end)}): the data steps "
                            f"({', '.join(DATA_STEPS)}) work on the indicators' own values, before they are "
                            f"normalised. Fix: move {nm} before normalise"))
    return out


def _step_option_problem(step: str, key: str, value) -> str | None:
    from .prepare import IMPUTATION, TREATMENT

    def share(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool) and 0.0 <= v <= 1.0

    if step == "impute" and key == "method":
        parts = [m.strip() for m in str(value).replace("+", ",").split(",") if m.strip()] if isinstance(value, str) else []
        bad = [m for m in parts if m not in IMPUTATION]
        if not parts or bad:
            return (f"impute method must be one of {', '.join(IMPUTATION)} or a chain such as linear,mean, "
                    f"got {value!r}")
    elif step == "impute" and key == "groups":
        if not isinstance(value, str) or not value.strip():
            return f"impute groups is 'year', 'all' or a column of the data, got {value!r}"
    elif key in ("min_availability", "min_coverage"):
        if not share(value):
            return f"{step} {key} is a share between 0 and 1, got {value!r}"
    elif step == "treat":
        if value not in TREATMENT:
            return f"treat method must be one of {', '.join(TREATMENT)}, got {value!r}"
    elif step == "normalise" and key == "method":
        if value not in NORMALISATIONS:
            return f"normalise method must be one of {', '.join(NORMALISATIONS)}, got {value!r}"
    elif step == "normalise" and key == "range":
        ok = (isinstance(value, (list, tuple)) and len(value) == 2
              and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value) and value[0] < value[1])
        if not ok:
            return f"normalise range is [low, high] with low < high, got {value!r}"
    elif step == "aggregate" and key == "method":
        if not isinstance(value, str) or ALIASES.get(value, value) not in AGGREGATIONS:
            return f"aggregate method must be one of weighted-sum, {', '.join(AGGREGATIONS)}, got {value!r}"
    elif step == "aggregate" and key == "weighting":
        if value not in WEIGHTINGS:
            return f"aggregate weighting must be one of {', '.join(WEIGHTINGS)}, got {value!r}"
    elif step == "aggregate" and key == "entropy_variant":
        from .weights import ENTROPY_VARIANTS

        if value not in ENTROPY_VARIANTS:
            return f"aggregate entropy_variant must be one of {', '.join(ENTROPY_VARIANTS)}, got {value!r}"
    return None


def _step_issues(model: FrameworkModel, data, lines) -> tuple[tuple[StepSpec, ...] | None, list[Issue]]:
    """Parse and check ``steps:``: names, options, order, and agreement with ``defaults:`` and the
    indicators' denominators. Each entry is a name (``- impute``) or one name with its options
    (``- impute: {method: mean, groups: year}``; a bare value is the method: ``- impute: mean``)."""
    raw = data.get("steps") if isinstance(data, dict) else None
    if raw is None:
        return None, []
    issues: list[Issue] = []
    where = ("steps",)
    if not isinstance(raw, list) or not raw:
        return None, [Issue("steps", _line(lines, where), "steps: is a list of step names in the order they run, "
                            f"e.g. [{', '.join(COINR_ORDER)}]")]
    specs: list[StepSpec] = []
    names: list[str] = []
    for k, item in enumerate(raw):
        path = where + (k,)
        line = _line(lines, path)
        if isinstance(item, str):
            name, opts = item, {}
        elif isinstance(item, dict) and len(item) == 1:
            name, opts = next(iter(item.items()))
            name = str(name)
            if opts is None:
                opts = {}
            elif not isinstance(opts, dict):
                if "method" in STEP_OPTIONS.get(name, {}):
                    opts = {"method": opts}
                else:
                    issues.append(Issue(f"steps[{k}]", line, f"step {name!r} takes "
                                        + ("no options" if name in STEP_OPTIONS else "a mapping of options")
                                        + f", got {opts!r}"))
                    opts = {}
        else:
            issues.append(Issue(f"steps[{k}]", line, "each step is a name (`- impute`) or one name with its "
                                f"options (`- impute: {{method: mean}}`), got {item!r}"))
            names.append(f"<entry {k + 1}>")
            continue
        names.append(name)
        if name in STEP_OPTIONS:
            allowed = STEP_OPTIONS[name]
            for key, value in opts.items():
                kline = _line(lines, path + (name, key))
                if key not in allowed:
                    import difflib

                    close = difflib.get_close_matches(str(key), list(allowed), n=1)
                    hint = (f" (did you mean {close[0]!r}?)" if close else
                            f" (allowed: {', '.join(allowed)})" if allowed else " (it takes no options)")
                    issues.append(Issue(f"steps[{k}].{name}.{key}", kline, f"unknown option {key!r} of step "
                                        f"{name!r}{hint}"))
                    continue
                problem = _step_option_problem(name, key, value)
                if problem:
                    issues.append(Issue(f"steps[{k}].{name}.{key}", kline, problem))
        specs.append(StepSpec(name, dict(opts), line))
    kept = [k for k, n in enumerate(names) if not n.startswith("<entry")]
    order_lines = [_line(lines, where + (k,)) for k in kept]
    for i, msg in check_step_order([names[k] for k in kept], order_lines):
        k = None if i is None else kept[i]
        issues.append(Issue("steps" if k is None else f"steps[{k}]",
                            _line(lines, where if k is None else where + (k,)), msg))
    listed: dict[str, StepSpec] = {}
    for spec in specs:
        listed.setdefault(spec.name, spec)
    set_defaults = model.defaults.model_fields_set
    for key, (step, opt) in _DEFAULT_KEYS.items():
        if key not in set_defaults:
            continue
        value = getattr(model.defaults, key)
        spec = listed.get(step)
        dline = _line(lines, ("defaults", key))
        if spec is None:
            if value != "none" and step in DATA_STEPS:  # a missing normalise/aggregate is reported above
                issues.append(Issue(f"defaults.{key}", dline, f"defaults.{key} is {value!r}, but steps: lists no "
                                    f"{step} step, so it would not run. Fix: add `- {step}: {value}` to steps: "
                                    f"where it belongs in the order, or remove defaults.{key}"))
        elif opt in spec.options:
            given = spec.options[opt]
            same = (tuple(map(float, given)) == tuple(map(float, value))) if key == "range" else given == value
            if not same:
                k = names.index(step)
                issues.append(Issue(f"steps[{k}].{step}.{opt}", _line(lines, where + (k, step, opt)),
                                    f"{step} {opt} is {given!r} here but defaults.{key} is {value!r} (line {dline}). "
                                    f"Fix: give it in one place (remove defaults.{key} or the step's {opt})"))
    if "denominate" not in listed:
        def walk(dim: Dimension, path: tuple):
            for k, ind in enumerate(dim.indicators):
                if ind.denominator and ind.available:
                    ipath = path + ("indicators", k, "denominator")
                    issues.append(Issue(_fmt_path(ipath, data), _line(lines, ipath),
                                        f"indicator {ind.code!r} is divided by {ind.denominator!r}, but steps: lists "
                                        "no denominate step, so it would enter undivided. Fix: add `- denominate` to "
                                        "steps: (COINr runs it first), or remove the denominator"))
            for k, sub in enumerate(dim.dimensions):
                walk(sub, path + ("dimensions", k))

        for k, d in enumerate(model.dimensions):
            walk(d, ("dimensions", k))
    return tuple(specs), issues


def _flatten(model: FrameworkModel, lines, data, source, flatten_single=False) -> Framework:
    indicators: list[Indicator] = []
    skipped: list[Indicator] = []
    groups: list[Group] = []
    paths: dict = {}

    def build(dim: Dimension, path: tuple, level: int) -> int | None:
        grp = Group(dim.code, dim.name or dim.code, dim.name_zh, level, weighting=dim.weighting,
                    aggregation=dim.aggregation, ahp=dim.ahp)
        w_ind, w_grp = [], []
        for k, ind in enumerate(dim.indicators):
            paths[ind.code] = path + ("indicators", k)
            if not ind.available:
                skipped.append(ind)
                continue
            grp.indicator_children.append(len(indicators))
            indicators.append(ind)
            w_ind.append(ind.weight)
        for k, sub in enumerate(dim.dimensions):
            g = build(sub, path + ("dimensions", k), level + 1)
            if g is not None:
                grp.group_children.append(g)
                w_grp.append(sub.weight)
        if not grp.indicator_children and not grp.group_children:
            return None  # every indicator of this dimension is unavailable
        grp.weights = w_ind + w_grp
        for g in grp.group_children:
            groups[g].parent = len(groups)
        groups.append(grp)
        return len(groups) - 1

    if flatten_single and len(model.dimensions) == 1:
        d = model.dimensions[0]
        build(d, ("dimensions", 0), 0)
        groups[-1].level = 0
    else:
        root = Group("index", model.name, model.name_zh, 0)
        subs = []
        for k, d in enumerate(model.dimensions):
            g = build(d, ("dimensions", k), 1)
            if g is not None:
                subs.append((g, d.weight))
        root.group_children = [g for g, _ in subs]
        root.weights = [w for _, w in subs]
        for g in root.group_children:
            groups[g].parent = len(groups)
        groups.append(root)
    if not indicators:
        raise FrameworkError([Issue("dimensions", _line(lines, ("dimensions",)),
                                    "no indicator is available: every indicator is marked available: false")], source)
    return Framework(model, indicators, groups, source, lines, paths, skipped)


def from_dict(data: dict, *, lines: dict | None = None, source: str = "", flatten_single: bool = False) -> Framework:
    lines = lines or {}
    if not isinstance(data, dict):
        raise FrameworkError([Issue("", _line(lines, ()), "a framework must be a mapping with name: and dimensions:")],
                             source)
    try:
        model = FrameworkModel.model_validate(data)
    except ValidationError as err:
        raise FrameworkError(_pydantic_issues(err, data, lines), source) from None
    issues = _semantic_issues(model, data, lines)
    specs, step_issues = _step_issues(model, data, lines)
    issues += step_issues
    if issues:
        raise FrameworkError(issues, source)
    fw = _flatten(model, lines, data, source, flatten_single)
    fw.steps = specs
    return fw


def loads(text: str, source: str = "<string>") -> Framework:
    try:
        data = yaml.safe_load(text)
        lines = _line_map(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        ctx = getattr(exc, "context", None)
        msg = f"malformed YAML: {problem}" + (f" ({ctx})" if ctx else "")
        raise FrameworkError([Issue("", mark.line + 1 if mark else None, msg)], source) from None
    return from_dict(data, lines=lines, source=source)


def load(path_or_name: str | Path) -> Framework:
    """Load a framework file, or a bundled one by name (``zhejiang_2025``, ``affluence_sharing``,
    ``five_concepts``, ``development_sharing_sustainability``)."""
    p = Path(path_or_name)
    if not p.exists():
        bundled = FRAMEWORK_DIR / f"{path_or_name}.yaml"
        if bundled.exists():
            p = bundled
        else:
            names = ", ".join(sorted(f.stem for f in FRAMEWORK_DIR.glob("*.yaml")))
            raise FileNotFoundError(f"framework {str(path_or_name)!r} not found (bundled: {names})")
    return loads(p.read_text(encoding="utf-8"), source=str(p))


def bundled() -> list[str]:
    return sorted(f.stem for f in FRAMEWORK_DIR.glob("*.yaml"))
