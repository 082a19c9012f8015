"""The local executor: long-lived worker processes with a hard per-job timeout.

Each worker is a ``python -m autospec_cli.campaign.worker`` process started once in its own
session, so it leads a process group that every child a job starts (an external verifier,
say) joins. Jobs never pay for a process start; no ``fork`` of a coordinator that may run
threads, and the coordinator's main module is never re-imported. The coordinator sends one
task at a time over a socket pair and waits on all workers at once:

- a result arrives: the outcome is yielded and the worker gets the next task;
- a job's hard timeout passes: the worker's whole process group gets SIGKILL, the job is
  recorded as ``timeout`` and a fresh worker takes the slot;
- a worker dies (segfault, ``os._exit``, OOM killer): its group is killed, the job is recorded
  as ``failed`` with the exit status, and a fresh worker takes the slot.

Workers watch their parent and kill their own group when it disappears, so a coordinator
killed with SIGKILL leaves no job running behind it. Children that start their own session
(``setsid``) escape the group and cannot be killed this way. A job's prints go to the
coordinator's stderr (never its stdout, which may carry JSON).
"""

from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import sys
import time
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from autospec_cli.campaign.executors import Executor, InlineExecutor
from autospec_cli.campaign.runner import (
    FAILED,
    HOST,
    TIMEOUT,
    Outcome,
    Task,
    kill_group,
    stop_job,
)
from autospec_cli.errors import ConfigError


@dataclass
class _Worker:
    slot: int
    process: subprocess.Popen[bytes]
    conn: Connection
    sentinel: int | None  # a pidfd, readable when the process exits (Linux), else None
    task: Task | None = None
    started_wall: float = 0.0
    started: float = 0.0
    deadline: float | None = None

    @property
    def name(self) -> str:
        return f"local:{self.slot}:{self.process.pid}"


_live: weakref.WeakSet[LocalExecutor] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for ex in list(_live):
        ex.close()


