"""The engine: resume, retries, progress, and surviving SIGKILL of the coordinator."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from campaign_helpers import done_count, wait_gone

from autospec_cli.campaign.engine import (
    campaign_status,
    read_description,
    run_campaign,
    write_description,
)
from autospec_cli.campaign.executors import InlineExecutor
from autospec_cli.campaign.jobs import JobSpec
from autospec_cli.campaign.local import LocalExecutor
from autospec_cli.campaign.store import CampaignStore
from autospec_cli.errors import ConfigError, InputError, StoreError


def _echo_jobs(n: int, log: Path | None = None) -> list[JobSpec]:
    extra = {"log": str(log)} if log else {}
    return [JobSpec("probe.echo", {"value": i, **extra}) for i in range(n)]


def _lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def _stored(folder: Path) -> dict[str, tuple]:
    with CampaignStore(folder, create=False) as store:
        return {r.id: (r.status, r.result, r.attempts) for r in store.results()}


def test_resume_skips_done_jobs(tmp_path: Path) -> None:
    log = tmp_path / "executions.log"
    jobs = _echo_jobs(20, log)
    first = run_campaign(tmp_path / "c", jobs, LocalExecutor(jobs=2))
    assert (first.ran, first.done, first.new, first.skipped) == (20, 20, 20, 0)
    assert first.complete
    second = run_campaign(tmp_path / "c", jobs, LocalExecutor(jobs=2))
    assert (second.ran, second.skipped, second.new) == (0, 20, 0)
    assert sorted(map(int, _lines(log))) == list(range(20))  # each executed exactly once
    assert all(attempts == 1 for _, _, attempts in _stored(tmp_path / "c").values())
    more = run_campaign(tmp_path / "c", _echo_jobs(25, log), InlineExecutor())
    assert (more.ran, more.new, more.skipped) == (5, 5, 20)
    assert sorted(map(int, _lines(log))) == list(range(25))


def test_failed_and_timeout_jobs_rerun_only_when_asked(tmp_path: Path) -> None:
    jobs = [JobSpec("probe.fail", {"message": "nope"}),
            JobSpec("probe.sleep", {"seconds": 30}, timeout=0.5),
            *_echo_jobs(3)]
    s1 = run_campaign(tmp_path / "c", jobs, LocalExecutor(jobs=2))
    assert (s1.done, s1.failed, s1.timeout) == (3, 1, 1)
    s2 = run_campaign(tmp_path / "c", jobs, LocalExecutor(jobs=2))
    assert (s2.ran, s2.skipped) == (0, 5)
    s3 = run_campaign(tmp_path / "c", jobs, LocalExecutor(jobs=2), retry_failed=True)
    assert (s3.ran, s3.failed, s3.timeout, s3.skipped) == (2, 1, 1, 3)
    attempts = {r[0]: r[2] for r in _stored(tmp_path / "c").values()}
    assert attempts == {"failed": 2, "timeout": 2, "done": 1}


def test_reset_then_resume_from_the_store_alone(tmp_path: Path) -> None:
    jobs = [JobSpec("probe.fail", {}), *_echo_jobs(4)]
    run_campaign(tmp_path / "c", jobs, InlineExecutor())
    with CampaignStore(tmp_path / "c") as store:
        assert store.reset(["failed", "done"], kind="probe.echo") == 4
    summary = run_campaign(tmp_path / "c", None, InlineExecutor())  # jobs=None: the store's
    assert (summary.requested, summary.ran, summary.done) == (4, 4, 4)
    status = campaign_status(tmp_path / "c")
    assert status.by_status == {"pending": 0, "done": 4, "failed": 1, "timeout": 0}
    assert len(status.runs) == 2 and all(r["finished"] for r in status.runs)


def test_duplicates_run_once_and_progress_reports_the_end(tmp_path: Path) -> None:
    calls: list[tuple[str, int, int | None]] = []
    jobs = _echo_jobs(5) + _echo_jobs(5)
    s = run_campaign(tmp_path / "c", jobs, InlineExecutor(),
                     progress=lambda d, k, n: calls.append((d, k, n)), description="echo")
    assert s.requested == 5 and s.ran == 5
    assert calls[0] == ("echo", 0, 5) and calls[-1] == ("echo", 5, 5)


def test_unknown_kind_fails_before_anything_is_stored(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown job kind"):
        run_campaign(tmp_path / "c", [*_echo_jobs(2), JobSpec("no.such.kind", {})],
                     InlineExecutor())
    assert campaign_status(tmp_path / "c").total == 0


def test_a_second_coordinator_is_refused(tmp_path: Path) -> None:
    with CampaignStore(tmp_path / "c") as store:
        store.acquire_lock()
        with pytest.raises(StoreError, match="being run by another process"):
            run_campaign(tmp_path / "c", _echo_jobs(2), InlineExecutor())
        summary = run_campaign(store, _echo_jobs(2), InlineExecutor())  # its own lock is fine
        assert summary.done == 2 and store.holds_lock


def test_an_entered_executor_is_reused_across_campaigns(tmp_path: Path) -> None:
    with LocalExecutor(jobs=1) as ex:
        run_campaign(tmp_path / "a", _echo_jobs(3), ex)
        assert ex.started
        run_campaign(tmp_path / "b", _echo_jobs(3), ex)
    workers = set()
    for d in ("a", "b"):
        with CampaignStore(tmp_path / d) as store:
            workers |= {r.worker for r in store.results()}
    assert len(workers) == 1  # the same worker process served both
    plain = LocalExecutor(jobs=1)
    run_campaign(tmp_path / "c", _echo_jobs(1), plain)
    assert not plain.started  # not entered by the caller: closed after the run


def test_description_file_round_trip(tmp_path: Path) -> None:
    assert read_description(tmp_path) is None
    write_description(tmp_path, {"name": "acas", "timeout": 60})
    assert read_description(tmp_path) == {"name": "acas", "timeout": 60}
    (tmp_path / "campaign.json").write_text("[1, 2")
    with pytest.raises(InputError, match="not valid JSON"):
        read_description(tmp_path)


COORDINATOR = textwrap.dedent("""
    import sys
    from autospec_cli.campaign import JobSpec, LocalExecutor, run_campaign
    folder, log, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    jobs = [JobSpec("probe.sleep", {"seconds": 0.005, "value": i, "log": log}) for i in range(n)]
    s = run_campaign(folder, jobs, LocalExecutor(jobs=2))
    print(s.ran, s.done, flush=True)
