"""``prosperity measure FILE --income COL ...``: measures for the whole sample and by groups, with SEs.

A thin shell over :func:`prosperity.table.measure`. Output contract (scripts depend on it):
``--format json`` prints a JSON list of objects ``{"by": {COL: value}, "measure": NAME, "value": x,
"se": s, "ci_low", "ci_high", "n", "weight_sum"}`` (``"by": {}`` for the whole sample, ``"line"`` when
a measure uses a poverty line), values as fractions; ``se`` is null without ``--se``. ``--format csv``
prints the tidy frame (the whole sample's group columns say ``(all)``); ``--format table`` a table that
fits the terminal (``--percent``: shares in percent; the footer names the income's units). Bad input:
one paragraph on stderr, exit 2.
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from typing import List, Optional

import typer

from .layout import PERCENT, QUIET, UNITS

DEFAULT_CLI_MEASURES = "mean,median,gini,qsr,palma,arpr"
FORMATS = ("table", "json", "csv")

# Options of the microdata commands (measure, growth): one wording, one default.
INCOME = typer.Option(None, "--income", "-i", help="Income column.")
WEIGHT = typer.Option(None, "--weight", "-w", help="Weight column (default: every row 1).")
STRATA = typer.Option(None, "--strata", help="Strata column of the survey design.")
PSU = typer.Option(None, "--psu", help="PSU (cluster) column of the survey design.")
FPC = typer.Option(None, "--fpc", help="Population PSUs per stratum (or sampling fraction <= 1).")
LONELY_PSU = typer.Option("fail", "--lonely-psu", help="Strata with one PSU: fail | adjust | remove | certainty.")
FORMAT = typer.Option("table", "--format", "-f", help="table | json | csv.")


def _split(values: Optional[List[str]]) -> list[str]:
    out: list[str] = []
    for v in values or []:
        out.extend(p.strip() for p in v.split(",") if p.strip())
    return out


def fail(message: str) -> None:
    """Print one paragraph on stderr and exit with code 2 (no traceback)."""
    typer.echo(f"error: {' '.join(str(message).split())}", err=True)
    raise typer.Exit(code=2)


def read_options(encoding: str | None, sep: str | None) -> dict:
    """The ``encoding=`` / ``sep=`` of :func:`prosperity.io.read.read_table` from ``--encoding`` / ``--sep``
    (``tab`` or ``\\t`` name the tab); only those given."""
    if sep in ("tab", "\\t"):
        sep = "\t"
    return {k: v for k, v in (("encoding", encoding), ("sep", sep)) if v}


@contextmanager
def input_errors(prefix: str = ""):
    """Bad input raised in the block (the package's located errors, reader failures, kernel messages)
    becomes one paragraph on stderr, starting with ``prefix``, and exit code 2."""
    from prosperity.io.errors import ProsperityInputError

    try:
        yield
    except ProsperityInputError as exc:
        fail(prefix + str(exc))
    except (ValueError, KeyError, OSError, ImportError) as exc:  # reader failures, kernel messages
        fail(prefix + (str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"))


def register(app: typer.Typer) -> None:
    @app.command("measure", no_args_is_help=True)
    def measure_command(
        file: Optional[str] = typer.Argument(None, help="Data file: CSV/TSV (.gz ok), Parquet, Stata .dta, Excel, Feather."),
        income: Optional[str] = INCOME,
        weight: Optional[str] = WEIGHT,
        strata: Optional[str] = STRATA,
        psu: Optional[str] = PSU,
        fpc: Optional[str] = FPC,
        by: Optional[List[str]] = typer.Option(
            None, "--by", "-b",
            help="Group column(s): repeat (--by db040 --by rb090) or separate with commas; several columns are "
            "cross-classified. The whole sample is always reported (\"by\": {}).",
        ),
        margins: bool = typer.Option(False, "--margins", help="With several --by columns, also report each column alone (every sub-combination)."),
        hierarchy: Optional[List[str]] = typer.Option(None, "--hierarchy", help="Label columns, coarse to fine, that must nest (region,province,city); checked."),
        measures: Optional[List[str]] = typer.Option(
            None, "--measures", "-m",
            help=f"Comma-separated measures with parameters, e.g. gini,theil,mld,atkinson:0.5,arpr,qsr,rmpg,palma,fgt:0 "
            f"(default {DEFAULT_CLI_MEASURES}; --list shows all).",
        ),
        poverty_line: Optional[float] = typer.Option(None, "--poverty-line", "-z", help="Absolute poverty line, in the income's unit."),
        relative_line: Optional[float] = typer.Option(
            None, "--relative-line",
            help="Relative poverty line as a fraction of the whole sample's median (or mean, --relative-to), e.g. 0.6. "
            "With --by, every group is measured against the WHOLE SAMPLE's line (national line, as Eurostat does for "
            "regions) unless --line-within-groups. Default for line-based measures: 0.6 x median.",
        ),
        relative_to: str = typer.Option("median", "--relative-to", help="median | mean: what the relative line is a fraction of."),
        line_within_groups: bool = typer.Option(
            False, "--line-within-groups",
            help="Use each group's own relative line (and own median for arpr, rmpg, middle_rel) instead of the whole sample's.",
        ),
        se: bool = typer.Option(False, "--se/--no-se", help="Compute standard errors and confidence intervals."),
        se_method: str = typer.Option("linearization", "--se-method", help="linearization | bootstrap | rescaled_bootstrap."),
        replicates: int = typer.Option(1000, "--replicates", help="Bootstrap replicates."),
        seed: Optional[int] = typer.Option(None, "--seed", help="Bootstrap seed (reported; default: random)."),
        confidence: float = typer.Option(0.95, "--confidence", help="Confidence level of the intervals."),
        ci_method: Optional[str] = typer.Option(None, "--ci-method", help="normal | percentile (default: normal; percentile for the bootstrap)."),
        lonely_psu: str = LONELY_PSU,
        quantile_convention: str = typer.Option("eurostat", "--quantile-convention", help="eurostat (laeken, default) | laeken | inverse_cdf | interpolated."),
        poor_if: Optional[str] = typer.Option(
            None, "--poor-if",
            help="lt (poor: income < line; laeken, Eurostat, PIP) | le (income <= line; R convey), for every measure "
            "with a poverty rule (default: each measure's own).",
        ),
        domain: Optional[str] = typer.Option(
            None, "--domain",
            help="Measure a subpopulation as R convey's subset(): a comparison (\"eqIncome > 0\", \"age >= 65\"), "
            "COLUMN=VALUE (\"db040=Tyrol\") or a true/false column; the other rows stay in the design and "
            "relative lines come from the whole sample.",
        ),
        bandwidth: Optional[str] = typer.Option(
            None, "--bandwidth",
            help="Kernel bandwidth of the quantile-based SEs: osier (0.79 IQR N^-1/5) | convey (weighted SD "
            "N^-1/5, R convey); default: each measure's own.",
        ),
        backend: Optional[str] = typer.Option(
            None, "--backend",
            help="memory | duckdb | dask: where the rows are read and measured (default: chosen from FILE; a "
            "directory of Parquet files is streamed out of core, docs/scale.md). duckdb/dask stream exactly.",
        ),
        equivalence: Optional[str] = typer.Option(None, "--equivalence", help="per_capita | oecd_modified | oecd | square_root | power:THETA (divides income by the scale)."),
        household_size: Optional[str] = typer.Option(None, "--household-size", help="Household size column (for --equivalence or --unit household)."),
        adults: Optional[str] = typer.Option(None, "--adults", help="Number of adults (14+) column, for the OECD scales."),
        children: Optional[str] = typer.Option(None, "--children", help="Number of children (<14) column, for the OECD scales."),
        scale_column: Optional[str] = typer.Option(None, "--scale-column", help="Precomputed equivalence scale column (e.g. eqSS)."),
        unit: str = typer.Option("person", "--unit", help="person | household: with household rows, weights are multiplied by household size."),
        drop_missing: bool = typer.Option(False, "--drop-missing", help="Exclude rows with missing values in the columns used (count reported on stderr)."),
        sheet: Optional[str] = typer.Option(None, "--sheet", help="Excel sheet name (needed when the workbook has several)."),
        encoding: Optional[str] = typer.Option(None, "--encoding", help="CSV/TSV encoding (default: detected, UTF-8 then GB18030)."),
        sep: Optional[str] = typer.Option(None, "--sep", help="CSV/TSV separator: ',', ';', tab or '|' (default: detected)."),
        fmt: str = FORMAT,
        out: Optional[str] = typer.Option(None, "--out", help="Also write the tidy result: FILE.csv | .parquet | .xlsx | .json."),
        list_measures: bool = typer.Option(False, "--list", help="List the available measures and exit."),
        percent: bool = PERCENT,
        units: Optional[str] = UNITS,
        quiet: bool = QUIET,
    ) -> None:
        """Inequality, poverty and middle-class measures for the whole sample and by groups, with design-based SEs."""
        if list_measures:
            _print_catalogue()
            return
        if fmt not in FORMATS:
            fail(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}.")
        if file is None:
            fail("no data file given. Usage: prosperity measure FILE --income COL [--weight COL] [--by COL] [--se].")
        if income is None:
            fail("--income is required: name the income column, e.g. --income eqIncome.")
        from prosperity.cli.output import checked_out, write_frame
        from prosperity.table import measure

        checked_out(out)
        options = dict(
            weight=weight, by=_split(by) or None, strata=strata, psu=psu, fpc=fpc, poverty_line=poverty_line,
            relative_line=relative_line, relative_to=relative_to, line_within_groups=line_within_groups, se=se,
            se_method=se_method, replicates=replicates, seed=seed, confidence=confidence, ci_method=ci_method,
            quantile_convention=quantile_convention, lonely_psu=lonely_psu, margins=margins, drop_missing=drop_missing,
            poor_if=poor_if, domain=domain, bandwidth=bandwidth, **({"backend": backend} if backend else {}),
            sheet=sheet, **read_options(encoding, sep),
        )
        # the sample options only when given (their defaults are the loader's: unit person, no hierarchy), so a
        # streamed backend, which refuses them, sees none unless the user asked for one
        given = dict(equivalence=equivalence, household_size=household_size, adults=adults, children=children,
                     scale=scale_column, unit=None if unit == "person" else unit,
                     hierarchy=tuple(_split(hierarchy)) or None)
        options.update({k: v for k, v in given.items() if v is not None})
        from prosperity.cli.layout import working

        with input_errors(), working("measuring", quiet):
            result = measure(file, income, _split(measures) or DEFAULT_CLI_MEASURES.split(","), **options)
        for reason, count in result.excluded.items():
            typer.echo(f"note: excluded {count:,} row{'s' if count != 1 else ''} with {reason} (--drop-missing)", err=True)
        for note in result.notes:
            typer.echo(f"note: {note}", err=True)
        if out:
            typer.echo(write_frame(result.to_frame(), out), err=True)
        if fmt == "json":
            typer.echo(json.dumps(result.to_json_records(), indent=2, allow_nan=False))
        elif fmt == "csv":
            sys.stdout.write(result.to_frame().to_csv(index=False))
        else:
            from prosperity.cli.layout import units_footer

            print_result(result, percent=percent, units=units_footer(file, [income], units))


def _fmt(v: float, digits: int = 4) -> str:
    """Display format of every command (:func:`prosperity.cli.layout.number`)."""
    from prosperity.cli.layout import number

    return number(float(v), digits)


# measures whose values are shares of people or of income (fractions; percent with --percent)
SHARE_MEASURES = ("arpr", "headcount", "fgt:0", "lorenz", "middle_abs", "middle_abs_income", "middle_rel",
                  "middle_rel_income", "share", "rmpg")


def _is_share(measure: str) -> bool:
    return measure in SHARE_MEASURES or measure.split(":")[0] in SHARE_MEASURES and not measure.startswith("fgt")


def _value(result, i: int, percent: bool, digits: int = 4, field: str = "value") -> str:
    v = getattr(result, field)[i]
    if percent and _is_share(result.measure[i]):
        from prosperity.cli.layout import share

        return share(v, True)
    return _fmt(v, digits)


def print_result(result, title: str | None = None, console=None, percent: bool = False,
                 units: str | None = None) -> None:
    """A readable rich table of a :class:`~prosperity.table.MeasureResult` (4 significant digits;
    full precision with --format json or csv): one row per group and a column per measure with the
    SE under each value when that fits the terminal, else one row per (group, measure), else (a
    narrow terminal) one small table per group. ``units``: the footer's units line."""
    from prosperity.cli.layout import console as make_console

    console = console or make_console()
    caption = _caption(result) + (f"; {units}" if units else "") + ("; shares in percent (--percent)" if percent else "")
    table = _wide_table(result, title, percent, caption)
    if _natural_width(table) <= console.width:
        console.print(table)
        return
    table = _long_table(result, title, percent, caption)
    if _natural_width(table) <= console.width:
        console.print(table)
        return
    _stacked_tables(result, title, percent, caption, console)


def _natural_width(table) -> int:
    """Width the table needs without wrapping or truncating any cell."""
    from prosperity.cli.layout import natural_width

    return natural_width(table)


def _caption(result) -> str:
    return result.describe().replace("\n", "; ")


def _labels(result, group) -> list[str]:
    return ["(all)" if v is None else str(v) for v in group]


def _wide_table(result, title, percent=False, caption=None):
    from rich.table import Table

    has_se = result.se_method is not None
    measures = list(dict.fromkeys(result.measure))
    caption = (caption or _caption(result)) + ("; standard errors in parentheses" if has_se else "")
    table = Table(title=title, caption=caption, show_lines=has_se, title_justify="left", caption_justify="left")
    for col in result.by:
        table.add_column(col, no_wrap=True)
    for m in measures:
        table.add_column(m, justify="right", no_wrap=True)
    table.add_column("n", justify="right", no_wrap=True)
    cells: dict = {}
    n_of: dict = {}
    for i in range(len(result)):
        group = result.groups[i]
        text = _value(result, i, percent)
        if has_se:
            text += f"\n({_value(result, i, percent, 2, 'se')})"
        cells.setdefault(group, {})[result.measure[i]] = text
        n_of[group] = int(result.n[i])
    for group, row in cells.items():
        table.add_row(*_labels(result, group), *[row.get(m, "") for m in measures], f"{n_of[group]:,}")
    return table


def _long_row(result, i: int, percent: bool) -> list[str]:
    row = [result.measure[i], _value(result, i, percent)]
    if result.se_method is not None:
        row += [_value(result, i, percent, 2, "se"),
                f"{_value(result, i, percent, 4, 'ci_low')}–{_value(result, i, percent, 4, 'ci_high')}"]
    return row + [f"{int(result.n[i]):,}"]


def _long_columns(table, result) -> None:
    table.add_column("measure", no_wrap=True)
    table.add_column("value", justify="right", no_wrap=True)
    if result.se_method is not None:
        table.add_column("se", justify="right", no_wrap=True)
        table.add_column(f"{result.confidence:.0%} CI", justify="right", no_wrap=True)
    table.add_column("n", justify="right", no_wrap=True)


def _long_table(result, title, percent=False, caption=None):
    from rich.table import Table

    table = Table(title=title, caption=caption or _caption(result), title_justify="left", caption_justify="left")
    for col in result.by:
        table.add_column(col, no_wrap=True)
    _long_columns(table, result)
    previous = None
    for i in range(len(result)):
        group = result.groups[i]
        if previous is not None and group != previous:
            table.add_section()
        labels = _labels(result, group) if group != previous else [""] * len(group)
        previous = group
        table.add_row(*labels, *_long_row(result, i, percent))
    return table


def _stacked_tables(result, title, percent, caption, console) -> None:
    """One small table per group, titled by the group's labels (a terminal too narrow for the group
    columns); still too narrow, its columns split into blocks (:func:`prosperity.cli.layout.print_frame`)."""
    import pandas as pd

    from prosperity.cli.layout import print_frame

    if title:
        console.print(title, overflow="fold")
    head = ["measure", "value"] + (["se", f"{result.confidence:.0%} CI"] if result.se_method is not None else []) + ["n"]
    for group in dict.fromkeys(result.groups):
        name = ", ".join(f"{c} = {v}" for c, v in zip(result.by, _labels(result, group))) or "(all)"
        rows = [_long_row(result, i, percent) for i in range(len(result)) if result.groups[i] == group]
        print_frame(pd.DataFrame(rows, columns=head), console, title=name, labels=["measure"],
                    formats={c: str for c in head}, right=head[1:])
    console.print(caption, overflow="fold")


def _print_catalogue() -> None:
    import pandas as pd

    from prosperity.cli.layout import print_frame
    from prosperity.measures import catalog  # noqa: F401
    from prosperity.measures.registry import REGISTRY

    rows = []
    for name in sorted(REGISTRY):
        spec = REGISTRY[name]
        params = ", ".join(f"{p}={spec.defaults[p]:g}" if p in spec.defaults else p for p in spec.params)
        rows.append({"name": name, "parameters": params, "incomes": spec.income_domain,
                     "line": "yes" if spec.uses_line else "", "description": spec.description})
    print_frame(pd.DataFrame(rows), title="measures (write name or name:param[:param])", labels=["name"],
                wrap=["parameters", "description"])
