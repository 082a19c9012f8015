"""`autospec specs ...`: generate, evaluate and plot specification sets."""

from __future__ import annotations

import typer

from autospec_cli.cli import specs_evaluate, specs_filter, specs_generate, specs_table

specs_app = typer.Typer(help="Mine, score and plot hyperrectangle specifications.",
                        no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``specs`` group to the root app."""
    specs_generate.register(specs_app)
    specs_evaluate.register(specs_app)
    specs_table.register(specs_app)
    specs_filter.register(specs_app)
    app.add_typer(specs_app, name="specs", rich_help_panel="AutoSpec")
