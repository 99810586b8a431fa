"""``prosperity monitor``: the common-prosperity monitoring report on the bundled real data
(:func:`prosperity.report.build_monitor`)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("monitor")
    def monitor(
        year: int = typer.Option(None, "--year", "-y", help="report year (default: the latest year of the national survey)"),
        lang: str = typer.Option("en", "--lang", help="en | zh"),
        out: str = typer.Option("monitor", "--out", "-o", help="output directory: report.html and tables/"),
        persons: int = typer.Option(200_000, "--persons", help="synthetic population for the decomposition and scenarios"),
        draws: int = typer.Option(200, "--draws", help="Monte Carlo draws of the index's rank intervals (0 = none)"),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
    ) -> None:
        """Monitoring report: headline indicators, three gaps, distribution, regions, decomposition,
        composite index, policy scenarios, methods; one self-contained HTML file and its tables."""
        import sys

        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
        from rich.table import Table

        from prosperity.cli.measure_cmd import fail
        from prosperity.report import build_monitor

        if lang not in ("en", "zh"):
            fail(f"--lang must be en or zh, got {lang!r}.")
        if persons < 1000:
            fail(f"--persons {persons}: the synthetic population needs at least 1,000 persons (default 200,000).")
        if draws < 0:
            fail(f"--draws is a number of Monte Carlo draws, got {draws}. Fix: 0 for no rank intervals.")
        steps = ["three gaps", "distribution", "regions", "decomposition", "composite index", "policy scenarios", "methods"]
        console = Console(stderr=True)
        show = not quiet and sys.stderr.isatty()
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
                    report = build_monitor(year, lang=lang, out=out, persons=persons, draws=draws, progress=progress)
                    bar.update(task, completed=len(steps))
            else:
                report = build_monitor(year, lang=lang, out=out, persons=persons, draws=draws)
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
        typer.echo(f"report: {report.html_path} ({report.html_path.stat().st_size / 1e6:.1f} MB, opens offline); "
                   f"tables: {report.out / 'tables'} ({len(report.tables)} tables, CSV and Parquet); "
                   f"{report.seconds:.0f} s")
