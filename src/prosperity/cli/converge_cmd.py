"""``prosperity converge PANEL``: sigma and beta convergence, Markov chains (spatial with boundaries)
and Phillips-Sul clubs for a region x time panel."""

from __future__ import annotations

import json

import typer


def register(app: typer.Typer) -> None:
    @app.command("converge")
    def converge(
        panel: str = typer.Argument(..., help="long table (CSV, Parquet, Excel): one row per region and period"),
        region: str = typer.Option(..., "--region", help="region id column"),
        time: str = typer.Option(..., "--time", help="period column (e.g. year)"),
        value: str = typer.Option(..., "--value", help="income column (per capita, or a total with --per)"),
        per: str = typer.Option(None, "--per", help="divide --value by this column (e.g. population) first"),
        deflator: str = typer.Option(None, "--deflator", help="divide --value by this price index column (real values)"),
        scale: float = typer.Option(1.0, "--scale", help="multiply the value by this factor (e.g. 10000: 10k yuan -> yuan)"),
        incomplete: str = typer.Option("error", "--incomplete", help="error | drop: regions with missing periods"),
        weight: str = typer.Option(None, "--weight", help="region size column (population) for weighted CV/Gini/Theil"),
        classes: int = typer.Option(5, "--classes", "-k", help="number of quantile classes of relative income"),
        cutoffs: str = typer.Option(None, "--cutoffs", help="relative-income cut-offs instead of quantiles, e.g. 0.8,0.9,1.1,1.2"),
        pooled: bool = typer.Option(False, "--pooled", help="pooled (all-period) quantile classes instead of per-period"),
        start: str = typer.Option(None, "--start", help="first period (default: first in the data)"),
        end: str = typer.Option(None, "--end", help="last period (default: last in the data)"),
        span: int = typer.Option(1, "--span", help="periods per span in the panel beta regression"),
        se: str = typer.Option(None, "--se", help="beta standard errors: classical | hc1 | cluster (default: hc1 for the "
                               "cross-section, cluster by region for the panel)"),
        geometry: str = typer.Option(None, "--geometry", help="GeoJSON with region boundaries, for spatial Markov and spatial tau"),
        id_field: str = typer.Option(None, "--id-field", help="GeoJSON property holding the region id (default: first that matches)"),
        spatial: bool = typer.Option(False, "--spatial", help="use the bundled China province boundaries"),
        link_islands: bool = typer.Option(False, "--link-islands", help="link islands (Hainan) to their nearest region"),
        clubs: bool = typer.Option(True, "--clubs/--no-clubs", help="Phillips-Sul club convergence"),
        hp_lambda: float = typer.Option(400.0, "--hp-lambda", help="HP filter smoothing for the club test"),
        fmt: str = typer.Option("table", "--format", "-f", help="table | json | csv (long: section, key, value)"),
        out_file: str = typer.Option(None, "--out", help="also write the long table: FILE.csv | .parquet | .xlsx | .json"),
        encoding: str = typer.Option(None, "--encoding", help="CSV/TSV encoding (default: detected, UTF-8 then GB18030)."),
        sep: str = typer.Option(None, "--sep", help="CSV/TSV separator: ',', ';', tab or '|' (default: detected)."),
    ) -> None:
        """Convergence and distribution dynamics of a regional panel."""
        from prosperity.cli.measure_cmd import fail
        from prosperity.cli.measure_cmd import read_options
        from prosperity.cli.output import checked_out, json_default, write_frame

        if fmt not in ("table", "json", "csv"):
            fail(f"--format must be table, json or csv, got {fmt!r}.")
        checked_out(out_file)
        se_choice = None if se is None else se.lower()
        if se_choice is not None and se_choice not in ("classical", "hc1", "cluster"):
            fail(f"--se must be classical, hc1 or cluster, got {se!r}.")
        if not hp_lambda > 0:
            fail(f"--hp-lambda must be a positive smoothing parameter, got {hp_lambda:g}. "
                 "Fix: 400 for annual data (Phillips-Sul), 1600 for quarterly.")
        try:
            out = _analyse(
                panel, region, time, value, per, deflator, scale, incomplete, weight, classes, cutoffs, pooled, start, end, span,
                geometry, id_field, spatial, link_islands, clubs, hp_lambda, read_options(encoding, sep), se_choice,
            )
        except (KeyError, ValueError, TypeError, FileNotFoundError) as exc:
            fail(exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc))
        if out_file or fmt == "csv":
            long = _long(json.loads(json.dumps(_to_json(out), default=json_default)))
            if out_file:
                typer.echo(write_frame(long, out_file), err=True)
            if fmt == "csv":
                typer.echo(long.to_csv(index=False), nl=False)
                return
        if fmt == "json":
            typer.echo(json.dumps(_to_json(out), indent=2, default=json_default))
        else:
            _print(out)


