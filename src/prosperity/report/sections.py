"""The sections of the common-prosperity monitoring report, each computed from the bundled data by
the package's own capabilities. A section is data: a title, plain-language findings whose numbers
are computed here (never canned), plotly figures and the tables behind them.

Sections: headline indicators against targets, the three gaps, the distribution (Lorenz curves from
the NBS quintile tables, reconstructed vs official Gini, middle-income share, relative poverty),
regions (province map, sigma and beta convergence), the nested decomposition of the synthetic
population, the composite index under each bundled framework with rank intervals, policy scenarios
(the shipped reforms), methods and provenance.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from .text import T


@dataclass
class Section:
    key: str
    title: str
    findings: list[str]
    figures: list = field(default_factory=list)  # plotly figures
    tables: dict = field(default_factory=dict)  # name -> DataFrame (written to tables/)
    notes: list[str] = field(default_factory=list)


def _fmt(x, digits=3):
    return f"{x:,.{digits}f}"


def _p_value(p) -> str:
    """A p-value for the text: three decimals, or two significant digits below 0.001."""
    return f"{p:.2g}" if 0 < p < 0.001 else f"{p:.3f}"


def _trend(years, values):
    """Least-squares slope per year of the last points (at most 5)."""
    y = np.asarray(years[-5:], float)
    v = np.asarray(values[-5:], float)
    if len(y) < 2:
        return np.nan
    return float(np.polyfit(y, v, 1)[0])


# ------------------------------------------------------------------------------------ headline
DEFAULT_TARGETS = ({"indicator": "urban_rural_income_ratio", "target": 1.9, "year": None, "direction": "lower"},
                   {"indicator": "gini_official", "target": 0.4, "year": None, "direction": "lower"})
_TARGET_YEAR = {"en": " (target year {year})", "zh": "（目标年份{year}年）"}


def headline(year: int, gaps: pd.DataFrame, survey: pd.DataFrame, lang: str, targets=None,
             targets_note: str | None = None) -> Section:
    """Key indicators against their targets. ``targets``: dicts with indicator, target, year (the
    target year, or None) and direction ('lower' or 'higher' is better); default: the illustrative
    urban/rural ratio < 1.9 and Gini < 0.4. Status: met; else, at the trend (least-squares slope of
    the last five years), the year the target is reached, ``year + (target - value) / slope``: on
    track when that is not after the target year; off track when the trend moves away from it."""
    import plotly.graph_objects as go

    t = T(lang)
    targets = {d["indicator"]: d for d in (DEFAULT_TARGETS if targets is None else targets)}
    wide = gaps.pivot(index="year", columns="indicator", values="value").sort_index()
    nat = survey[survey["area"] == "national"].set_index("year").sort_index()
    rows = []

    def add(code, label, series):
        series = series.dropna()
        series = series[series.index <= year]
        if series.empty or year not in series.index:
            return
        value = float(series.loc[year])
        slope = _trend(series.index.to_numpy(), series.to_numpy())
        status, reach = "", None
        spec = targets.get(code)
        target = spec["target"] if spec else None
        target_year = spec.get("year") if spec else None
        if target is not None:
            met = value < target if spec["direction"] == "lower" else value > target
            if met:
                status = t("met")
            elif np.isfinite(slope) and slope != 0 and ((target - value) / slope) > 0:
                reach = year + (target - value) / slope
                late = target_year is not None and reach > target_year
                status = t("off_track") if late else t("on_track_by", year=int(np.ceil(reach)))
            else:
                status = t("off_track")
            if target_year is not None:
                status += _TARGET_YEAR[lang].format(year=target_year)
        rows.append({"indicator": code, "label": label, "year": year, "value": value,
                     "trend_per_year": slope, "target": target, "status": status,
                     "reached_at_trend": reach, "target_year": target_year})

    labels = {"disp_income_pc_yuan": t("income_pc"), "urban_rural_income_ratio": t("ur_ratio"),
              "gini_official": t("gini_official"), "s80_s20": t("s80s20"), "middle_share": t("middle_share_q"),
              "cv_weighted": t("regional_cv")}
    add("disp_income_pc_yuan", labels["disp_income_pc_yuan"], nat["disp_income_pc_yuan"])
    for code in [*list(labels)[1:], *[c for c in targets if c not in labels]]:
        add(code, labels.get(code, code), wide.get(code, pd.Series(dtype=float)))
    table = pd.DataFrame(rows)
    findings = []
    for r in rows:
        s = t("headline_line", label=r["label"], value=_fmt(r["value"], 0 if r["value"] > 100 else 3),
              year=year, trend=_fmt(r["trend_per_year"], 0 if abs(r["value"]) > 100 else 4))
        if r["target"] is not None:
            s += " " + t("headline_target", target=f"{r['target']:g}", status=r["status"])
        findings.append(s)
    fig = go.Figure(go.Table(
        header=dict(values=[t("indicator"), str(year), t("trend"), t("target"), t("status")]),
        cells=dict(values=[table["label"], [f"{v:,.4g}" for v in table["value"]],
                           [f"{v:+,.4g}" for v in table["trend_per_year"]],
                           ["" if pd.isna(v) else f"{v:g}" for v in table["target"]], table["status"]])))
    fig.update_layout(title=t("headline_title", year=year), height=320, margin=dict(l=10, r=10, t=50, b=10))
    notes = [targets_note or t("targets_illustrative")]
    return Section("headline", t("s_headline"), findings, [fig], {"headline": table}, notes)


# ------------------------------------------------------------------------------------ three gaps
def three_gaps_section(gaps: pd.DataFrame, lang: str) -> Section:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    t = T(lang)
    wide = gaps.pivot(index="year", columns="indicator", values="value").sort_index()
    panels = [("regional", ["cv_weighted", "theil_between"]), ("urban_rural", ["urban_rural_income_ratio"]),
              ("rich_poor", ["s80_s20", "gini_official", "gini_quintiles"])]
    fig = make_subplots(rows=1, cols=3, subplot_titles=[t(f"gap_{g}") for g, _ in panels])
    for k, (_, codes) in enumerate(panels):
        for c in codes:
            if c in wide:
                s = wide[c].dropna()
                fig.add_trace(go.Scatter(x=s.index, y=s.values, mode="lines+markers", name=c), row=1, col=k + 1)
    fig.update_layout(height=380, title=t("gaps_title"), legend=dict(orientation="h", y=-0.2))
    findings = []
    for c, label in (("urban_rural_income_ratio", t("ur_ratio")), ("cv_weighted", t("regional_cv")),
                     ("s80_s20", t("s80s20"))):
        if c in wide:
            s = wide[c].dropna()
            findings.append(t("gap_change", label=label, y0=int(s.index[0]), v0=_fmt(s.iloc[0], 3),
                              y1=int(s.index[-1]), v1=_fmt(s.iloc[-1], 3),
                              pct=_fmt(100 * (s.iloc[-1] / s.iloc[0] - 1), 1)))
    return Section("gaps", t("s_gaps"), findings, [fig], {"three_gaps": gaps})


# ------------------------------------------------------------------------------------ distribution
def distribution(year: int, survey_wide: pd.DataFrame, official: pd.DataFrame, lang: str) -> Section:
    import plotly.graph_objects as go

    from ..grouped import GroupedTable, calibrate_person_shares, fit_grouped
    from ..grouped.distribution import band_shares, gini

    from ..datasets.china import cpi_national

    t = T(lang)
    cpi = cpi_national().set_index("year")["cpi_all_2016_eq_100"]
    rows, curves = [], {}
    for y in sorted(survey_wide.loc[survey_wide["area"] == "national", "year"].unique()):
        r = survey_wide[(survey_wide["area"] == "national") & (survey_wide["year"] == y)].iloc[0]
        means = np.array([r[f"disp_income_pc_q{k}_yuan"] for k in range(1, 6)], float)
        if np.isnan(means).any():
            continue
        mean = float(r["disp_income_pc_yuan"])
        table = GroupedTable.from_arrays([0.2] * 5, mean=means, unit="household")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            corrected = calibrate_person_shares(table, mean).table
            fit = fit_grouped(corrected, "auto", mean=mean)
        dist = fit.distribution
        g = gini(dist)
        median = float(dist.median())
        pov = fit.poverty_distribution or dist  # PIP's rule: the Lorenz model chosen for poverty

        def below(z):
            return float(np.asarray(pov.cdf(np.array([z])), float).ravel()[0])
        # NBS band: 100,000-500,000 yuan a year for a family of three at 2018 prices, uprated with the national CPI
        price = float(cpi.loc[y] / cpi.loc[2018]) if y in cpi.index else np.nan
        low, high = 100_000 / 3 * price, 500_000 / 3 * price
        shares = band_shares(dist, low, high) if np.isfinite(price) else (np.nan, np.nan)
        off = official.loc[official["year"] == y, "gini"]
        rows.append({"year": int(y), "gini_reconstructed": g, "gini_official": float(off.iloc[0]) if len(off) else np.nan,
                     "method": fit.method, "mean_yuan": mean, "median_yuan": median,
                     "middle_income_share_nbs_band": shares[0],
                     "relative_poverty_60pct_median": below(0.6 * median),
                     "relative_poverty_50pct_median": below(0.5 * median)})
        cum = np.concatenate([[0.0], np.cumsum(means) / means.sum()])
        curves[int(y)] = cum
    frame = pd.DataFrame(rows)
    fig_l = go.Figure()
    p = np.linspace(0, 1, 6)
    fig_l.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name=t("equality"), line=dict(dash="dot")))
    for y in sorted(curves)[:: max(1, len(curves) // 4)] + ([max(curves)] if max(curves) not in sorted(curves)[:: max(1, len(curves) // 4)] else []):
        fig_l.add_trace(go.Scatter(x=p, y=curves[y], mode="lines+markers", name=str(y)))
    fig_l.update_layout(title=t("lorenz_title"), xaxis_title=t("pop_share"), yaxis_title=t("income_share"), height=420)
    fig_g = go.Figure()
    fig_g.add_trace(go.Scatter(x=frame["year"], y=frame["gini_official"], name=t("gini_official"), mode="lines+markers"))
    fig_g.add_trace(go.Scatter(x=frame["year"], y=frame["gini_reconstructed"], name=t("gini_reconstructed"),
                               mode="lines+markers"))
    fig_g.update_layout(title=t("gini_title"), height=380)
    last = frame[frame["year"] == year]
    findings = []
    if len(last):
        r = last.iloc[0]
        findings.append(t("dist_gini", year=year, rec=_fmt(r["gini_reconstructed"], 3), off=_fmt(r["gini_official"], 3),
                          method=r["method"]))
        if np.isfinite(r["middle_income_share_nbs_band"]):
            findings.append(t("dist_middle", year=year, share=_fmt(100 * r["middle_income_share_nbs_band"], 1)))
        else:
            findings.append(t("dist_middle_missing", year=year))
        findings.append(t("dist_poverty", year=year, p60=_fmt(100 * r["relative_poverty_60pct_median"], 1),
                          p50=_fmt(100 * r["relative_poverty_50pct_median"], 1)))
    return Section("distribution", t("s_distribution"), findings, [fig_l, fig_g], {"distribution": frame},
                   [t("dist_note")])


# ------------------------------------------------------------------------------------ regions
@lru_cache(maxsize=1)
def province_geojson() -> dict:
    """The bundled province boundaries (Natural Earth), each feature's ``id`` its English name."""
    geo = json.loads((resources.files("prosperity") / "data" / "china_provinces_naturalearth.geojson").read_text())
    for f in geo["features"]:
        f["id"] = f["properties"]["name_en"]
    return geo


