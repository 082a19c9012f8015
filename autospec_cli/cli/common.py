"""What every command group shares: global options, output rendering and progress bars.

Library code never prints; commands render with these helpers. ``--json`` commands print one
JSON document on stdout and nothing else there; human-readable output goes to stdout via
rich, diagnostics to stderr.
"""

from __future__ import annotations

import contextlib
import json
import sys
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

from autospec_cli.io import to_jsonable
from autospec_cli.progress import ProgressFn

console = Console()
err_console = Console(stderr=True)


@dataclass
class Globals:
    """Options of the root command, available to every sub-command via ``ctx.obj``."""

    json: bool = False
    quiet: bool = False
    verbose: int = 0
    seed: int = 0


def globals_of(ctx: typer.Context | None) -> Globals:
    c = ctx
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


@contextlib.contextmanager
def progress_bars(enabled: bool = True) -> Iterator[ProgressFn]:
    """A :data:`ProgressFn` drawing one rich bar per description (to stderr)."""
    if not enabled:
        yield lambda description, completed, total: None
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
            tasks[description] = bars.add_task(description, total=total)
        bars.update(tasks[description], completed=completed, total=total)

    with bars:
        yield report


def show_progress(ctx: typer.Context, json_out: bool = False) -> bool:
    """Progress bars unless ``--quiet`` or JSON output was asked for."""
    g = globals_of(ctx)
    return not (g.quiet or g.json or json_out)