def _long(doc: dict):
    """The JSON document as one long table: section (dotted path), key (row/column indices or field), value."""
    import pandas as pd

    rows = []

    def walk(path, v):
        if isinstance(v, dict):
            for k, x in v.items():
                walk(f"{path}.{k}" if path else str(k), x)
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            for i, rec in enumerate(v):
                for k, x in rec.items():
                    walk(f"{path}[{i}].{k}", x)
        elif isinstance(v, list):
            for i, x in enumerate(v):
                walk(f"{path}[{i}]", x)
        else:
            section, _, key = path.rpartition(".")
            rows.append({"section": section, "key": key, "value": v})

    walk("", doc)
    return pd.DataFrame(rows, columns=["section", "key", "value"])


def _parse_time(text, times):
    if text is None:
        return None
    for t in times:
        if str(t) == text:
            return t
    raise ValueError(f"period {text!r} is not in the data (periods {times[0]}..{times[-1]})")


def _weights_for(regions, geometry, id_field, spatial, link_islands):
    from prosperity.dynamics.weights import china_province_weights, contiguity_weights

    islands = "nearest" if link_islands else "keep"
    fields = [id_field] if id_field else ["name_en", "adcode", "name_zh", "name", "id"]
    tried = []
    for f in fields:
        try:
            if spatial:
                w = china_province_weights(id_field=f, islands=islands)
            else:
                w = contiguity_weights(geometry, id_field=f, islands=islands)
        except KeyError:
            continue
        ids = {str(i) for i in w.ids}
        missing = [r for r in regions if str(r) not in ids]
        if not missing:
            lookup = {str(i): i for i in w.ids}
            from prosperity.dynamics.weights import SpatialWeights

            nb = {r: tuple(x for x in regions if str(x) in {str(j) for j in w.neighbors[lookup[str(r)]]}) for r in regions}
            return SpatialWeights(tuple(regions), nb), f
        tried.append(f"{f} (unmatched e.g. {missing[:3]})")
    raise KeyError(f"could not match the panel's region ids to the boundaries by any id field; tried {tried}")