def _province_polygons(fig, geo: dict, keys, colour_of, text_of, names: pd.Series) -> int:
    """Each province in ``keys`` (in the boundaries' order) as filled polygons on plain axes (lon, lat),
    coloured ``colour_of(key)``, hover ``text_of(key)``; returns the number of provinces drawn."""
    import plotly.graph_objects as go

    drawn = 0
    for feature in geo["features"]:
        key = feature["id"]
        if key not in keys:
            continue
        drawn += 1
        colour, text = colour_of(key), text_of(key)
        geom = feature["geometry"]
        polygons = geom["coordinates"] if geom["type"] == "MultiPolygon" else [geom["coordinates"]]
        for poly in polygons:
            ring = np.asarray(poly[0], float)
            fig.add_trace(go.Scatter(x=ring[:, 0], y=ring[:, 1], fill="toself", fillcolor=colour, mode="lines",
                                     line=dict(color="white", width=0.5), name=str(names.get(key, key)),
                                     hoveron="fills", text=text, hoverinfo="text", showlegend=False, legendgroup=key))
    return drawn


def _map_layout(fig, title: str, **layout) -> None:
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x", scaleratio=1 / np.cos(np.radians(35)))
    fig.update_layout(title=title, height=520, margin=dict(l=0, r=0, t=50, b=0), plot_bgcolor="white", **layout)


