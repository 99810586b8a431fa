"""Reforms: parameter overlays in PolicyEngine's dict form, named rule replacements, and their checks.

A reform file::

    name: Raise dibao standards by 20 %
    description: ...
    changes:
      dibao.standard.urban:
        2024-01-01: {multiply: 1.2}        # or a number, {add: x}, {same_as: other.path}
      iit.rates.brackets.7.threshold:      # index == number of brackets adds a bracket
        2024-01-01.2100-12-31: 1500000     # a period: YYYY, YYYY-MM-DD or start.stop
      iit.rates.brackets.7.rate:
        2024: 0.5

Every change of every reform is checked against the tree before anything is applied (unknown path with
a did-you-mean, period format, rate outside [0, 1], negative amount, unknown province or region,
brackets out of order): all problems are reported at once with file and line, and the tree the
simulation uses is a copy, so nothing runs on a half-applied reform. Reforms combine in order
(:meth:`Reform.combine`): a later change of the same parameter and period wins.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from .parameter_tree import Brackets, DatedValues, ParameterTree, Scale

PROVINCES = ("Beijing", "Tianjin", "Hebei", "Shanxi", "Inner Mongolia", "Liaoning", "Jilin", "Heilongjiang",
             "Shanghai", "Jiangsu", "Zhejiang", "Anhui", "Fujian", "Jiangxi", "Shandong", "Henan", "Hubei",
             "Hunan", "Guangdong", "Guangxi", "Hainan", "Chongqing", "Sichuan", "Guizhou", "Yunnan", "Tibet",
             "Shaanxi", "Gansu", "Qinghai", "Ningxia", "Xinjiang")
REGIONS = ("East", "Central", "West", "Northeast")
DISTRIBUTION_RULES = ("per_capita", "rural", "low_income")
RULE_NAMES = ("social_insurance", "special_additional_deductions", "income_tax", "resident_pension",
              "childcare_subsidy", "dibao", "regional_transfers")

_PERIOD = re.compile(r"^(\d{4})(-\d{2}-\d{2})?(?:\.(\d{4}-\d{2}-\d{2}))?$")


class ReformError(ValueError):
    """One or more invalid changes; ``problems`` lists them, each naming file, line and key."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        head = "the reform is not applied (nothing ran):" if len(problems) > 1 else "the reform is not applied:"
        super().__init__(head + "\n  " + "\n  ".join(problems))


@dataclass(frozen=True)
class Change:
    path: str
    start: dt.date
    stop: dt.date | None
    value: object  # number, string, or {"multiply"|"add"|"same_as": x}
    where: str  # "file:line" or "python"

    def describe(self) -> str:
        period = self.start.isoformat() + (f".{self.stop.isoformat()}" if self.stop else "")
        return f"{self.path} @ {period} = {self.value!r}"


def parse_period(text, where: str, key: str) -> tuple[dt.date, dt.date | None]:
    """'2024' -> 2024-01-01 onwards; '2024-07-01'; '2024-01-01.2026-12-31' (stop inclusive)."""
    if isinstance(text, dt.date):
        return text, None
    s = str(text).strip()
    m = _PERIOD.match(s)
    if not m:
        raise ValueError(f"{where}: {key}: period {s!r} is not in a known format; write YYYY, YYYY-MM-DD or "
                         f"YYYY-MM-DD.YYYY-MM-DD (start.stop)")
    try:
        start = dt.date.fromisoformat(m.group(1) + (m.group(2) or "-01-01"))
        stop = dt.date.fromisoformat(m.group(3)) if m.group(3) else None
    except ValueError as exc:
        raise ValueError(f"{where}: {key}: period {s!r} is not a real date ({exc})") from None
    if stop is not None and stop < start:
        raise ValueError(f"{where}: {key}: period {s!r} ends before it starts")
    return start, stop


