"""Executors: results, crashes, hard timeouts that kill process groups, pool recovery."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from campaign_helpers import pid_alive, wait_gone

from autospec_cli.campaign.executors import InlineExecutor, make_executor
from autospec_cli.campaign.jobs import JobSpec, resolve_kind
from autospec_cli.campaign.local import LocalExecutor
from autospec_cli.campaign.runner import Task
from autospec_cli.errors import ConfigError


def _task(kind: str, params: dict, timeout: float | None = None) -> Task:
    spec = JobSpec(kind, params)
    return Task(spec.id, resolve_kind(kind), spec.params_json, timeout)


def _by_id(outcomes) -> dict:
    return {o.job_id: o for o in outcomes}


def test_local_pool_runs_everything_once_and_matches_inline() -> None:
    tasks = [_task("probe.echo", {"value": i}) for i in range(60)]
    with LocalExecutor(jobs=2) as ex:
        local = _by_id(ex.run(tasks))
    inline = _by_id(InlineExecutor().run(tasks))
    assert set(local) == {t.job_id for t in tasks}
    for t in tasks:
        assert local[t.job_id].status == "done"
        assert local[t.job_id].result_json == inline[t.job_id].result_json
    value = json.loads(tasks[7].params_json)["value"]
    assert json.loads(local[tasks[7].job_id].result_json) == {"value": value, "square": value**2}
    workers = {o.worker for o in local.values()}
    assert len(workers) <= 2 and all(w.startswith("local:") for w in workers)  # reused


def test_exceptions_bad_results_and_dying_workers_are_failed_and_the_pool_recovers() -> None:
    tasks = [_task("probe.fail", {"message": "boom"}), _task("probe.exit", {"code": 7}),
             _task("json:dumps", {}),  # returns a str, not a dict
             *[_task("probe.echo", {"value": i}) for i in range(10)]]
    with LocalExecutor(jobs=2) as ex:
        out = _by_id(ex.run(tasks))
    assert out[tasks[0].job_id].status == "failed"
    assert out[tasks[0].job_id].error.startswith("RuntimeError: boom\n")
    assert out[tasks[1].job_id].status == "failed"
    assert "worker process died (exit code 7)" in out[tasks[1].job_id].error
    assert out[tasks[2].job_id].error.startswith("TypeError: job returned str")
    assert all(out[t.job_id].status == "done" for t in tasks[3:])


def test_hanging_jobs_are_killed_at_the_timeout_with_their_children(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    tasks = [_task("probe.sleep", {"seconds": 1000}),
             _task("probe.sleep", {"seconds": 1000, "child_pid_file": str(pid_file)}),
             *[_task("probe.echo", {"value": i}) for i in range(4)]]
    t0 = time.monotonic()
    with LocalExecutor(jobs=2, timeout=1.0) as ex:
        out = _by_id(ex.run(tasks))
        assert time.monotonic() - t0 < 6
        for t in tasks[:2]:
            assert out[t.job_id].status == "timeout"
            assert "1 s hard timeout" in out[t.job_id].error
            assert 0.9 < out[t.job_id].duration < 3
        assert all(out[t.job_id].status == "done" for t in tasks[2:])  # fresh workers
        child = int(pid_file.read_text())
        assert wait_gone(child), f"child {child} of the timed-out job survived"
        again = list(ex.run([_task("probe.echo", {"value": 99})]))  # pool still usable
        assert again[0].status == "done"


def test_per_job_timeout_overrides_the_executor_default() -> None:
    slow = _task("probe.sleep", {"seconds": 30}, timeout=0.5)
    quick = _task("probe.sleep", {"seconds": 0.3})
    with LocalExecutor(jobs=2) as ex:  # no executor-wide timeout
        out = _by_id(ex.run([slow, quick]))
    assert out[slow.job_id].status == "timeout"
    assert out[quick.job_id].status == "done"


def test_close_kills_running_jobs_and_their_children(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    ex = LocalExecutor(jobs=2)
    gen = ex.run([_task("probe.echo", {"value": 1}),
                  _task("probe.sleep", {"seconds": 1000, "child_pid_file": str(pid_file)})])
    assert next(gen).status == "done"
    deadline = time.monotonic() + 10
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    child = int(pid_file.read_text())
    t0 = time.monotonic()
    ex.close()  # e.g. Ctrl-C in the coordinator
    assert time.monotonic() - t0 < 3
    assert wait_gone(child)
    gen.close()


def test_abandoned_run_stops_its_jobs(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    tasks = [_task("probe.echo", {"value": 1}),
             _task("probe.sleep", {"seconds": 1000, "child_pid_file": str(pid_file)})]
    with LocalExecutor(jobs=2) as ex:
        gen = ex.run(tasks)
        first = next(gen)  # the echo; the sleeper is running
        assert first.status == "done"
        deadline = time.monotonic() + 10
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        child = int(pid_file.read_text())
        assert pid_alive(child)
        gen.close()  # the consumer gives up (e.g. the store raised)
        assert wait_gone(child)
        assert list(ex.run([_task("probe.echo", {"value": 2})]))[0].status == "done"


def test_workers_do_not_outlive_close() -> None:
    ex = LocalExecutor(jobs=2)
    outcomes = list(ex.run([_task("probe.echo", {"value": i}) for i in range(4)]))
    pids = {int(o.worker.rsplit(":", 1)[1]) for o in outcomes}
    ex.close()
    assert all(wait_gone(p, 2) for p in pids)


def test_jobs_zero_is_inline_and_make_executor_names() -> None:
    assert LocalExecutor(jobs=0).describe() == "inline"
    out = list(LocalExecutor(jobs=0).run([_task("probe.echo", {"value": 2})]))
    assert out[0].worker == "inline" and json.loads(out[0].result_json)["square"] == 4
    assert isinstance(make_executor("local", jobs=0), InlineExecutor)
    assert isinstance(make_executor("inline"), InlineExecutor)
    assert make_executor("local", jobs=3, timeout=2).describe() == "local:3"
    with pytest.raises(ConfigError, match="unknown executor"):
        make_executor("slurm")
    with pytest.raises(ConfigError, match="scheduler"):
        make_executor("dask")
    with pytest.raises(ConfigError, match="positive"):
        make_executor("local", timeout=0)


def test_more_workers_than_jobs_start_only_what_the_jobs_need() -> None:
    """-j 100000 for 3 jobs once started 100000 processes and hung; now 3 at most start."""
    tasks = [_task("probe.echo", {"value": i}) for i in range(3)]
    with LocalExecutor(jobs=500) as ex:
        outcomes = list(ex.run(tasks))
        started = [w for w in ex._workers if w is not None]
        assert len(started) <= 3
    assert sorted(o.status for o in outcomes) == ["done"] * 3