def province_map(geo: dict, values: pd.Series, names: pd.Series, title: str, unit: str):
    """A province choropleth drawn as filled polygons on plain axes (lon, lat): no map tiles and no
    topojson download (plotly's geo subplots fetch their base map from a CDN), so the report works
    offline. Colours: Viridis over the values' range; hover shows the province and its value."""
    import plotly.graph_objects as go
    from plotly.colors import sample_colorscale

    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
    fig = go.Figure()

    def colour(key):
        v = float(values.loc[key])
        return sample_colorscale("Viridis", [(v - lo) / (hi - lo) if hi > lo else 0.5])[0]

    _province_polygons(fig, geo, set(values.index), colour,
                       lambda key: f"{names.get(key, key)}: {float(values.loc[key]):,.1f} {unit}", names)
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", showlegend=False, hoverinfo="skip",
                             marker=dict(colorscale="Viridis", cmin=lo, cmax=hi, color=[lo],
                                         colorbar=dict(title=unit), showscale=True)))
    _map_layout(fig, title)
    return fig


# LISA clusters (local Moran, PySAL's quadrants) and their colours: the usual GeoDa palette
CLUSTER_COLOURS = {"HH": "#d7191c", "HL": "#fdae61", "LH": "#abd9e9", "LL": "#2c7bb6", "ns": "#e8e8e8",
                   "island": "#a6a6a6"}


