"""Executors: run tasks somewhere and yield their outcomes as they finish.

An executor's :meth:`Executor.run` takes an iterable of :class:`Task` and yields one
:class:`Outcome` per task in completion order; the coordinating process (the engine) writes
each outcome to the store as it arrives. Job failures are outcomes, never exceptions.

Built-in executors (:func:`make_executor` names):

- ``inline`` (or ``local`` with ``jobs=0``): runs jobs one after another in this process. For
  tests and debugging; the timeout is NOT enforced (a hanging job hangs) and a job that kills
  its process kills the coordinator.
- ``local``: :class:`autospec_cli.campaign.local.LocalExecutor`, long-lived worker processes,
  each in its own process group, with a hard per-job timeout.
- ``dask`` / ``dask-local``: :class:`autospec_cli.campaign.dask_executor.DaskExecutor` on a
  scheduler address or on a LocalCluster started on loopback.

Lifetime: an executor starts its workers on first use. Used as a context manager
(``with LocalExecutor(2) as ex:``) it keeps them across several campaigns until the block
ends; otherwise :func:`autospec_cli.campaign.engine.run_campaign` closes it after the run.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator

from autospec_cli.campaign.runner import Outcome, Task, execute
from autospec_cli.errors import ConfigError
from autospec_cli.params import check_seconds

EXECUTORS = ("local", "inline", "dask-local", "dask")


class Executor(ABC):
    """Runs tasks and yields outcomes as they complete."""

    name: str = "executor"

    def __init__(self) -> None:
        self.started = False

    def start(self) -> None:
        """Start workers (idempotent)."""
        self.started = True

    def close(self) -> None:
        """Stop workers, killing jobs still running (idempotent)."""
        self.started = False

    def __enter__(self) -> Executor:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @abstractmethod
    def run(self, tasks: Iterable[Task]) -> Iterator[Outcome]:
        """Run every task; yield one outcome per task, in completion order."""

    def describe(self) -> str:
        """A short description for the store's run log (e.g. ``local:4``)."""
        return self.name


class InlineExecutor(Executor):
    """Runs jobs in this process, one at a time; timeouts are not enforced (documented)."""

    name = "inline"

    def run(self, tasks: Iterable[Task]) -> Iterator[Outcome]:
        self.start()
        for task in tasks:
            yield execute(task, worker="inline")


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the system tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def cap_jobs(name: str, jobs: int | None, jobs_max: int | None = None
             ) -> tuple[int | None, str | None]:
    """``(jobs to use, note or None)``: worker processes on this machine are capped at
    ``jobs_max`` (default: :func:`usable_cores`), since more only compete for the same cores
    (``-j 100000`` once started 170 workers for 13 jobs). A remote Dask scheduler (``dask``)
    is not capped: its workers are elsewhere. The note says what was changed."""
    if jobs_max is not None and jobs_max < 1:
        raise ConfigError(f"jobs-max must be at least 1, got {jobs_max}", param="jobs_max")
    if jobs is None or name not in ("local", "dask-local"):
        return jobs, None
    limit = usable_cores() if jobs_max is None else jobs_max
    if jobs <= limit:
        return jobs, None
    why = "--jobs-max" if jobs_max is not None else "the cores available here"
    return limit, (f"--jobs {jobs} is more than {why} ({limit}): running {limit} worker(s); "
                   "raise --jobs-max to allow more")


def make_executor(name: str = "local", *, jobs: int | None = None, timeout: float | None = None,
                  scheduler: str | None = None) -> Executor:
    """An executor by name: ``local``, ``inline``, ``dask-local`` or ``dask`` (needs scheduler).

    ``jobs``: worker processes (default: the CPU count); ``timeout``: hard per-job timeout in
    seconds (None: no limit).
    """
    if timeout is not None:
        timeout = check_seconds("the job timeout", timeout)
    if name == "inline" or (name == "local" and jobs == 0):
        return InlineExecutor()
    if name == "local":
        from autospec_cli.campaign.local import LocalExecutor

        return LocalExecutor(jobs=jobs, timeout=timeout)
    if name in ("dask", "dask-local"):
        from autospec_cli.campaign.dask_executor import DaskExecutor

        if name == "dask" and not scheduler:
            raise ConfigError("the dask executor needs a scheduler address (tcp://HOST:PORT); "
                              "use dask-local for a cluster on this machine")
        return DaskExecutor(scheduler if name == "dask" else None, jobs=jobs, timeout=timeout)
    raise ConfigError(f"unknown executor {name!r}; choose from {', '.join(EXECUTORS)}")
