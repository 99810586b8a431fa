"""``prosperity spatial DATA``: global Moran's I (moments under normality and randomisation, permutation
p-value), local Moran (LISA quadrants, conditional-permutation p-values, clusters) and, for a panel, the
LISA Markov chain. Weights from a ``.gal``/``.gwt`` file, a GeoJSON, or the bundled China provinces."""

from __future__ import annotations

import json

import typer

TABLES = ("moran", "lisa", "lisa_markov")


def register(app: typer.Typer) -> None:
    @app.command("spatial")
    def spatial(
        data: str = typer.Argument(..., help="table (CSV, Parquet, Excel): one row per region (and period with --time)"),
        region: str = typer.Option(..., "--region", help="region id column"),
        value: str = typer.Option(..., "--value", help="the variable (e.g. income per capita)"),
        per: str = typer.Option(None, "--per", help="divide --value by this column (e.g. population) first"),
        time: str = typer.Option(None, "--time", help="period column: Moran's I per period and the LISA Markov chain"),
        incomplete: str = typer.Option("error", "--incomplete", help="error | drop: regions with missing periods"),
        year: str = typer.Option(None, "--year", help="period of the LISA table (default: the last)"),
        weights: str = typer.Option(None, "--weights", help="weights file: FILE.gal or FILE.gwt (ids = region ids)"),
        geometry: str = typer.Option(None, "--geometry", help="GeoJSON with region boundaries (queen contiguity)"),
        id_field: str = typer.Option(None, "--id-field", help="GeoJSON property holding the region id"),
        bundled: bool = typer.Option(False, "--china", help="queen contiguity of the bundled China province boundaries"),
        link_islands: bool = typer.Option(False, "--link-islands", help="link islands (Hainan) to their nearest region"),
        transformation: str = typer.Option("r", "--transformation", help="r (row-standardised) | b (binary) | o (as given)"),
        permutations: int = typer.Option(999, "--permutations", help="random permutations (0: analytical inference only)"),
        seed: int = typer.Option(12345, "--seed", help="random seed (esda's draws for the same seed)"),
        alpha: float = typer.Option(0.05, "--alpha", help="significance level of the LISA clusters"),
        table: str = typer.Option("moran", "--table", help="table for --format csv and --out: moran | lisa | lisa_markov"),
        fmt: str = typer.Option("table", "--format", "-f", help="table | json | csv"),
        out_file: str = typer.Option(None, "--out", help="also write the --table: FILE.csv | .parquet | .xlsx | .json"),
        encoding: str = typer.Option(None, "--encoding", help="CSV/TSV encoding (default: detected, UTF-8 then GB18030)."),
        sep: str = typer.Option(None, "--sep", help="CSV/TSV separator: ',', ';', tab or '|' (default: detected)."),
    ) -> None:
        """Spatial autocorrelation: Moran's I, LISA clusters, LISA Markov."""
        from prosperity.cli.measure_cmd import fail, read_options
        from prosperity.cli.output import checked_out, json_default, write_frame

        if fmt not in ("table", "json", "csv"):
            fail(f"--format must be table, json or csv, got {fmt!r}.")
        if table not in TABLES:
            fail(f"--table must be one of {', '.join(TABLES)}, got {table!r}.")
        if sum(bool(x) for x in (weights, geometry, bundled)) != 1:
            fail("give exactly one source of spatial weights: --weights FILE.gal|.gwt, --geometry FILE.geojson or --china.")
        if transformation not in ("r", "b", "o"):
            fail(f"--transformation must be r, b or o, got {transformation!r}.")
        if permutations < 0:
            fail(f"--permutations must be >= 0, got {permutations}.")
        if not 0 < alpha < 1:
            fail(f"--alpha must be between 0 and 1, got {alpha:g}.")
        if table == "lisa_markov" and not time:
            fail("--table lisa_markov needs a panel: give --time.")
        checked_out(out_file)
        try:
            out = analyse(data, region, value, per, time, incomplete, year, weights, geometry, id_field, bundled, link_islands,
                          transformation, permutations, seed, alpha, read_options(encoding, sep))
        except (KeyError, ValueError, TypeError, FileNotFoundError) as exc:
            fail(exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc))
        frame = out["tables"][table]
        if out_file:
            typer.echo(write_frame(frame, out_file), err=True)
        if fmt == "csv":
            typer.echo(frame.to_csv(index=False), nl=False)
        elif fmt == "json":
            typer.echo(json.dumps(to_json(out), indent=2, default=json_default))
        else:
            _print(out)


