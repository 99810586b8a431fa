"""``prosperity data``: list, locate and show the bundled data sets.

``--format json`` of ``data list`` prints one object per data set (name, description, source, licence,
rows, columns, file, units); of ``data show`` ``{"name", "description", "source", "licence", "units",
"notes", "shape", "rows": [...]}``; of ``data path`` ``{"name", "path"}``. ``--format csv``: the
frame (``data list``, ``data show``) or ``name,path``. ``--csv`` is the same as ``--format csv``.
"""

from __future__ import annotations

import json

import typer

FORMAT = typer.Option("table", "--format", "-f", help="table | json | csv.")
CSV = typer.Option(False, "--csv", help="Same as --format csv.")


def _format(fmt: str, csv: bool) -> str:
    from prosperity.cli.measure_cmd import FORMATS, fail

    if fmt not in FORMATS:
        fail(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}.")
    return "csv" if csv else fmt


def _info(name: str):
    from prosperity.datasets import dataset_info

    try:
        return dataset_info(name)
    except KeyError as error:
        typer.echo(f"error: {error.args[0]}", err=True)
        raise typer.Exit(2) from None


def _units_text(units: dict) -> str:
    return "; ".join(f"{k}: {v}" for k, v in units.items())


def register(app: typer.Typer) -> None:
    data = typer.Typer(help="Bundled data sets: list them, find their files, show their contents.",
                       no_args_is_help=True, rich_markup_mode=None)

    @data.command("list")
    def list_command(fmt: str = FORMAT, csv: bool = CSV) -> None:
        """List bundled data sets with their size, licence and units."""
        from prosperity.cli.layout import print_frame
        from prosperity.datasets import dataset_info, list_datasets

        fmt = _format(fmt, csv)
        frame = list_datasets()
        if fmt == "csv":
            typer.echo(frame.to_csv(index=False), nl=False)
            return
        if fmt == "json":
            records = frame.to_dict("records")
            for r in records:
                r["units"] = dict(dataset_info(r["name"]).units)
            typer.echo(json.dumps(records, indent=2, ensure_ascii=False, default=int))
            return
        shown = frame.assign(dataset=frame["name"] + "\n" + frame["description"])[
            ["dataset", "rows", "columns", "licence"]].rename(columns={"columns": "cols"})
        print_frame(shown, labels=["dataset"], wrap=["dataset", "licence"], show_lines=True,
                    headers={"dataset": "name and description"},
                    caption="units: per data set and column, see `prosperity data show NAME` (or --format json)")

    @data.command("path")
    def path_command(name: str = typer.Argument(..., help="Dataset name (see `prosperity data list`)."),
                     fmt: str = FORMAT) -> None:
        """Print the file path of a bundled data set."""
        fmt = _format(fmt, False)
        path = str(_info(name).path)
        if fmt == "json":
            typer.echo(json.dumps({"name": name, "path": path}))
        elif fmt == "csv":
            typer.echo(f"name,path\n{name},{path}")
        else:
            typer.echo(path)

    @data.command("show")
    def show_command(
        name: str = typer.Argument(..., help="Dataset name (see `prosperity data list`)."),
        rows: int = typer.Option(10, "--rows", "-n", help="Rows to print (0 = all)."),
        fmt: str = FORMAT,
        csv: bool = CSV,
    ) -> None:
        """Print a bundled data set's metadata (source, licence, units) and first rows."""
        import pandas as pd

        from prosperity.cli.layout import console, print_frame

        fmt = _format(fmt, csv)
        if rows < 0:
            typer.echo(f"error: --rows must be 0 (all rows) or a positive number, got {rows}.", err=True)
            raise typer.Exit(2)

        from prosperity.datasets import load_dataset

        info = _info(name)
        data_obj = load_dataset(name)
        if info.kind == "geojson":
            frame = pd.DataFrame([f["properties"] for f in data_obj["features"]])
        else:
            frame = data_obj
        shown = frame if rows == 0 else frame.head(rows)
        if fmt == "csv":
            typer.echo(shown.to_csv(index=False), nl=False)
            return
        if fmt == "json":
            doc = {"name": info.name, "description": info.description, "source": info.source, "licence": info.licence,
                   "units": dict(info.units), "notes": info.notes, "shape": list(frame.shape),
                   "rows": json.loads(shown.to_json(orient="records", force_ascii=False))}
            typer.echo(json.dumps(doc, indent=2, ensure_ascii=False))
            return
        con = console()
        con.print(f"{info.name}: {info.description}", overflow="fold", highlight=False)
        con.print(f"  source:  {info.source}", overflow="fold", highlight=False)
        con.print(f"  licence: {info.licence}", overflow="fold", highlight=False)
        if info.notes:
            con.print(f"  notes:   {info.notes}", overflow="fold", highlight=False)
        con.print(f"  shape:   {frame.shape[0]} rows x {frame.shape[1]} columns; file {info.path}", overflow="fold",
                  highlight=False)
        text_cols = [c for c in shown.columns if not pd.api.types.is_numeric_dtype(shown[c])]
        print_frame(shown, con, labels=shown.columns[:1].tolist(), wrap=[c for c in text_cols if c != shown.columns[0]],
                    caption=f"units: {_units_text(info.units)}" if info.units else
                    "units: the metadata gives none (see the source)")

    app.add_typer(data, name="data")
