"""``prosperity index PANEL``: a composite index (framework YAML or every numeric column), with
optional Monte Carlo rank intervals. Calls :func:`prosperity.index.build_index` only."""

from __future__ import annotations

import json
import warnings

import pandas as pd

import typer

from .layout import PERCENT, QUIET


def register(app: typer.Typer) -> None:
    @app.command("index")
    def index(
        panel: str = typer.Argument(..., help="long table (CSV, Parquet, Excel): one row per region (and year); "
                                              "'china' = the bundled provincial panel"),
        framework: str = typer.Option(None, "--framework", help="framework YAML, or a bundled one: affluence_sharing, "
                                                                "five_concepts, zhejiang_2025"),
        region: str = typer.Option("region", "--region", help="region id column"),
        year: str = typer.Option("year", "--year", help="year column (omit or absent: one cross-section)"),
        negative: str = typer.Option(None, "--negative", help="without --framework: comma list of columns where less is better"),
        positive: str = typer.Option(None, "--positive", help="without --framework: comma list of columns where more is "
                                     "better ('rest' = every column not in --negative); directions are never guessed"),
        normalisation: str = typer.Option(None, "--normalisation", help="minmax | zscore | rank | percentile | target "
                                          "(realisation degree) | distance_target | goalposts | vector | sum | ..."),
        value_range: str = typer.Option(None, "--range", help="min-max target range a,b (e.g. 1,100 before geometric means)"),
        weighting: str = typer.Option(None, "--weighting", help="equal | entropy | critic | cv | std | pca | pca1 | merec | gini | variance | user | ahp"),
        entropy_variant: str = typer.Option(None, "--entropy-variant", help="zero (0 ln 0 = 0) | shift | rescale | max_weight | epsilon (p = 0 -> 1e-12)"),
        aggregation: str = typer.Option(None, "--aggregation", help="weighted-sum | geometric | harmonic | topsis | vikor | gra | copeland"),
        mcda_scope: str = typer.Option(None, "--mcda-scope", help="where TOPSIS/VIKOR/GRA/Copeland run: per_dimension "
                                       "(default; dimensions then averaged) | flat (on all indicators, effective weights)"),
        mode: str = typer.Option(None, "--mode", help="relative | target"),
        scope: str = typer.Option(None, "--scope", help="pooled (panel, comparable over years) | by_year"),
        scheme: str = typer.Option(None, "--scheme", help="nested (weights within each dimension) | global"),
        imputation: str = typer.Option(None, "--imputation", help="none | mean | median | linear | latest | em, "
                                                                  "or a chain such as linear,mean"),
        treatment: str = typer.Option(None, "--outliers", help="none | coinr (winsorise then log) | winsorise | log | boxcox"),
        start: int = typer.Option(None, "--start", help="first year"),
        end: int = typer.Option(None, "--end", help="last year"),
        show_year: int = typer.Option(None, "--show-year", help="year whose scores the table shows (default: of the "
                                      "years where at least half of the regions have a score, the latest with the "
                                      "best coverage); a year "
                                      "without enough data is refused"),
        min_coverage: float = typer.Option(None, "--min-coverage", help="share of a group's components a region "
                                           "needs for a group score (default 0.5; COINr's dat_thresh)"),
        impute_groups: str = typer.Option(None, "--impute-groups", help="mean/median imputation within: year "
                                          "(default) | all | a column of the data (e.g. a region group)"),
        steps: str = typer.Option(None, "--steps", help="the order of the pipeline's steps, a comma list of denominate, "
                                  "impute, screen, treat, normalise, aggregate (default: the framework's steps:, "
                                  "else denominate,screen,impute,treat,normalise,aggregate)"),
        coupling_floor: float = typer.Option(None, "--coupling-floor", help="raise subsystem scores below it to it "
                                             "before the coupling degree (e.g. 1e-10, as R mathmodels)"),
        n_uncertainty: int = typer.Option(0, "--uncertainty", help="Monte Carlo draws for rank intervals (0 = none)"),
        seed: int = typer.Option(0, "--seed", help="random seed of the Monte Carlo"),
        encoding: str = typer.Option(None, "--encoding", help="CSV/TSV encoding (default: detected, UTF-8 then GB18030)"),
        sep: str = typer.Option(None, "--sep", help="CSV/TSV separator: ',', ';', tab or '|' (default: detected)"),
        fmt: str = typer.Option("table", "--format", "-f", help="table | json | csv"),
        out: str = typer.Option(None, "--out", help="also write scores, ranks and dimension scores: FILE.csv | .parquet | .xlsx | .json"),
        percent: bool = PERCENT,
        quiet: bool = QUIET,
    ) -> None:
        """Composite index: scores, ranks, weights, dimension scores (and rank intervals)."""
        from prosperity.cli.measure_cmd import fail

        if fmt not in ("table", "json", "csv"):
            fail(f"--format must be table, json or csv, got {fmt!r}.")
        from prosperity.cli.measure_cmd import read_options
        from prosperity.cli.output import checked_out

        checked_out(out)
        if n_uncertainty < 0:
            fail(f"--uncertainty is a number of Monte Carlo draws, got {n_uncertainty}. "
                 "Fix: 0 for no rank intervals, or e.g. --uncertainty 500.")
        try:
            if min_coverage is not None and not 0.0 <= min_coverage <= 1.0:
                raise ValueError(f"--min-coverage is a share between 0 and 1, got {min_coverage:g}")
            from prosperity.cli.layout import working

            with working("building the index" + (f" ({n_uncertainty} Monte Carlo draws)" if n_uncertainty else ""),
                         quiet):
                res, unc = _run(panel, framework, region, year, negative, normalisation, value_range, weighting,
                                entropy_variant, aggregation, mode, scope, scheme, imputation, treatment, start, end,
                                n_uncertainty, seed, min_coverage, impute_groups, positive,
                                read_options(encoding, sep), mcda_scope=mcda_scope, steps=steps,
                                coupling_floor=coupling_floor)
            shown = _shown_year(res, show_year)
        except (KeyError, ValueError, TypeError, FileNotFoundError) as exc:
            fail(exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc))
        for w in res.warnings:
            typer.echo(f"warning: {w}", err=True)
        if out:
            from prosperity.cli.output import write_frame

            try:
                frame_out = res.to_frame()
                if unc is not None:
                    frame_out = frame_out.merge(unc.summary[["region", "year", "median_rank", "rank_q05", "rank_q95"]],
                                                on=["region", "year"], how="left")
                typer.echo(write_frame(frame_out, out), err=True)
            except (ValueError, OSError) as exc:
                fail(str(exc))
        if fmt == "json":
            out = res.to_dict()
            if unc is not None:
                out["uncertainty"] = json.loads(unc.summary.to_json(orient="records"))
            typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
        elif fmt == "csv":
            frame = res.to_frame()
            if unc is not None:
                frame = frame.merge(unc.summary[["region", "year", "median_rank", "rank_q05", "rank_q95"]],
                                    on=["region", "year"], how="left")
            typer.echo(frame.to_csv(index=False), nl=False)
        else:
            _print(res, unc, shown, percent, panel)


