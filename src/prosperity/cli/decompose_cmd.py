"""``prosperity decompose FILE``: nested GE decomposition over a hierarchy of levels (or Dagum's Gini
decomposition level by level), and ``prosperity gaps``: the three gaps by year on the bundled China
data or a provincial panel.

JSON output of ``decompose``: a list of ``{"level", "component", "value", "share"}`` objects. For GE
measures the components are ``between`` (one per level, coarsest first: between units of that level
within their parent) and one ``within`` (inside the lowest level); they add up to the total. With a
survey design (``--strata``, ``--psu``, ``--fpc``) every object also has ``se`` and ``share_se``
(linearized design-based standard errors). For ``--measure gini`` (not additively decomposable
across levels) each level is decomposed on its own with Dagum's method: ``within``, ``between`` (net
between) and ``overlap`` (transvariation), adding up to the Gini at each level; with a design they get
``se`` and ``share_se`` too, and the table ends with the Gini and its SE.
"""

from __future__ import annotations

import json
from typing import Optional

import pandas as pd
import typer

from .layout import PERCENT, UNITS


def _levels(levels: list[str], extra: list[str]) -> list[str]:
    out: list[str] = []
    for item in list(levels) + list(extra):
        out.extend(p for p in item.split(",") if p)
    return out


def decompose_records(frame, income: str, levels: list[str], weight: str | None, measure: str,
                      design: dict | None = None) -> tuple[list[dict], float | None]:
    """(component rows, SE of the total or None). ``design``: strata / psu / fpc column names and
    lonely_psu, as :func:`prosperity.decompose.decompose` takes them."""
    from prosperity.decompose import dagum_decomposition, decompose

    design = {k: v for k, v in (design or {}).items() if v is not None}
    if measure.strip().lower() == "gini":
        from prosperity.variance.columns import design_from_columns

        columns = {k: v for k, v in design.items() if k != "lonely_psu"}
        built = design_from_columns(len(frame), **{k: frame[v] for k, v in columns.items()}, names=columns,
                                    lonely_psu=design.get("lonely_psu", "fail"))
        rows, total_se = [], None
        for lv in levels:
            d = dagum_decomposition(frame[income], None if weight is None else frame[weight], groups=frame[lv], name=lv,
                                    design=built)
            for comp, key in (("within", "within"), ("between", "net_between"), ("overlap", "transvariation")):
                value = getattr(d, key)
                row = {"level": lv, "component": comp, "value": float(value), "share": float(value / d.gini)}
                if d.has_se:
                    row["se"], row["share_se"] = float(d.se[key]), float(d.share_se[key])
                rows.append(row)
            total_se = d.gini_se  # the Gini and its linearized variable do not depend on the grouping
        return rows, total_se
    d = decompose(frame, income=income, levels=levels, weight=weight, measure=measure, **design)
    return d.to_records(), d.total_se