def province_category_map(geo: dict, labels: pd.Series, names: pd.Series, title: str, legend: dict,
                          text: pd.Series | None = None):
    """A province map coloured by category (``labels``: province -> category, a key of
    :data:`CLUSTER_COLOURS`), drawn like :func:`province_map` (offline polygons); ``legend``: category ->
    legend text, in legend order (categories absent from the map are left out); ``text``: hover text
    per province (default: its category's legend text)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    _province_polygons(fig, geo, set(labels.index), lambda key: CLUSTER_COLOURS[labels.loc[key]],
                       lambda key: f"{names.get(key, key)}: "
                                   + (str(text.loc[key]) if text is not None else legend[labels.loc[key]]), names)
    present = set(labels)
    for cat, words in legend.items():
        if cat in present:
            fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=words, hoverinfo="skip",
                                     marker=dict(symbol="square", size=14, color=CLUSTER_COLOURS[cat],
                                                 line=dict(color="#555", width=0.5))))
    _map_layout(fig, title, legend=dict(orientation="h", y=-0.02))
    return fig


LISA_PERMUTATIONS = 999  # conditional permutations of the local Moran (and permutations of the global I)
LISA_SEED = 12345  # esda's example seed: the draws are esda's for this seed (see prosperity.spatial)
LISA_ALPHA = 0.05  # a province is in a cluster when its pseudo p-value p_sim <= LISA_ALPHA


def province_lisa(values: pd.Series, series: str, year: int, *, permutations: int = LISA_PERMUTATIONS,
                  seed: int = LISA_SEED, alpha: float = LISA_ALPHA) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Local and global Moran's I of ``values`` (indexed by the English province names) on the queen
    contiguity of the bundled boundaries (:func:`prosperity.dynamics.weights.china_province_weights`,
    row-standardised; Hainan, an island, has no neighbour and no local statistic).

    Global (Cliff & Ord 1981): I = n / s0 * z'Wz / z'z with z = y - mean(y), pseudo p = (M + 1) / (R + 1)
    over R random permutations (M: simulated I at least as extreme, esda's folded rule). Local (Anselin
    1995): I_i = (n - 1) z_i (Wz)_i / sum_j z_j^2 with z standardised; quadrant HH, LH, LL, HL from the
    signs of z_i and (Wz)_i; p_sim from R conditional permutations; cluster = the quadrant where
    p_sim <= ``alpha``, else ``ns`` (``island`` without a neighbour). As PySAL esda ``Moran`` and
    ``Moran_Local`` (:mod:`prosperity.spatial`).

    The values are taken in the weights' order (NBS code order, Beijing first): permutation draws are
    by position, so the order fixes the p-values; this one makes them independent of the input's order.

    Returns (local frame: :meth:`LocalMoran.to_frame` with series, year, permutations, seed, alpha in
    front; global frame: :meth:`Moran.to_frame` likewise; notes: provinces left out and why)."""
    from ..dynamics.weights import china_province_weights
    from ..spatial import moran, moran_local

    w = china_province_weights()
    values = values.astype(float)
    notes = []
    outside = [str(k) for k in values.index if k not in w.neighbors]
    missing = [str(k) for k in values.index if k in w.neighbors and not np.isfinite(values.loc[k])]
    if outside:
        notes.append(f"{', '.join(outside)}: not among the 31 provinces of the contiguity weights, left out of the "
                     "spatial statistics")
    if missing:
        notes.append(f"{', '.join(missing)}: no value of {series} in {year}, left out of the spatial statistics")
    # in the weights' order (the boundaries', NBS code order): the permutation draws are by position, so
    # the same values give the same p-values and clusters whatever the order of the user's rows
    values = values.reindex([k for k in w.ids if k in values.index and np.isfinite(values.loc[k])])
    local = moran_local(values, w, permutations=permutations, seed=seed).to_frame(alpha)
    glob = moran(values, w, permutations=permutations, seed=seed).to_frame()
    head = {"series": series, "year": int(year), "permutations": int(permutations), "seed": int(seed),
            "alpha": float(alpha)}
    for frame in (local, glob):
        for k, (col, v) in enumerate(head.items()):
            frame.insert(k, col, v)
    return local, glob, notes


