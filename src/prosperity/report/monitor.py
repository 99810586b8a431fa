"""``build_monitor``: the common-prosperity monitoring report on the bundled real data.

Writes ``OUT/report.html`` (one self-contained file: plotly's script embedded once, no network, no
external fonts or map tiles; every figure interactive) and ``OUT/tables/`` (CSV and Parquet of every
table behind a figure), and returns a :class:`MonitorReport` with the sections and the summary.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pandas as pd

from . import sections as S
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


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def provenance() -> pd.DataFrame:
    """Every bundled data file the report reads: its size and SHA-256."""
    root = Path(str(resources.files("prosperity") / "data"))
    rows = []
    for name in DATA_FILES:
        p = root / name
        rows.append({"file": name, "bytes": p.stat().st_size, "sha256": _sha256(p)})
    return pd.DataFrame(rows)


def _default_year() -> int:
    from ..datasets.china import nbs_household_survey

    s = nbs_household_survey(wide=True)
    nat = s[(s["area"] == "national") & s["disp_income_pc_yuan"].notna()]
    return int(nat["year"].max())


def build_monitor(year: int | None = None, *, lang: str = "en", out: str | Path = "monitor",
                  persons: int = 200_000, draws: int = 200, progress=None, store=None) -> MonitorReport:
    """Compute every section for ``year`` (default: the latest year of the national survey) and write
    the report. ``persons``: size of the synthetic population (decomposition, scenarios); ``draws``:
    Monte Carlo draws of the index's rank intervals. ``progress(step_name)`` is called before each step.
    ``store``: the DuckDB store the run is recorded in (None: :func:`store.default_store`; False: none)."""
    from ..datasets.china import nbs_household_survey, nbs_official_gini, provincial_income_consumption_2016_2024
    from ..decompose.gaps import china_gaps

    t = T(lang)
    t0 = time.perf_counter()
    started = dt.datetime.now()
    survey_wide = nbs_household_survey(wide=True)
    latest = _default_year()
    year = latest if year is None else int(year)
    years = sorted(survey_wide.loc[survey_wide["area"] == "national", "year"].unique())
    if year not in years:
        raise ValueError(f"year {year}: the bundled national survey covers {years[0]}-{years[-1]}; choose one of those")
    step = progress or (lambda name: None)
    step("three gaps")
    gaps = china_gaps().to_frame()
    official = nbs_official_gini()
    official = official.rename(columns={c: "gini" for c in official.columns if "gini" in c.lower()})[["year", "gini"]]
    provinces = provincial_income_consumption_2016_2024()
    secs = []
    secs.append(S.headline(year, gaps, survey_wide, lang))
    secs.append(S.three_gaps_section(gaps, lang))
    step("distribution")
    secs.append(S.distribution(year, survey_wide, official, lang))
    step("regions")
    secs.append(S.regions(min(max(year, int(provinces["year"].min()) + 1), int(provinces["year"].max())), provinces, lang))
    step("decomposition")
    secs.append(S.decomposition(year, persons, lang))
    step("composite index")
    secs.append(S.composite_index(lang, draws))
    step("policy scenarios")
    secs.append(S.scenarios(year, persons, lang))
    step("methods")
    prov = provenance()
    from .. import __version__

    methods = S.Section("methods", t("s_methods"), [t("methods_intro"), t("conventions")],
                        tables={"provenance": prov})
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
    page = render(secs, year, lang, version=__version__, seconds=seconds)
    html_path = out / "report.html"
    tmp = html_path.with_suffix(".html.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(html_path)
    run_id, store_path = None, None
    if store is not False:
        from . import store as st

        store_path = Path(store) if store else st.default_store()
        step("store")
        run_id = st.record_run(store_path, tables={n: f for sec in secs for n, f in sec.tables.items()}, inputs=prov,
                               parameters={"year": year, "lang": lang, "persons": persons, "draws": draws},
                               version=__version__, started=started, duration_s=time.perf_counter() - t0,
                               year=year, lang=lang)
    return MonitorReport(year, lang, secs, out, html_path, written, seconds, run_id, store_path)


def render(secs, year: int, lang: str, *, version: str, seconds: float) -> str:
    """One self-contained HTML page: plotly.js inline once, then each section's text and figures."""
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
            prov = s.tables["provenance"]
            body.append("<table class='prov'><tr><th>file</th><th>bytes</th><th>SHA-256</th></tr>" + "".join(
                f"<tr><td>{html.escape(r.file)}</td><td>{r.bytes:,}</td><td><code>{r.sha256}</code></td></tr>"
                for r in prov.itertuples()) + "</table>")
            body.append("<p class='note'>Sources and licences: SOURCES.md in the package data (prosperity/data/SOURCES.md). "
                        "CO2: CEADs provincial emission inventories (Shan et al., Scientific Data 2018/2020). "
                        "Boundaries: Natural Earth (public domain).</p>")
        body.append("</section>")
        parts.append("\n".join(body))
    when = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    head = f"""<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">
<title>{html.escape(t('report_title', year=year))}</title>
<style>body{{font-family:system-ui,-apple-system,'Segoe UI','Noto Sans CJK SC','Microsoft YaHei',sans-serif;
max-width:1100px;margin:auto;padding:1em;color:#222}} h2{{border-bottom:1px solid #ccc}} .note{{color:#555;font-size:90%}}
.table-link{{color:#777;font-size:85%}} table.prov{{font-size:80%;border-collapse:collapse}} table.prov td{{padding:2px 6px}}</style>
<script type="text/javascript">{get_plotlyjs()}</script></head><body>
<h1>{html.escape(t('report_title', year=year))}</h1>
<p class="note">{html.escape(t('generated', version=version, when=when, seconds=seconds))}</p>
<nav><ol>{toc}</ol></nav>"""
    return head + "\n".join(parts) + "</body></html>"
