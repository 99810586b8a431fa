"""``build_monitor``: the common-prosperity monitoring report on the bundled real data.

Writes ``OUT/report.html`` (one self-contained file: plotly's script embedded once, no network, no
external fonts or map tiles; every figure interactive) and ``OUT/tables/`` (CSV and Parquet of every
table behind a figure), and returns a :class:`MonitorReport` with the sections and the summary.
"""

from __future__ import annotations

import datetime as dt
import html
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pandas as pd

from . import sections as S
from .store import file_sha256
from .text import T

DATA_FILES = (
    "china_nbs_national_household_survey_2015_2024_long.csv", "china_income_quintiles_2015_2024_nbs.csv",
    "china_prov_income_consumption_fiscal_2016_2024_nbs.csv", "china_prov_gdp_1993_2023_nbs.csv",
    "china_prov_gpi_panel_1985_2018.csv", "china_prov_population_2024_nbs.csv",
    "china_prov_population_census2020.csv", "china_census2020_household_size_age.csv",
    "china_provinces_naturalearth.geojson", "china_prov_co2_ceads_1997_2019.csv",
    "china_cpi_national_2016_2025_nbs.csv",
)


@dataclass
class MonitorReport:
    year: int
    lang: str
    sections: list
    out: Path
    html_path: Path
    tables: dict  # name -> path (csv)
    seconds: float
    run_id: int | None = None
    store: Path | None = None

    def summary(self) -> pd.DataFrame:
        """The headline table (what the terminal prints)."""
        head = next(s for s in self.sections if s.key == "headline")
        return head.tables["headline"]


def provenance() -> pd.DataFrame:
    """Every bundled data file the report reads: its size and SHA-256."""
    root = Path(str(resources.files("prosperity") / "data"))
    rows = []
    for name in DATA_FILES:
        p = root / name
        rows.append({"file": name, "bytes": p.stat().st_size, "sha256": file_sha256(p)})
    return pd.DataFrame(rows)


def _default_year() -> int:
    from ..datasets.china import nbs_household_survey

    s = nbs_household_survey(wide=True)
    nat = s[(s["area"] == "national") & s["disp_income_pc_yuan"].notna()]
    return int(nat["year"].max())


@dataclass
class MonitorData:
    """What the sections read, each frame from the project's data set or, when the project does not
    name one, from the bundled data (``origin``: data set -> 'project' or 'bundled')."""

    national: pd.DataFrame  # year, income, [urban_income, rural_income, urban_consumption, rural_consumption, gini_official]
    quintiles: pd.DataFrame  # area, year, quintile, income
    provinces: pd.DataFrame  # the regions section's frame: province_en, province_zh, year, disp_income_pc_yuan, ...
    province_gaps: pd.DataFrame  # year, mean, population (regional gap)
    microdata: pd.DataFrame | None
    index_panel: pd.DataFrame | None
    origin: dict
    population: pd.DataFrame | None = None  # the scenarios' population (columns of prosperity.simulate.Population)

    def survey_wide(self) -> pd.DataFrame:
        """National rows in the layout of ``nbs_household_survey(wide=True)``: area, year,
        disp_income_pc_yuan and disp_income_pc_q1_yuan .. q5 (headline and distribution)."""
        nat = self.national[["year", "income"]].rename(columns={"income": "disp_income_pc_yuan"})
        q = self.quintiles[self.quintiles["area"] == "national"].pivot(index="year", columns="quintile", values="income")
        q.columns = [f"disp_income_pc_q{int(c)}_yuan" for c in q.columns]
        out = nat.merge(q.reset_index(), on="year", how="left").assign(area="national")
        for k in range(1, 6):
            if f"disp_income_pc_q{k}_yuan" not in out:
                out[f"disp_income_pc_q{k}_yuan"] = float("nan")
        return out[["area", "year", "disp_income_pc_yuan", *[f"disp_income_pc_q{k}_yuan" for k in range(1, 6)]]]

    def official_gini(self) -> pd.DataFrame:
        nat = self.national
        gini = nat["gini_official"] if "gini_official" in nat else float("nan")
        return pd.DataFrame({"year": nat["year"], "gini": gini}).dropna().reset_index(drop=True)

    def gaps(self, targets: list[dict] | None = None):
        """The three gaps (:func:`prosperity.decompose.three_gaps`) on these frames; ``targets`` from the
        project (indicator, target, direction) replace the illustrative default."""
        from ..decompose.gaps import GAP_OF, three_gaps

        nat = self.national
        ur = None
        notes = []
        if {"urban_income", "rural_income"} <= set(nat.columns):
            cols = {"year": "year", "income": "national_income", "urban_income": "urban_income",
                    "rural_income": "rural_income", "urban_consumption": "urban_consumption",
                    "rural_consumption": "rural_consumption"}
            ur = nat[[c for c in cols if c in nat]].rename(columns=cols).dropna(subset=["urban_income", "rural_income"])
            for area in ("urban", "rural"):
                aq = self.quintiles[self.quintiles["area"] == area].pivot(index="year", columns="quintile", values="income")
                if aq.empty:
                    continue
                if not set(ur["year"]) <= set(aq.index):
                    notes.append(f"{area} quintiles do not cover every year of the national series: the Theil "
                                 "mixture of the urban-rural gap is not computed")
                    ur = ur.drop(columns=[c for c in ur if c.startswith(("urban_q", "rural_q"))])
                    break
                aq.columns = [f"{area}_q{int(c)}" for c in aq.columns]
                ur = ur.merge(aq.reset_index(), on="year", how="left")
            if not {"urban_q1", "rural_q1"} <= set(ur.columns):
                ur = ur.drop(columns=[c for c in ur if c.startswith(("urban_q", "rural_q"))])
        q = self.quintiles[self.quintiles["area"] == "national"].pivot(index="year", columns="quintile", values="income")
        q.columns = [f"q{int(c)}" for c in q.columns]
        quint = q.reset_index()
        if "gini_official" in nat:
            quint = quint.merge(nat[["year", "gini_official"]], on="year", how="left")
        tg = None
        if targets is not None:
            tg = {t["indicator"]: ("<" if t["direction"] == "lower" else ">", t["target"]) for t in targets
                  if t["indicator"] in GAP_OF}
        return three_gaps(self.province_gaps, ur, quint, targets=tg), notes


