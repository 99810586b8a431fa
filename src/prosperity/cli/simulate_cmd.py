"""``prosperity simulate`` (a reform on a population) and ``prosperity household`` (one household).

Output contract of ``simulate --format json`` (scripts depend on it; keys are only ever added)::

    {"year", "population": {"households", "persons", "households_represented_m", "persons_represented_m"},
     "reform": {"name", "changes": [...]}, "budget_neutral": {"parameter", "value"} | null,
     "net_cost_bn_yuan", "identity_residual_bn_yuan",
     "summary": [{"measure", "baseline", "reform", "change", "unit", "line_yuan"}],
     "deciles": [{"decile", "persons_m", "baseline_income_pc", "change_pc_yuan", "change_pct"}],
     "winners_losers": [{"group", "gain_more_5pct", "gain_less_5pct", "no_change", "lose_less_5pct", "lose_more_5pct"}],
     "by_area": [...], "by_province": [...], "fiscal": [{"item", "kind", "budget", "baseline_bn", "reform_bn", "change_bn"}],
     "effective_rates": [{"decile", "aetr_baseline", "aetr_reform", "metr_baseline", "metr_reform", ...}],
     "validation": [{"row", "unit", "published", "baseline", "tolerance_kind", "tolerance", "status", "source",
                     "error", "within_tolerance"}],
     "assumptions": [...], "warnings": [...]}

``--format csv`` prints the summary; ``table`` every table (shares as fractions, ``--percent`` in
percent; the whole population's row labelled ``(all)``; the units in the footer). ``household --format
json`` prints {"household", "reform", "steps", "members", "curve"}; ``household --out`` writes the curve
(``.xlsx``: sheets steps, members, curve). Bad input: one paragraph on stderr, exit 2.
"""

from __future__ import annotations

import json
import os
import sys
from typing import List, Optional

import typer

from .layout import PERCENT, QUIET, UNITS
from .measure_cmd import FORMAT, FORMATS, fail, input_errors, read_options


def _population(spec: str, year: int, seed: int, columns: Optional[List[str]], file_options: dict | None = None):
    from prosperity.io.read import read_table
    from prosperity.synth import synthesize_population

    if spec.startswith("synthetic:"):
        text = spec.split(":", 1)[1].replace("_", "")
        try:
            persons = int(float(text))
        except ValueError:
            fail(f"--population synthetic:N needs a number of persons, got {spec!r} (e.g. synthetic:100000)")
        if not 1000 <= persons <= 5 * 10**7:
            fail(f"--population synthetic:{persons}: choose between 1,000 and 50,000,000 persons")
        if file_options:
            fail("--encoding and --sep apply to a --population FILE, not to synthetic:N")
        return synthesize_population(year, persons=persons, seed=seed)
    frame = read_table(spec, **(file_options or {}))
    return frame


def _units(population: str, year: int, units: str | None) -> str:
    """The footer's units: the synthetic population's (its metadata: NBS per-capita disposable income,
    current prices), or a file's (``--units``, else as in the input file)."""
    if units:
        return f"units: incomes in {units} (--units); fiscal items in bn yuan a year"
    if population.startswith("synthetic:"):
        return (f"units: yuan per person per year (per capita: household income / members), current prices of {year} "
                "(the synthetic population built from the NBS tables); fiscal items in bn yuan a year; persons_m in "
                "millions")
    return ("units: incomes as in the input file (--units to name them); parameters and benefits in yuan of the policy "
            "year; fiscal items in bn yuan a year")


def _design_columns(frame, strata: Optional[str], psu: Optional[str]) -> dict:
    """Per-person strata/PSU values in the order the population uses (sorted by household_id, stable)."""
    if not (strata or psu):
        return {}
    import numpy as np

    from prosperity.io.errors import column_not_found

    for role, name in (("strata", strata), ("PSU", psu)):
        if name and name not in frame.columns:
            raise column_not_found(name, role, [str(c) for c in frame.columns])
    order = np.argsort(frame["household_id"].to_numpy(), kind="stable") if "household_id" in frame.columns else None
    out = {}
    for key, name in (("strata", strata), ("psu", psu)):
        if name:
            values = frame[name].to_numpy()
            out[key] = values[order] if order is not None else values
    return out


def _mapping(columns: Optional[List[str]]) -> dict:
    out = {}
    for item in columns or []:
        for pair in item.split(","):
            if "=" not in pair:
                fail(f"--column {pair!r}: write OURS=THEIRS, e.g. --column weight=hh_weight")
            ours, theirs = (s.strip() for s in pair.split("=", 1))
            out[theirs] = ours
    return out


