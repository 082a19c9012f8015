"""The ``autospec`` command: a root app with global options joining one sub-app per group."""

from __future__ import annotations

import os
import sys
import warnings

import typer
from rich.markup import escape

from autospec_cli import __version__
from autospec_cli.cli import (
    bench,
    campaign,
    data,
    demo,
    doctor,
    export,
    plugins,
    report,
    specs,
    study,
    train,
    verify,
)
from autospec_cli.cli.common import (
    Globals,
    current_globals,
    err_console,
    error_line,
    set_current_globals,
)
from autospec_cli.errors import AutospecError

app = typer.Typer(
    name="autospec",
    help="Specifications from data, VNN-LIB benchmarks and neural-network verification.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    rich_markup_mode="rich",
)

for module in (data, specs, train, export, verify, campaign, bench, study, report, demo, plugins,
               doctor):
    module.register(app)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"autospec {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help="Machine-readable JSON on stdout."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
    verbose: int = typer.Option(
        0,
        "--verbose",
        "-v",
        count=True,
        help="-v: a line per progress step and each phase's time; -vv: tracebacks too.",
    ),
    seed: int = typer.Option(0, "--seed", help="Default random seed for commands that take one."),
    version: bool | None = typer.Option(
        None, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """autospec: mine specifications, export VNN-LIB benchmarks, verify networks."""
    ctx.obj = Globals(json=json_out, quiet=quiet, verbose=verbose, seed=seed)
    set_current_globals(ctx.obj)
    _quiet_library_warnings(verbose)


#: Warnings of our dependencies that say nothing actionable to a user of this tool (torch's
#: own deprecations of what auto_LiRPA calls; numpy's overflow notes inside bound arithmetic).
_NOISE: tuple[type[Warning], ...] = (DeprecationWarning, FutureWarning)


def _quiet_library_warnings(verbose: int) -> None:
    """Hide dependencies' deprecation noise unless ``-v`` or ``PYTHONWARNINGS`` asks for it;
    job processes inherit the choice through ``PYTHONWARNINGS``."""
    if verbose >= 1 or sys.warnoptions or os.environ.get("PYTHONWARNINGS"):
        return
    for category in _NOISE:
        warnings.filterwarnings("ignore", category=category)
    os.environ["PYTHONWARNINGS"] = ",".join(f"ignore::{c.__name__}" for c in _NOISE)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: runs the app and turns typed errors into one line and exit 2.

    With ``-vv`` the traceback of a typed or an internal error is printed before its line.
    """
    set_current_globals(Globals())
    try:
        # Without standalone mode the CLI library *returns* the code of an Exit it caught --
        # notably 130 for Ctrl-C -- instead of exiting: ignoring it made an interrupted
        # `verify` exit 0, which means "every property holds".
        code = app(args=argv, standalone_mode=False)
        if isinstance(code, int) and not isinstance(code, bool) and code != 0:
            if code == 130:
                err_console.print("interrupted")
            sys.exit(code)
    except AutospecError as e:
        if current_globals().verbose >= 2:
            err_console.print_exception(show_locals=False)
        err_console.print(
            f"[bold red]error:[/] {escape(error_line(e))}",
            highlight=False,
            markup=True,
            soft_wrap=True,
        )
        sys.exit(e.exit_code)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except Exception as e:  # usage errors (typer's click exceptions) and unexpected bugs
        exit_code = getattr(e, "exit_code", None)
        if hasattr(e, "show") and isinstance(exit_code, int):
            e.show()
            sys.exit(exit_code)
        traced = current_globals().verbose >= 2
        if traced:
            err_console.print_exception(show_locals=False)
        err_console.print(
            f"[bold red]internal error:[/] {type(e).__name__}: {escape(str(e))}"
            + ("" if traced else " (run with -vv for a traceback)"),
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(4)