@dataclass(frozen=True)
class Reform:
    """A named list of parameter changes, plus optional rule replacements
    ``{rule name: function}`` (the function has the signature of the rule it replaces in
    :mod:`prosperity.simulate.rules`)."""

    name: str
    changes: tuple = ()
    rules: dict = field(default_factory=dict)
    description: str = ""
    sources: tuple = ()

    @classmethod
    def from_dict(cls, changes: dict, name: str = "reform", where: str = "python", rules=None) -> "Reform":
        """PolicyEngine's dict form: ``{path: {period: value}}``."""
        out, problems = [], []
        if not isinstance(changes, dict):
            raise ReformError([f"{where}: changes must map parameter paths to {{period: value}}"])
        for path, periods in changes.items():
            if not isinstance(periods, dict) or not periods:
                problems.append(f"{where}: {path}: give {{period: value}}, e.g. {{'2024-01-01': 0.5}}")
                continue
            for period, value in periods.items():
                try:
                    start, stop = parse_period(period, where, path)
                except ValueError as exc:
                    problems.append(str(exc))
                    continue
                out.append(Change(str(path), start, stop, value, where))
        if problems:
            raise ReformError(problems)
        return cls(name, tuple(out), dict(rules or {}), sources=(where,))

    @classmethod
    def from_yaml(cls, path: str | Path) -> "Reform":
        path = Path(path)
        if not path.is_file():
            raise ReformError([f"{path}: no such reform file"])
        text = path.read_text(encoding="utf-8")
        try:
            root = yaml.compose(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f":{mark.line + 1}" if mark is not None else ""
            raise ReformError([f"{path}{line}: not valid YAML ({getattr(exc, 'problem', exc)})"]) from None
        if not isinstance(root, yaml.MappingNode):
            raise ReformError([f"{path}:1: a reform file is a mapping with 'name' and 'changes'"])
        top = {k.value: v for k, v in root.value}
        unknown = sorted(set(top) - {"name", "description", "changes", "reference"})
        problems = [f"{path}: unknown key {k!r} (a reform has name, description, reference, changes)" for k in unknown]
        if "changes" not in top or not isinstance(top["changes"], yaml.MappingNode):
            problems.append(f"{path}: 'changes' is missing or not a mapping of parameter paths")
            raise ReformError(problems)
        changes = []
        for key_node, periods in top["changes"].value:
            key = key_node.value
            where = f"{path}:{key_node.start_mark.line + 1}"
            if not isinstance(periods, yaml.MappingNode):
                problems.append(f"{where}: {key}: give one or more 'period: value' lines under the path")
                continue
            for pnode, vnode in periods.value:
                pwhere = f"{path}:{pnode.start_mark.line + 1}"
                try:
                    start, stop = parse_period(pnode.value, pwhere, key)
                    value = yaml.safe_load(yaml.serialize(vnode))
                except ValueError as exc:
                    problems.append(str(exc))
                    continue
                changes.append(Change(key, start, stop, value, pwhere))
        if problems:
            raise ReformError(problems)
        meta = yaml.safe_load(text)
        return cls(str(meta.get("name", path.stem)), tuple(changes), {}, str(meta.get("description", "")),
                   (str(path),))

    @staticmethod
    def combine(*reforms: "Reform") -> "Reform":
        """One reform applying each in order (later changes win; rule replacements merge, later win)."""
        reforms = [r for r in reforms if r is not None]
        if not reforms:
            return Reform("baseline")
        if len(reforms) == 1:
            return reforms[0]
        rules: dict = {}
        for r in reforms:
            rules.update(r.rules)
        return Reform(" + ".join(r.name for r in reforms), tuple(c for r in reforms for c in r.changes), rules,
                      "; ".join(r.description for r in reforms if r.description),
                      tuple(s for r in reforms for s in r.sources))

    def with_value(self, path: str, value: float, start: dt.date) -> "Reform":
        """This reform plus one more change (used by the budget-neutral solve)."""
        return Reform(self.name, self.changes + (Change(path, start, None, float(value), "budget-neutral"),),
                      self.rules, self.description, self.sources)

    def apply(self, tree: ParameterTree) -> ParameterTree:
        """A changed copy of ``tree``; raises :class:`ReformError` listing every problem first."""
        problems = [f"rules: {name!r} is not a rule; rules are {', '.join(RULE_NAMES)}"
                    for name in self.rules if name not in RULE_NAMES]
        problems += [f"rules: {name!r} must be a function" for name, f in self.rules.items() if not callable(f)]
        new = tree.copy()
        for change in self.changes:
            try:
                _apply_one(new, change)
            except ValueError as exc:
                problems.append(str(exc))
        if not problems:
            problems += _check_scales(new, self.changes)
        if problems:
            raise ReformError(problems)
        return new

    def __repr__(self) -> str:
        return f"Reform({self.name!r}, {len(self.changes)} changes{', rules ' + str(list(self.rules)) if self.rules else ''})"


def _suggest(path: str, tree: ParameterTree) -> str:
    parts = path.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        prefix = ".".join(parts[:cut])
        children = sorted({p[len(prefix) + 1:].split(".")[0] for p in tree.paths() if p.startswith(prefix + ".")})
        if children:
            if set(children) <= set(PROVINCES) | {"brackets"} and set(children) & set(PROVINCES):
                near = difflib.get_close_matches(parts[cut], children, n=1, cutoff=0.5)
                hint = f"; did you mean {prefix}.{near[0]}?" if near else ""
                return f"province {parts[cut]!r} does not exist under {prefix}{hint} (provinces: {', '.join(PROVINCES)})"
            break
    near = difflib.get_close_matches(path, tree.paths(), n=3, cutoff=0.6)
    return "unknown parameter" + (f"; did you mean {' or '.join(near)}?" if near else
                                  "; `prosperity simulate --list-parameters` lists them")


def _resolve(tree: ParameterTree, change: Change, path: str) -> DatedValues:
    try:
        return tree.leaf(path)
    except KeyError:
        pass
    head, _, tail = path.partition(".brackets.")
    scale = tree.leaves.get(head)
    if isinstance(scale, Scale):
        k, _, which = tail.partition(".")
        if not (k.isdigit() and which in ("threshold", "rate")):
            raise ValueError(f"{change.where}: {path}: a bracket path is {head}.brackets.<k>.threshold or .rate")
        if int(k) == len(scale.brackets):  # a new top bracket
            meta = scale.metadata
            scale.brackets.append((DatedValues(f"{head}.brackets.{k}.threshold", [], {**meta, "unit": meta.get("threshold_unit", "")}),
                                   DatedValues(f"{head}.brackets.{k}.rate", [], {**meta, "unit": meta.get("rate_unit", "")})))
            return tree.leaf(path)
        raise ValueError(f"{change.where}: {path}: {head} has brackets 0..{len(scale.brackets) - 1}; "
                         f"use {len(scale.brackets)} to add one")
    if isinstance(tree.leaves.get(path), Scale):
        raise ValueError(f"{change.where}: {path}: is a scale; change {path}.brackets.<k>.threshold or .rate")
    raise ValueError(f"{change.where}: {path}: {_suggest(path, tree)}")


def _number(x, where, path) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not np.isfinite(x):
        raise ValueError(f"{where}: {path}: {x!r} is not a finite number")
    return float(x)


def _apply_one(tree: ParameterTree, change: Change) -> None:
    leaf = _resolve(tree, change, change.path)
    where, path, v = change.where, change.path, change.value
    current = leaf.at(change.start)
    if isinstance(v, dict):
        if len(v) != 1 or next(iter(v)) not in ("multiply", "add", "same_as"):
            raise ValueError(f"{where}: {path}: a computed value is one of {{multiply: x}}, {{add: x}}, {{same_as: path}}")
        op, arg = next(iter(v.items()))
        if op == "same_as":
            other = _resolve(tree, Change(str(arg), change.start, None, None, where), str(arg))
            value = other.at(change.start)
        else:
            if current is None or isinstance(current, str):
                raise ValueError(f"{where}: {path}: {op} needs a numeric value in force on {change.start}, found {current!r}")
            arg = _number(arg, where, path)
            value = current * arg if op == "multiply" else current + arg
    else:
        value = v
    _check_value(leaf, value, where, path)
    leaf.set(change.start, change.stop, value)


def _check_value(leaf: DatedValues, value, where: str, path: str) -> None:
    unit = leaf.unit
    if unit in ("region", "province", "rule"):
        allowed = {"region": REGIONS, "province": PROVINCES, "rule": DISTRIBUTION_RULES}[unit]
        if not isinstance(value, str):
            raise ValueError(f"{where}: {path}: give names separated by ';' from {', '.join(allowed)}")
        for name in [s.strip() for s in value.split(";") if s.strip()]:
            if name not in allowed:
                near = difflib.get_close_matches(name, allowed, n=1, cutoff=0.5)
                what = {"region": "region", "province": "province", "rule": "distribution rule"}[unit]
                raise ValueError(f"{where}: {path}: {what} {name!r} does not exist"
                                 + (f"; did you mean {near[0]!r}?" if near else f" (one of {', '.join(allowed)})"))
        return
    if value is None:
        return
    x = _number(value, where, path)
    if unit == "/1" and not 0.0 <= x <= 1.0:
        raise ValueError(f"{where}: {path}: {x:g} is a rate and must lie in [0, 1] (write 45 % as 0.45)")
    if unit and x < 0:
        raise ValueError(f"{where}: {path}: {x:g} is negative; {unit} amounts must be >= 0")


def _check_scales(tree: ParameterTree, changes) -> list[str]:
    problems = []
    for change in changes:
        head = change.path.partition(".brackets.")[0]
        scale = tree.leaves.get(head)
        if not isinstance(scale, Scale):
            continue
        for t, r in scale.brackets:
            if (t.at(change.start) is None) != (r.at(change.start) is None):
                problems.append(f"{change.where}: {head}: a bracket on {change.start} has a threshold or a rate "
                                f"but not both; give both")
                return problems
        b: Brackets | None = scale.at(change.start)
        thresholds = [t.at(change.start) for t, _ in scale.brackets if t.at(change.start) is not None]
        if b is not None and (list(thresholds) != sorted(thresholds) or np.any(np.diff(b.thresholds) <= 0)):
            problems.append(f"{change.where}: {head}: brackets out of order on {change.start}: thresholds "
                            f"{[float(x) for x in thresholds]} must increase strictly with the bracket index")
        elif b is not None and b.thresholds[0] != 0:
            problems.append(f"{change.where}: {head}: the first threshold must be 0, got {b.thresholds[0]:g}")
    return sorted(set(problems))


def load_reforms(paths) -> Reform | None:
    """Reform files (or bundled example names) combined in order; all files are parsed first."""
    from importlib import resources

    reforms, problems = [], []
    for p in paths or []:
        path = Path(p)
        if not path.exists():
            bundled = Path(str(resources.files("prosperity") / "simulate" / "reforms")) / (str(p) if str(p).endswith(".yaml") else f"{p}.yaml")
            if bundled.exists():
                path = bundled
        try:
            reforms.append(Reform.from_yaml(path))
        except ReformError as exc:
            problems += exc.problems
    if problems:
        raise ReformError(problems)
    return Reform.combine(*reforms) if reforms else None


def example_reforms() -> list[str]:
    from importlib import resources

    return sorted(p.stem for p in Path(str(resources.files("prosperity") / "simulate" / "reforms")).glob("*.yaml"))