def regions(year: int, provinces: pd.DataFrame, lang: str) -> Section:
    import plotly.graph_objects as go

    from ..dynamics import beta_convergence, sigma_convergence

    t = T(lang)
    geo = province_geojson()
    cur = provinces[provinces["year"] == year].set_index("province_en")
    prev = provinces[provinces["year"] == year - 1].set_index("province_en")
    growth = 100 * (cur["disp_income_pc_yuan"] / prev["disp_income_pc_yuan"] - 1) if len(prev) else None
    figs = []
    for values, title, unit in ((cur["disp_income_pc_yuan"], t("map_income", year=year), t("yuan")),
                                (growth, t("map_growth", year=year), "%")):
        if values is None:
            continue
        names = cur["province_zh"] if lang == "zh" else pd.Series(cur.index, index=cur.index)
        figs.append(province_map(geo, values, names, title, unit))
    lisa_findings, lisa_figs, lisa_tables, lisa_notes = _lisa_view(year, cur, growth, geo, lang)
    figs.extend(lisa_figs)
    sg = sigma_convergence(provinces, region="province_en", time="year", value="disp_income_pc_yuan")
    sig = sg.to_frame()
    b = beta_convergence(provinces, region="province_en", time="year", value="disp_income_pc_yuan")
    fig_s = go.Figure()
    for m in ("cv", "gini", "theil"):  # sg.series: one column per measure, indexed by year
        fig_s.add_trace(go.Scatter(x=sg.series.index, y=sg.series[m], mode="lines+markers", name=m))
    fig_s.update_layout(title=t("sigma_title"), height=360)
    figs.append(fig_s)
    top = cur["disp_income_pc_yuan"].idxmax()
    bottom = cur["disp_income_pc_yuan"].idxmin()
    findings = [
        t("reg_range", year=year, top=top, vtop=_fmt(cur.loc[top, "disp_income_pc_yuan"], 0), bottom=bottom,
          vbottom=_fmt(cur.loc[bottom, "disp_income_pc_yuan"], 0),
          ratio=_fmt(cur.loc[top, "disp_income_pc_yuan"] / cur.loc[bottom, "disp_income_pc_yuan"], 2)),
        t("reg_beta", y0=int(b.start), y1=int(b.end), beta=_fmt(b.beta, 4), p=_fmt(b.p_value, 3),
          half=_fmt(b.half_life, 0) if np.isfinite(b.half_life) else "-"),
    ]
    if growth is not None:
        findings.append(t("reg_growth", year=year, fast=growth.idxmax(), gmax=_fmt(growth.max(), 1),
                          slow=growth.idxmin(), gmin=_fmt(growth.min(), 1)))
    from ..dynamics import markov

    mk = markov(provinces, 5, region="province_en", time="year", value="disp_income_pc_yuan")
    labels = [t("class_k", k=k + 1) for k in range(mk.k)]
    fig_m = go.Figure(go.Heatmap(z=mk.p, x=labels, y=labels, colorscale="Blues", zmin=0, zmax=1,
                                 text=[[f"{v:.2f}" for v in row] for row in mk.p], texttemplate="%{text}",
                                 hovertemplate="%{y} -> %{x}: %{z:.3f}<extra></extra>"))
    fig_m.update_yaxes(autorange="reversed", title=t("from_class"))
    fig_m.update_xaxes(title=t("to_class"))
    fig_m.update_layout(title=t("markov_title", y0=int(provinces["year"].min()), y1=int(provinces["year"].max())),
                        height=420)
    figs.append(fig_m)
    stay = float(np.mean(np.diag(mk.p)))
    findings.append(t("reg_markov", stay=_fmt(100 * stay, 0)))
    transition = pd.DataFrame(mk.p, index=labels, columns=labels).reset_index().rename(columns={"index": "from"})
    beta_table = pd.DataFrame([{"start": b.start, "end": b.end, "beta": b.beta, "se": b.se, "p_value": b.p_value,
                                "speed": b.speed, "half_life_years": b.half_life, "n": b.n}])
    tables = {"province_income": provinces, "sigma_convergence": sig, "beta_convergence": beta_table,
              "transition_matrix": transition, **lisa_tables}
    return Section("regions", t("s_regions"), findings + lisa_findings, figs, tables, lisa_notes)


def _lisa_view(year: int, cur: pd.DataFrame, growth, geo: dict, lang: str):
    """The regions section's spatial statistics: for the latest year's per-capita disposable income and
    its growth, the global Moran's I with its permutation p-value (findings) and the LISA cluster map,
    from :func:`province_lisa`; tables ``province_lisa`` and ``province_moran`` (one block per series)."""
    t = T(lang)
    findings, figs, locals_, globals_, notes = [], [], [], [], []
    legend = {c: t(f"lisa_{c}", alpha=f"{LISA_ALPHA:g}") for c in CLUSTER_COLOURS}
    for series, values, label in (("disp_income_pc_yuan", cur["disp_income_pc_yuan"], t("lisa_income")),
                                  ("income_growth_pct", growth, t("lisa_growth"))):
        if values is None:
            continue
        kept = values[values.notna()]
        if len(kept) < 4 or np.ptp(kept.to_numpy(float)) == 0:
            notes.append(t("lisa_skipped", series=label, year=year, n=len(kept)))
            continue
        local, glob, why = province_lisa(values, series, year)
        notes.extend(why)
        locals_.append(local)
        globals_.append(glob)
        perm = glob[glob["inference"] == "permutation"].iloc[0]
        clusters = local.set_index("region")["cluster"]
        names = cur["province_zh"].reindex(clusters.index).fillna(pd.Series(clusters.index, index=clusters.index)) \
            if lang == "zh" and "province_zh" in cur else pd.Series(clusters.index, index=clusters.index)
        named = {c: ("、" if lang == "zh" else ", ").join(names[clusters.index[clusters == c]]) or "-"
                 for c in ("HH", "LL", "HL", "LH")}
        rand = glob[glob["inference"] == "randomisation"].iloc[0]
        findings.append(t("lisa_moran", series=label, year=year, moran=_fmt(perm["I"], 3), p=_p_value(perm["p_value"]),
                          r=LISA_PERMUTATIONS, seed=LISA_SEED, z=_fmt(rand["z"], 2), p_rand=_p_value(rand["p_value"])))
        findings.append(t("lisa_line", series=label, year=year, alpha=f"{LISA_ALPHA:g}", **named))
        p_text = local.set_index("region")["p_sim"]
        text = pd.Series({k: f"{legend[c]}; I_i = {i:.3f}, p_sim = " + ("-" if not np.isfinite(p) else f"{p:.3f}")
                          for k, c, i, p in zip(clusters.index, clusters, local["I"], p_text)})
        figs.append(province_category_map(geo, clusters, names, t("lisa_title", series=label, year=year, r=LISA_PERMUTATIONS,
                                                                   seed=LISA_SEED, alpha=f"{LISA_ALPHA:g}"),
                                          legend, text))
    if locals_:
        notes.append(t("lisa_note", r=LISA_PERMUTATIONS, seed=LISA_SEED, alpha=f"{LISA_ALPHA:g}"))
    tables = {"province_lisa": pd.concat(locals_, ignore_index=True),
              "province_moran": pd.concat(globals_, ignore_index=True)} if locals_ else {}
    return findings, figs, tables, notes


