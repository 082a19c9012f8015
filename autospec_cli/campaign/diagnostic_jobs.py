"""Small built-in job kinds for tests, benchmarks and checking an executor setup.

Each is a top-level function ``fn(params) -> dict`` declared as an ``autospec_cli.jobs``
entry point in ``pyproject.toml``. Shared optional params:

- ``"log"``: a file to which one line ``<value>`` is appended when the job starts (count
  executions from the outside);
- ``"child_pid_file"``: start a child process that sleeps for ``"child_sleep"`` seconds
  (default 1000) and write its pid there (checks that timeouts kill whole process groups).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any


def _side_effects(params: dict[str, Any]) -> None:
    log = params.get("log")
    if log:
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{params.get('value')}\n".encode())
        finally:
            os.close(fd)
    pid_file = params.get("child_pid_file")
    if pid_file:
        seconds = float(params.get("child_sleep", 1000))
        child = subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({seconds})"])
        tmp = f"{pid_file}.tmp"
        with open(tmp, "w") as fh:
            fh.write(str(child.pid))
        os.replace(tmp, pid_file)


def echo(params: dict[str, Any]) -> dict[str, Any]:
    """Return ``{"value": v, "square": v*v}`` for a numeric ``"value"`` (else just the value)."""
    _side_effects(params)
    value = params.get("value")
    out: dict[str, Any] = {"value": value}
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        out["square"] = value * value
    return out


def sleep(params: dict[str, Any]) -> dict[str, Any]:
    """Sleep ``"seconds"`` (after the side effects), then return ``{"slept": seconds}``."""
    _side_effects(params)
    seconds = float(params.get("seconds", 0.0))
    time.sleep(seconds)
    return {"slept": seconds, "value": params.get("value")}


def fail(params: dict[str, Any]) -> dict[str, Any]:
    """Raise ``RuntimeError(params["message"])``."""
    _side_effects(params)
    raise RuntimeError(str(params.get("message", "probe failure")))


def exit_process(params: dict[str, Any]) -> dict[str, Any]:
    """Kill the worker process with ``os._exit(params["code"])``: a crash, not an exception."""
    _side_effects(params)
    os._exit(int(params.get("code", 3)))