""")


def _coordinator(folder: Path, log: Path, n: int) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", COORDINATOR, str(folder), str(log), str(n)],
                            stdout=subprocess.PIPE, text=True)


def _kill_after(proc: subprocess.Popen[str], folder: Path, at_least: int) -> int:
    deadline = time.monotonic() + 20
    while done_count(folder) < at_least:
        assert proc.poll() is None, "the campaign finished before it could be killed"
        assert time.monotonic() < deadline, "the campaign made no progress"
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return done_count(folder)


def test_sigkill_of_the_coordinator_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    n, folder, log = 240, tmp_path / "c", tmp_path / "executions.log"
    killed_at = []
    for at_least in (40, 120):  # kill twice, resuming in between
        killed_at.append(_kill_after(_coordinator(folder, log, n), folder, at_least))
    assert killed_at[0] < killed_at[1] < n
    with CampaignStore(folder, busy_timeout=1) as store:  # opens cleanly after the kill
        store.check(full=True)
        workers = {int(r.worker.rsplit(":", 1)[1]) for r in store.results(status="done")}
        runs = store.runs()
    assert all(wait_gone(pid) for pid in workers), "workers outlived their coordinator"
    assert [r["finished"] for r in runs[:2]] == [None, None]  # interrupted runs are visible
    final = _coordinator(folder, log, n)
    out, _ = final.communicate(timeout=60)
    assert final.returncode == 0
    ran, done = map(int, out.split())
    assert ran == done == n - killed_at[1]
    stored = _stored(folder)
    assert len(stored) == n
    assert all(status == "done" and attempts == 1 for status, _, attempts in stored.values())
    executions = sorted(map(int, _lines(log)))
    # every job ran; only jobs in flight at the two kills (2 workers each) may have run twice
    assert sorted(set(executions)) == list(range(n))
    assert n <= len(executions) <= n + 2 * 2
    clean = run_campaign(tmp_path / "clean",
                         [JobSpec("probe.sleep", {"seconds": 0.005, "value": i, "log": str(log)})
                          for i in range(n)], InlineExecutor())
    assert clean.done == n
    assert {k: v[1] for k, v in _stored(tmp_path / "clean").items()} == {
        k: v[1] for k, v in stored.items()}