class LocalExecutor(Executor):
    """A pool of ``jobs`` long-lived worker processes; ``timeout``: hard per-job limit (s).

    ``jobs=0`` runs jobs inline in this process (no timeout enforcement); ``jobs=None`` uses
    one worker per CPU. A job's own ``timeout`` (``JobSpec.timeout``) overrides ``timeout``.
    """

    name = "local"

    def __init__(self, jobs: int | None = None, timeout: float | None = None) -> None:
        super().__init__()
        self.jobs = (os.cpu_count() or 1) if jobs is None else int(jobs)
        if self.jobs < 0:
            raise ConfigError(f"jobs must be 0 (inline) or more, got {self.jobs}")
        if timeout is not None and timeout <= 0:
            raise ConfigError(f"timeout must be positive, got {timeout:g}")
        self.timeout = timeout
        self._workers: list[_Worker | None] = []

    def describe(self) -> str:
        return f"local:{self.jobs}" if self.jobs else "inline"

    # -- worker lifetime -----------------------------------------------------------------------

    def start(self) -> None:
        if not self.started and self.jobs > 0:
            # Workers start when a task first needs their slot: -j 100000 for 13 jobs starts
            # 13 processes, not 100000 (which exhausted the machine and hung).
            self._workers = [None] * self.jobs
            _live.add(self)
        self.started = True

    def _spawn(self, slot: int) -> _Worker:
        ours, theirs = socket.socketpair()
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "autospec_cli.campaign.worker", str(theirs.fileno()),
                 str(slot)],
                stdin=subprocess.DEVNULL, stdout=2, pass_fds=(theirs.fileno(),),
                start_new_session=True,
            )
        finally:
            theirs.close()
        conn = Connection(ours.detach())
        sentinel = None
        if hasattr(os, "pidfd_open"):
            try:
                sentinel = os.pidfd_open(proc.pid)
            except OSError:
                sentinel = None
        w = _Worker(slot, proc, conn, sentinel)
        try:
            conn.send(sys.path)
        except OSError:
            pass  # died at once; noticed when the first task is sent
        return w

    def _kill(self, w: _Worker) -> int | None:
        """Stop the worker's process group, reap it and return its exit code.

        A busy worker first gets SIGTERM: it stops the external tools its job started (they
        run in groups of their own) and removes their scratch folders before it exits.
        """
        if w.task is not None:
            stop_job(w.process)
        elif w.process.poll() is None:
            kill_group(w.process.pid)
        code = w.process.wait()
        kill_group(w.process.pid, leader_unreaped=False)  # anything left in its group
        w.conn.close()
        if w.sentinel is not None:
            os.close(w.sentinel)
            w.sentinel = None
        return code

    def close(self) -> None:
        for w in self._workers:
            if w is not None and w.task is None:
                try:
                    w.conn.send(None)
                except OSError:
                    pass
        deadline = time.monotonic() + 1.0
        for w in self._workers:
            if w is None:
                continue
            if w.task is None:
                try:
                    w.process.wait(max(0.01, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    pass
            self._kill(w)
        self._workers = []
        self.started = False
        _live.discard(self)

    # -- running -------------------------------------------------------------------------------

    def run(self, tasks: Iterable[Task]) -> Iterator[Outcome]:
        if self.jobs == 0:
            yield from InlineExecutor().run(tasks)
            return
        self.start()
        it = iter(tasks)
        exhausted = False
        try:
            while True:
                for slot, w in enumerate(self._workers):
                    if exhausted or (w is not None and w.task is not None):
                        continue
                    task = next(it, None)
                    if task is None:
                        exhausted = True
                        break
                    self._dispatch(slot, task)
                busy = [w for w in self._workers if w is not None and w.task is not None]
                if not busy:
                    return
                yield from self._collect(busy)
        finally:  # tasks abandoned by the consumer: stop them, fresh workers next time
            busy = [w for w in self._workers if w is not None and w.task is not None]
            for w in busy:  # all at once, so their clean-ups overlap
                if w.process.poll() is None:
                    w.process.send_signal(signal.SIGTERM)
            for w in busy:
                self._kill(w)
                self._workers[w.slot] = None

    def _dispatch(self, slot: int, task: Task) -> None:
        w = self._workers[slot]
        for _ in range(3):
            if w is None or w.process.poll() is not None:
                if w is not None:
                    self._kill(w)
                w = self._workers[slot] = self._spawn(slot)
            try:
                w.conn.send(task)
                break
            except OSError:  # the idle worker died; replace it and retry
                self._kill(w)
                w = self._workers[slot] = None
        else:
            raise RuntimeError("could not start a worker process")
        limit = task.timeout if task.timeout is not None else self.timeout
        w.task, w.started_wall, w.started = task, time.time(), time.monotonic()
        w.deadline = w.started + limit if limit else None

    def _collect(self, busy: list[_Worker]) -> list[Outcome]:
        """Wait for results, deaths or deadlines; return the outcomes, free workers' slots."""
        deadlines = [w.deadline for w in busy if w.deadline is not None]
        wait_s = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
        by_obj: dict[Any, _Worker] = {}
        for w in busy:
            by_obj[w.conn] = w
            if w.sentinel is not None:
                by_obj[w.sentinel] = w
        ready = wait(list(by_obj), wait_s)
        outcomes: list[Outcome] = []
        seen: set[int] = set()
        for obj in ready:
            w = by_obj[obj]
            if w.slot not in seen:
                seen.add(w.slot)
                outcomes.append(self._receive(w))
        now = time.monotonic()
        for w in busy:
            if w.slot not in seen and w.deadline is not None and now >= w.deadline:
                outcomes.append(self._timed_out(w))
        return outcomes

    def _receive(self, w: _Worker) -> Outcome:
        task = w.task
        assert task is not None
        try:
            if w.conn.poll():
                outcome: Outcome = w.conn.recv()
                w.task = None
                return outcome
        except (EOFError, OSError):
            pass
        code = self._kill(w)
        self._workers[w.slot] = None
        how = (f"killed by signal {signal.Signals(-code).name}" if code is not None and code < 0
               else f"exit code {code}")
        return Outcome(task.job_id, FAILED, None, f"worker process died ({how}) while running "
                       "the job", w.started_wall, time.time(), time.monotonic() - w.started,
                       w.name, HOST)

    def _timed_out(self, w: _Worker) -> Outcome:
        task = w.task
        assert task is not None
        limit = w.deadline - w.started if w.deadline is not None else 0.0
        finished, duration = time.time(), time.monotonic() - w.started  # not the clean-up
        self._kill(w)
        self._workers[w.slot] = None
        return Outcome(task.job_id, TIMEOUT, None, f"killed after the {limit:g} s hard timeout "
                       "(whole process group)", w.started_wall, finished, duration, w.name, HOST)