def monitor_data(project=None) -> MonitorData:
    """The frames of every section from ``project`` (a loaded :class:`~prosperity.report.project.Project`)
    where it names a data set, else from the bundled data."""
    from ..datasets.china import nbs_income_quintiles, provincial_income_consumption_2016_2024
    from ..decompose.gaps import china_national_tables, china_province_panel

    user = project.data if project is not None else {}
    origin = {k: ("project" if k in user else "bundled") for k in ("national", "quintiles", "provinces", "microdata",
                                                                      "index_panel", "population")}
    if "national" in user:
        national = user["national"].sort_values("year").reset_index(drop=True)
    else:
        ur, quint = china_national_tables()
        national = ur[["year", "national_income", "urban_income", "rural_income", "urban_consumption",
                       "rural_consumption"]].rename(columns={"national_income": "income"}).merge(
            quint[["year", "gini_official"]], on="year", how="left")
    if "quintiles" in user:
        quintiles = user["quintiles"][["area", "year", "quintile", "income"]]
    else:
        quintiles = nbs_income_quintiles()[["area", "year", "quintile", "disp_income_pc_yuan"]].rename(
            columns={"disp_income_pc_yuan": "income"})
    if "provinces" in user:
        p = user["provinces"]
        provinces = pd.DataFrame({"province_en": p["province"], "province_zh": p.get("province_zh", p["province"]),
                                  "year": p["year"], "disp_income_pc_yuan": p["income"], "population": p["population"]})
        if "consumption" in p:
            provinces["consumption_exp_pc_yuan"] = p["consumption"]
        provinces = provinces.sort_values(["province_en", "year"]).reset_index(drop=True)
        province_gaps = provinces.rename(columns={"disp_income_pc_yuan": "mean"})[["province_en", "year", "mean",
                                                                                  "population"]]
    else:
        provinces = provincial_income_consumption_2016_2024()
        province_gaps = china_province_panel()
    index_panel = None
    if "index_panel" in user:
        index_panel = user["index_panel"].rename(columns={"region": "province"})
    population = None
    if "population" in user:
        from .project import POPULATION_COLUMNS

        population = user["population"].rename(columns=POPULATION_COLUMNS)
        if "disp_income_pc_yuan" not in population:  # the sum of the components (reconcile_to_survey ranks on it)
            population["disp_income_pc_yuan"] = population[list(POPULATION_COLUMNS.values())[5:9]].sum(axis=1)
    return MonitorData(national, quintiles, provinces, province_gaps, user.get("microdata"), index_panel, origin,
                       population)


