"""A local worker process: ``python -m autospec_cli.campaign.worker FD``.

Started by :class:`autospec_cli.campaign.local.LocalExecutor` in its own session (so it leads
a process group that includes every child a job starts). ``FD`` is one end of a socket pair
carrying pickled messages: first the coordinator's ``sys.path``, then one :class:`Task` at a
time, answered by one :class:`Outcome`; ``None`` ends the worker. A watchdog thread kills the
worker's whole group if the coordinator disappears (e.g. killed with SIGKILL).
"""

from __future__ import annotations

import os
import sys
from multiprocessing.connection import Connection

from autospec_cli import procs
from autospec_cli.campaign.runner import execute, watch_parent


def main(argv: list[str]) -> None:
    fd = int(argv[1])
    os.set_inheritable(fd, False)  # children started by jobs must not hold our channel
    conn = Connection(fd)
    try:
        sys.path[:] = conn.recv()
    except (EOFError, OSError):
        return

    # Stopped by the coordinator (interrupt, hard timeout): the external tools a job started
    # run in process groups of their own; stop them and remove their scratch folders first.
    procs.on_termination(procs.exit_after_cleanup)
    watch_parent()
    name = f"local:{argv[2] if len(argv) > 2 else '?'}:{os.getpid()}"
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        outcome = execute(task, worker=name)
        try:
            conn.send(outcome)
        except OSError:
            return


if __name__ == "__main__":
    main(sys.argv)
