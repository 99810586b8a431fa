"""The ``prosperity`` command line. Each sub-command lives in its own module and only calls the
table-level Python API; this module only assembles them."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="prosperity",
    help="Measure, explain and simulate common prosperity.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # plain click help: with typer 0.29 + click 8.5 the rich formatter labels every flag "<bool>"
    rich_markup_mode=None,
)


def _register() -> None:
    # One module per sub-command; each exposes ``register(app)``. Modules are added to this list by
    # the capability that owns them (measure, grouped, decompose, converge, index, ...).
    import importlib

    for name in _COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(app)


_COMMAND_MODULES: list[str] = ["data_cmd", "grouped_cmd", "synth_cmd", "converge_cmd", "index_cmd", "measure_cmd", "demo_cmd", "decompose_cmd", "growth_cmd", "simulate_cmd", "monitor_cmd", "spatial_cmd"]


def main() -> None:
    _register()
    app()