def _analyse(path, region, time, value, per, deflator, scale, incomplete, weight, classes, cutoffs, pooled, start, end, span,
             geometry, id_field, spatial, link_islands, clubs, hp_lambda, file_options=None, se=None) -> dict:
    from prosperity.dynamics import (
        RegionPanel, beta_convergence, convergence_clubs, markov, panel_beta_convergence, rank_mobility,
        sigma_convergence, spatial_markov,
    )
    import pandas as pd

    from prosperity.io.read import read_table

    if geometry:
        from pathlib import Path

        if not Path(geometry).is_file():
            raise ValueError(f"--geometry file {geometry!r} does not exist. Fix: give the path of a GeoJSON file "
                             "with the region boundaries, or use --spatial for the bundled China provinces.")
    cols = [region, time, value] + [c for c in (per, deflator, weight) if c]
    frame = read_table(path, columns=list(dict.fromkeys(cols)), **(file_options or {}))
    if frame.empty:
        raise ValueError(f"{path!r} has a header but no data rows. Fix: export the panel with its rows, "
                         "one row per region and period.")
    times = sorted(frame[time].dropna().unique())
    t0, t1 = _parse_time(start, times), _parse_time(end, times)
    if t0 is not None:
        frame = frame[frame[time] >= t0]
    if t1 is not None:
        frame = frame[frame[time] <= t1]
    name = value
    if per:
        name = f"{name}/{per}"
        frame = frame.assign(**{name: frame[value] / frame[per]})
    if scale != 1.0:
        frame = frame.assign(**{f"{name}*{scale:g}": frame[name] * scale})
        name = f"{name}*{scale:g}"
    if deflator:
        frame = frame.assign(**{f"{name}/{deflator}": frame[name] / frame[deflator]})
        name = f"{name}/{deflator}"
    values = pd.to_numeric(frame[name], errors="coerce")
    bad = (values <= 0).to_numpy()
    if bad.any():
        rows = [int(i) + 1 for i in frame.index[bad]]
        raise ValueError(
            f"{name!r} has {len(rows)} value(s) <= 0 (data row{'s' if len(rows) > 1 else ''} "
            f"{', '.join(str(r) for r in rows[:5])}{' ...' if len(rows) > 5 else ''}: "
            f"{', '.join(f'{v:g}' for v in values[bad][:3])}; data rows count from 1 below the header); "
            "log-based convergence (sigma of logs, beta on log growth) needs positive incomes. "
            "Fix: correct these rows, or check --per, --scale and --deflator.")
    pnl = RegionPanel.from_long(frame, region=region, time=time, value=name, weight=weight, incomplete=incomplete)
    try:
        cut = [float(x) for x in cutoffs.split(",")] if cutoffs else None
    except ValueError:
        raise ValueError(f"--cutoffs must be numbers separated by commas, got {cutoffs!r}. "
                         "Fix: e.g. --cutoffs 0.8,0.9,1.1,1.2 (relative income, 1 = the period's mean).") from None
    out = {"panel": repr(pnl)}
    out["sigma"] = sigma_convergence(pnl)
    # --se: one choice for both regressions; the cross-section has one observation per region, so
    # clustering by region is HC1 there (CR1 with singleton clusters differs only by a dof factor): said in the output
    se_cross = {"classical": "classical", "hc1": "HC1", "cluster": "HC1", None: "robust"}[se]
    se_panel = {"classical": "classical", "hc1": "HC1", "cluster": "cluster", None: "cluster"}[se]
    out["beta"] = beta_convergence(pnl, se=se_cross)
    out["beta_panel"] = [panel_beta_convergence(pnl, span=span, effects=e, se=se_panel) for e in ("time", "region", "twoway")]
    out["se_note"] = (f"standard errors: cross-section {out['beta'].se_type}, panel {se_panel}"
                      + (" (one observation per region: CR1 by region equals HC1 in the cross-section)"
                         if se == "cluster" else ""))
    out["markov"] = markov(pnl, classes, cutoffs=cut, pooled=pooled)
    if geometry or spatial:
        w, used = _weights_for(pnl.regions, geometry, id_field, spatial, link_islands)
        out["weights"] = f"{w!r} matched on {used!r}"
        out["spatial_markov"] = spatial_markov(pnl, w, classes, cutoffs=cut, lag_cutoffs=None, pooled=True)
        out["rank"] = rank_mobility(pnl, w, pairs="first")
    else:
        out["rank"] = rank_mobility(pnl, pairs="first")
    if clubs:
        try:
            out["clubs"] = convergence_clubs(pnl, lamb=hp_lambda)
        except ValueError as exc:
            out["clubs_error"] = str(exc)
    return out