def register(app: typer.Typer) -> None:
    @app.command("decompose", context_settings={"allow_extra_args": True, "ignore_unknown_options": False})
    def decompose_cmd(
        ctx: typer.Context,
        path: str = typer.Argument(..., help="microdata or region table (CSV, Parquet, Excel)"),
        income: str = typer.Option(..., "--income", help="income column (a unit's mean for region tables)"),
        levels: list[str] = typer.Option(..., "--levels", help="level columns, coarsest first: --levels region province city"),
        weight: str = typer.Option(None, "--weight", help="weight column (population for region tables)"),
        measure: str = typer.Option("theil", "--measure", help="theil | mld | ge:ALPHA | gini"),
        strata: Optional[str] = typer.Option(None, "--strata", help="Strata column of the survey design."),
        psu: Optional[str] = typer.Option(None, "--psu", help="PSU (cluster) column of the survey design."),
        fpc: Optional[str] = typer.Option(None, "--fpc", help="Population PSUs per stratum (or sampling fraction <= 1)."),
        lonely_psu: str = typer.Option("fail", "--lonely-psu", help="Strata with one PSU: fail | adjust | remove | certainty."),
        fmt: str = typer.Option("table", "--format", "-f", help="table | json | csv"),
        out: Optional[str] = typer.Option(None, "--out", help="also write the result: FILE.csv | .parquet | .xlsx | .json"),
        encoding: Optional[str] = typer.Option(None, "--encoding", help="CSV/TSV encoding (default: detected, UTF-8 then GB18030)."),
        sep: Optional[str] = typer.Option(None, "--sep", help="CSV/TSV separator: ',', ';', tab or '|' (default: detected)."),
        percent: bool = PERCENT,
        units: Optional[str] = UNITS,
    ) -> None:
        """Where inequality sits: between units at each level of a hierarchy, and within the lowest.
        With --strata / --psu / --fpc, every component and share gets a linearized design-based SE."""
        from prosperity.cli.measure_cmd import fail
        from prosperity.io.errors import column_not_found
        from prosperity.io.read import read_header, read_table

        if fmt not in ("table", "json", "csv"):
            fail(f"--format must be table, json or csv, got {fmt!r}.")
        from prosperity.cli.measure_cmd import read_options
        from prosperity.cli.output import checked_out, write_frame

        checked_out(out)
        lv = _levels(levels, ctx.args)
        file_options = read_options(encoding, sep)
        design = {"strata": strata, "psu": psu, "fpc": fpc}
        try:
            design_cols = [(col, role) for col, role in ((strata, "strata"), (psu, "PSU"), (fpc, "fpc")) if col]
            if design_cols:
                header = read_header(path, **file_options)
                for col, role in design_cols:  # named by their role, as prosperity measure does
                    if col not in header:
                        raise column_not_found(col, role, header)
            frame = read_table(path, columns=[income, *lv] + ([weight] if weight else []) + [c for c, _ in design_cols],
                               **file_options)
            records, total_se = decompose_records(frame, income, lv, weight, measure, dict(design, lonely_psu=lonely_psu))
        except (KeyError, ValueError, TypeError, FileNotFoundError) as exc:
            fail(exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc))
        if out:
            typer.echo(write_frame(pd.DataFrame(records), out), err=True)
        if fmt == "json":
            typer.echo(json.dumps(records, indent=2))
            return
        if fmt == "csv":  # shares are fractions (the table shows them as percent)
            typer.echo(pd.DataFrame(records).to_csv(index=False), nl=False)
            return
        from prosperity.cli.layout import units_footer

        _print_decomposition(records, total_se, measure, percent,
                             units_footer(path, [income], units, what="the decomposed income"))

    @app.command("gaps")
    def gaps_cmd(
        fmt: str = typer.Option("table", "--format", "-f", help="table | json | csv"),
        targets: list[str] = typer.Option(None, "--target", help="indicator<value or indicator>value, e.g. urban_rural_income_ratio<1.9"),
        out: Optional[str] = typer.Option(None, "--out", help="also write the long table: FILE.csv | .parquet | .xlsx | .json"),
        percent: bool = PERCENT,
    ) -> None:
        """The three gaps (regional, urban-rural, rich-poor) by year, on the bundled NBS China data."""
        from prosperity.cli.measure_cmd import fail
        from prosperity.decompose.gaps import china_gaps, parse_targets

        if fmt not in ("table", "json", "csv"):
            fail(f"--format must be table, json or csv, got {fmt!r}.")
        from prosperity.cli.output import checked_out, write_frame

        checked_out(out)
        try:
            goals = parse_targets(targets) if targets else None
            table = china_gaps(targets=goals)
        except (KeyError, ValueError) as exc:
            fail(exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc))
        frame = table.to_frame()
        if out:
            typer.echo(write_frame(frame, out), err=True)
        if fmt == "json":
            typer.echo(frame.to_json(orient="records", indent=2))
        elif fmt == "csv":
            typer.echo(frame.to_csv(index=False))
        else:
            _print_gaps(frame, percent, goals)


# the whole sample's row of a decomposition table: its level column says so
WHOLE = "(all)"