# ------------------------------------------------------------------------------------ decomposition
def decomposition(year: int, persons: int, lang: str, microdata: pd.DataFrame | None = None) -> Section:
    """Nested Theil decomposition (region -> province -> province x area) of the synthetic population
    or, when given, of ``microdata`` (columns income, optional weight, and any of region, province,
    area: the levels present, coarse to fine; area nests inside province when both are given)."""
    import plotly.graph_objects as go

    from ..decompose import nested_decomposition

    t = T(lang)
    year = min(max(year, 2016), 2024)  # the synthetic population exists for 2016-2024
    if microdata is None:
        pop = synthetic_population(year, persons)
        income, weight = pop["disp_income_pc_yuan"].to_numpy(float), pop["weight"].to_numpy(float)
        levels = [pop["region"].astype(str).to_numpy(), pop["province_en"].astype(str).to_numpy(),
                  (pop["province_en"].astype(str) + "/" + pop["area"].astype(str)).to_numpy()]
        names = ["region", "province", "province x area"]
    else:
        m = microdata
        income = m["income"].to_numpy(float)
        weight = m["weight"].to_numpy(float) if "weight" in m else np.ones(len(m))
        levels, names, prefix = [], [], None
        for col in ("region", "province", "area"):
            if col not in m:
                continue
            labels = m[col].astype(str)
            if prefix is not None:
                labels = prefix + "/" + labels
            levels.append(labels.to_numpy())
            names.append(col if prefix is None else f"{names[-1]} x {col}")
            prefix = labels
    dec = nested_decomposition(income, weight, levels=levels, names=names, measure="theil")
    frame = dec.to_frame()
    labels = [f"{r.component} {r.level}" for r in frame.itertuples()]
    fig = go.Figure(go.Bar(x=labels, y=frame["share"], text=[f"{100 * v:.1f} %" for v in frame["share"]]))
    fig.update_layout(title=t("dec_title", year=min(year, 2024)), height=360, yaxis_tickformat=".0%")
    findings = [t("dec_total", theil=_fmt(dec.total, 4)) if microdata is None else {
        "en": f"The Theil index of the project's microdata is {_fmt(dec.total, 4)}.",
        "zh": f"项目微观数据的泰尔指数为{_fmt(dec.total, 4)}。"}[lang]]
    for label, r in zip(labels, frame.itertuples()):
        findings.append(t("dec_component", name=label, share=_fmt(100 * r.share, 1)))
    note = t("dec_note", persons=f"{persons:,}") if microdata is None else {
        "en": f"Decomposition of the project's microdata ({len(microdata):,} records, datasets.microdata).",
        "zh": f"对项目微观数据（{len(microdata):,} 条记录，datasets.microdata）的分解。"}[lang]
    return Section("decomposition", t("s_decomposition"), findings, [fig], {"nested_decomposition": frame}, [note])


# ------------------------------------------------------------------------------------ index
FRAMEWORKS = ("affluence_sharing", "five_concepts", "zhejiang_2025")  # the bundled ones the report shows


def index_in_default_year(framework: str, draws: int, panel: pd.DataFrame | None = None):
    """(result, scores): the index on the bundled provincial panel and, for its default year, each
    region's score, rank and coverage, with the 90 % Monte Carlo rank interval (``rank_q05``,
    ``rank_q95``) when ``draws`` > 0; sorted by rank."""
    from ..index import build_index, uncertainty
    from ..index.china import china_provincial_panel

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = build_index(china_provincial_panel() if panel is None else panel, framework, region="province")
        unc = uncertainty(res, draws, seed=1, keep_draws=False) if draws else None
    y = res.default_year()
    sc = res.to_frame()
    sc = sc[sc["year"] == y].merge(res.coverage[["region", "year", "index"]].rename(columns={"index": "coverage"}),
                                  on=["region", "year"])
    if unc is not None:
        sc = sc.merge(unc.summary[["region", "year", "rank_q05", "rank_q95"]], on=["region", "year"], how="left")
    return res, sc.sort_values("rank")
