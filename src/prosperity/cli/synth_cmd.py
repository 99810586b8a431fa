"""``prosperity synth``: write a synthetic population consistent with published tables to Parquet."""

from __future__ import annotations

import json
from pathlib import Path

import typer


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
        check: bool = typer.Option(False, "--check", help="Print the margins table (loads the file; small sizes only)."),
        calibrate_gini: bool = typer.Option(False, "--calibrate-gini/--no-calibrate-gini",
                                            help="Also match the official national Gini with a Pareto top tail "
                                                 "(quintile-group means then miss by up to ~20 %)."),
        household_sizes: Path = typer.Option(None, "--household-sizes", metavar="FILE",
                                             help="CSV with columns size,share (one row per household size, the "
                                                  "largest meaning that many or more; shares sum to 1) replacing the "
                                                  "bundled census 2020 household-size shares."),
    ) -> None:
        """Generate household microdata matching provincial means and population, urban/rural quintile
        groups and income-source shares; streamed to Parquet in chunks."""
        from prosperity.synth import write_population
        from prosperity.synth.targets import read_household_sizes

        if out.suffix.lower() not in (".parquet", ".pq"):
            typer.echo(f"error: --out {str(out)!r} must be a Parquet file (.parquet): the population is written "
                       "as Parquet in chunks. Fix: name the output e.g. china_2024.parquet", err=True)
            raise typer.Exit(2)
        if chunk_persons < 1:
            typer.echo(f"error: --chunk-persons must be a positive number of persons, got {chunk_persons}. "
                       "Fix: leave the default (1,048,576) or give e.g. 100000", err=True)
            raise typer.Exit(2)
        try:
            sizes = None if household_sizes is None else read_household_sizes(household_sizes)
            summary = write_population(out, year=year, persons=persons, seed=seed, level=level,
                                       distribution=distribution, allocation=allocation, chunk_persons=chunk_persons,
                                       calibrate_gini=calibrate_gini, household_sizes=sizes)
        except ValueError as error:
            typer.echo(f"error: {' '.join(str(error).split())}", err=True)
            raise typer.Exit(2) from None
        typer.echo(json.dumps(summary))
        if check:
            import pandas as pd

            from prosperity.synth import margins

            table = margins(pd.read_parquet(out), year, calibrate_gini=calibrate_gini, household_sizes=sizes)
            summary_table = table.assign(abs_rel_error=table["rel_error"].abs()).groupby("margin")["abs_rel_error"].max()
            typer.echo(summary_table.to_string())