def _shown_year(res, show_year):
    """The year the table shows: --show-year (checked), else the result's default year."""
    if res.data_years is None:
        if show_year is not None:
            raise ValueError("--show-year selects a year, but the data are one cross-section (no year column)")
        return None
    if show_year is not None:
        res.check_year(show_year)
        return show_year
    best = res.default_year()
    if best is None:
        res.check_year(res.data_years["year"].max())  # raises with the indicators and their last year
    return best


def _run(panel, framework, region, year, negative, normalisation, value_range, weighting, entropy_variant,
         aggregation, mode, scope, scheme, imputation, treatment, start, end, n_uncertainty, seed,
         min_coverage=None, impute_groups=None, positive=None, file_options=None, mcda_scope=None, steps=None,
         coupling_floor=None):
    from prosperity.index import build_index, load_framework, uncertainty

    if panel == "china":
        from prosperity.index.china import china_provincial_panel

        frame = china_provincial_panel()
        region = "province" if region == "region" else region
    else:
        from prosperity.io.read import read_table

        frame = read_table(panel, **(file_options or {}))
        if frame.empty:
            raise ValueError(f"{panel!r} has a header but no data rows. Fix: export the panel with its rows, "
                             "one row per region (and year).")
    if year in frame.columns:
        years = frame[year]
        if start is not None:
            frame = frame[frame[year] >= start]
        if end is not None:
            frame = frame[frame[year] <= end]
        if frame.empty:
            chosen = " and ".join(f"{k} {v}" for k, v in (("--start", start), ("--end", end)) if v is not None)
            raise ValueError(f"no rows left with {chosen}: the data cover years "
                             f"{years.min():g}..{years.max():g}. Fix: choose years inside that span.")
    elif start is not None or end is not None:
        raise ValueError(f"--start/--end select years, but the data have no year column {year!r}. "
                         "Fix: name it with --year, or drop --start/--end for a cross-section.")
    fw = load_framework(framework) if framework else None
    rng = None
    if value_range:
        try:
            a, b = (float(x) for x in value_range.split(","))
        except ValueError:
            raise ValueError(f"--range must be two numbers a,b, got {value_range!r}") from None
        if not a < b:
            raise ValueError(f"--range needs a < b, got {value_range!r}. Fix: give the lower end first, e.g. --range 1,100.")
        rng = (a, b)
    neg = [c.strip() for c in negative.split(",") if c.strip()] if negative else ()
    pos = [c.strip() for c in positive.split(",") if c.strip()] if positive else ()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = build_index(frame, fw, region=region, year=year if year in frame.columns else None, negative=neg,
                          positive=pos,
                          normalisation=normalisation, range=rng, weighting=weighting,
                          entropy_variant=entropy_variant, aggregation=aggregation, mode=mode, scope=scope,
                          scheme=scheme, imputation=imputation, treatment=treatment, min_coverage=min_coverage,
                          impute_groups=impute_groups, mcda_scope=mcda_scope, steps=steps,
                          coupling_floor=coupling_floor)
        unc = uncertainty(res, n_uncertainty, seed=seed, keep_draws=False) if n_uncertainty > 0 else None
    return res, unc


