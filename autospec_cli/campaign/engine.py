"""Running a campaign: insert the jobs, skip finished ones, stream outcomes into the store.

A campaign is a folder holding ``campaign.sqlite`` (the store) and optionally
``campaign.json`` (a free-form description written by whoever set the campaign up: name,
benchmark, configuration). :func:`run_campaign` is resumable by construction: every finished
job is committed as it arrives, so after an interruption (Ctrl-C, SIGKILL, a reboot) running
the same campaign again runs only what is left. Only one coordinator may run a campaign at a
time (an OS file lock, ``campaign.lock``, released automatically when the process dies).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from autospec_cli.campaign.executors import Executor
from autospec_cli.campaign.jobs import JobSpec, resolve_kind
from autospec_cli.campaign.local import LocalExecutor
from autospec_cli.campaign.runner import DONE, FAILED, TIMEOUT, Task
from autospec_cli.campaign.store import CampaignStore, StoreStats
from autospec_cli.errors import InputError, StoreError
from autospec_cli.io import atomic_write_json
from autospec_cli.progress import ProgressFn

DESCRIPTION_FILE = "campaign.json"
_PROGRESS_EVERY_S = 0.1


@dataclass
class CampaignSummary:
    """What one :func:`run_campaign` call did."""

    store: str
    executor: str
    requested: int  # distinct jobs asked for (all runnable store jobs when none were given)
    new: int  # of those, inserted into the store by this call
    skipped: int  # already finished (done; failed/timeout unless retry_failed), not run
    ran: int  # finished by this call
    done: int
    failed: int
    timeout: int
    remaining: int  # still to run (non-zero only if the run was interrupted)
    wall_time: float

    @property
    def complete(self) -> bool:
        return self.remaining == 0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "complete": self.complete}


def open_campaign(path: str | os.PathLike[str], *, create: bool = True,
                  busy_timeout: float = 5.0) -> CampaignStore:
    """Open (or create) the store of the campaign folder ``path``."""
    return CampaignStore(path, create=create, busy_timeout=busy_timeout)


def write_description(folder: str | os.PathLike[str], description: dict[str, Any]) -> Path:
    """Write ``campaign.json`` (atomically, replacing an older one) into the campaign folder."""
    return atomic_write_json(Path(folder) / DESCRIPTION_FILE, description, force=True)


def read_description(folder: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The campaign's ``campaign.json``, or None when there is none."""
    p = Path(folder) / DESCRIPTION_FILE
    if not p.is_file():
        return None
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise InputError(f"{p} is not valid JSON ({e}); fix or remove it") from None
    if not isinstance(data, dict):
        raise InputError(f"{p} must hold a JSON object")
    return data


def campaign_status(path: str | os.PathLike[str]) -> StoreStats:
    """Counts per status and kind, time used and runs of an existing campaign."""
    with CampaignStore(path, create=False, writable=False) as store:
        return store.stats()


def _requested(store: CampaignStore, jobs: Iterable[JobSpec] | None,
               retry_failed: bool) -> list[JobSpec]:
    if jobs is None:  # resume whatever the store holds
        wanted = ("pending", FAILED, TIMEOUT) if retry_failed else ("pending",)
        return [r.spec for r in store.iter_results(status=wanted)]
    seen: dict[str, JobSpec] = {}
    for spec in jobs:
        seen.setdefault(spec.id, spec)
    return list(seen.values())


def run_campaign(store_or_dir: CampaignStore | str | os.PathLike[str],
                 jobs: Iterable[JobSpec] | None = None, executor: Executor | None = None, *,
                 progress: ProgressFn | None = None, retry_failed: bool = False,
                 description: str = "jobs") -> CampaignSummary:
    """Run the jobs of a campaign that are not finished yet; store each outcome as it arrives.

    ``jobs``: the campaign's jobs (missing ones are inserted; duplicates are run once); None
    runs the jobs already in the store. Finished jobs are skipped: ``done`` always,
    ``failed``/``timeout`` unless ``retry_failed``. ``executor``: default a
    :class:`~autospec_cli.campaign.local.LocalExecutor` with one worker per CPU; an executor
    not yet started is closed afterwards, one started by the caller (``with ex:``) is left
    running. ``progress`` is called as ``progress(description, finished, to_run)``.
    """
    t0 = time.perf_counter()
    store = (store_or_dir if isinstance(store_or_dir, CampaignStore)
             else CampaignStore(store_or_dir))
    owns_store = store is not store_or_dir
    had_lock = store.holds_lock
    try:
        store.acquire_lock()
        specs = _requested(store, jobs, retry_failed)
        recorded = store.kinds()
        targets = {kind: resolve_kind(kind, recorded) for kind in {s.kind for s in specs}}
        new = store.add_jobs(specs) if jobs is not None else 0
        statuses = store.statuses()
        runnable = {"pending", FAILED, TIMEOUT} if retry_failed else {"pending"}
        to_run = [s for s in specs if statuses.get(s.id) in runnable]
        if executor is None:
            executor = LocalExecutor()
        counts = _execute(store, to_run, targets, executor, progress, description)
        return CampaignSummary(str(store.path), executor.describe(), len(specs), new,
                               len(specs) - len(to_run), sum(counts.values()), counts[DONE],
                               counts[FAILED], counts[TIMEOUT],
                               len(to_run) - sum(counts.values()), time.perf_counter() - t0)
    finally:
        if not had_lock:
            store.release_lock()
        if owns_store:
            store.close()


def _tasks(specs: list[JobSpec], targets: dict[str, str]) -> Iterator[Task]:
    for s in specs:
        yield Task(s.id, targets[s.kind], s.params_json, s.timeout)


def _execute(store: CampaignStore, to_run: list[JobSpec], targets: dict[str, str],
             executor: Executor, progress: ProgressFn | None,
             description: str) -> dict[str, int]:
    counts = {DONE: 0, FAILED: 0, TIMEOUT: 0}
    total = len(to_run)
    if progress:
        progress(description, 0, total)
    if not to_run:
        return counts
    store.save_kinds(targets)
    run_id = store.start_run(executor.describe(), total)
    owns_executor = not executor.started
    last = time.monotonic()
    try:
        for outcome in executor.run(_tasks(to_run, targets)):
            store.record(outcome)
            counts[outcome.status] += 1
            now = time.monotonic()
            if progress and now - last >= _PROGRESS_EVERY_S:
                progress(description, sum(counts.values()), total)
                last = now
    finally:
        if owns_executor:
            executor.close()
        with contextlib.suppress(StoreError):  # never hide the error that brought us here
            store.finish_run(run_id, sum(counts.values()), counts[DONE], counts[FAILED],
                             counts[TIMEOUT])
    if progress:
        progress(description, sum(counts.values()), total)
    return counts