def _print_decomposition(records: list[dict], total_se, measure: str, percent: bool, units: str) -> None:
    """component rows, then the total as the whole sample's row ``(all)``; shares as fractions (``--percent``:
    percent)."""
    from prosperity.cli.layout import number, print_frame, share

    gini = measure.strip().lower() == "gini"
    has_se = total_se is not None
    rows = [dict(r) for r in records]
    if records:
        # Dagum: every level's three components add up to the same Gini, shown once
        total = sum(r["value"] for r in records if not gini or r["level"] == records[0]["level"])
        rows.append({"level": WHOLE, "component": "total", "value": total, "share": 1.0,
                     **({"se": total_se, "share_se": float("nan")} if has_se else {})})
    frame = pd.DataFrame(rows, columns=["level", "component", "value", "share"] + (["se", "share_se"] if has_se else []))
    pct = lambda v: share(v, percent)  # noqa: E731
    formats = {"value": lambda v: number(v, 6), "se": lambda v: number(v, 2), "share": pct, "share_se": pct}
    note = ("Dagum: at each level within + between + overlap = the Gini" if gini else
            "between (one per level, coarsest first) + within (inside the lowest level) = the total")
    print_frame(frame, labels=["level", "component"], formats=formats,
                caption=f"{measure}: {note}; {WHOLE} = the whole sample; shares "
                        f"{'in percent (--percent)' if percent else 'as fractions (--percent: in percent)'}; {units}")


GAP_TITLES = {"regional": "regional gap (31 provinces)", "urban_rural": "urban-rural gap (national)",
              "rich_poor": "rich-poor gap (national quintile groups)"}
GAP_SHARES = ("middle_share", "urban_share_implied", "urban_rural_share_of_theil")


def _print_gaps(frame: pd.DataFrame, percent: bool, goals: dict | None = None) -> None:
    """One table per gap: indicators in rows, years in columns (split into blocks on a narrow terminal)."""
    from prosperity.cli.layout import console, number, print_frame, share
    from prosperity.decompose.gaps import DEFAULT_TARGETS, GAP_OF

    con = console()
    order = {name: i for i, name in enumerate(GAP_OF)}
    for gap in [g for g in GAP_TITLES if g in set(frame["gap"])] + sorted(set(frame["gap"]) - set(GAP_TITLES)):
        part = frame[frame["gap"] == gap]
        wide = part.pivot(index="indicator", columns="year", values="value")
        wide = wide.loc[sorted(wide.index, key=lambda c: order.get(c, len(order)))]
        shown = wide.reset_index()
        shown.columns = [str(c) for c in shown.columns]
        is_share = shown["indicator"].isin(GAP_SHARES).tolist()
        for c in shown.columns[1:]:
            shown[c] = [share(v, percent) if s else number(v) for v, s in zip(shown[c], is_share)]
        print_frame(shown, con, title=GAP_TITLES.get(gap, gap), labels=["indicator"],
                    formats={c: str for c in shown.columns}, right=shown.columns[1:].tolist())
    targets = frame[frame["target"].notna()]
    ops = {name: op for name, (op, _) in (goals or DEFAULT_TARGETS).items()}
    lines = []
    for name, t in targets.groupby("indicator", sort=False):
        last = t.sort_values("year").iloc[-1]
        lines.append(f"target {name} {ops.get(name, '')} {number(last['target'])} (illustrative unless given): "
                     f"{int(last['year'])} value {number(last['value'])}, "
                     f"{'met' if last['met'] else 'not met'} (distance {number(last['distance'])})")
    con.print("; ".join(lines) if lines else "no targets (--target indicator<value)", overflow="fold")
    con.print(_gaps_units(percent), overflow="fold")


def _gaps_units(percent: bool) -> str:
    from prosperity.cli.layout import column_units
    from prosperity.datasets import dataset_info

    prov = column_units(dataset_info("provincial_income_consumption_2016_2024"), "disp_income_pc_yuan")
    quint = column_units(dataset_info("nbs_income_quintiles"), "disp_income_pc_yuan")
    return (f"units: unit-free ratios, Theil indices and shares ({'percent' if percent else 'fractions'}) of "
            f"disposable income per capita: provinces {prov}; quintile groups {quint} "
            "(provincial_income_consumption_2016_2024, nbs_income_quintiles metadata)")