def _match(w, regions):
    """The weights re-keyed to the panel's region ids (matched as text); every region must be in them."""
    from prosperity.dynamics.weights import SpatialWeights

    lookup = {str(i): i for i in w.ids}
    missing = [r for r in regions if str(r) not in lookup]
    if missing:
        raise KeyError(f"region(s) {[str(r) for r in missing[:6]]} of the data are not in the weights (whose ids look like "
                       f"{list(w.ids)[:5]}). Fix: use weights whose ids are the values of the region column")
    sub = w.subset([lookup[str(r)] for r in regions])
    back = {lookup[str(r)]: r for r in regions}
    nb = {back[i]: tuple(back[j] for j in sub.neighbors[i]) for i in sub.ids}
    vals = None if sub.values is None else {back[i]: sub.values[i] for i in sub.ids}
    extra = len(w.ids) - len(regions)
    return SpatialWeights(tuple(regions), nb, vals), extra


def analyse(path, region, value, per, time, incomplete, year, weights, geometry, id_field, bundled, link_islands, transformation,
            permutations, seed, alpha, file_options=None) -> dict:
    import pandas as pd

    from prosperity.dynamics import RegionPanel
    from prosperity.dynamics.markov import lisa_markov
    from prosperity.io.read import read_table
    from prosperity.spatial import moran, moran_local, read_weights

    cols = [region, value] + ([per] if per else []) + ([time] if time else [])
    frame = read_table(path, columns=list(dict.fromkeys(cols)), **(file_options or {}))
    if frame.empty:
        raise ValueError(f"{path!r} has a header but no data rows. Fix: one row per region (and period).")
    if per:
        name = f"{value}/{per}"
        frame = frame.assign(**{name: pd.to_numeric(frame[value], errors="coerce") / pd.to_numeric(frame[per], errors="coerce")})
        value = name
    if time:
        panel = RegionPanel.from_long(frame, region=region, time=time, value=value, incomplete=incomplete)
    else:
        dup = frame[region].duplicated(keep=False)
        if dup.any():
            rows = [int(i) + 1 for i in frame.index[dup]][:5]
            raise ValueError(f"region ids repeat in {region!r} (data rows {rows}; rows count from 1 below the header). "
                             "Fix: one row per region, or give --time for a panel")
        panel = RegionPanel.from_long(frame.assign(__t=0), region=region, time="__t", value=value)
    notes = list(getattr(panel, "notes", ()) or ())
    if weights:
        w, extra = _match(read_weights(weights), panel.regions)
        source = f"{weights}"
    else:
        from prosperity.cli.converge_cmd import _weights_for

        w, used = _weights_for(panel.regions, geometry, id_field, bundled, link_islands)
        extra = 0
        source = f"{'bundled China provinces' if bundled else geometry} (queen, matched on {used!r})"
    if extra > 0:
        notes.append(f"the weights have {extra} region(s) not in the data; their links are not used")
    if w.islands:
        notes.append(f"island(s) without neighbours: {[str(i) for i in w.islands]} (zero lag; no local p-value)")
    times = list(panel.times)
    rows = []
    morans = {}
    for k, t in enumerate(times):
        m = moran(pd.Series(panel.values[:, k], index=list(panel.regions)), w, transformation=transformation,
                  permutations=permutations, seed=seed)
        morans[t] = m
        f = m.to_frame()
        if time:
            f.insert(0, "time", t)
        rows.append(f)
    moran_table = pd.concat(rows, ignore_index=True)
    if year is None:
        t_lisa = times[-1]
    else:
        match = [t for t in times if str(t) == str(year)]
        if not match:
            raise ValueError(f"--year {year!r} is not a period of the data ({times[0]}..{times[-1]})")
        t_lisa = match[0]
    k = times.index(t_lisa)
    lisa = moran_local(pd.Series(panel.values[:, k], index=list(panel.regions)), w, transformation=transformation,
                       permutations=permutations, seed=seed)
    lisa_table = lisa.to_frame(alpha)
    if time:
        lisa_table.insert(0, "time", t_lisa)
    out = {"weights": f"{w!r} from {source}", "notes": notes, "moran": morans, "lisa": lisa, "lisa_time": t_lisa,
           "time": bool(time), "alpha": alpha, "tables": {"moran": moran_table, "lisa": lisa_table}}
    if time and len(times) >= 2:
        if transformation != "r":
            notes.append("the LISA Markov chain uses row-standardised weights (giddy), whatever --transformation")
        lm = lisa_markov(panel, w, permutations=permutations, seed=seed)
        out["lisa_markov"] = lm
        out["tables"]["lisa_markov"] = lm.to_frame()
    elif time:
        raise ValueError("--time gives one period only: the LISA Markov chain needs two or more")
    return out


