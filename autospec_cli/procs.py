"""Child process groups and scratch folders that must not outlive an interrupted command.

External tools run in process groups of their own (so a tool's timeout kills the tool and
everything it started, not the caller). Such a group escapes the group of the worker that
started it, so killing the worker alone would leave the tool running, re-parented to init,
and its temporary folder behind. Whoever starts a group registers it here while it runs
(:func:`track_group`), scratch folders are made with :func:`scratch_dir`, and the signal
handlers and watchdogs call :func:`cleanup` before the process ends: every registered group
gets SIGTERM, then SIGKILL, and every registered folder is removed.

:func:`on_termination` installs the handlers a command-line process uses: SIGINT and SIGTERM
become :class:`KeyboardInterrupt` (so ``finally`` blocks and context managers run), and
:func:`received_signal` tells the caller which signal it was (exit code ``128 + signal``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

#: seconds a group gets between SIGTERM and SIGKILL when its owner is being interrupted
CLEANUP_WAIT = 0.5

_groups: set[int] = set()
_folders: set[Path] = set()
_received: int | None = None


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def stop_group(pgid: int, wait: float = CLEANUP_WAIT) -> None:
    """SIGTERM the process group ``pgid``, give it ``wait`` seconds, then SIGKILL it.

    A leader that is a zombie (exited, not yet reaped by its parent) keeps the group
    "alive" for ``killpg(.., 0)``; the SIGKILL that follows is then harmless.
    """
    _killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and _group_alive(pgid):
        time.sleep(0.02)
    _killpg(pgid, signal.SIGKILL)


@contextlib.contextmanager
def track_group(pgid: int) -> Iterator[None]:
    """Register the process group ``pgid`` for :func:`cleanup` while the block runs."""
    _groups.add(pgid)
    try:
        yield
    finally:
        _groups.discard(pgid)


@contextlib.contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    """A fresh temporary folder, removed when the block ends or :func:`cleanup` runs."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    _folders.add(path)
    try:
        yield path
    finally:
        _folders.discard(path)
        shutil.rmtree(path, ignore_errors=True)


def cleanup(wait: float = CLEANUP_WAIT) -> None:
    """Stop every registered process group and remove every registered scratch folder."""
    groups = list(_groups)
    for pgid in groups:
        _killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + wait
    while groups and time.monotonic() < deadline and any(_group_alive(g) for g in groups):
        time.sleep(0.02)
    for pgid in groups:
        _killpg(pgid, signal.SIGKILL)
    for path in list(_folders):
        shutil.rmtree(path, ignore_errors=True)
        _folders.discard(path)


def received_signal() -> int | None:
    """The termination signal :func:`on_termination`'s handler caught, if any."""
    return _received


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    global _received
    if _received is not None:
        return  # the first signal is being handled; let its clean-up finish
    _received = signum
    raise KeyboardInterrupt


def on_termination(handler: Callable[[int, FrameType | None], object] | None = None,
                   ) -> dict[int, Any]:
    """Install ``handler`` for SIGINT and SIGTERM (default: raise KeyboardInterrupt once);
    return the handlers it replaced (for :func:`restore_handlers`).

    Only possible in the main thread; elsewhere (a library caller's thread) nothing changes.
    """
    global _received
    _received = None
    previous: dict[int, Any] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError):  # not the main thread
            previous[sig] = signal.signal(sig, handler or _raise_interrupt)
    return previous


def restore_handlers(previous: dict[int, Any]) -> None:
    """Put back the handlers :func:`on_termination` replaced (in-process callers, tests)."""
    for sig, old in previous.items():
        with contextlib.suppress(ValueError, TypeError):
            signal.signal(sig, old)


def exit_after_cleanup(signum: int, frame: FrameType | None) -> None:
    """A handler for helper processes (workers, job runners): stop registered groups, remove
    scratch folders and end at once with ``128 + signum``, printing nothing."""
    cleanup()
    os._exit(128 + signum)
