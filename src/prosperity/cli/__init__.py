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
)


def _register() -> None:
    # One import per sub-command module; each module exposes ``register(app)``.
    modules: list = []
    for module in modules:
        module.register(app)


def main() -> None:
    _register()
    app()
