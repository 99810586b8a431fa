"""``prosperity data``: list, locate and show the bundled data sets."""

from __future__ import annotations

import json

import typer


def register(app: typer.Typer) -> None:
    data = typer.Typer(help="Bundled data sets: list them, find their files, show their contents.",
                       no_args_is_help=True)

    @data.command("list")
    def list_command(
        csv: bool = typer.Option(False, "--csv", help="Print CSV instead of a table."),
    ) -> None:
        """List bundled data sets with their source, licence and size."""
        from prosperity.datasets import list_datasets

        frame = list_datasets()
        if csv:
            typer.echo(frame.to_csv(index=False), nl=False)
            return
        from rich.console import Console
        from rich.table import Table

        table = Table(show_lines=False)
        table.add_column("name", no_wrap=True)
        table.add_column("rows", justify="right")
        table.add_column("cols", justify="right")
        table.add_column("description")
        table.add_column("licence")
        for row in frame.itertuples(index=False):
            table.add_row(row.name, str(row.rows), str(row.columns), row.description, row.licence)
        Console().print(table)

    @data.command("path")
    def path_command(name: str = typer.Argument(..., help="Dataset name (see `prosperity data list`).")) -> None:
        """Print the file path of a bundled data set."""
        from prosperity.datasets import dataset_path

        try:
            typer.echo(str(dataset_path(name)))
        except KeyError as error:
            typer.echo(f"error: {error.args[0]}", err=True)
            raise typer.Exit(2) from None

    @data.command("show")
    def show_command(
        name: str = typer.Argument(..., help="Dataset name (see `prosperity data list`)."),
        rows: int = typer.Option(10, "--rows", "-n", help="Rows to print (0 = all)."),
        csv: bool = typer.Option(False, "--csv", help="Print the rows as CSV."),
    ) -> None:
        """Print a bundled data set's metadata and first rows."""
        import pandas as pd

        if rows < 0:
            typer.echo(f"error: --rows must be 0 (all rows) or a positive number, got {rows}.", err=True)
            raise typer.Exit(2)

        from prosperity.datasets import dataset_info, load_dataset

        try:
            info = dataset_info(name)
        except KeyError as error:
            typer.echo(f"error: {error.args[0]}", err=True)
            raise typer.Exit(2) from None
        data_obj = load_dataset(name)
        if info.kind == "geojson":
            summary = [f["properties"] for f in data_obj["features"]]
            frame = pd.DataFrame(summary)
        else:
            frame = data_obj
        shown = frame if rows == 0 else frame.head(rows)
        if csv:
            typer.echo(shown.to_csv(index=False), nl=False)
            return
        typer.echo(f"{info.name}: {info.description}")
        typer.echo(f"  source:  {info.source}")
        typer.echo(f"  licence: {info.licence}")
        if info.units:
            typer.echo(f"  units:   {json.dumps(info.units, ensure_ascii=False)}")
        if info.notes:
            typer.echo(f"  notes:   {info.notes}")
        typer.echo(f"  shape:   {frame.shape[0]} rows x {frame.shape[1]} columns; file {info.path}")
        with pd.option_context("display.width", 200, "display.max_columns", 12):
            typer.echo(shown.to_string(index=False))

    app.add_typer(data, name="data")
