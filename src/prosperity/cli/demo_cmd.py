"""``prosperity demo``: the measure suite on the bundled real data, printed as readable tables.

A thin call of :func:`prosperity.table.measure`: laeken's EU-SILC sample (Austria 2006, synthetic)
by federal state with design-based SEs, and the Ilocos household survey (Philippines 1997, real)
by province. ``make demo`` runs it.
"""

from __future__ import annotations

import typer

from .layout import PERCENT

EUSILC_MEASURES = ["mean", "median", "gini", "theil", "qsr", "palma", "arpr", "rmpg"]
ILOCOS_MEASURES = ["mean", "median", "gini", "theil", "atkinson:0.5", "palma"]


def demo_files() -> dict:
    """The bundled files the demo reads and their income columns."""
    from pathlib import Path

    import prosperity

    data = Path(prosperity.__file__).parent / "data"
    return {"eusilc": (data / "laeken_eusilc_synthetic_austria2006.csv.gz", "eqIncome"),
            "ilocos": (data / "ineq_Ilocos_philippines_fies1997_1998.csv", "income")}


def run_demo() -> list:
    """The demo's results (also used by the tests): [(title, MeasureResult), ...]."""
    from pathlib import Path

    import prosperity
    from prosperity.table import measure

    data = Path(prosperity.__file__).parent / "data"
    eusilc = measure(
        data / "laeken_eusilc_synthetic_austria2006.csv.gz", "eqIncome", EUSILC_MEASURES,
        weight="rb050", strata="db040", psu="db030", by="db040", se=True,
    )
    ilocos = measure(
        data / "ineq_Ilocos_philippines_fies1997_1998.csv", "income", ILOCOS_MEASURES, by="province", se=True,
    )
    return [
        ("EU-SILC Austria 2006 (laeken's synthetic eusilc): equivalised income, persons, by federal state; "
         "SEs stratified by state, clustered by household; poverty line 60 % of the national median", eusilc),
        ("Ilocos, Philippines, FIES 1997 (ineq's Ilocos): household income, 632 households, by province", ilocos),
    ]


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(percent: bool = PERCENT,
             fmt: str = typer.Option("table", "--format", "-f", help="table | json | csv.")) -> None:
        """Run the measure suite on bundled real data (EU-SILC by state with SEs; Ilocos by province)."""
        import json
        import sys

        from prosperity.cli.layout import console as make_console, units_footer
        from prosperity.cli.measure_cmd import FORMATS, fail, print_result

        if fmt not in FORMATS:
            fail(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}.")
        results = run_demo()
        if fmt == "json":  # one object per sample: {"sample", "title", "results": measure's JSON records}
            typer.echo(json.dumps([{"sample": name, "title": title, "results": r.to_json_records()}
                                   for name, (title, r) in zip(demo_files(), results)], indent=2, allow_nan=False))
            return
        if fmt == "csv":  # measure's tidy frames of both samples: sample, by (the group column), group, measure, ...
            import pandas as pd

            frames = []
            for name, (_, r) in zip(demo_files(), results):
                f = r.to_frame()
                f.insert(0, "group", f.pop(r.by[0]))
                f.insert(0, "by", r.by[0])
                f.insert(0, "sample", name)
                frames.append(f)
            sys.stdout.write(pd.concat(frames, ignore_index=True).to_csv(index=False))
            return
        console = make_console()
        for (title, result), (path, income) in zip(results, demo_files().values()):
            print_result(result, title=title, console=console, percent=percent, units=units_footer(path, [income]))
            console.print()
        console.print("Same numbers from Python: prosperity.table.measure(...); as JSON: prosperity measure FILE --format json")