def composite_index(lang: str, draws: int, frameworks=None, panel: pd.DataFrame | None = None) -> Section:
    """The index under each framework (default: :data:`FRAMEWORKS`; else (key, Framework or name)
    pairs) on ``panel`` (default: the bundled provincial panel; region column ``province``), with
    rank intervals; the Sobol sensitivity of the ranking for the first framework."""
    import plotly.graph_objects as go

    from ..index.china import china_provincial_panel

    t = T(lang)
    panel = china_provincial_panel() if panel is None else panel
    findings, figs, tables = [], [], {}
    frameworks = [(n, n) for n in FRAMEWORKS] if frameworks is None else list(frameworks)
    for k, (name, framework) in enumerate(frameworks):
        res, sc = index_in_default_year(framework, draws, panel)
        unc = draws > 0
        y = res.default_year()
        tables[f"index_{name}"] = sc
        fig = go.Figure()
        fig.add_trace(go.Scatter(x=sc["rank"], y=sc["region"], mode="markers", name=t("rank"),
                                 error_x=dict(type="data", symmetric=False, array=sc["rank_q95"] - sc["rank"],
                                              arrayminus=sc["rank"] - sc["rank_q05"]) if unc else None))
        fig.update_yaxes(autorange="reversed")
        fig.update_layout(title=t("index_title", name=res.framework.name, year=int(y)), height=720,
                          xaxis_title=t("rank_interval"))
        figs.append(fig)
        first = sc.iloc[0]
        wide = (sc["rank_q95"] - sc["rank_q05"]).median() if unc else np.nan
        if k == 0 and draws:
            from ..index import sobol_indices

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sob = sobol_indices(res, max(64, draws), seed=1, normalisations=["minmax", "zscore", "rank"],
                                    weightings=["entropy", "equal", "critic"],
                                    aggregations=["arithmetic", "geometric"], n_boot=50).to_frame().reset_index()
            tables[f"index_sensitivity_{name}"] = sob
            fig_s = go.Figure(go.Bar(x=sob["factor"], y=sob["ST"], name="total (ST)"))
            fig_s.add_trace(go.Bar(x=sob["factor"], y=sob["S1"], name="first order (S1)"))
            fig_s.update_layout(title=t("sobol_title", name=res.framework.name), barmode="group", height=360)
            figs.append(fig_s)
            top_f = sob.sort_values("ST", ascending=False).iloc[0]
            findings.append(t("sobol_line", name=res.framework.name, factor=top_f["factor"], st=_fmt(top_f["ST"], 2)))
        findings.append(t("index_line", name=res.framework.name, year=int(y), top=first["region"],
                          score=_fmt(first["score"], 3), last=sc.iloc[-1]["region"],
                          cov=_fmt(100 * sc["coverage"].median(), 0), width=_fmt(wide, 0)))
    return Section("index", t("s_index"), findings, figs, tables, [t("index_note", draws=draws)])


# ------------------------------------------------------------------------------------ scenarios
SCENARIO_SEED = 1  # seed of the synthetic population and of the take-up draws (prosperity simulate --seed)


@lru_cache(maxsize=1)
def synthetic_population(year: int, persons: int, seed: int = SCENARIO_SEED) -> pd.DataFrame:
    """``synthesize_population(year, persons=persons, seed=seed)``, built once per process for the
    decomposition and the scenarios (read only: reconciliation and simulation work on copies)."""
    from ..synth import synthesize_population

    return synthesize_population(year, persons=persons, seed=seed)


def scenario_simulation(year: int, persons: int | None = None, population: pd.DataFrame | None = None, *,
                        reconcile: str = "auto", wages: str = "gross", seed: int = SCENARIO_SEED):
    """(simulation, reconciliation or None): the baseline the scenarios run on, built exactly as
    ``prosperity simulate`` builds it. Without ``population``: the synthetic population of ``persons``
    persons (``--population synthetic:N``); with it, that person-level frame (the columns of
    :class:`prosperity.simulate.Population`). ``reconcile``: ``survey`` matches the baseline to the NBS
    household survey of ``year`` (:func:`prosperity.simulate.reconcile.reconciled_simulation`: the urban
    share of persons s* = (mean - rural) / (urban - rural) and the ten area quintile means of the
    *baseline*), ``none`` takes the population as given, ``auto`` is survey for the synthetic population
    and none for a user's population (the CLI's ``--reconcile auto``)."""
    from ..simulate import Simulation
    from ..simulate.reconcile import reconciled_simulation

    if reconcile not in ("auto", "survey", "none"):
        raise ValueError(f"reconcile must be auto, survey or none, got {reconcile!r}")
    frame = synthetic_population(year, persons, seed) if population is None else population
    if reconcile == "survey" or (reconcile == "auto" and population is None):
        return reconciled_simulation(frame, year, seed=seed, wages=wages)
    return Simulation(frame, year, seed=seed, wages=wages), None


