"""What every command group shares: global options, output rendering and progress bars.

Library code never prints; commands render with these helpers. ``--json`` commands print one
JSON document on stdout and nothing else there; human-readable output goes to stdout via
rich, diagnostics to stderr. ``-v`` adds a line on stderr for every step the library reports
through its progress callback and the time each phase took; ``-vv`` adds tracebacks.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from typer.core import TyperGroup

from autospec_cli.campaign.executors import cap_jobs
from autospec_cli.errors import AutospecError
from autospec_cli.inert import inert
from autospec_cli.io import to_jsonable
from autospec_cli.progress import ProgressFn

console = Console(emoji=False)  # emoji codes in untrusted text stay text (`:x:`)
err_console = Console(stderr=True, emoji=False)

#: library parameter -> the option a CLI user types for it. Library errors name parameters
#: (``AutospecError.param``); :func:`error_line` tells the user which option that is.
PARAM_FLAGS: dict[str, str] = {
    "allow_outside": "--allow-outside",
    "arch": "--arch",
    "backend": "--backend",
    "by_group": "--by-group",
    "data": "--data",
    "domain": "--domain-from",
    "features": "--features",
    "features_xy": "--features-xy",
    "force": "--force",
    "input_shape": "--input-shape",
    "jobs_max": "--jobs-max",
    "label": "--label",
    "level": "--level",
    "lr": "--lr",
    "min_confidence": "--min-confidence",
    "min_support": "--min-support",
    "nan_policy": "--nan-policy",
    "options": "--opt",
    "ratio": "--ratio",
    "binary_labels": "--binary-labels",
    "scale": "--scale",
    "target_bins": "--target-bins",
    "task": "--task",
    "timeout": "--timeout",
    "tools_file": "--tools",
    "verifiers": "--verifiers",
    "window": "--window",
}


def error_line(e: AutospecError) -> str:
    """The one line shown for a typed error: its message and the option it is about."""
    message = str(e)
    flag = PARAM_FLAGS.get(getattr(e, "param", None) or "")
    if flag and flag not in message:
        message += f" (option {flag})"
    return message


class FoldingTable(Table):
    """The table every command prints: at any terminal width a long cell folds onto more
    lines instead of being cut with an ellipsis (``atta…``, ``880.…``), so no value is lost.
    Every column defaults to ``overflow="fold"`` and may wrap."""

    def add_column(self, header: Any = "", footer: Any = "", *, overflow: Any = "fold",
                   no_wrap: bool = False, **kwargs: Any) -> None:
        super().add_column(header, footer, overflow=overflow, no_wrap=no_wrap, **kwargs)


@dataclass
class Globals:
    """Options of the root command, available to every sub-command via ``ctx.obj``."""

    json: bool = False
    quiet: bool = False
    verbose: int = 0
    seed: int = 0


def globals_of(ctx: typer.Context | None) -> Globals:
    c: Any = ctx
    while c is not None:
        if isinstance(c.obj, Globals):
            return c.obj
        c = c.parent
    return Globals()


def want_json(ctx: typer.Context, flag: bool = False) -> bool:
    return flag or globals_of(ctx).json


def emit_json(obj: Any) -> None:
    """Print one JSON document on stdout (NaN/inf become null)."""
    sys.stdout.write(json.dumps(to_jsonable(obj), indent=2) + "\n")
    sys.stdout.flush()


# The root options of the command being run: set by the root callback, reset by main().
_current = Globals()


def set_current_globals(g: Globals) -> None:
    global _current
    _current = g


def current_globals() -> Globals:
    """The root options of the command being run (defaults outside a command)."""
    return _current


JOBS_MAX_OPT = typer.Option(
    None, "--jobs-max", min=1,
    help="Most worker processes on this machine (default: its usable cores); a larger --jobs "
    "is capped to it with a note.")


def effective_jobs(executor: str, jobs: int | None, jobs_max: int | None) -> int | None:
    """``jobs`` capped for ``executor`` (see :func:`cap_jobs`); the note, if any, goes to
    stderr as one line (not with ``--quiet``)."""
    n, note = cap_jobs(executor, jobs, jobs_max)
    if note and not current_globals().quiet:
        err_console.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
    return n


class StepLog:
    """``-v``: one stderr line per progress step, and each phase's time when it completes."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.start = time.perf_counter()
        self.first: dict[str, float] = {}
        self.last: dict[str, tuple[int, int | None]] = {}

    def __call__(self, description: str, completed: int, total: int | None) -> None:
        now = time.perf_counter()
        began = self.first.setdefault(description, now)
        if self.last.get(description) == (completed, total):
            return
        self.last[description] = (completed, total)
        of = f"/{total}" if total is not None else ""
        line = f"[{now - self.start:7.2f}s] {description}: {completed}{of}"
        if total is not None and completed >= total:
            line += f" (done in {now - began:.2f}s)"
        self.console.print(line, markup=False, highlight=False, soft_wrap=True)

    def close(self) -> None:
        if self.first:
            self.console.print(
                f"[{time.perf_counter() - self.start:7.2f}s] finished", markup=False,
                highlight=False,
            )


@contextlib.contextmanager
def progress_bars(enabled: bool = True) -> Iterator[ProgressFn]:
    """A :data:`ProgressFn` drawing one rich bar per description (to stderr).

    With ``-v`` (and without ``--quiet``) every call is also logged as a line on stderr with
    the elapsed time, even when bars are off for ``--json``.
    """
    g = current_globals()
    steps = StepLog(err_console) if g.verbose >= 1 and not g.quiet else None
    if not enabled:
        if steps is None:
            yield lambda description, completed, total: None
            return
        yield steps
        steps.close()
        return
    bars = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=err_console,
        transient=False,
    )
    tasks: dict[str, Any] = {}

    def report(description: str, completed: int, total: int | None) -> None:
        if description not in tasks:
            tasks[description] = bars.add_task(inert(description), total=total)
        bars.update(tasks[description], completed=completed, total=total)
        if steps is not None:
            steps(description, completed, total)

    with bars:
        yield report
    if steps is not None:
        steps.close()


def show_progress(ctx: typer.Context, json_out: bool = False) -> bool:
    """Progress bars unless ``--quiet`` or JSON output was asked for."""
    g = globals_of(ctx)
    return not (g.quiet or g.json or json_out)


def default_command_group(default: str) -> type[TyperGroup]:
    """A group class whose first argument, when not a sub-command, goes to ``default``
    (``autospec verify BENCH`` runs ``verify run BENCH``)."""

    class DefaultCommandGroup(TyperGroup):
        # ctx: click's Context, or the copy of click that newer typer vendors (typer._click);
        # which one depends on the typer version, and this override only passes it on.
        def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
            if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
                args = [default, *args]
            return super().parse_args(ctx, args)

    return DefaultCommandGroup