def _to_json(out: dict) -> dict:
    import numpy as np

    from prosperity.dynamics.markov import chain_structure

    res = {"panel": out["panel"]}
    s = out["sigma"]
    res["sigma"] = {"series": s.series.reset_index().to_dict(orient="records"), "trend": s.trend.reset_index().to_dict(orient="records")}
    res["beta"] = out["beta"].to_frame().to_dict(orient="records")[0]
    res["beta_panel"] = [b.to_frame().to_dict(orient="records")[0] for b in out["beta_panel"]]
    m = out["markov"]
    st = m.structure
    res["se"] = out["se_note"]
    res["markov"] = {
        "classes": m.labels, "counts": m.counts.tolist(), "p": m.p.tolist(),
        "ergodic": m.ergodic.tolist() if st.irreducible else None,
        "irreducible": st.irreducible,
        "structure": {"communicating": [list(c) for c in st.communicating], "closed": [list(c) for c in st.closed],
                      "transient": list(st.transient), "never_left": list(st.empty), "explanation": st.explanation},
        "mobility": m.mobility(), "prais": m.prais.tolist(), "sojourn": [None if (not np.isfinite(x) or lab in st.empty) else x for x, lab in zip(m.sojourn, m.labels)],
    }
    if "spatial_markov" in out:
        sm = out["spatial_markov"]
        h = sm.homogeneity
        res["weights"] = out["weights"]
        structures = [chain_structure(p, sm.labels) for p in sm.p]
        erg = sm.ergodic
        res["spatial_markov"] = {
            "lag_classes": sm.lag_labels, "p": sm.p.tolist(), "counts": sm.counts.tolist(),
            "ergodic": [e.tolist() if s_.irreducible else None for e, s_ in zip(erg, structures)],
            "ergodic_note": {lab: s_.explanation for lab, s_ in zip(sm.lag_labels, structures) if not s_.irreducible},
            "homogeneity": {"LR": h.lr, "Q": h.q, "dof": h.dof, "LR_p": h.lr_pvalue, "Q_p": h.q_pvalue},
            "steady_state_test": ([{"lag_class": lab, "chi2": x, "p": p_, "dof": d} for lab, (x, p_, d) in zip(sm.lag_labels, sm.shtest)]
                                  if m.structure.irreducible and all(s_.irreducible for s_ in structures) else None),
        }
    res["rank"] = out["rank"].table.to_dict(orient="records")
    if "clubs_error" in out:
        res["clubs"] = {"error": out["clubs_error"]}
    if "clubs" in out:
        c = out["clubs"]
        res["clubs"] = {
            "overall": {"b": c.overall.b, "se": c.overall.se, "t": c.overall.t},
            "clubs": [{"members": list(k.members), "b": k.test.b, "se": k.test.se, "t": k.test.t} for k in c.clubs],
            "divergent": list(c.divergent),
        }
    return res


def _print(out: dict) -> None:
    from rich.console import Console

    console = Console()  # the terminal width (80 when not a terminal); long lines wrap, nothing is cut
    console.print(f"[bold]{out['panel']}[/bold]")
    console.rule("sigma-convergence")
    console.print(repr(out["sigma"]), markup=False)
    console.rule("beta-convergence")
    console.print(out["se_note"], markup=False)
    console.print(repr(out["beta"]), markup=False)
    for b in out["beta_panel"]:
        console.print(repr(b), markup=False)
    console.rule("Markov chain of relative income classes")
    console.print(repr(out["markov"]), markup=False)
    if "spatial_markov" in out:
        console.rule("spatial Markov chain")
        console.print(out["weights"], markup=False)
        sm = out["spatial_markov"]
        console.print(repr(sm), markup=False)
        from prosperity.dynamics.markov import chain_structure

        notes = [(lab, chain_structure(p, sm.labels)) for lab, p in zip(sm.lag_labels, sm.p)]
        for lab, st in notes:
            if not st.irreducible:
                console.print(f"lag class {lab}: no steady state: {st.explanation}", markup=False)
        if out["markov"].structure.irreducible and all(st.irreducible for _, st in notes):
            console.print("steady-state homogeneity (giddy shtest): " + "; ".join(
                f"{lab} chi2={x:.3f} p={p:.4g} dof={d}" for lab, (x, p, d) in zip(sm.lag_labels, sm.shtest)), markup=False)
    console.rule("rank mobility (Kendall tau vs first period)")
    t = out["rank"].table
    console.print(t.iloc[[0, len(t) // 2, len(t) - 1]].to_string(index=False, float_format=lambda v: f"{v:.4g}"), markup=False)
    if "clubs_error" in out:
        console.rule("club convergence (Phillips-Sul)")
        console.print(f"not computed: {out['clubs_error']}", markup=False)
    if "clubs" in out:
        console.rule("club convergence (Phillips-Sul)")
        console.print(repr(out["clubs"]), markup=False)
