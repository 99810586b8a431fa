"""``prosperity grouped TABLE``: reconstruct a distribution from a grouped table and print measures."""

from __future__ import annotations

import typer

from .layout import PERCENT, UNITS

METHOD_HELP = "gq | beta | gpinter | histogram | lognormal | singh_maddala | dagum | gb2 | auto | all"


def register(app: typer.Typer) -> None:
    @app.command("grouped")
    def grouped(
        table: str = typer.Argument(..., help="CSV (or Parquet, Excel, Stata, Feather), one row per group (lowest first): population_share and mean or income_share (threshold where known)"),
        method: str = typer.Option("auto", "--method", "-m", help=METHOD_HELP),
        mean: float = typer.Option(None, "--mean", help="overall mean income (needed with income shares only)"),
        poverty_line: float = typer.Option(None, "--poverty-line", "-z", help="poverty line for FGT 0/1/2 and Watts"),
        middle_band: str = typer.Option(None, "--middle-band", help="absolute middle-income band LOW,HIGH (e.g. 33333,166667)"),
        relative_band: str = typer.Option("0.75,2", "--relative-band", help="relative middle band as multiples of the median"),
        prosperity_standard: float = typer.Option(None, "--prosperity-standard", help="prosperity standard for the prosperity gap"),
        unit: str = typer.Option("person", "--unit", help="what population_share counts: person or household"),
        fmt: str = typer.Option("table", "--format", "-f", help="table | json | csv"),
        out: str = typer.Option(None, "--out", help="also write the measures (method, measure, value): FILE.csv | .parquet | .xlsx | .json"),
        tabulation: str = typer.Option(None, "--tabulation", help="with --method gpinter: write gpinter's detailed tabulation (thresholds, top/bottom/bracket shares and averages, b(p) at 127 fractiles) to FILE.csv | .parquet | .xlsx | .json"),
        percent: bool = PERCENT,
        units: str = UNITS,
    ) -> None:
        """Fit GQ/Beta Lorenz curves, generalized Pareto interpolation, a histogram or parametric
        distributions to a grouped table; print parameters, diagnostics and measures."""
        from prosperity.cli.measure_cmd import fail
        from prosperity.grouped import GroupedDataError, fit_grouped, fit_to_dict, read_grouped_csv
        from prosperity.grouped.distribution import dumps

        def band(text, name):
            if text is None:
                return None
            try:
                lo, hi = (float(x) for x in text.split(","))
            except ValueError:
                fail(f"{name} must be two numbers LOW,HIGH separated by a comma, got {text!r}. Fix: e.g. {name} 0.75,2.")
            if not 0 <= lo < hi:
                fail(f"{name} needs 0 <= LOW < HIGH, got {text!r}. Fix: give the lower bound first, e.g. {name} 0.75,2.")
            return lo, hi

        if fmt not in ("table", "json", "csv"):
            fail(f"--format must be table, json or csv, got {fmt!r}.")
        from prosperity.cli.output import checked_out, write_frame

        checked_out(out)
        if prosperity_standard is not None and not prosperity_standard > 0:
            fail(f"--prosperity-standard must be a positive income, got {prosperity_standard:g}. "
                 "Fix: give the standard in the table's income unit (e.g. the mean's unit).")
        kwargs = {"middle_band": band(middle_band, "--middle-band"),
                  "relative_band": band(relative_band, "--relative-band"),
                  "prosperity_standard": prosperity_standard}
        try:
            tab = read_grouped_csv(table, overall_mean=mean, unit=unit)
            fits = fit_grouped(tab, method, mean=mean, poverty_line=poverty_line)
            many = isinstance(fits, list)
            dicts = [fit_to_dict(f, poverty_line, **kwargs) for f in (fits if many else [fits])]
            if not many and "poverty_error" in dicts[0]["diagnostics"]:
                raise ValueError(dicts[0]["diagnostics"]["poverty_error"])
        except (GroupedDataError, ValueError) as exc:
            fail(str(exc))
        if tabulation:
            dist = None if many else fits.distribution
            if not hasattr(dist, "tabulation"):
                fail(f"--tabulation needs --method gpinter (got --method {method}). Fix: add --method gpinter.")
            checked_out(tabulation)
            typer.echo(write_frame(dist.tabulation().to_frame(), tabulation), err=True)
        if out or fmt == "csv":
            long = _long_frame(dicts)
            if out:
                typer.echo(write_frame(long, out), err=True)
            if fmt == "csv":
                typer.echo(long.to_csv(index=False), nl=False)
                return
        if fmt == "json":
            typer.echo(dumps(dicts if many else dicts[0]))
            return
        from prosperity.cli.layout import units_footer

        _print_tables(tab, dicts, percent, units_footer(table, ["mean", "threshold"], units))


def _long_frame(dicts):
    """method, measure, value (None where a measure is not defined for the fit; its note in ``note``)."""
    import pandas as pd

    rows = []
    for d in dicts:
        notes = d.get("measure_notes", {}) or {}
        for k, v in (d.get("measures") or {}).items():
            if isinstance(v, dict):
                for sub, val in v.items():
                    rows.append({"method": d.get("method"), "measure": f"{k}.{sub}", "value": val, "note": notes.get(k)})
            else:
                rows.append({"method": d.get("method"), "measure": k, "value": v, "note": notes.get(k)})
    return pd.DataFrame(rows, columns=["method", "measure", "value", "note"])


def _is_share(key: str) -> bool:
    """Measures that are shares of people or income (fractions; percent with --percent)."""
    last = key.split(".")[-1]
    return "share" in last or last in ("fgt0", "headcount", "h0")


def _print_tables(tab, dicts, percent: bool = False, units: str = "") -> None:
    from prosperity.cli.layout import console, print_records, share

    con = console()
    con.print(repr(tab), overflow="fold", highlight=False)
    for note in tab.notes:
        con.print(f"[yellow]note:[/yellow] {note}", overflow="fold")
    for d in dicts:
        measure_notes = d["diagnostics"].get("measure_notes", {})
        rows = []
        for section in ("parameters", "measures"):
            for k, v in _flat(d[section]):
                if section == "measures" and v is None and k in measure_notes:
                    shown = "n/a (see note)"
                elif section == "measures" and _is_share(k):
                    shown = share(v, percent)
                else:
                    shown = _fmt(v)
                rows.append((f"{section[:-1]} {k}", shown))
        for k, v in _flat({key: val for key, val in d["diagnostics"].items() if key != "measure_notes"}):
            rows.append((f"diagnostic {k}", _fmt(v)))
        print_records(rows, con, title=f"method: {d['method']}")
        for name, note in measure_notes.items():
            con.print(f"[yellow]note:[/yellow] {name} {note}", overflow="fold")
    con.print(f"shares {'in percent (--percent)' if percent else 'as fractions (--percent: in percent)'}; {units}",
              overflow="fold", highlight=False)


def _flat(d, prefix=""):
    for k, v in d.items():
        if isinstance(v, dict):
            yield from _flat(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}", v


def _fmt(v) -> str:
    """The package's display format (:func:`prosperity.cli.layout.cell`): 4 significant digits, no
    scientific notation for ordinary magnitudes."""
    from prosperity.cli.layout import cell

    return cell(v)
