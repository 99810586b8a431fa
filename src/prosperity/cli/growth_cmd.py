"""``prosperity growth BEFORE AFTER --income COL ...``: growth incidence between two survey files.

A thin shell over :func:`prosperity.dynamics.growth_incidence`: each file is loaded and checked by
:func:`prosperity.io.load` (the located errors of ``prosperity measure``), its design built by
:func:`prosperity.variance.columns.design_from_columns`. Both files use the same column names.

Output contract (scripts depend on it). ``--format json`` prints one object::

    {"before": {"file", "n", "weight_sum"}, "after": {...}, "years": Y, "prices": "...",
     "line": z or null, "pro_poor": "percentiles" | "watts",
     "summary": {"growth_of_mean": {"value", "se", "ci_low", "ci_high"}, "mean_of_growth_rates": ...,
                 "growth_of_median", "growth_bottom40", "premium_bottom40", "pro_poor_growth_rate",
                 "headcount_0"},
     "curve": [{"p", "quantile_before", "quantile_after", "growth", "se", "ci_low", "ci_high"}, ...],
     "notes": [...]}

growth rates are fractions per year (``--years``), quantiles in the incomes' unit (the after file's
divided by the price level of ``--deflator``: a ratio, or with ``--deflator-kind chain`` the product of
year-on-year indices / 100; see :func:`prosperity.dynamics.incidence.deflator_level`); null where a value is undefined (no ``--line``: no pro-poor rate).
``--no-se`` drops the ``se``, ``ci_low`` and ``ci_high`` keys. ``--format csv`` prints the curve;
``--format table`` the summaries and the curve at deciles (rates as fractions; ``--percent`` shows them
in percent), with the units of the incomes in the footer (the bundled data set's metadata, ``--units``,
or "as in the input files"). ``--out FILE`` writes the curve (``.xlsx``: sheets ``curve`` and
``summary``). Bad input: one paragraph on stderr, exit 2.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Optional

import typer

from .layout import PERCENT, UNITS
from .measure_cmd import FORMAT, FORMATS, FPC, INCOME, LONELY_PSU, PSU, STRATA, WEIGHT, _fmt, fail, input_errors, read_options

PRO_POOR = ("percentiles", "watts")
CURVE_COLUMNS = {"p": "p", "quantile_0": "quantile_before", "quantile_1": "quantile_after", "growth": "growth"}
INTERVAL = ("se", "ci_low", "ci_high")


def register(app: typer.Typer) -> None:
    @app.command("growth", no_args_is_help=True)
    def growth_command(
        before: Optional[str] = typer.Argument(
            None, metavar="BEFORE", help="Microdata of the first survey: CSV/TSV (.gz ok), Parquet, Stata .dta, Excel, Feather."),
        after: Optional[str] = typer.Argument(
            None, metavar="AFTER", help="Microdata of the second survey, an independent sample with the SAME column names as BEFORE "
            "(rename columns first if they differ)."),
        income: Optional[str] = INCOME,
        weight: Optional[str] = WEIGHT,
        strata: Optional[str] = STRATA,
        psu: Optional[str] = PSU,
        fpc: Optional[str] = FPC,
        lonely_psu: str = LONELY_PSU,
        years: float = typer.Option(1.0, "--years", help="Years between the surveys: growth rates are per year."),
        line: Optional[float] = typer.Option(
            None, "--line", "-z", help="Poverty line in BEFORE-year prices: the pro-poor growth rate and headcount_0."),
        pro_poor: str = typer.Option(
            "percentiles", "--pro-poor",
            help="percentiles (mean of g(p) over p <= H0, Ravallion-Chen) | watts (the Watts index's change / H0)."),
        percentiles: Optional[str] = typer.Option(
            None, "--percentiles", help="Points of the curve, comma-separated, e.g. 0.05,0.1,0.25,0.5,0.75,0.9,0.95."),
        step: Optional[float] = typer.Option(None, "--step", help="Spacing of the curve's points (default 0.01: p = 0.01 .. 0.99)."),
        deflator: Optional[str] = typer.Option(
            None, "--deflator",
            help="Divide the AFTER incomes by F, the after-year price level over the before-year's (1.12 after 12 % "
            "inflation): both periods in before-year prices. Without it both files are taken to be in the same prices. "
            "With --deflator-kind chain: year-on-year indices, previous year = 100, one per year (e.g. 102.1,103.4).",
            metavar="F"),
        deflator_kind: Optional[str] = typer.Option(
            None, "--deflator-kind",
            help="level (F is the after-year price level over the before-year's, a ratio near 1) | chain (F is a chain "
            "index, previous year = 100, one value per year; level = product of chain/100). Default: level, but a "
            "value of 50 or more (an index with base 100) or several values are refused until the kind is given."),
        se: bool = typer.Option(True, "--se/--no-se", help="Linearized design-based SEs and 95 % intervals (two independent samples)."),
        encoding: Optional[str] = typer.Option(None, "--encoding", help="CSV/TSV encoding of both files (default: detected, UTF-8 then GB18030)."),
        sep: Optional[str] = typer.Option(None, "--sep", help="CSV/TSV separator of both files: ',', ';', tab or '|' (default: detected)."),
        fmt: str = FORMAT,
        out: Optional[str] = typer.Option(None, "--out", help="Also write the curve (as --format csv): FILE.csv | .parquet | .xlsx "
                                          "(sheets curve and summary) | .json."),
        percent: bool = PERCENT,
        units: Optional[str] = UNITS,
    ) -> None:
        """Growth incidence curve between two survey files, with the growth of the mean, median and
        bottom-40 mean, the premium, the pro-poor growth rate and design-based standard errors."""
        from prosperity.dynamics.incidence import growth_incidence
        from prosperity.variance.columns import check_lonely_rule

        if fmt not in FORMATS:
            fail(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}.")
        from prosperity.cli.output import checked_out

        checked_out(out)
        if before is None or after is None:
            fail("two data files are needed. Usage: prosperity growth BEFORE AFTER --income COL [--weight COL] [--years Y].")
        if income is None:
            fail("--income is required: name the income column (the same in both files), e.g. --income eqIncome.")
        if not years > 0:
            fail(f"--years must be a positive number of years between the two surveys, got {years:g}.")
        level = None
        with input_errors():
            from prosperity.dynamics.incidence import deflator_level

            if deflator is None and deflator_kind is not None:
                raise ValueError(f"--deflator-kind {deflator_kind} was given without --deflator: give the price index too")
            if deflator is not None:
                level = deflator_level(deflator, deflator_kind, years, name="--deflator", kind_name="--deflator-kind")
        if pro_poor not in PRO_POOR:
            fail(f"--pro-poor must be one of {', '.join(PRO_POOR)}, got {pro_poor!r}.")
        with input_errors():
            check_lonely_rule(lonely_psu)
            grid = _grid(percentiles, step)
        # growth rates are ratios of quantiles (non-negative incomes); the Watts index takes logs
        users = {"nonnegative": ["growth incidence"]}
        if line is not None and pro_poor == "watts":
            users = {"positive": ["the Watts pro-poor growth rate (--pro-poor watts)"]}
        columns = dict(income=income, weight=weight, strata=strata, psu=psu, fpc=fpc)
        loaded = {}
        for role, path in (("before", before), ("after", after)):
            with input_errors(f"{role.upper()} file: "):
                loaded[role] = _load(path, columns, lonely_psu if se else None, users, read_options(encoding, sep))
        (y0, w0, d0), (y1, w1, d1) = loaded["before"], loaded["after"]
        if level is not None:
            y1 = y1 / level
        with input_errors():
            result = growth_incidence((y0, w0), (y1, w1), percentiles=grid, years=years, line=line, pro_poor=pro_poor,
                                      se=se, design_before=d0, design_after=d1)
        record = growth_record(result, {"before": (before, w0), "after": (after, w1)},
                               _prices(level, deflator, deflator_kind), line, pro_poor)
        if out:
            _write(record, out)
        if fmt == "json":
            typer.echo(json.dumps(record, indent=2, allow_nan=False))
            return
        for note in record["notes"]:
            typer.echo(f"note: {note}", err=True)
        if fmt == "csv":
            import pandas as pd

            sys.stdout.write(pd.DataFrame(record["curve"]).to_csv(index=False))
        else:
            from prosperity.cli.layout import units_footer

            print_growth(record, percent=percent, units=units_footer(before, [income], units))


def summary_frame(record: dict):
    """The summary as a tidy frame: statistic, value (and se, ci_low, ci_high); rates as fractions."""
    import pandas as pd

    return pd.DataFrame([{"statistic": key, **entry} for key, entry in record["summary"].items()])


def _write(record: dict, path: str) -> None:
    """``--out``: the curve (the --format csv frame); an .xlsx workbook also gets the summary sheet."""
    import os

    import pandas as pd

    from prosperity.cli.output import write_frame

    curve = pd.DataFrame(record["curve"])
    if path.lower().endswith(".xlsx"):
        tmp = path + ".tmp.xlsx"
        with pd.ExcelWriter(tmp, engine="openpyxl") as book:
            curve.to_excel(book, sheet_name="curve", index=False)
            summary_frame(record).to_excel(book, sheet_name="summary", index=False)
        os.replace(tmp, path)
        typer.echo(f"written the curve ({len(curve):,} rows) and the summary to {path}", err=True)
    else:
        typer.echo(write_frame(curve, path), err=True)


def _grid(percentiles: str | None, step: float | None):
    """The curve's points: the listed percentiles, a step, or None (the API's 0.01 .. 0.99)."""
    import numpy as np

    if percentiles is not None and step is not None:
        raise ValueError("give --percentiles or --step, not both")
    if percentiles is not None:
        try:
            points = [float(x) for x in percentiles.split(",") if x.strip()]
        except ValueError:
            points = []
        if not points:
            raise ValueError(f"--percentiles must be numbers separated by commas, e.g. 0.1,0.5,0.9, got {percentiles!r}")
        return np.array(points)
    if step is None:
        return None
    if not 0 < step <= 0.5:
        raise ValueError(f"--step must lie in (0, 0.5], e.g. 0.01 or 0.05, got {step:g}")
    m = round(1 / step)
    if abs(m * step - 1) < 1e-9:  # 1/step points exactly: k/m, as the API's default grid (k/100)
        return np.arange(1, m) / m
    k = np.arange(1, math.ceil(1 / step))
    return k * step


def _load(path: str, columns: dict, lonely_psu: str | None, users: dict, file_options: dict | None = None):
    """(incomes, weights, design or None) of one file, checked as ``prosperity measure`` checks it;
    ``lonely_psu`` None: no standard errors, no design."""
    from prosperity.io import load
    from prosperity.io.sample import check_income_domain, check_not_empty
    from prosperity.variance.columns import design_from_columns

    income = columns["income"]
    sample = load(path, income, **(file_options or {}), **{k: v for k, v in columns.items() if k != "income"})
    check_not_empty(sample)
    for domain, who in users.items():
        check_income_domain(sample, income, domain, who)
    design = None
    if lonely_psu is not None:
        names = {key: columns[key] for key in ("strata", "psu", "fpc") if columns[key]}
        design = design_from_columns(sample.n, strata=sample.strata, psu=sample.psu, fpc=sample.fpc,
                                     lonely_psu=lonely_psu, names=names)
    return sample.income(income), sample.weight, design


def _prices(level: float | None, deflator=None, deflator_kind: str | None = None) -> str:
    from prosperity.dynamics.incidence import deflator_description

    if level is None:
        return "as in the files (no --deflator: both are taken to be in the same prices)"
    return deflator_description(level, deflator, deflator_kind)


def _number(v) -> float | None:
    """A JSON number, or null for a value that is missing or not finite."""
    return None if v is None or not math.isfinite(float(v)) else float(v)


def growth_record(result, files: dict, prices: str, line: float | None, pro_poor: str) -> dict:
    """The JSON object of a :class:`~prosperity.dynamics.incidence.GrowthIncidence` (module docstring).
    ``files``: role -> (path, weights)."""
    from prosperity.dynamics.incidence import SUMMARY_KEYS

    has_se = result.se is not None
    summary = result.summary()
    out_summary = {}
    for key in SUMMARY_KEYS:
        entry = {"value": _number(summary[key])}
        if has_se:
            entry.update({part: _number(summary.get(f"{key}_{part}")) for part in INTERVAL})
        out_summary[key] = entry
    curve_cols = dict(CURVE_COLUMNS, **({c: c for c in INTERVAL} if has_se else {}))
    curve = [{name: _number(row[col]) for col, name in curve_cols.items()}
             for row in result.curve[list(curve_cols)].to_dict("records")]
    return {
        **{role: {"file": str(path), "n": int(w.size), "weight_sum": float(w.sum())} for role, (path, w) in files.items()},
        "years": result.years,
        "prices": prices,
        "line": line,
        "pro_poor": pro_poor if line is not None else None,
        "summary": out_summary,
        "curve": curve,
        "notes": list(result.notes),
    }


def print_growth(record: dict, console=None, percent: bool = False, units: str | None = None) -> None:
    """Rich tables of a growth record: the summaries (value, SE, 95 % CI) and the curve at deciles;
    growth rates are fractions per year (``percent``: in percent)."""
    import pandas as pd

    from prosperity.cli.layout import console as make_console, print_frame

    console = console or make_console()
    has_se = "se" in record["summary"]["growth_of_mean"]
    b, a = record["before"], record["after"]
    years = record["years"]
    console.print(f"BEFORE {Path(b['file']).name} ({b['n']:,} rows) -> AFTER {Path(a['file']).name} ({a['n']:,} rows); growth rates per year"
                  + (f" over {years:g} years" if years != 1 else "") + f"; prices: {record['prices']}"
                  + (f"; poverty line {record['line']:g} ({record['pro_poor']})" if record["line"] is not None else ""),
                  overflow="fold", highlight=False)
    rate = (lambda v, d=4: _rate(v, percent, d))
    rows = []
    for key, entry in record["summary"].items():
        if entry["value"] is None:
            continue
        value = entry["value"] if key == "headcount_0" else entry["value"]
        row = {"statistic": key, "value": rate(value)}
        if has_se:
            row.update(SE=rate(entry["se"], 2), **{"95% CI": _interval(entry, percent)})
        rows.append(row)
    print_frame(pd.DataFrame(rows), console, title="summary", labels=["statistic"],
                formats={c: str for c in ("statistic", "value", "SE", "95% CI")}, right=["value", "SE", "95% CI"])
    points = []
    for point in _deciles(record["curve"]):
        row = {"p": f"{point['p']:g}", "quantile before": _cell(point["quantile_before"]),
               "quantile after": _cell(point["quantile_after"]), "growth": rate(point["growth"])}
        if has_se:
            row.update(SE=rate(point["se"], 2), **{"95% CI": _interval(point, percent)})
        points.append(row)
    shown = pd.DataFrame(points)
    print_frame(shown, console, title="curve at deciles (growth of the p-quantile)", labels=["p"],
                formats={c: str for c in shown.columns}, right=shown.columns.tolist())
    console.print(f"growth rates and shares {'in percent (--percent)' if percent else 'as fractions per year (--percent: in percent)'}; "
                  f"quantiles {units or 'units: as in the input files'}", overflow="fold", highlight=False)


def _rate(v, percent: bool, digits: int = 4) -> str:
    from prosperity.cli.layout import share

    return "" if v is None else (share(v, True) if percent else _fmt(v, digits))


def _cell(v, digits: int = 4) -> str:
    return "" if v is None else _fmt(v, digits)


def _interval(entry: dict, percent: bool = False) -> str:
    if entry["ci_low"] is None:
        return ""
    return f"{_rate(entry['ci_low'], percent)}–{_rate(entry['ci_high'], percent)}"


def _deciles(curve: list[dict]) -> list[dict]:
    """The curve's points nearest to p = 0.1, ..., 0.9 (every point of a short curve)."""
    if len(curve) <= 11:
        return curve
    ps = [c["p"] for c in curve]
    picks = sorted({min(range(len(ps)), key=lambda i: abs(ps[i] - d / 10)) for d in range(1, 10)})
    return [curve[i] for i in picks]