def register(app: typer.Typer) -> None:
    @app.command("simulate")
    def simulate_command(
        population: str = typer.Option("synthetic:200000", "--population", "-p",
                                       help="FILE (person-level microdata) or synthetic:N (the synthetic China population, N persons)."),
        year: int = typer.Option(2024, "--year", "-y", help="Policy year: parameters in force on 30 June."),
        reform: Optional[List[str]] = typer.Option(None, "--reform", "-r",
                                                   help="Reform YAML file or bundled example name; repeat to combine in order."),
        budget_neutral: Optional[str] = typer.Option(None, "--budget-neutral",
                                                     help="Parameter path solved so that the reform's net cost is --target-cost."),
        target_cost: float = typer.Option(0.0, "--target-cost", help="Net cost to reach with --budget-neutral, bn yuan."),
        seed: int = typer.Option(1, "--seed", help="Seed of the synthetic population and of the take-up draws."),
        column: Optional[List[str]] = typer.Option(None, "--column", help="Map columns: OURS=THEIRS (e.g. weight=hh_weight)."),
        wages: str = typer.Option("gross", "--wages", help="gross (NBS convention) | net (wages after tax: inverted)."),
        list_parameters: bool = typer.Option(False, "--list-parameters", help="Print every parameter path and its value, then exit."),
        list_reforms: bool = typer.Option(False, "--list-reforms", help="Print the bundled example reforms, then exit."),
        fmt: str = FORMAT,
        out: Optional[str] = typer.Option(None, "--out", help="Also write the results: FILE.xlsx (one sheet per table) "
                                          "| .csv | .parquet | .json (the summary table)."),
        reconcile: str = typer.Option("auto", "--reconcile", help="survey: match the baseline to the NBS survey's urban "
                                      "share and area quintile means | none | auto (survey for synthetic:N, none for a file)."),
        strata: Optional[str] = typer.Option(None, "--strata", help="Column of the survey's strata (a FILE population)."),
        psu: Optional[str] = typer.Option(None, "--psu", help="Column of the primary sampling units (a FILE population)."),
        se: Optional[str] = typer.Option(None, "--se", help="Standard errors of the effects: linearization | bootstrap | "
                                         "rescaled_bootstrap | none (default: linearization when --strata/--psu given)."),
        replicates: int = typer.Option(200, "--replicates", help="Bootstrap replicates for --se bootstrap."),
        encoding: Optional[str] = typer.Option(None, "--encoding", help="CSV/TSV encoding of a --population FILE (default: detected, UTF-8 then GB18030)."),
        sep: Optional[str] = typer.Option(None, "--sep", help="CSV/TSV separator of a --population FILE: ',', ';', tab or '|' (default: detected)."),
        percent: bool = PERCENT,
        units: Optional[str] = UNITS,
        quiet: bool = QUIET,
    ) -> None:
        """Simulate a tax-benefit reform: poverty, inequality, middle-income group, deciles, winners and
        losers, provinces, fiscal cost, effective tax rates, and the baseline's validation table."""
        from prosperity.cli.output import checked_out, write_frame
        from prosperity.simulate import Simulation, bundled_parameters, default_instant, example_reforms, load_reforms
        from prosperity.simulate.reform import ReformError

        if fmt not in FORMATS:
            fail(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}.")
        checked_out(out)
        if list_reforms:
            for name in example_reforms():
                typer.echo(name)
            return
        if list_parameters:
            tree = bundled_parameters()
            values = tree.at(default_instant(year))
            for path in sorted(tree.leaves):
                typer.echo(f"{path} = {values[path]!r}  [{tree.leaves[path].metadata.get('unit', '')}]")
            return
        try:
            reforms = load_reforms(reform)
        except ReformError as exc:
            fail(str(exc))
        if reconcile not in ("auto", "survey", "none"):
            fail(f"--reconcile must be auto, survey or none, got {reconcile!r}.")
        se_method = se or ("linearization" if (strata or psu) else "none")
        if se_method not in ("none", "linearization", "bootstrap", "rescaled_bootstrap"):
            fail(f"--se must be none, linearization, bootstrap or rescaled_bootstrap, got {se!r}.")
        synthetic = population.startswith("synthetic:")
        with input_errors():
            frame = _population(population, year, seed, column, read_options(encoding, sep))
            design = _design_columns(frame, strata, psu)
            if reconcile == "survey" or (reconcile == "auto" and synthetic):
                from prosperity.simulate.reconcile import reconciled_simulation

                sim, rec = reconciled_simulation(frame.rename(columns=_mapping(column)), year, seed=seed, wages=wages)
                typer.echo(f"reconciled with the NBS survey: {rec!r}", err=True)
            else:
                sim = Simulation(frame, year, columns=_mapping(column), seed=seed, wages=wages)
        from prosperity.cli.layout import working

        try:
            with working("simulating the baseline and the reform", quiet):
                result = sim.run(reforms, budget_neutral=budget_neutral, target_cost=target_cost * 1e9,
                                 keep_state=se_method != "none")  # --se reuses the solved reform and its state
        except ReformError as exc:
            fail(str(exc))
        for w in result.warnings:
            typer.echo(f"warning: {w}", err=True)
        uncertainty = None
        if se_method != "none":
            from prosperity.simulate import reform_uncertainty

            with input_errors():
                uncertainty = reform_uncertainty(sim, sim.last_run, method=se_method, replicates=replicates, **design)
        if out and out.lower().endswith(".xlsx"):
            import pandas as pd

            tmp = out + ".tmp.xlsx"
            with pd.ExcelWriter(tmp, engine="openpyxl") as book:
                for name, table in result.tables().items():
                    if "group" in table.columns:  # the whole sample's row: (all), as in every table
                        table = table.assign(group=table["group"].replace({"all": "(all)"}))
                    table.to_excel(book, sheet_name=name[:31], index=False)
            os.replace(tmp, out)
            typer.echo(f"written {len(result.tables())} tables to {out}", err=True)
        elif out:
            typer.echo(write_frame(result.summary, out), err=True)
        if fmt == "json":
            if uncertainty is None:
                typer.echo(result.to_json())
            else:
                data = result.to_dict()
                data["uncertainty"] = json.loads(uncertainty.table.to_json(orient="records", double_precision=15))
                data["uncertainty_method"] = uncertainty.method
                typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        elif fmt == "csv":
            sys.stdout.write(result.summary.to_csv(index=False))
        else:
            _print_tables(result, percent, _units(population, year, units))
            if uncertainty is not None:
                from prosperity.cli.layout import console

                _print_frame(uncertainty.table, f"Sampling uncertainty of the effects ({uncertainty.method})", console(),
                             percent)

    @app.command("household")
    def household_command(
        wage: float = typer.Option(..., "--wage", help="Gross annual wage of the primary earner, yuan."),
        spouse_wage: float = typer.Option(0.0, "--spouse-wage", help="Gross annual wage of a spouse (implies --spouse)."),
        spouse: bool = typer.Option(False, "--spouse", help="A second adult (aged 35) in the household."),
        children: int = typer.Option(0, "--children", help="Children aged 8 (or give --child-ages)."),
        child_ages: Optional[str] = typer.Option(None, "--child-ages", help="Ages of the children, e.g. 1,8,15."),
        elderly: int = typer.Option(0, "--elderly", help="Members aged 65."),
        employee_pension: bool = typer.Option(False, "--employee-pension", help="The members 60+ draw an employee pension."),
        province: str = typer.Option("Beijing", "--province"),
        area: str = typer.Option("urban", "--area", help="urban | rural."),
        formal: Optional[bool] = typer.Option(None, "--formal/--informal", help="Earners contribute to social insurance (default: urban yes, rural no)."),
        business: float = typer.Option(0.0, "--business", help="Net business income, yuan a year."),
        property_income: float = typer.Option(0.0, "--property", help="Net property income, yuan a year."),
        year: int = typer.Option(2024, "--year", "-y"),
        reform: Optional[List[str]] = typer.Option(None, "--reform", "-r"),
        curve_max: Optional[float] = typer.Option(None, "--curve-max", help="Top of the earnings range of the curve (default max(3 x wage, 300,000))."),
        fmt: str = FORMAT,
        out: Optional[str] = typer.Option(None, "--out", help="Also write the results: FILE.xlsx (sheets steps, members, "
                                          "curve) | .csv | .parquet | .json (the curve, as --format csv)."),
        percent: bool = PERCENT,
    ) -> None:
        """One household through every rule (gross -> contributions -> taxable income -> tax -> benefits ->
        disposable income) and its net-income and marginal-rate curve over a range of earnings."""
        from prosperity.simulate import load_reforms
        from prosperity.simulate.household import calculate_household
        from prosperity.simulate.reform import ReformError

        if fmt not in FORMATS:
            fail(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}.")
        from prosperity.cli.output import checked_out

        checked_out(out)
        try:
            reforms = load_reforms(reform)
        except ReformError as exc:
            fail(str(exc))
        ages = [8.0] * children
        if child_ages:
            try:
                ages = [float(a) for a in child_ages.split(",") if a.strip()]
            except ValueError:
                fail(f"--child-ages {child_ages!r}: give ages separated by commas, e.g. 1,8")
        with input_errors():
            result = calculate_household(wage=wage, year=year, province=province, area=area, spouse=spouse,
                                         spouse_wage=spouse_wage, children_ages=ages, elderly=elderly,
                                         employee_pension=employee_pension, formal=formal, business=business,
                                         property_income=property_income, reform=reforms, curve_max=curve_max)
        if out:
            _write_household(result, out)
        if fmt == "json":
            typer.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        elif fmt == "csv":
            sys.stdout.write(result.curve.to_csv(index=False))
        else:
            from prosperity.cli.layout import console, print_frame

            con = console()
            con.print(f"[bold]{result!r}[/bold]", overflow="fold")
            steps = result.steps
            print_frame(steps, con, title="Every step (yuan a year)", labels=steps.columns[:1].tolist(),
                        wrap=[c for c in steps.columns[1:] if steps[c].dtype == object and c != steps.columns[1]]
                        or steps.columns[2:].tolist())
            _print_frame(result.members, "Members", con, percent)
            _print_frame(result.curve.iloc[:: max(1, len(result.curve) // 20)], "Net income and METR by wage", con,
                         percent)
            con.print(f"units: yuan a year, current prices of {year}, for the whole household (disposable income per "
                      f"capita: per member); metr a rate {'in percent (--percent)' if percent else 'as a fraction'}",
                      overflow="fold", highlight=False)


def _write_household(result, path: str) -> None:
    """``household --out``: an .xlsx workbook gets the steps, members and curve sheets; other formats the curve."""
    import pandas as pd

    from prosperity.cli.output import check_out, write_frame

    try:
        check_out(path)
    except ValueError as exc:
        fail(str(exc))
    if path.lower().endswith(".xlsx"):
        tmp = path + ".tmp.xlsx"
        with pd.ExcelWriter(tmp, engine="openpyxl") as book:
            for name in ("steps", "members", "curve"):
                getattr(result, name).to_excel(book, sheet_name=name, index=False)
        os.replace(tmp, path)
        typer.echo(f"written the steps, members and curve to {path}", err=True)
    else:
        typer.echo(write_frame(result.curve, path), err=True)


LABELS = ("measure", "decile", "group", "item", "row")


def _is_share_column(name: str) -> bool:
    """Columns holding shares of people or rates (fractions; percent with --percent)."""
    return (name.startswith(("gain_", "lose_", "no_change", "poverty_", "aetr_", "metr_")) or name.endswith("_share")
            or name in ("error", "metr"))


def _print_frame(df, title: str, con, percent: bool = False, rows_share=None) -> None:
    """A simulate table fitted to the terminal; the whole sample's row labelled ``(all)``; shares as
    fractions (``percent``: in percent); ``change_pct`` shown as the relative change it is."""
    from prosperity.cli.layout import cell, print_frame, share

    shown = df.copy()
    import pandas as pd

    labels = [c for c in shown.columns if c in LABELS or not pd.api.types.is_numeric_dtype(shown[c])][:2]
    if "group" in shown.columns:
        shown["group"] = shown["group"].replace({"all": "(all)"})
    formats = {}
    for c in shown.columns:
        if c == "change_pct":  # percent in the data (its name says so): shown like every other relative change
            shown[c] = shown[c] / 100.0
            formats[c] = lambda v: share(v, percent)
        elif _is_share_column(c):
            formats[c] = lambda v: share(v, percent)
        elif c in labels or not pd.api.types.is_numeric_dtype(shown[c]):
            formats[c] = str
        else:
            formats[c] = cell
    if rows_share is not None:  # summary: the unit column says which rows are shares
        for c in ("baseline", "reform", "change"):
            shown[c] = [share(v, percent) if s else cell(v) for v, s in zip(shown[c], rows_share)]
            formats[c] = str
    headers = {"change_pct": "change (relative)"}
    print_frame(shown, con, title=title, labels=labels, formats=formats, headers=headers,
                wrap=[c for c in ("budget", "row") if c in shown.columns],
                right=[c for c in ("baseline", "reform", "change") if rows_share is not None])


def _print_tables(result, percent: bool = False, units: str = "") -> None:
    from prosperity.cli.layout import console

    con = console()
    con.print(f"[bold]{result!r}[/bold]", overflow="fold")
    for name, df in result.tables().items():
        shown = df.drop(columns=[c for c in ("source", "tolerance_kind") if c in df.columns])
        rows_share = (shown["unit"] == "share").tolist() if name == "summary" and "unit" in shown else None
        _print_frame(shown, name, con, percent, rows_share)
    for a in result.assumptions:
        con.print(f"assumption: {a}", overflow="fold", highlight=False)
    con.print(f"shares {'in percent (--percent)' if percent else 'as fractions (--percent: in percent)'}; {units}",
              overflow="fold", highlight=False)