# the bundled data each data set falls back to
BUNDLED_SOURCE = {
    "national": "NBS national household survey 2015-2024 (china_nbs_national_household_survey_2015_2024_long.csv)",
    "quintiles": "NBS income quintiles 2015-2024 (china_income_quintiles_2015_2024_nbs.csv)",
    "provinces": "NBS provincial income 2016-2024 with populations (china_prov_income_consumption_fiscal_2016_2024_nbs.csv, "
                 "china_prov_gpi_panel_1985_2018.csv, china_prov_population_census2020.csv, china_prov_population_2024_nbs.csv)",
    "microdata": "the synthetic population of the bundled census and survey tables (prosperity.synth)",
    "index_panel": "the bundled provincial panel (prosperity.index.china.china_provincial_panel)",
    "population": "the synthetic population of the bundled census and survey tables (prosperity.synth, seed 1), "
                  "reconciled with the NBS household survey as prosperity simulate does (--reconcile auto)",
}


def data_sources(project, data: MonitorData) -> pd.DataFrame:
    """Per data set: the sections it feeds, whether it came from the project or the bundled data, and
    the file. Fixed bundled inputs (CPI, boundaries) are listed too; ``population`` (the scenarios'
    population) says whether and how it was reconciled with the survey."""
    from .project import USED_BY

    rows = []
    for name, used in USED_BY.items():
        if data.origin[name] == "project":
            ds = getattr(project.spec.datasets, name)
            file = ds.path
            if name == "population":
                how = "reconciled with the NBS household survey" if ds.reconcile == "survey" else "not reconciled"
                file += f" (reconcile: {ds.reconcile}, {how}; wages: {ds.wages})"
            rows.append({"data_set": name, "used_by": used, "origin": "project", "file": file,
                         "source": ds.source or ""})
        else:
            rows.append({"data_set": name, "used_by": used, "origin": "bundled", "file": BUNDLED_SOURCE[name],
                         "source": "prosperity/data/SOURCES.md"})
    fws = project.frameworks if project is not None and project.spec.framework is not None else None
    rows.append({"data_set": "frameworks", "used_by": "composite index", "origin": "project" if fws else "bundled",
                 "file": ", ".join(k for k, _ in fws) if fws else ", ".join(S.FRAMEWORKS), "source": ""})
    tg = project is not None and project.targets is not None
    rows.append({"data_set": "targets", "used_by": "headline, three gaps", "origin": "project" if tg else "bundled",
                 "file": "" if tg else "illustrative (urban/rural ratio < 1.9, Gini < 0.4)", "source": ""})
    sc = project.scenarios if project is not None and project.scenarios is not None else None
    rows.append({"data_set": "scenarios", "used_by": "policy scenarios", "origin": "project" if sc else "bundled",
                 "file": ", ".join(n for n, _, _ in sc) if sc else "the shipped example reforms", "source": ""})
    for name, used, file in (
            ("cpi", "distribution (middle-income band)", "china_cpi_national_2016_2025_nbs.csv"),
            ("boundaries", "province maps", "china_provinces_naturalearth.geojson (Natural Earth)")):
        rows.append({"data_set": name, "used_by": used, "origin": "bundled", "file": file,
                     "source": "prosperity/data/SOURCES.md"})
    return pd.DataFrame(rows)


_WORDS = {
    "en": {"from_project": "This report reads the project file {path}: {n} of its data sets replace the bundled data "
                           "({names}); the sections not configured fall back to the bundled data (table data_sources).",
           "bundled_only": "No project file: every section runs on the bundled data (table data_sources).",
           "generated": "Generated by prosperity {version} on {when} from the project {path} ({seconds:.0f} s)."},
    "zh": {"from_project": "本报告读取项目文件 {path}：其中 {n} 个数据集替代了内置数据（{names}）；未配置的部分使用内置数据（见表 data_sources）。",
           "bundled_only": "未指定项目文件：所有部分均使用内置数据（见表 data_sources）。",
           "generated": "由 prosperity {version} 于 {when} 根据项目 {path} 生成（{seconds:.0f} 秒）。"},
}