def _print(res, unc, shown=None, percent: bool = False, panel: str | None = None) -> None:
    from prosperity.cli.layout import console, number, print_frame, share

    con = console()
    cfg = res.config
    con.print(f"[bold]{res.framework.name}[/bold]: {len(res.framework.indicators)} indicators; "
              f"normalisation {cfg.normalisation} ({cfg.scope}, {cfg.mode}), weighting {cfg.weighting}, "
              f"aggregation {cfg.aggregation}", overflow="fold")
    log = res.steps
    print_frame(log.summary_frame(), con, title=f"steps, in the order they ran ({log.source})", labels=["#", "step"],
                formats={"#": str, "step": str, "options": str, "changed": str}, wrap=["options", "changed"])
    weights = res.weights.reset_index().rename(columns={"index": "indicator", "within_group": "within group"})
    weights = weights.rename(columns={weights.columns[0]: "indicator"})
    print_frame(weights[["indicator", "dimension", "direction", "within group", "effective"]], con, title="weights",
                labels=["indicator"], formats={"within group": lambda v: f"{v:.4f}", "effective": lambda v: f"{v:.4f}"},
                right=["within group", "effective"])
    frame = res.to_frame()
    if unc is not None:
        frame = frame.merge(unc.summary[["region", "year", "rank_q05", "rank_q95"]], on=["region", "year"])
    last = shown
    cov = res.coverage
    frame = frame.merge(cov[["region", "year", res.framework.groups[-1].code]].rename(
        columns={res.framework.groups[-1].code: "coverage"}), on=["region", "year"], how="left")
    show = frame[frame["year"] == last] if last is not None else frame
    cols = ["region", "score", "rank"] + (["rank_q05", "rank_q95"] if unc is not None else []) + \
        [g.code for g in res.framework.groups[:-1] if g.level == 1] + ["coverage"]

    def score(v):
        return "missing" if pd.isna(v) else f"{v:.4g}"

    formats = {c: score for c in cols}
    formats.update(region=str, coverage=lambda v: share(v, percent, 2))
    table = show.sort_values("rank", na_position="last")[cols]
    print_frame(table, con, title=f"scores{f' ({last:g})' if last is not None else ''}", labels=["region"],
                formats=formats, right=cols[1:])
    if last is not None:
        dy = res.data_years
        from prosperity.index.pipeline import _spans

        later = dy[dy["year"] > last]
        parts = [f"{_spans(later.loc[later['share_scored'] < 0.5, 'year'])} too little data"] \
            if (later["share_scored"] < 0.5).any() else []
        scored = later[later["share_scored"] >= 0.5]
        for c, grp in scored.groupby("median_coverage", sort=False):
            parts.insert(0, f"{_spans(grp['year'])} cover {c:.0%}")
        why = f"; later years: {', '.join(parts)}" if parts else ""
        cov_row = dy[dy["year"] == last].iloc[0]
        con.print(f"year shown: {last:g}, the latest year with the best coverage ({cov_row['median_coverage']:.0%} of "
                  f"the components, median over regions) among those in which at least half of the regions have a "
                  f"score{why}. "
                  "Other years: --show-year Y; every year: --format csv|json.")
    n_missing = int(show["score"].isna().sum())
    cfg_cov = res.config.min_coverage
    con.print(f"coverage = share of the index's components with a value ({'percent' if percent else 'a fraction'}); "
              f"a group score needs >= {cfg_cov:.0%} of its components (--min-coverage)"
              + (f"; {n_missing} region(s) have no score" if n_missing else ""), overflow="fold")
    con.print(_units(res, panel), overflow="fold", highlight=False)


def _units(res, panel) -> str:
    """The footer's units: scores are unit-free; the indicators' units from the data set's metadata."""
    cfg = res.config
    scale = f"{cfg.normalisation}" + (f" {cfg.range}" if getattr(cfg, "range", None) else "")
    if panel == "china":
        from prosperity.index.china import INDICATORS

        codes = [code for code in res.weights.index if code in INDICATORS]
        where = ("the indicators' units (prosperity.index.china.INDICATORS): "
                 + ", ".join(f"{code} {INDICATORS[code][0]}" for code in codes)
                 + "; money in current prices unless stated")
    else:
        from prosperity.cli.layout import FROM_INPUT

        where = f"the indicators' units: {FROM_INPUT}"
    return f"units: scores and dimension scores are unit-free ({scale} normalised, {cfg.aggregation}); {where}"
