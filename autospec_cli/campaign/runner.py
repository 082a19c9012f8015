"""Running one job, the same way in every executor.

:func:`execute` imports the job function, calls it on the params decoded from their canonical
JSON, and turns the return value (or the exception) into an :class:`Outcome` whose result is
canonical JSON text, so every executor stores byte-identical results for the same job.

``python -m autospec_cli.campaign.runner`` runs one task read as JSON from stdin and writes the
outcome as JSON to the stdout it was started with; the job's own prints go to stderr. The Dask
executor uses it to run a job in its own process group under a hard timeout
(:func:`run_isolated`).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import asdict, dataclass
from typing import Any

from autospec_cli import procs
from autospec_cli.campaign.jobs import canonical_json, load_target
from autospec_cli.io import to_jsonable

DONE, FAILED, TIMEOUT = "done", "failed", "timeout"
HOST = socket.gethostname()


@dataclass(frozen=True)
class Task:
    """What an executor needs to run a job: its id, function path, params and hard timeout."""

    job_id: str
    target: str
    params_json: str
    timeout: float | None = None


@dataclass
class Outcome:
    """How a job ended: ``status`` done/failed/timeout, canonical ``result_json`` or ``error``."""

    job_id: str
    status: str
    result_json: str | None = None
    error: str | None = None
    started: float | None = None
    finished: float | None = None
    duration: float | None = None
    worker: str | None = None
    host: str | None = None


def encode_result(result: Any) -> str:
    """Canonical JSON of a job's return value (a dict; numpy values, paths and enums are
    converted; NaN/inf and other objects are refused, see :func:`~autospec_cli.io.to_jsonable`)."""
    if result is None:
        result = {}
    if not isinstance(result, dict):
        raise TypeError(f"job returned {type(result).__name__}; a job must return a dict")
    return canonical_json(to_jsonable(result, strict=True))


def error_text(exc: BaseException) -> str:
    """``Type: message`` on the first line, then the traceback."""
    head = f"{type(exc).__name__}: {exc}".strip().replace("\n", " ")
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return f"{head}\n{tb}"


def execute(task: Task, worker: str | None = None) -> Outcome:
    """Run ``task`` in this process and describe how it ended (never raises for job errors)."""
    started, t0 = time.time(), time.perf_counter()
    status, result_json, error = DONE, None, None
    try:
        fn = load_target(task.target)
        result_json = encode_result(fn(json.loads(task.params_json)))
    except (Exception, SystemExit) as e:  # a job's failure is data, not our crash
        status, error = FAILED, error_text(e)
    duration = time.perf_counter() - t0
    return Outcome(task.job_id, status, result_json, error, started, time.time(), duration,
                   worker or f"pid:{os.getpid()}", HOST)


def kill_group(pid: int, *, leader_unreaped: bool = True) -> None:
    """SIGKILL the process group led by ``pid``; also ``pid`` itself while it is not reaped.

    Only signal a bare pid that has not been waited for: a reaped pid may belong to someone else.
    """
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if leader_unreaped:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def stop_job(proc: subprocess.Popen[bytes], wait: float = 1.0) -> None:
    """Stop the job process ``proc`` (leader of its own group) and its group: SIGTERM first, so
    it can stop the external tools it started (they run in groups of their own) and remove
    their scratch folders, then SIGKILL for the whole group after at most ``wait`` seconds."""
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGTERM)
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            pass
    kill_group(proc.pid, leader_unreaped=proc.poll() is None)


def run_isolated(task: Task, worker: str | None = None) -> Outcome:
    """Run ``task`` in a fresh Python process in its own session; kill its group at the timeout."""
    started, t0 = time.time(), time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "autospec_cli.campaign.runner"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True,
    )
    payload = json.dumps({"task": asdict(task), "sys_path": sys.path}).encode("utf-8")
    try:
        out, err = proc.communicate(payload, timeout=task.timeout)
    except subprocess.TimeoutExpired:
        stop_job(proc)
        proc.wait()
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
        return Outcome(task.job_id, TIMEOUT, None, f"killed after the {task.timeout:g} s hard "
                       "timeout (whole process group)", started, time.time(),
                       time.perf_counter() - t0, worker, HOST)
    kill_group(proc.pid, leader_unreaped=False)  # children the job left behind
    if err:
        sys.stderr.write(err.decode("utf-8", "replace"))  # the job's own messages
    try:
        fields = json.loads(out.decode("utf-8"))
        return Outcome(**{**fields, "worker": worker or fields.get("worker")})
    except (ValueError, TypeError):
        tail = err.decode("utf-8", "replace").strip()[-2000:]
        return Outcome(task.job_id, FAILED, None,
                       f"job process died (exit code {proc.returncode})\n{tail}", started,
                       time.time(), time.perf_counter() - t0, worker, HOST)


def watch_parent(poll_s: float = 0.2) -> None:
    """Start a thread that SIGKILLs this process group once the parent process is gone, after
    stopping the process groups of external tools a job started (their own groups) and
    removing their scratch folders (:func:`autospec_cli.procs.cleanup`)."""

    def watch(ppid: int) -> None:
        while True:
            time.sleep(poll_s)
            if os.getppid() != ppid:  # orphaned: whoever started us has died
                procs.cleanup()
                os.killpg(os.getpgrp(), signal.SIGKILL)

    threading.Thread(target=watch, args=(os.getppid(),), daemon=True).start()


def _child_main() -> None:
    procs.on_termination(procs.exit_after_cleanup)
    watch_parent()
    result_out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # the job's prints go to stderr; stdout carries only the outcome
    sys.stdout = sys.stderr
    payload = json.loads(sys.stdin.read())
    sys.path[:] = payload["sys_path"]
    task = Task(**payload["task"])
    outcome = execute(task, worker=f"pid:{os.getpid()}")
    result_out.write(json.dumps(asdict(outcome)))
    result_out.flush()


if __name__ == "__main__":
    _child_main()
