"""Project files for ``prosperity monitor PROJECT.yaml``: the user's own data sets (paths and column
mapping), index frameworks, targets and scenarios, validated before any work starts.

.. code-block:: yaml

    title: Common prosperity in our province, {year}   # optional; {year} is filled in
    year: 2023                  # optional (CLI --year wins); default: the latest year of datasets.national
    lang: en                    # en | zh (CLI --lang wins)
    datasets:                   # every data set is optional: a missing one falls back to the bundled data
      national:                 # one row per year
        path: data/national.csv # relative to this file
        encoding: utf-8         # CSV/TSV only (default: detect UTF-8, then GB18030)
        sep: ","                # CSV/TSV only (default: detect)
        source: NBS yearbook    # provenance text shown in the report
        columns:                # role: your column (a role not listed is looked up under its own name)
          year: 年份
          income: 全国居民人均可支配收入
    framework: [affluence_sharing, frameworks/my_index.yaml]   # bundled names or paths
    targets:
      - {indicator: urban_rural_income_ratio, target: 2.0, year: 2035, direction: lower}
    scenarios:
      - reforms/my_reform.yaml
      - {path: east_west_transfer, budget_neutral: regional_transfers.east_west.levy_rate}

``datasets.population`` (the scenarios' population, person-level microdata) takes two more keys:
``reconcile`` (auto | survey | none, as ``prosperity simulate --reconcile``: auto is none for a file)
and ``wages`` (gross | net, as ``--wages``).

The data sets and the roles of their columns (``*`` required) are :data:`ROLES`; which report
section each one feeds is :data:`USED_BY`. Every problem found (malformed YAML, unknown keys, wrong
types, missing files, unmapped or missing columns, bad values, unknown frameworks, reforms and
indicators) is collected and raised together as one :class:`ProjectError`, each line naming the
project file, the line and column, the key path and a fix.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Union

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..io.errors import ProsperityInputError, data_location, describe_rows, offending_rows
from .store import file_sha256

# ----------------------------------------------------------------------------------- roles
# role -> (kind, required); kinds: year, positive, share (0..1), quintile (1..5), area, province, text;
# for the population: id (any label, no gaps), age (0..130), urban_rural, nonnegative, number (finite)
ROLES: dict[str, dict[str, tuple[str, bool]]] = {
    "national": {  # national series, one row per year
        "year": ("year", True), "income": ("positive", True), "urban_income": ("positive", False),
        "rural_income": ("positive", False), "urban_consumption": ("positive", False),
        "rural_consumption": ("positive", False), "gini_official": ("share", False)},
    "quintiles": {  # household-quintile table, one row per (area,) year and quintile
        "year": ("year", True), "quintile": ("quintile", True), "income": ("positive", True), "area": ("area", False)},
    "provinces": {  # one row per province and year
        "province": ("province", True), "year": ("year", True), "income": ("positive", True),
        "population": ("positive", True), "province_zh": ("text", False), "consumption": ("positive", False)},
    "microdata": {  # one row per person (or household with per-capita income)
        "income": ("positive", True), "weight": ("positive", False), "region": ("text", False),
        "province": ("text", False), "area": ("text", False)},
    "index_panel": {  # one row per region and year; the frameworks' indicator columns are read by name
        "region": ("text", True), "year": ("year", True)},
    "population": {  # one row per person; incomes per capita of the household (yuan a year), equal for its members
        "household_id": ("id", True), "age": ("age", True), "province": ("province", True),
        "area": ("urban_rural", True), "weight": ("positive", True), "wage_income": ("nonnegative", True),
        "business_income": ("number", True), "property_income": ("number", True),
        "transfer_income": ("number", True), "disp_income": ("number", False)},
}
# the population's roles -> the columns of prosperity.simulate.Population (and of prosperity.synth)
POPULATION_COLUMNS = {"household_id": "household_id", "age": "age", "province": "province_en", "area": "area",
                      "weight": "weight", "wage_income": "wage_income_pc_yuan",
                      "business_income": "net_business_income_pc_yuan", "property_income": "net_property_income_pc_yuan",
                      "transfer_income": "net_transfer_income_pc_yuan", "disp_income": "disp_income_pc_yuan"}
USED_BY = {
    "national": "headline, three gaps (urban-rural), distribution (mean, official Gini)",
    "quintiles": "three gaps (rich-poor; urban and rural tables for the Theil mixture), distribution (Lorenz curves)",
    "provinces": "three gaps (regional), regions (maps, sigma and beta convergence, transition matrix)",
    "microdata": "nested decomposition",
    "index_panel": "composite index",
    "population": "policy scenarios",
}
AREAS = ("national", "urban", "rural")
FORMAT_OF = {"csv": "csv", "tsv": "tsv", "parquet": "parquet", "xlsx": "excel"}
HIGHER_IS_BETTER = {"disp_income_pc_yuan", "middle_share", "poorest_to_mean"}


# ----------------------------------------------------------------------------------- schema
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatasetSpec(_Strict):
    path: str
    format: Literal["csv", "tsv", "parquet", "xlsx"] | None = None
    encoding: str | None = None
    sep: str | None = None
    sheet: Union[str, int, None] = None
    source: str | None = None
    columns: dict[str, str] = Field(default_factory=dict)


class PopulationSpec(DatasetSpec):
    reconcile: Literal["auto", "survey", "none"] = "auto"  # as prosperity simulate --reconcile (auto: none for a file)
    wages: Literal["gross", "net"] = "gross"  # as prosperity simulate --wages


class DatasetsSpec(_Strict):
    national: DatasetSpec | None = None
    quintiles: DatasetSpec | None = None
    provinces: DatasetSpec | None = None
    microdata: DatasetSpec | None = None
    index_panel: DatasetSpec | None = None
    population: PopulationSpec | None = None


class TargetSpec(_Strict):
    indicator: str
    target: float
    year: int | None = None
    direction: Literal["lower", "higher"] | None = None


class ScenarioSpec(_Strict):
    path: str
    name: str | None = None
    budget_neutral: str | None = None


class ProjectSpec(_Strict):
    title: str | None = None
    year: int | None = None
    lang: Literal["en", "zh"] | None = None
    datasets: DatasetsSpec = Field(default_factory=DatasetsSpec)
    framework: Union[str, list[str], None] = None
    targets: list[TargetSpec] | None = None
    scenarios: list[Union[str, ScenarioSpec]] | None = None


_MODELS = {"": ProjectSpec, "datasets": DatasetsSpec, "targets": TargetSpec, "scenarios": ScenarioSpec,
           **{k: DatasetSpec for k in ROLES}, "population": PopulationSpec}


# ----------------------------------------------------------------------------------- errors
@dataclass(frozen=True)
class ProjectIssue:
    key: str  # key path, e.g. datasets.provinces.path
    line: int | None
    column: int | None
    message: str

    def where(self, source: str) -> str:
        loc = source + (f":{self.line}" if self.line else "") + (f":{self.column}" if self.line and self.column else "")
        return f"{loc}: {self.key or '<top>'}"

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.key or '<top>'}: {self.message}" if self.line else \
            f"{self.key or '<top>'}: {self.message}"


class ProjectError(ProsperityInputError):
    """Every problem of a project file at once (nothing ran); ``.issues`` lists them, each with the key
    path, the line and column in the file, and the fix."""

    def __init__(self, issues: list[ProjectIssue], source: str):
        self.issues = list(issues)
        self.source = source
        super().__init__(f"project file {source} has {len(issues)} problem{'s' * (len(issues) != 1)} (nothing ran)",
                         column=None)

    @property
    def message(self) -> str:
        return "\n".join([self.problem + ":"] + [f"  {i.where(self.source)}: {i.message}" for i in self.issues])

    def __str__(self) -> str:
        return self.message


# ----------------------------------------------------------------------------------- YAML positions
def _positions(text: str) -> tuple[dict, dict, list]:
    """(value positions, key positions, duplicate keys): key path tuple -> (line, column), 1-based."""
    values, keys, dups = {}, {}, []

    def walk(node, path):
        values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            seen = set()
            for k, v in node.value:
                key = path + (k.value,)
                if k.value in seen:
                    dups.append((key, (k.start_mark.line + 1, k.start_mark.column + 1)))
                seen.add(k.value)
                keys[key] = (k.start_mark.line + 1, k.start_mark.column + 1)
                walk(v, key)
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                walk(v, path + (i,))

    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is not None:
        walk(root, ())
    return values, keys, dups


def _fmt_key(path) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else ("." if out else "") + str(p)
    return out


class _Issues:
    def __init__(self, values: dict, keys: dict):
        self.values, self.keys, self.items = values, keys, []

    def add(self, path: tuple, message: str, *, at_key: bool = False) -> None:
        """An issue at ``path``, located at its key (``at_key``) or value, else at its nearest ancestor."""
        p = tuple(path)
        pos = self.keys.get(p) if at_key else None
        while pos is None:
            pos = self.values.get(p) or self.keys.get(p)
            if pos is None:
                if not p:
                    break
                p = p[:-1]
        line, col = pos if pos else (None, None)
        self.items.append(ProjectIssue(_fmt_key(path), line, col, message))


def _did_you_mean(word: str, choices) -> str:
    """'; did you mean 'x'?' for the closest choice (difflib), else a choice that starts with the word."""
    choices = [str(c) for c in choices]
    close = difflib.get_close_matches(str(word), choices, n=1, cutoff=0.6)
    close = close or [c for c in choices if c.lower().startswith(str(word).lower())][:1]
    return f"; did you mean {close[0]!r}?" if close else ""


def _pydantic(err: ValidationError, data, issues: _Issues) -> None:
    for e in err.errors():
        path = data_location(data, e["loc"], e["type"])  # drops union branch names
        if e["type"] == "extra_forbidden":
            parent = [p for p in path[:-1] if isinstance(p, str)]
            model = _MODELS.get(parent[-1] if parent else "")
            allowed = sorted(model.model_fields) if model else []
            hint = _did_you_mean(path[-1], allowed) or (f"; allowed: {', '.join(allowed)}" if allowed else "")
            issues.add(path, f"unknown key {path[-1]!r}{hint}", at_key=True)
        elif e["type"] == "missing":
            issues.add(path[:-1], f"required key {path[-1]!r} is missing")
        else:
            given = e.get("input")
            shown = f" (got {given!r})" if not isinstance(given, (dict, list)) else \
                f" (got a {'mapping' if isinstance(given, dict) else 'list'})"
            msg = e["msg"]
            if msg.startswith("Value error, "):
                msg = msg[len("Value error, "):]
            issues.add(path, f"{msg}{shown}")
    seen, out = set(), []
    for i in issues.items:  # pydantic reports each union branch: one message per key path and text
        if (i.key, i.message) not in seen:
            seen.add((i.key, i.message))
            out.append(i)
    issues.items = out


# ----------------------------------------------------------------------------------- loaded project
@dataclass
class ProjectInput:
    """One file the project reads: where it is named in the project, its path and hash."""

    key: str  # datasets.provinces, framework[0], scenarios[1], project
    file: str  # as written in the project (relative to it), the store's name of the input
    path: Path
    bytes: int
    sha256: str
    source: str | None = None


@dataclass
class Project:
    """A validated project: the spec, its data sets read and mapped onto the roles (columns renamed to
    the role names), frameworks, targets and scenarios resolved, and every input file's hash."""

    path: Path
    spec: ProjectSpec
    data: dict[str, pd.DataFrame]
    frameworks: list[tuple[str, object]]  # (table key, Framework)
    targets: list[dict] | None
    scenarios: list[tuple[str, str, str | None]] | None  # (name, path, budget_neutral parameter)
    inputs: list[ProjectInput] = field(default_factory=list)

    @property
    def base(self) -> Path:
        return self.path.parent

    def provenance(self) -> pd.DataFrame:
        """file, bytes, sha256 of every file the project names, with the key that names it."""
        return pd.DataFrame([{"file": i.file, "bytes": i.bytes, "sha256": i.sha256, "origin": "project",
                              "key": i.key, "source": i.source or ""} for i in self.inputs])


