"""The Dask executor: jobs on a ``distributed`` cluster, results stored by the coordinator.

``DaskExecutor("tcp://HOST:PORT")`` uses a running scheduler (its workers must have
autospec_cli and the job modules installed); ``DaskExecutor(None, jobs=N)`` starts a
``LocalCluster`` on loopback with N worker processes of one thread each. Tasks are submitted
in a bounded window and collected with ``as_completed``; only the coordinator writes the store.

Timeouts: a task with a timeout (the executor's or the job's) runs in a separate job process
in its own session, kept by each Dask worker thread for the next jobs (a one-slot
:class:`~autospec_cli.campaign.local.LocalExecutor`); at the timeout that process group is
killed, the task is recorded as ``timeout`` and a fresh process takes over: the same hard
guarantee as the local executor, without a process start and imports per job. Without
a timeout (and ``isolate=False``) jobs run inside the Dask worker process itself; a job that
kills its worker is retried by Dask on another worker and recorded as ``failed``
(``KilledWorker``) once Dask gives up.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from autospec_cli.campaign.executors import Executor
from autospec_cli.campaign.local import LocalExecutor
from autospec_cli.campaign.runner import FAILED, HOST, Outcome, Task, execute, run_isolated
from autospec_cli.errors import ConfigError

_pools = threading.local()


def _isolated(task: Task) -> Outcome:
    """Run ``task`` in this Dask worker thread's own long-lived job process (a one-slot
    :class:`~autospec_cli.campaign.local.LocalExecutor`): a process group killed at the
    timeout like a fresh process, without paying a Python start and imports per job."""
    pool = getattr(_pools, "pool", None)
    if pool is None:
        pool = _pools.pool = LocalExecutor(jobs=1)
    try:
        return next(iter(pool.run([task])))
    except Exception:  # the pool itself broke (cannot start a process...): one fresh process
        _pools.pool = None
        pool.close()
        return run_isolated(task)


def dask_run(task: Task, isolate: bool) -> Outcome:
    """What a Dask worker runs for one task (top-level so Dask can pickle it by name)."""
    try:
        from distributed import get_worker

        name = f"dask:{get_worker().address}"
    except (ImportError, ValueError):
        name = "dask:?"
    if isolate:
        outcome = _isolated(task)
        outcome.worker = name
        return outcome
    return execute(task, worker=name)


class DaskExecutor(Executor):
    """Run tasks on Dask: ``scheduler`` address, or ``None`` for a loopback LocalCluster.

    ``jobs``: worker processes of the LocalCluster; ``timeout``: hard per-job limit (s);
    ``isolate``: run every job in its own process group (default: only jobs with a timeout).
    """

    def __init__(self, scheduler: str | None = None, *, jobs: int | None = None,
                 timeout: float | None = None, isolate: bool | None = None) -> None:
        super().__init__()
        if timeout is not None and timeout <= 0:
            raise ConfigError(f"timeout must be positive, got {timeout:g}")
        self.scheduler, self.timeout, self.isolate = scheduler, timeout, isolate
        self.jobs = jobs
        self.name = "dask" if scheduler else "dask-local"
        self._client: Any = None
        self._cluster: Any = None

    def describe(self) -> str:
        return f"dask:{self.scheduler}" if self.scheduler else f"dask-local:{self.jobs or 'auto'}"

    def start(self) -> None:
        if self.started:
            return
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ConfigError("the Dask executors need dask[distributed]; install "
                              "autospec-cli[dask]") from None
        try:
            if self.scheduler:
                self._client = Client(self.scheduler, timeout="10s")
            else:
                import os

                n = self.jobs or os.cpu_count() or 1
                self._cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                             host="127.0.0.1", dashboard_address=None,
                                             silence_logs=logging.ERROR)
                self._client = Client(self._cluster)
        except OSError as e:
            self.close()
            raise ConfigError(f"cannot reach the Dask scheduler {self.scheduler or 'local'}: "
                              f"{e}") from None
        self.started = True

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None
        self.started = False

    def _threads(self) -> int:
        return max(1, sum(self._client.nthreads().values()))

    def run(self, tasks: Iterable[Task]) -> Iterator[Outcome]:
        from distributed import as_completed

        self.start()
        window = 16 * self._threads() + 32  # enough queued work to hide round trips
        it = iter(tasks)
        pending: dict[Any, Task] = {}
        done = as_completed()
        try:
            for task in it:
                self._submit(task, pending, done)
                if len(pending) >= window:
                    break
            for future in done:
                task = pending.pop(future)
                yield self._outcome(future, task)
                nxt = next(it, None)
                if nxt is not None:
                    self._submit(nxt, pending, done)
        finally:
            if pending:
                self._client.cancel(list(pending))

    def _submit(self, task: Task, pending: dict[Any, Task], done: Any) -> None:
        if task.timeout is None and self.timeout is not None:
            task = Task(task.job_id, task.target, task.params_json, self.timeout)
        isolate = self.isolate if self.isolate is not None else task.timeout is not None
        future = self._client.submit(dask_run, task, isolate, pure=False,
                                     key=f"autospec-job-{task.job_id[:16]}-{uuid.uuid4().hex[:12]}")
        pending[future] = task
        done.add(future)

    @staticmethod
    def _outcome(future: Any, task: Task) -> Outcome:
        try:
            return future.result()
        except Exception as e:  # KilledWorker, CancelledError, a lost worker...
            return Outcome(task.job_id, FAILED, None, f"{type(e).__name__}: {e}".strip(),
                           worker="dask", host=HOST)