def to_json(out: dict) -> dict:
    import numpy as np

    def num(x):
        return None if x is None or (isinstance(x, float) and not np.isfinite(x)) else x

    res = {"weights": out["weights"], "notes": out["notes"], "moran": []}
    for t, m in out["moran"].items():
        rec = {"I": m.I, "n": m.n, "EI": m.EI, "VI_norm": m.VI_norm, "z_norm": m.z_norm, "p_norm": m.p_norm,
               "VI_rand": m.VI_rand, "z_rand": m.z_rand, "p_rand": m.p_rand, "two_tailed": m.two_tailed,
               "permutations": m.permutations, "seed": m.seed}
        if m.permutations:
            rec.update(p_sim=m.p_sim, EI_sim=m.EI_sim, seI_sim=m.seI_sim, z_sim=m.z_sim, p_z_sim=m.p_z_sim)
        if out["time"]:
            rec = {"time": t, **rec}
        res["moran"].append(rec)
    lt = out["tables"]["lisa"]
    res["lisa"] = {"time": out["lisa_time"] if out["time"] else None, "alpha": out["alpha"],
                   "regions": [{k: num(v) for k, v in r.items()} for r in lt.to_dict(orient="records")]}
    if "lisa_markov" in out:
        lm = out["lisa_markov"]
        st = lm.chain.structure
        x2, p, dof = lm.chi2
        res["lisa_markov"] = {
            "quadrants": ["HH", "LH", "LL", "HL"], "counts": lm.counts.tolist(), "p": lm.p.tolist(),
            "steady_state": lm.steady_state.tolist() if st.irreducible else None,
            "steady_state_note": None if st.irreducible else st.explanation,
            "expected": lm.expected.tolist(), "independence": {"chi2": x2, "p": p, "dof": dof},
        }
    return res


def _print(out: dict) -> None:
    from rich.console import Console

    console = Console()  # the terminal width (80 when not a terminal); long lines wrap, nothing is cut
    console.print(out["weights"], markup=False)
    for n in out["notes"]:
        console.print(f"note: {n}", markup=False)
    import pandas as pd

    console.rule("global Moran's I")
    rows = []
    for t, m in out["moran"].items():
        r = {"time": t} if out["time"] else {}
        r.update({"I": m.I, "E[I]": m.EI, "z_norm": m.z_norm, "p_norm": m.p_norm, "z_rand": m.z_rand, "p_rand": m.p_rand})
        if m.permutations:
            r["p_sim"] = m.p_sim
        rows.append(r)
    console.print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.4g}"), markup=False)
    console.print("p_norm, p_rand: two-sided normal; p_sim: pseudo p (M+1)/(R+1), one-sided", markup=False)
    console.rule(f"local Moran (LISA){' ' + str(out['lisa_time']) if out['time'] else ''}")
    console.print(repr(out["lisa"]), markup=False)
    lt = out["tables"]["lisa"]
    cols = ["region", "value", "I", "quadrant"] + (["p_sim", "cluster"] if "p_sim" in lt else [])
    console.print(lt[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}",
                                     formatters={"value": lambda v: f"{v:,.6g}"}), markup=False)
    if "lisa_markov" in out:
        console.rule("LISA Markov (quadrant transitions)")
        console.print(repr(out["lisa_markov"]), markup=False)
