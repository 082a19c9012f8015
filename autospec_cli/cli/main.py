"""The ``autospec`` command: a root app with global options joining one sub-app per group."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import warnings
from typing import Any

import typer
from typer.core import TyperGroup, TyperOption

from autospec_cli import __version__, procs
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
from autospec_cli.inert import inert


class _RootGroup(TyperGroup):
    """The root group. Help shows no value placeholder (``<bool>``, ``<int>``) for options
    that take no value -- flags, ``--x/--no-x`` pairs, counters like ``-v`` -- in this
    command and in every sub-command reached through it."""

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        cmd = super().get_command(ctx, cmd_name)
        if cmd is not None:
            _plain_flags(cmd, ctx)
        return cmd

    def format_help(self, ctx: Any, formatter: Any) -> None:
        _plain_flags(self, ctx, recurse=False)
        super().format_help(ctx, formatter)


def _plain_flags(cmd: Any, ctx: Any, *, recurse: bool = True) -> None:
    """Blank the metavar of ``cmd``'s value-less options (its help option included)."""
    for p in [*cmd.params, cmd.get_help_option(ctx)]:
        if isinstance(p, TyperOption) and (p.is_flag or p.count) and p.metavar is None:
            p.metavar = ""
    if recurse:
        for sub in getattr(cmd, "commands", {}).values():
            _plain_flags(sub, ctx)


app = typer.Typer(
    cls=_RootGroup,
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
    seed: int = typer.Option(0, "--seed", min=0,
                             help="Default random seed for commands that take one."),
    version: bool | None = typer.Option(
        None, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """autospec: mine specifications, export VNN-LIB benchmarks, verify networks."""
    ctx.obj = Globals(json=json_out, quiet=quiet, verbose=verbose, seed=seed)
    set_current_globals(ctx.obj)
    _quiet_library_warnings(verbose)


def _quiet_library_warnings(verbose: int) -> None:
    """Hide Python warnings unless ``-v`` or ``PYTHONWARNINGS`` asks for them; job processes
    inherit the choice through ``PYTHONWARNINGS``.

    Every warning seen in real runs was our dependencies talking to their own developers:
    torch's deprecations of what auto_LiRPA calls, its UserWarnings about tracing, numpy's
    RuntimeWarnings about overflow inside bound arithmetic on heavy-tailed features. None is
    actionable by a user of this tool; what is reaches them as an error or a note.
    """
    if verbose >= 1 or sys.warnoptions or os.environ.get("PYTHONWARNINGS"):
        return
    warnings.filterwarnings("ignore")
    os.environ["PYTHONWARNINGS"] = "ignore"


INTERRUPTED = "interrupted; rerun the same command to resume"


_ENTRY = {"process": False}


def _interrupted() -> None:
    """End an interrupted command: one line, exit 128 + the signal (130 SIGINT, 143 SIGTERM).

    By now the command's ``finally`` blocks and context managers have run (outputs are
    complete or absent, executors shut down) and :func:`procs.cleanup` stops registered tool
    groups. As the process's entry point (``main()`` without ``argv``) the process then ends
    at once: a normal interpreter exit after a signal that landed inside torch sometimes ended
    by SIGINT instead (exit -2 in 3 of 32 SIGTERMs during `train`, the line already printed),
    which callers read as a different signal. In-process callers get ``SystemExit``."""
    procs.cleanup()
    err_console.print(INTERRUPTED, markup=False, highlight=False)
    code = 128 + (procs.received_signal() or signal.SIGINT)
    if _ENTRY["process"]:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)
    sys.exit(code)


def _usage_error(e: Exception) -> str:
    """The one line of an option-parsing error of the CLI library (no usage block, no hint)."""
    format_message = getattr(e, "format_message", None)
    message = format_message() if callable(format_message) else str(e)
    return " ".join(str(message).split())


def _os_error(e: OSError) -> str:
    """One line for an operating-system error: what failed, on which path."""
    what = e.strerror or type(e).__name__
    where = e.filename if e.filename is not None else ""
    if isinstance(e, (FileExistsError, NotADirectoryError)):
        what += " (a file is where a folder is needed)"
    elif isinstance(e, PermissionError):
        what += " (check the folder's permissions or choose another output)"
    return f"{where}: {what}" if where != "" else f"{what}: {e}"


def _print_error(line: str) -> None:
    err_console.print(f"[bold red]error:[/] {inert(line)}", highlight=False, markup=True,
                      soft_wrap=True)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: runs the app and turns typed errors into one line and exit 2.

    SIGINT and SIGTERM end any command with one line and exit 130 / 143 (outputs are written
    atomically, so they are complete or absent; external tools are stopped with their process
    groups). Option-parsing errors and operating-system errors (a read-only output folder, a
    parent that is a file) are user errors: one ``error:`` line and exit 2. With ``-vv`` the
    traceback of a typed or an internal error is printed before its line.
    """
    set_current_globals(Globals())
    _ENTRY["process"] = argv is None
    previous = procs.on_termination()
    try:
        _run(argv)
    finally:
        procs.restore_handlers(previous)


def _run(argv: list[str] | None) -> None:
    try:
        # Without standalone mode the CLI library *returns* the code of an Exit it caught --
        # notably 130 for Ctrl-C -- instead of exiting: ignoring it made an interrupted
        # `verify` exit 0, which means "every property holds".
        code = app(args=argv, standalone_mode=False)
        if isinstance(code, int) and not isinstance(code, bool) and code != 0:
            if code == 130:
                _interrupted()
            sys.exit(code)
    except AutospecError as e:
        if current_globals().verbose >= 2:
            err_console.print_exception(show_locals=False)
        _print_error(error_line(e))
        sys.exit(e.exit_code)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        _interrupted()
    except OSError as e:  # the environment refused: a read-only folder, a parent that is a file
        if current_globals().verbose >= 2:
            err_console.print_exception(show_locals=False)
        _print_error(_os_error(e))
        sys.exit(2)
    except Exception as e:  # usage errors (typer's click exceptions) and unexpected bugs
        if procs.received_signal() is not None:
            # raised by the interruption itself: an import that a signal broke reports
            # "ImportError: initialization failed", which is no internal error
            _interrupted()
        exit_code = getattr(e, "exit_code", None)
        if hasattr(e, "format_message") and isinstance(exit_code, int):
            if type(e).__name__ == "NoArgsIsHelpError":  # a bare group: its help, as asked
                show = getattr(e, "show", None)
                if callable(show):
                    show()
            else:
                _print_error(_usage_error(e))
            sys.exit(2 if exit_code else 0)
        traced = current_globals().verbose >= 2
        if traced:
            err_console.print_exception(show_locals=False)
        err_console.print(
            f"[bold red]internal error:[/] {type(e).__name__}: {inert(str(e))}"
            + ("" if traced else " (run with -vv for a traceback)"),
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(4)