def scenarios(year: int, persons: int, lang: str, reforms=None, population: pd.DataFrame | None = None,
              reconcile: str = "auto", wages: str = "gross", population_file: str | None = None) -> Section:
    """The shipped example reforms or ``reforms`` ((name, reform file or shipped name, budget-neutral
    parameter or None) triples) on the baseline of :func:`scenario_simulation` (default: the synthetic
    population of ``persons`` persons reconciled with the NBS survey, the numbers of ``prosperity
    simulate --population synthetic:N --year Y --reform R``; ``population``: the project's own, from
    ``population_file``); province maps of the gains for east_west_transfer and dibao_plus_20pct
    (default) or the first two reforms."""
    import plotly.graph_objects as go

    from ..simulate import example_reforms, load_reforms

    t = T(lang)
    sim_year = min(max(year, 2019), 2024)
    sim, rec = scenario_simulation(sim_year, persons, population, reconcile=reconcile, wages=wages)
    rows, deciles, extra_figs, extra_tables = [], [], [], {}
    if reforms is None:
        reforms = [(n, n, "regional_transfers.east_west.levy_rate" if n == "east_west_transfer" else None)
                   for n in sorted(example_reforms())]
        mapped = ("east_west_transfer", "dibao_plus_20pct")
    else:
        mapped = tuple(n for n, _, _ in reforms[:2])
    results = {}
    for name, path, budget in reforms:
        res = results[name] = sim.run(load_reforms([path]), budget_neutral=budget)
        s = res.summary.set_index("measure")
        wl = res.winners_losers.set_index("group").loc["all"]
        bn = res.budget_neutral or {}
        rows.append({"reform": name, "net_cost_bn_yuan": res.net_cost_bn, "gini_baseline": s.loc["gini", "baseline"],
                     "gini_reform": s.loc["gini", "reform"],
                     "poverty_rel60_baseline": s.loc["poverty_headcount_rel60", "baseline"],
                     "poverty_rel60_reform": s.loc["poverty_headcount_rel60", "reform"],
                     "gain_more_5pct": wl["gain_more_5pct"], "no_change": wl["no_change"],
                     "budget_neutral_parameter": bn.get("parameter"), "budget_neutral_value": bn.get("value"),
                     "reconciled": rec is not None})
        d = res.deciles.assign(reform=name)
        deciles.append(d)
    table = pd.DataFrame(rows)
    dec = pd.concat(deciles, ignore_index=True)
    fig = go.Figure()
    for name, g in dec.groupby("reform"):
        fig.add_trace(go.Bar(x=g["decile"], y=g["change_pct"], name=name))
    fig.update_layout(barmode="group", title=t("sc_deciles", year=sim_year), xaxis_title=t("decile"),
                      yaxis_title=t("change_pct"), height=420)
    fig_c = go.Figure(go.Bar(x=table["reform"], y=table["net_cost_bn_yuan"]))
    fig_c.update_layout(title=t("sc_cost"), yaxis_title=t("bn_yuan"), height=360)
    findings = []
    for r in rows:
        findings.append(t("sc_line", reform=r["reform"], cost=_fmt(r["net_cost_bn_yuan"], 1),
                          g0=_fmt(r["gini_baseline"], 4), g1=_fmt(r["gini_reform"], 4),
                          gain=_fmt(100 * r["gain_more_5pct"], 1)))
    geo = province_geojson()
    for name in mapped:
        res = results[name]
        prov = res.by_province.set_index("group")["change_pct"]
        figs_map = province_map(geo, prov, pd.Series(prov.index, index=prov.index), t("sc_map", reform=name), "%")
        extra_figs.append(figs_map)
        extra_tables[f"scenario_provinces_{name}"] = res.by_province
    val = sim.run(None).validation
    bad = val[~val["within_tolerance"]]["row"].tolist()
    if population is None:
        notes = [t("sc_note", persons=f"{persons:,}", n_bad=len(bad))]
    else:
        notes = [t("sc_note_project", file=population_file or "datasets.population", persons=f"{len(population):,}",
                   n_bad=len(bad))]
    if rec is not None:
        worst = float(np.abs(rec.quintiles["error_baseline"]).max())
        notes.append(t("sc_reconciled", year=sim_year, s0=_fmt(rec.urban_share_before, 4),
                       s1=_fmt(rec.urban_share_after, 4), err=f"{worst:.1e}"))
        if population is None:
            notes.append(t("sc_same_as_cli", persons=persons, year=sim_year))
        extra_tables["scenario_reconciliation"] = rec.to_frame().assign(
            year=rec.year, urban_share_before=rec.urban_share_before, urban_share_after=rec.urban_share_after,
            weight_factor_urban=rec.weight_factor_urban, weight_factor_rural=rec.weight_factor_rural)
    else:
        notes.append(t("sc_not_reconciled"))
    return Section("scenarios", t("s_scenarios"), findings, [fig, fig_c, *extra_figs],
                   {"scenarios": table, "scenario_deciles": dec, "simulation_validation": val, **extra_tables}, notes)