def build_monitor(year: int | None = None, *, lang: str | None = None, out: str | Path = "monitor",
                  persons: int = 200_000, draws: int = 200, progress=None, store=None, project=None) -> MonitorReport:
    """Compute every section for ``year`` (default: the project's year, else the latest year of the
    national survey) and write the report. ``lang``: en | zh (default: the project's, else en).
    ``persons``: size of the synthetic population (decomposition, scenarios); ``draws``: Monte Carlo
    draws of the index's rank intervals. ``progress(step_name)`` is called before each step.
    ``store``: the DuckDB store the run is recorded in (None: :func:`store.default_store`; False: none).
    ``project``: a project file (path) or a loaded :class:`~prosperity.report.project.Project`; it is
    validated completely (:class:`~prosperity.report.project.ProjectError`) before any work starts."""
    from .project import Project, load_project

    if project is not None and not isinstance(project, Project):
        project = load_project(project)
    spec = project.spec if project is not None else None
    lang = lang or (spec.lang if spec is not None and spec.lang else "en")
    if year is None and spec is not None:
        year = spec.year
    t = T(lang)
    t0 = time.perf_counter()
    started = dt.datetime.now()
    data = monitor_data(project)
    nat = data.national.dropna(subset=["income"])
    years = sorted(int(y) for y in nat["year"].unique())
    year = years[-1] if year is None else int(year)
    if year not in years:
        what = "the project's national series (datasets.national)" if data.origin["national"] == "project" \
            else "the bundled national survey"
        raise ValueError(f"year {year}: {what} covers {years[0]}-{years[-1]}; choose one of those")
    targets = project.targets if project is not None else None
    step = progress or (lambda name: None)
    step("three gaps")
    gaps_table, gap_notes = data.gaps(targets)
    gaps = gaps_table.to_frame()
    survey_wide = data.survey_wide()
    official = data.official_gini()
    provinces = data.provinces
    secs = []
    targets_note = None
    if targets is not None:
        targets_note = {"en": f"Targets from the project file {project.path.name}.",
                        "zh": f"目标来自项目文件 {project.path.name}。"}[lang]
    secs.append(S.headline(year, gaps, survey_wide, lang, targets=targets, targets_note=targets_note))
    gap_sec = S.three_gaps_section(gaps, lang)
    gap_sec.notes.extend(gap_notes)
    secs.append(gap_sec)
    step("distribution")
    secs.append(S.distribution(year, survey_wide, official, lang))
    step("regions")
    secs.append(S.regions(min(max(year, int(provinces["year"].min()) + 1), int(provinces["year"].max())), provinces, lang))
    step("decomposition")
    secs.append(S.decomposition(year, persons, lang, microdata=data.microdata))
    step("composite index")
    frameworks = project.frameworks if project is not None and project.spec.framework is not None else None
    secs.append(S.composite_index(lang, draws, frameworks=frameworks, panel=data.index_panel))
    step("policy scenarios")
    pop_spec = project.spec.datasets.population if data.population is not None else None
    secs.append(S.scenarios(year, persons, lang, reforms=project.scenarios if project is not None else None,
                            population=data.population,
                            reconcile=pop_spec.reconcile if pop_spec is not None else "auto",
                            wages=pop_spec.wages if pop_spec is not None else "gross",
                            population_file=pop_spec.path if pop_spec is not None else None))
    step("methods")
    prov = provenance().assign(origin="bundled", key="", source="")
    if project is not None:
        prov = pd.concat([project.provenance(), prov], ignore_index=True)
    sources = data_sources(project, data)
    from .. import __version__

    words = _WORDS[lang]
    if project is not None:
        used = [k for k, v in data.origin.items() if v == "project"]
        intro = words["from_project"].format(path=project.path.name, n=len(used), names=", ".join(used) or "-")
    else:
        intro = words["bundled_only"]
    methods = S.Section("methods", t("s_methods"), [t("methods_intro"), intro, t("conventions")],
                        tables={"provenance": prov, "data_sources": sources})
    secs.append(methods)
    out = Path(out)
    tables_dir = out / "tables"
    tables_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for sec in secs:
        for name, frame in sec.tables.items():
            frame = frame.reset_index(drop=True)
            csv = tables_dir / f"{name}.csv"
            frame.to_csv(csv, index=False)
            frame.astype({c: str for c in frame.columns if frame[c].dtype == object}).to_parquet(
                tables_dir / f"{name}.parquet", index=False)
            written[name] = csv
    seconds = time.perf_counter() - t0
    title = spec.title.replace("{year}", str(year)) if spec is not None and spec.title else None
    generated = None
    if project is not None:
        generated = words["generated"].format(version=__version__, when=dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
                                              path=project.path.name, seconds=seconds)
    page = render(secs, year, lang, version=__version__, seconds=seconds, title=title, generated=generated)
    html_path = out / "report.html"
    tmp = html_path.with_suffix(".html.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(html_path)
    run_id, store_path = None, None
    if store is not False:
        from . import store as st

        store_path = Path(store) if store else st.default_store()
        step("store")
        parameters = {"year": year, "lang": lang, "persons": persons, "draws": draws}
        if project is not None:
            parameters["project"] = str(project.path.resolve())
        run_id = st.record_run(store_path, tables={n: f for sec in secs for n, f in sec.tables.items()}, inputs=prov,
                               parameters=parameters, version=__version__, started=started,
                               duration_s=time.perf_counter() - t0, year=year, lang=lang)
    return MonitorReport(year, lang, secs, out, html_path, written, seconds, run_id, store_path)


def render(secs, year: int, lang: str, *, version: str, seconds: float, title: str | None = None,
           generated: str | None = None) -> str:
    """One self-contained HTML page: plotly.js inline once, then each section's text and figures.
    ``title`` and ``generated`` (the line under it) replace the defaults (a project's title and path)."""
    from plotly.offline import get_plotlyjs

    t = T(lang)
    parts = []
    toc = "".join(f'<li><a href="#{s.key}">{html.escape(s.title)}</a></li>' for s in secs)
    for s in secs:
        body = [f'<section id="{s.key}"><h2>{html.escape(s.title)}</h2>']
        body.append("<ul class='findings'>" + "".join(f"<li>{html.escape(f)}</li>" for f in s.findings) + "</ul>")
        for k, fig in enumerate(s.figures):
            body.append(f'<div class="figure" data-section="{s.key}">'
                        + fig.to_html(full_html=False, include_plotlyjs=False, div_id=f"fig-{s.key}-{k}",
                                      config={"displaylogo": False}) + "</div>")
        for n in s.notes:
            body.append(f"<p class='note'>{html.escape(n)}</p>")
        for name, frame in s.tables.items():
            body.append(f"<p class='table-link'>tables/{html.escape(name)}.csv, tables/{html.escape(name)}.parquet "
                        f"({len(frame):,} rows)</p>")
        if s.key == "methods":
            src = s.tables.get("data_sources")
            if src is not None:
                body.append("<table class='prov sources'><tr><th>data set</th><th>used by</th><th>origin</th><th>file</th>"
                            "<th>source</th></tr>" + "".join(
                                f"<tr><td>{html.escape(r.data_set)}</td><td>{html.escape(r.used_by)}</td>"
                                f"<td>{html.escape(r.origin)}</td><td>{html.escape(r.file)}</td>"
                                f"<td>{html.escape(r.source)}</td></tr>" for r in src.itertuples()) + "</table>")
            prov = s.tables["provenance"]
            origin = prov["origin"] if "origin" in prov else pd.Series("bundled", index=prov.index)
            body.append("<table class='prov'><tr><th>file</th><th>origin</th><th>bytes</th><th>SHA-256</th></tr>" + "".join(
                f"<tr><td>{html.escape(r.file)}</td><td>{html.escape(o)}</td><td>{r.bytes:,}</td>"
                f"<td><code>{r.sha256}</code></td></tr>" for r, o in zip(prov.itertuples(), origin)) + "</table>")
            body.append("<p class='note'>Sources and licences: SOURCES.md in the package data (prosperity/data/SOURCES.md). "
                        "CO2: CEADs provincial emission inventories (Shan et al., Scientific Data 2018/2020). "
                        "Boundaries: Natural Earth (public domain).</p>")
        body.append("</section>")
        parts.append("\n".join(body))
    when = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    title = title or t("report_title", year=year)
    generated = generated or t("generated", version=version, when=when, seconds=seconds)
    head = f"""<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">
<title>{html.escape(title)}</title>
<style>body{{font-family:system-ui,-apple-system,'Segoe UI','Noto Sans CJK SC','Microsoft YaHei',sans-serif;
max-width:1100px;margin:auto;padding:1em;color:#222}} h2{{border-bottom:1px solid #ccc}} .note{{color:#555;font-size:90%}}
.table-link{{color:#777;font-size:85%}} table.prov{{font-size:80%;border-collapse:collapse}} table.prov td{{padding:2px 6px}}</style>
<script type="text/javascript">{get_plotlyjs()}</script></head><body>
<h1>{html.escape(title)}</h1>
<p class="note">{html.escape(generated)}</p>
<nav><ol>{toc}</ol></nav>"""
    return head + "\n".join(parts) + "</body></html>"
