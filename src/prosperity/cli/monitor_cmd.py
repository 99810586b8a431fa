"""``prosperity monitor``: the common-prosperity monitoring report on the bundled real data
(:func:`prosperity.report.build_monitor`)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    register_runs(app)

    @app.command("serve")
    def serve(
        store: str = typer.Option(None, "--store", help="the DuckDB store of runs (default: see prosperity monitor)"),
        host: str = typer.Option("127.0.0.1", "--host", help="address to bind (default loopback only)"),
        port: int = typer.Option(8050, "--port", help="TCP port"),
        households: int = typer.Option(100_000, "--households", help="synthetic households of the reform panel"),
        allow_write: bool = typer.Option(False, "--allow-write", help="allow write endpoints (none exist yet)"),
    ) -> None:
        """Local dashboard: province measures (ranked chart and table), a province's profile, the index explorer with rank
        intervals, a live reform panel, the runs in the store. JSON endpoints: see docs/dashboard.md."""
        from prosperity.cli.measure_cmd import fail

        if not 0 < port < 65536:
            fail(f"--port must be 1-65535, got {port}.")
        if households < 1000:
            fail(f"--households {households}: at least 1,000.")
        import uvicorn

        from prosperity.report.dashboard import create_app

        if host not in ("127.0.0.1", "localhost", "::1"):
            typer.echo(f"warning: binding {host}: the dashboard is reachable from other machines", err=True)
        typer.echo(f"prosperity dashboard on http://{host}:{port}/ (read-only; Ctrl-C to stop)")
        uvicorn.run(create_app(store=store, households=households, allow_write=allow_write), host=host, port=port,
                    log_level="warning")

    @app.command("monitor")
    def monitor(
        project: str = typer.Argument(None, metavar="[PROJECT.yaml]", help="project file: your data sets (paths and "
                                      "column mapping), frameworks, targets, scenarios (docs/monitor.md); default: "
                                      "the bundled data"),
        year: int = typer.Option(None, "--year", "-y", help="report year (default: the project's, else the latest "
                                 "year of the national survey)"),
        lang: str = typer.Option(None, "--lang", help="en | zh (default: the project's, else en)"),
        out: str = typer.Option("monitor", "--out", "-o", help="output directory: report.html and tables/"),
        persons: int = typer.Option(200_000, "--persons", help="synthetic population for the decomposition and scenarios"),
        draws: int = typer.Option(200, "--draws", help="Monte Carlo draws of the index's rank intervals (0 = none)"),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
        store: str = typer.Option(None, "--store", help="DuckDB store the run is recorded in (default "
                                  "$PROSPERITY_STORE or ~/.local/share/prosperity/store.duckdb)"),
        no_store: bool = typer.Option(False, "--no-store", help="do not record the run"),
    ) -> None:
        """Monitoring report: headline indicators, three gaps, distribution, regions, decomposition,
        composite index, policy scenarios, methods; one self-contained HTML file and its tables."""
        import sys

        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
        from rich.table import Table

        from prosperity.cli.measure_cmd import fail
        from prosperity.report import build_monitor

        from prosperity.report.project import ProjectError, load_project

        if lang is not None and lang not in ("en", "zh"):
            fail(f"--lang must be en or zh, got {lang!r}.")
        if persons < 1000:
            fail(f"--persons {persons}: the synthetic population needs at least 1,000 persons (default 200,000).")
        if draws < 0:
            fail(f"--draws is a number of Monte Carlo draws, got {draws}. Fix: 0 for no rank intervals.")
        steps = ["three gaps", "distribution", "regions", "decomposition", "composite index", "policy scenarios", "methods",
                 "store"]
        console = Console(stderr=True)
        show = not quiet and sys.stderr.isatty()
        try:
            loaded = load_project(project) if project is not None else None  # every problem at once, before any work
        except ProjectError as exc:
            typer.echo("error: " + str(exc), err=True)
            raise typer.Exit(code=2) from None
        try:
            if show:
                with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console) as bar:
                    task = bar.add_task("monitor", total=len(steps))
                    seen = []

                    def progress(name):
                        if seen:
                            bar.advance(task)
                        seen.append(name)
                        bar.update(task, description=name)
                    report = build_monitor(year, lang=lang, out=out, persons=persons, draws=draws, progress=progress,
                                          store=False if no_store else store, project=loaded)
                    bar.update(task, completed=len(steps))
            else:
                report = build_monitor(year, lang=lang, out=out, persons=persons, draws=draws,
                                       store=False if no_store else store, project=loaded)
        except (ValueError, KeyError, OSError) as exc:
            fail(exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc))
        head = report.summary()
        table = Table(title=f"common prosperity {report.year}: headline indicators")
        for c in ("indicator", str(report.year), "trend/yr", "target", "status"):
            table.add_column(c, justify="left" if c in ("indicator", "status") else "right")
        for r in head.itertuples():
            big = abs(r.value) >= 1000
            table.add_row(r.label, f"{r.value:,.0f}" if big else f"{r.value:.4g}",
                          f"{r.trend_per_year:+,.0f}" if big else f"{r.trend_per_year:+.3g}",
                          "" if r.target != r.target or r.target is None else f"{r.target:g}", r.status or "")
        Console().print(table)
        # one path a line, so the lines fit the terminal as far as the paths allow
        typer.echo(f"report: {report.html_path}")
        typer.echo(f"  {report.html_path.stat().st_size / 1e6:.1f} MB, opens offline; built in {report.seconds:.0f} s")
        typer.echo(f"tables: {report.out / 'tables'}")
        typer.echo(f"  {len(report.tables)} tables, CSV and Parquet")
        if report.run_id is not None:
            typer.echo(f"run {report.run_id} recorded in:")
            typer.echo(f"  {report.store}")
            typer.echo(f"  (prosperity runs show {report.run_id})")


def register_runs(app: typer.Typer) -> None:
    runs = typer.Typer(help="The store of monitoring runs: list, show RUN, diff A B.", no_args_is_help=True,
                       rich_markup_mode=None)
    app.add_typer(runs, name="runs")

    def _store(path):
        from prosperity.report.store import default_store

        return path or str(default_store())

    @runs.command("list")
    def list_cmd(store: str = typer.Option(None, "--store", help="the DuckDB store (default: see prosperity monitor)"),
                 fmt: str = typer.Option("table", "--format", "-f", help="table | json | csv")) -> None:
        """Every recorded run."""
        from prosperity.report.store import list_runs

        frame = list_runs(_store(store))
        _emit(frame, fmt)

    @runs.command("show")
    def show_cmd(run: int = typer.Argument(..., help="run id"), store: str = typer.Option(None, "--store"),
                 fmt: str = typer.Option("table", "--format", "-f", help="table | json")) -> None:
        """One run: parameters, inputs (SHA-256), version, code hash, its tables."""
        import json

        from prosperity.cli.measure_cmd import fail
        from prosperity.report.store import show_run

        try:
            info = show_run(_store(store), run)
        except ValueError as exc:
            fail(str(exc))
        if fmt == "json":
            typer.echo(json.dumps(info, default=str, indent=2, ensure_ascii=False))
            return
        for k in ("run_id", "started", "duration_s", "version", "code_sha256", "year", "lang", "parameters"):
            typer.echo(f"{k}: {info[k]}")
        typer.echo("inputs:")
        for f, h in info["inputs"].items():
            typer.echo(f"  {f}  {h[:16]}")
        typer.echo("tables:")
        for t in info["tables"]:
            typer.echo(f"  {t['table_name']}: {t['rows']} rows x {t['columns']} columns")

    @runs.command("diff")
    def diff_cmd(a: int = typer.Argument(...), b: int = typer.Argument(...), store: str = typer.Option(None, "--store"),
                 fmt: str = typer.Option("table", "--format", "-f", help="table | json"),
                 limit: int = typer.Option(30, "--limit", help="moved cells to print (table format)")) -> None:
        """Which numbers moved between runs A and B, and whether the inputs or the code changed."""
        import json

        from prosperity.cli.measure_cmd import fail
        from prosperity.report.store import diff_runs

        try:
            d = diff_runs(_store(store), a, b)
        except ValueError as exc:
            fail(str(exc))
        if fmt == "json":
            out = {k: v for k, v in d.items() if k != "moved"}
            out["moved"] = json.loads(d["moved"].to_json(orient="records"))
            typer.echo(json.dumps(out, default=str, indent=2, ensure_ascii=False))
            return
        typer.echo(f"runs {a} -> {b}: {d['cells_moved']} cell(s) moved")
        typer.echo("inputs changed: " + (", ".join(f"{i['file']} ({(i['sha256_a'] or 'absent')[:12]} -> "
                                                    f"{(i['sha256_b'] or 'absent')[:12]})" for i in d["inputs_changed"])
                                          or "none"))
        typer.echo(f"code changed: {'yes' if d['code_changed'] else 'no'} (version {d['version'][0]} -> {d['version'][1]})")
        typer.echo("parameters changed: " + (", ".join(f"{k} {v[0]} -> {v[1]}" for k, v in d["parameters_changed"].items())
                                             or "none"))
        if d["cells_moved"]:
            typer.echo(d["moved"].head(limit).to_string(index=False))


def _emit(frame, fmt):
    from prosperity.cli.measure_cmd import fail

    if fmt == "json":
        typer.echo(frame.to_json(orient="records", date_format="iso", indent=2))
    elif fmt == "csv":
        typer.echo(frame.to_csv(index=False), nl=False)
    elif fmt == "table":
        typer.echo(frame.to_string(index=False) if len(frame) else "no runs recorded yet")
    else:
        fail(f"--format must be table, json or csv, got {fmt!r}.")
