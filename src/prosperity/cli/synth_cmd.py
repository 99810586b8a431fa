"""``prosperity synth``: write a synthetic population consistent with published tables to Parquet.

Output: ``--format table`` (default) a line saying what was written; ``json`` the summary object
``{"path", "rows", "persons", "year", "seed", "level"}`` (with ``--check``: ``{"summary": {...},
"check": [{"margin", "key", "role", "target", "synthetic", "rel_error"}, ...]}``); ``csv`` the summary
as one row (with ``--check``: the check frame). A progress bar (rich) runs on stderr while the chunks
are written, on a terminal only and not with ``--quiet``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from .layout import PERCENT, QUIET

UNITS = {"cell_mean": "yuan per person per year", "area_mean": "yuan per person per year",
         "quintile_group_relative_mean": "ratio to the area mean", "cell_population": "persons",
         "mean_household_size": "persons", "gini": "index"}


def register(app: typer.Typer) -> None:
    @app.command("synth")
    def synth_command(
        out: Path = typer.Option(..., "--out", "-o", help="Output Parquet file."),
        persons: int = typer.Option(1_000_000, "--persons", "-n", help="Number of synthetic persons (10^3 .. 10^8+)."),
        seed: int = typer.Option(1, "--seed", help="Random seed (same seed, same population)."),
        year: int = typer.Option(2024, "--year", help="Year of the published tables (2016-2024)."),
        level: str = typer.Option("person", "--level", help="Rows: 'person' or 'household'."),
        distribution: str = typer.Option("gb2", "--distribution", help="Within-cell distribution: 'gb2' or 'lognormal'."),
        allocation: str = typer.Option("proportional", "--allocation",
                                       help="Persons per cell: 'proportional' or 'sqrt' (oversample small cells)."),
        chunk_persons: int = typer.Option(2**20, "--chunk-persons", help="Persons per written chunk (memory bound)."),
        check: bool = typer.Option(False, "--check", help="Print the margins table: each margin's target, achieved "
                                                          "value and relative error (loads the file; small sizes only)."),
        calibrate_gini: bool = typer.Option(False, "--calibrate-gini/--no-calibrate-gini",
                                            help="Also match the official national Gini with a Pareto top tail "
                                                 "(quintile-group means then miss by up to ~20 %)."),
        household_sizes: Path = typer.Option(None, "--household-sizes", metavar="FILE",
                                             help="CSV with columns size,share (one row per household size, the "
                                                  "largest meaning that many or more; shares sum to 1) replacing the "
                                                  "bundled census 2020 household-size shares."),
        fmt: str = typer.Option("table", "--format", "-f", help="table | json | csv."),
        quiet: bool = QUIET,
        percent: bool = PERCENT,
    ) -> None:
        """Generate household microdata matching provincial means and population, urban/rural quintile
        groups and income-source shares; streamed to Parquet in chunks."""
        from prosperity.cli.layout import progress_wanted
        from prosperity.cli.measure_cmd import FORMATS, fail
        from prosperity.synth import write_population
        from prosperity.synth.targets import read_household_sizes

        if fmt not in FORMATS:
            fail(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}.")
        if out.suffix.lower() not in (".parquet", ".pq"):
            typer.echo(f"error: --out {str(out)!r} must be a Parquet file (.parquet): the population is written "
                       "as Parquet in chunks. Fix: name the output e.g. china_2024.parquet", err=True)
            raise typer.Exit(2)
        if chunk_persons < 1:
            typer.echo(f"error: --chunk-persons must be a positive number of persons, got {chunk_persons}. "
                       "Fix: leave the default (1,048,576) or give e.g. 100000", err=True)
            raise typer.Exit(2)
        options = dict(year=year, persons=persons, seed=seed, level=level, distribution=distribution,
                       allocation=allocation, chunk_persons=chunk_persons, calibrate_gini=calibrate_gini)
        try:
            sizes = None if household_sizes is None else read_household_sizes(household_sizes)
            if progress_wanted(quiet):
                summary = _with_progress(out, options, sizes)
            else:
                summary = write_population(out, household_sizes=sizes, **options)
        except ValueError as error:
            typer.echo(f"error: {' '.join(str(error).split())}", err=True)
            raise typer.Exit(2) from None
        table = None
        if check:
            import pandas as pd

            from prosperity.synth import margins

            table = margins(pd.read_parquet(out), year, calibrate_gini=calibrate_gini, household_sizes=sizes)
        if fmt == "json":
            doc = summary if table is None else {"summary": summary,
                                                 "check": json.loads(table.to_json(orient="records", double_precision=15))}
            typer.echo(json.dumps(doc))
        elif fmt == "csv":
            import pandas as pd

            sys.stdout.write((pd.DataFrame([summary]) if table is None else table).to_csv(index=False))
        else:
            from prosperity.cli.layout import console

            console().print(f"written {summary['rows']:,} {summary['level']} rows ({summary['persons']:,} persons, "
                            f"year {summary['year']}, seed {summary['seed']}) to {summary['path']}", overflow="fold",
                            highlight=False)
            if table is not None:
                print_check(table, percent)


def _with_progress(out, options: dict, sizes) -> dict:
    """write_population with a rich progress bar of the persons written (on stderr)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from prosperity.synth import write_population

    columns = (TextColumn("synth"), BarColumn(), MofNCompleteColumn(), TextColumn("persons"), TimeElapsedColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("synth", total=options["persons"])
        return write_population(out, household_sizes=sizes, progress=lambda done, total: bar.update(
            task, completed=done, total=total), **options)


def check_frame(table):
    """One row per margin: its role, how many keys, and the key with the largest relative error with its
    target, achieved value and relative error (achieved / target - 1)."""
    import pandas as pd

    rows = []
    for margin, part in table.groupby("margin", sort=False):
        worst = part.loc[part["rel_error"].abs().fillna(float("inf")).idxmax()]
        rows.append({"margin": margin, "role": part["role"].iloc[0], "keys": len(part),
                     "key": worst["key"] if len(part) > 1 else str(worst["key"]), "target": worst["target"],
                     "achieved": worst["synthetic"], "relative error": worst["rel_error"]})
    return pd.DataFrame(rows)


def print_check(table, percent: bool = False) -> None:
    """The labelled check table: per margin the worst key's target, achieved value and relative error."""
    from prosperity.cli.layout import number, print_frame, share

    frame = check_frame(table)
    rel = (lambda v: share(v, percent))  # noqa: E731
    print_frame(frame, title="margins: target, achieved, relative error (the worst key of each margin)",
                labels=["margin"], formats={"target": number, "achieved": number, "relative error": rel},
                wrap=["key"],
                caption="role target: calibrated to; validation: not used in the calibration. relative error = "
                        "achieved / target - 1. units: cell_mean and area_mean yuan per person per year (current "
                        "prices, NBS disposable income); cell_population persons; quintile_group_relative_mean a "
                        "ratio to the area mean; *_share fractions; gini an index. Every key: --format csv or json.")