def _input(key: str, written: str, path: Path, source=None) -> ProjectInput:
    return ProjectInput(key, written, path, path.stat().st_size, file_sha256(path), source)


def load_project(path: str | Path) -> Project:
    """Read, validate and load a project file (see the module docstring). Raises :class:`ProjectError`
    listing every problem found; nothing is computed before the whole project is valid."""
    path = Path(path)
    source = str(path)
    if not path.is_file():
        near = difflib.get_close_matches(path.name, [p.name for p in path.parent.glob("*.y*ml")], n=1) \
            if path.parent.is_dir() else []
        raise ProjectError([ProjectIssue("", None, None, f"the project file does not exist (resolved: {path.resolve()})"
                                         + (f"; did you mean {near[0]!r}?" if near else ""))], source)
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
        values, keys, dups = _positions(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        ctx = getattr(exc, "context", None)
        raise ProjectError([ProjectIssue("", mark.line + 1 if mark else None, mark.column + 1 if mark else None,
                                         f"malformed YAML: {problem}" + (f" ({ctx})" if ctx else "")
                                         + "; fix: check the indentation and the quotes around values with ':' or '#'")],
                           source) from None
    issues = _Issues(values, keys)
    for key, (line, col) in dups:
        issues.items.append(ProjectIssue(_fmt_key(key), line, col, f"duplicate key {key[-1]!r} (YAML keeps only the last)"))
    if data is None:
        data = {}
    if not isinstance(data, dict):
        issues.add((), f"a project file must be a mapping of keys (title, year, lang, datasets, framework, targets, "
                       f"scenarios), got a {type(data).__name__}")
        raise ProjectError(issues.items, source)
    try:
        spec = ProjectSpec.model_validate(data)
    except ValidationError as err:
        _pydantic(err, data, issues)
        spec = _valid_parts(data)  # go on checking the parts that are well formed: every problem at once
    base = path.parent
    inputs = [_input("project", path.name, path)]
    frames: dict[str, pd.DataFrame] = {}
    for name in ROLES:
        ds = getattr(spec.datasets, name)
        if ds is None:
            continue
        frame = _load_dataset(name, ds, base, issues)
        if frame is not None:
            frames[name] = frame
            inputs.append(_input(f"datasets.{name}", ds.path, base / ds.path, ds.source))
    frameworks = _frameworks(spec, base, frames.get("index_panel"), issues, inputs)
    targets = _targets(spec, issues)
    scenarios = _scenarios(spec, base, issues, inputs)
    if spec.year is not None and "national" in frames:
        years = sorted(frames["national"]["year"].unique())
        if spec.year not in years:
            issues.add(("year",), f"{spec.year} is not a year of datasets.national ({years[0]}-{years[-1]}); "
                                  "fix: choose one of those or drop year: (default: the latest)")
    if issues.items:
        raise ProjectError(sorted(issues.items, key=lambda i: (i.line or 0, i.column or 0)), source)
    return Project(path, spec, frames, frameworks, targets, scenarios, inputs)


def _valid_parts(data: dict) -> ProjectSpec:
    """The well-formed parts of a project that failed validation (each data set, target and scenario
    on its own; a malformed item becomes None), so their files and names can be checked too."""
    fields = {}
    for name in ProjectSpec.model_fields:
        if name not in data:
            continue
        value = data[name]
        if name == "datasets" and isinstance(value, dict):
            sets = {}
            for k, v in value.items():
                if k in ROLES:
                    try:
                        sets[k] = _MODELS[k].model_validate(v)
                    except ValidationError:
                        pass
            fields[name] = DatasetsSpec.model_construct(**sets)
        elif name in ("targets", "scenarios") and isinstance(value, list):
            items = []
            for v in value:
                try:
                    items.append(getattr(ProjectSpec.model_validate({name: [v]}), name)[0])
                except ValidationError:
                    items.append(None)
            fields[name] = items
        else:
            try:
                fields[name] = getattr(ProjectSpec.model_validate({name: value}), name)
            except ValidationError:
                pass
    return ProjectSpec.model_construct(**fields)


def _load_dataset(name: str, ds: DatasetSpec, base: Path, issues: _Issues) -> pd.DataFrame | None:
    from ..io.read import file_format, read_header, read_table

    key = ("datasets", name)
    file = base / ds.path
    n_before = len(issues.items)
    if not file.is_file():
        near = difflib.get_close_matches(file.name, [p.name for p in file.parent.iterdir() if p.is_file()], n=1,
                                     cutoff=0.75) \
            if file.parent.is_dir() else []
        issues.add(key + ("path",), f"file {ds.path!r} does not exist (resolved: {file.resolve()})"
                   + (f"; did you mean {near[0]!r}?" if near else "; fix: paths are relative to the project file"))
        return None
    try:
        fmt = file_format(file)
    except ProsperityInputError as exc:
        issues.add(key + ("path",), str(exc))
        return None
    if ds.format is not None and FORMAT_OF[ds.format] != fmt:
        issues.add(key + ("format",), f"format {ds.format!r} but {file.name!r} is read as {fmt} (by its extension); "
                                      "fix: rename the file or correct format:")
    text_file = fmt in ("csv", "tsv")
    for opt in ("encoding", "sep"):
        if getattr(ds, opt) is not None and not text_file:
            issues.add(key + (opt,), f"{opt} applies to CSV/TSV files only and {file.name!r} is {fmt}; fix: drop it")
    if ds.sheet is not None and fmt != "excel":
        issues.add(key + ("sheet",), f"sheet applies to Excel workbooks only and {file.name!r} is {fmt}; fix: drop it")
    if len(issues.items) > n_before:
        return None
    opts = {k: v for k, v in (("encoding", ds.encoding), ("sep", "\t" if ds.sep in ("tab", "\\t") else ds.sep))
            if v is not None and text_file}
    try:
        header = read_header(file, sheet=ds.sheet, **opts)
    except ProsperityInputError as exc:
        issues.add(key + ("path",), str(exc))
        return None
    roles = ROLES[name]
    mapping = {}
    listing = ", ".join(repr(c) for c in header[:15]) + (f" and {len(header) - 15} more" if len(header) > 15 else "")
    for role, col in ds.columns.items():
        if role not in roles:
            issues.add(key + ("columns", role), f"unknown role {role!r}{_did_you_mean(role, roles)} "
                       f"(roles of {name}: {', '.join(roles)})", at_key=True)
        elif col not in header:
            issues.add(key + ("columns", role), f"column {col!r} (role {role}) is not in {ds.path}"
                       f"{_did_you_mean(col, header)}; the file's columns: {listing}")
        else:
            mapping[role] = col
    for role, (_, required) in roles.items():
        if role not in ds.columns and role in header:
            mapping[role] = role  # a role not mapped is looked up under its own name
        elif role not in ds.columns and required:
            issues.add(key + ("columns",) if ds.columns else key,
                       f"required role {role!r} is not mapped and {ds.path} has no column {role!r}; "
                       f"fix: add `{role}: <your column>` under datasets.{name}.columns (the file's columns: {listing})")
    if name == "national" and ("urban_income" in mapping) != ("rural_income" in mapping):
        issues.add(key + ("columns",), "urban_income and rural_income go together (the urban-rural gap needs both)")
    if name == "microdata" and not {"region", "province", "area"} & set(mapping):
        issues.add(key + ("columns",), "map at least one of region, province, area (the levels of the decomposition)")
    if len(issues.items) > n_before:
        return None
    use = list(dict.fromkeys(mapping.values())) if name != "index_panel" else None
    try:
        raw = read_table(file, columns=use, sheet=ds.sheet, **opts)
    except ProsperityInputError as exc:
        issues.add(key + ("path",), str(exc))
        return None
    frame = pd.DataFrame({role: raw[col] for role, col in mapping.items()})
    if name == "index_panel":
        rest = raw.drop(columns=[mapping["region"], mapping["year"]])
        frame = pd.concat([frame, rest], axis=1)
    return _check_values(name, frame, mapping, key, ds.path, issues)


def _check_values(name, frame, mapping, key, written, issues: _Issues):
    n_before = len(issues.items)
    roles = ROLES[name]

    def bad(role, mask, what, values=None):
        full = None if values is None else values.reindex(frame.index).to_numpy(dtype=object)  # aligned with mask
        rows, n, ex = offending_rows(np.asarray(mask), full)
        issues.add(key + ("columns", role), f"column {mapping[role]!r} ({role}) of {written}: {what}; "
                   + describe_rows(rows, n, ex))

    for role, (kind, required) in roles.items():
        if role not in frame:
            continue
        s = frame[role]
        if kind in ("year", "positive", "share", "quintile", "age", "nonnegative", "number"):
            num = pd.to_numeric(s, errors="coerce")
            nonnum = num.isna() & s.notna()
            if nonnum.any():
                bad(role, nonnum, "values that are not numbers", s[nonnum])
            missing = s.isna()
            if required and missing.any():
                bad(role, missing, "missing values (fix: fill them in or drop those rows)")
            ok = num.notna()
            if kind == "year":
                wrong = ok & ((num % 1 != 0) | (num < 1900) | (num > 2200))
                if wrong.any():
                    bad(role, wrong, "years must be whole numbers between 1900 and 2200", num[wrong])
            elif kind == "positive":
                wrong = ok & (num <= 0)
                if wrong.any():
                    bad(role, wrong, "values must be positive", num[wrong])
            elif kind == "share":
                wrong = ok & ((num < 0) | (num > 1))
                if wrong.any():
                    bad(role, wrong, "values must lie between 0 and 1", num[wrong])
            elif kind == "age":
                wrong = ok & ((num < 0) | (num > 130))
                if wrong.any():
                    bad(role, wrong, "ages must lie between 0 and 130 (years)", num[wrong])
            elif kind == "nonnegative":
                wrong = ok & (num < 0)
                if wrong.any():
                    bad(role, wrong, "values must not be negative", num[wrong])
            elif kind == "number":
                wrong = ok & ~np.isfinite(num)
                if wrong.any():
                    bad(role, wrong, "values must be finite numbers", num[wrong])
            else:
                wrong = ok & ~num.isin([1, 2, 3, 4, 5])
                if wrong.any():
                    bad(role, wrong, "quintiles are numbered 1 to 5", num[wrong])
            whole = kind in ("year", "quintile") and num.notna().all() and (num % 1 == 0).all()
            frame[role] = num.astype("int64") if whole else num
        else:
            if required and s.isna().any():
                bad(role, s.isna(), "missing values (fix: fill them in or drop those rows)")
            if kind == "id":  # kept as read: households are ordered by it, as prosperity simulate orders them
                continue
            frame[role] = s.astype("string").str.strip().astype(object).where(s.notna(), None)
            if kind == "area":
                wrong = frame[role].notna() & ~frame[role].isin(AREAS)
                if wrong.any():
                    bad(role, wrong, f"areas must be one of {', '.join(AREAS)}", frame[role][wrong])
            elif kind == "urban_rural":
                frame[role] = frame[role].str.lower()
                wrong = frame[role].notna() & ~frame[role].isin(("urban", "rural"))
                if wrong.any():
                    bad(role, wrong, "areas of the population must be urban or rural", frame[role][wrong])
            elif kind == "province":
                from .sections import province_geojson

                names = sorted(f["id"] for f in province_geojson()["features"])
                unknown = sorted(set(frame[role].dropna()) - set(names))
                if unknown:
                    hints = []
                    for u in unknown[:5]:
                        close = difflib.get_close_matches(u, names, n=1, cutoff=0.6)
                        hints.append(f"{u!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
                    bad(role, frame[role].isin(unknown), f"{len(unknown)} province name(s) not in the bundled "
                        f"boundaries: {', '.join(hints)}; fix: use the English names of the map "
                        f"({', '.join(names[:6])}, ...)", frame[role][frame[role].isin(unknown)])
                elif name == "population":
                    from ..simulate.reform import PROVINCES

                    outside = frame[role].notna() & ~frame[role].isin(PROVINCES)
                    if outside.any():
                        bad(role, outside, "the microsimulation has parameters for the 31 mainland provinces only "
                            "(not Hong Kong, Macao, Taiwan); fix: drop those persons", frame[role][outside])
    if len(issues.items) > n_before:
        return None
    ident = {"national": ["year"], "quintiles": ["area", "year", "quintile"], "provinces": ["province", "year"],
             "index_panel": ["region", "year"]}.get(name)
    if name == "quintiles" and "area" not in frame:
        frame["area"] = "national"
    if ident:
        dup = frame.duplicated(ident, keep=False)
        if dup.any():
            first = frame.loc[dup, ident].iloc[0].tolist()
            rows, n, _ = offending_rows(dup.to_numpy())
            issues.add(key + ("path",), f"{written}: {n} rows repeat the same {', '.join(ident)} (first: {first}); "
                       + describe_rows(rows, n) + "; fix: keep one row per " + ", ".join(ident))
    if name == "quintiles" and not frame.duplicated(["area", "year", "quintile"]).any():
        for (area, year), g in frame.groupby(["area", "year"]):
            q = g.sort_values("quintile")
            if len(q) != 5:
                issues.add(key + ("path",), f"{written}: {area} {year} has quintiles {q['quintile'].tolist()}, "
                           "need all five (1-5)")
            elif (np.diff(q["income"].to_numpy(float)) < 0).any():
                issues.add(key + ("columns", "income"), f"{written}: {area} {year}: quintile means must rise from "
                           f"quintile 1 to 5, got {q['income'].tolist()}")
    if name == "population" and len(issues.items) == n_before:
        _check_population(frame, mapping, key, written, issues)
    return None if len(issues.items) > n_before else frame.reset_index(drop=True)


def _check_population(frame, mapping, key, written, issues: _Issues) -> None:
    """The population's household-level checks: the household values (weight, province, area and the
    per-capita incomes) are equal for all members of a household, as :class:`prosperity.simulate.Population`
    needs, and disposable income (when given) is the sum of the four components, to 1 yuan."""
    per_household = ["weight", "province", "area", "wage_income", "business_income", "property_income",
                     "transfer_income"] + (["disp_income"] if "disp_income" in frame else [])
    groups = frame.groupby("household_id", sort=False)
    for role in per_household:
        differs = (groups[role].transform("nunique", dropna=False) > 1).to_numpy()
        if differs.any():
            rows, n, _ = offending_rows(differs)
            issues.add(key + ("columns", role), f"column {mapping[role]!r} ({role}) of {written} differs between "
                       f"members of the same household ({mapping['household_id']!r}); a household's value must be "
                       "equal for all its members (incomes are per capita of the household); "
                       + describe_rows(rows, n))
    if "disp_income" in frame:
        gap = frame["disp_income"] - (frame["wage_income"] + frame["business_income"] + frame["property_income"]
                                      + frame["transfer_income"])
        off = gap.abs() > 1.0
        if off.any():
            rows, n, ex = offending_rows(off.to_numpy(), gap.round(2).to_numpy(dtype=object))
            issues.add(key + ("columns", "disp_income"), f"column {mapping['disp_income']!r} (disp_income) of "
                       f"{written} is not the sum of wage, business, property and transfer income (off by more "
                       "than 1 yuan); fix: map the right columns or leave disp_income out (it is then their sum); "
                       + describe_rows(rows, n, ex))


def _frameworks(spec, base, panel, issues: _Issues, inputs) -> list[tuple[str, object]]:
    from ..index.framework import FrameworkError, bundled, load

    if spec.framework is None:
        return []
    items = [spec.framework] if isinstance(spec.framework, str) else list(spec.framework)
    out = []
    columns = None
    if panel is not None:
        columns = list(panel.columns)
    for k, item in enumerate(items):
        key = ("framework",) if isinstance(spec.framework, str) else ("framework", k)
        p = base / item
        if not p.is_file() and item not in bundled():
            issues.add(key, f"{item!r} is neither a bundled framework ({', '.join(bundled())}) nor a file "
                       f"(resolved: {p.resolve()}){_did_you_mean(item, bundled())}")
            continue
        try:
            fw = load(p if p.is_file() else item)
            if columns is None:
                from ..index.china import china_provincial_panel

                columns = list(china_provincial_panel().columns)
            fw.check_columns(columns)
        except FrameworkError as exc:
            for i in exc.issues:
                issues.add(key, f"in {item}: {i}")
            continue
        if p.is_file():
            inputs.append(_input(_fmt_key(key), item, p))
        out.append((Path(item).stem, fw))
    return out


def _targets(spec, issues: _Issues) -> list[dict] | None:
    from ..decompose.gaps import GAP_OF

    if spec.targets is None:
        return None
    known = ["disp_income_pc_yuan", *GAP_OF]
    out, seen = [], {}
    for k, t in enumerate(spec.targets):
        if t is None:  # malformed, reported already
            continue
        key = ("targets", k)
        if t.indicator not in known:
            issues.add(key + ("indicator",), f"unknown indicator {t.indicator!r}{_did_you_mean(t.indicator, known)} "
                       f"(known: {', '.join(known)})")
            continue
        if t.indicator in seen:
            issues.add(key + ("indicator",), f"{t.indicator!r} already has a target (targets[{seen[t.indicator]}])")
            continue
        seen[t.indicator] = k
        direction = t.direction or ("higher" if t.indicator in HIGHER_IS_BETTER else "lower")
        out.append({"indicator": t.indicator, "target": float(t.target), "year": t.year, "direction": direction})
    return out


def _scenarios(spec, base, issues: _Issues, inputs) -> list[tuple[str, str, str | None]] | None:
    from ..simulate import example_reforms, load_reforms
    from ..simulate.parameter_tree import bundled_parameters
    from ..simulate.reform import ReformError

    if spec.scenarios is None:
        return None
    out = []
    names: dict = {}
    for k, item in enumerate(spec.scenarios):
        if item is None:  # malformed, reported already
            continue
        s = ScenarioSpec(path=item) if isinstance(item, str) else item
        key = ("scenarios", k) if isinstance(item, str) else ("scenarios", k, "path")
        p = base / s.path
        if not p.is_file() and s.path not in example_reforms():
            issues.add(key, f"{s.path!r} is neither a shipped reform ({', '.join(example_reforms())}) nor a file "
                       f"(resolved: {p.resolve()}){_did_you_mean(s.path, example_reforms())}")
            continue
        try:  # parsed, then applied to the bundled parameters: unknown parameter paths are found now
            tree = load_reforms([str(p) if p.is_file() else s.path]).apply(bundled_parameters())
        except ReformError as exc:
            for problem in exc.problems:
                issues.add(key, problem)
            continue
        if s.budget_neutral is not None and s.budget_neutral not in tree.leaves:
            issues.add(("scenarios", k, "budget_neutral"), f"{s.budget_neutral!r} is not a parameter of the "
                       f"microsimulation{_did_you_mean(s.budget_neutral, tree.paths())}; fix: name a parameter "
                       "path such as regional_transfers.east_west.levy_rate")
            continue
        if p.is_file():
            inputs.append(_input(_fmt_key(("scenarios", k)), s.path, p))
        name = s.name or Path(s.path).stem
        if name in names:
            issues.add(key, f"a second scenario named {name!r} (first: scenarios[{names[name]}]); fix: give one a name:")
            continue
        names[name] = k
        out.append((name, str(p.resolve()) if p.is_file() else s.path, s.budget_neutral))
    return out
