"""Ctrl-C never looks like success: an interrupted run exits 130 and says so."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigint_during_verify_exits_130_not_0(shared_data: Path) -> None:
    """Exit 0 from ``verify`` means every property holds; an interrupt must never give it."""
    acas = shared_data / "vnncomp2021" / "acasxu"
    onnx, prop = acas / "ACASXU_run2a_3_3_batch_2000.onnx", acas / "prop_2.vnnlib"
    if not (onnx.is_file() and prop.is_file()):
        pytest.skip("ACAS Xu 3_3 / prop_2 not in the shared data")
    # 3_3 prop 2 holds and takes bab well over a minute: it is still running at the signal
    proc = subprocess.Popen(
        [sys.executable, "-m", "autospec_cli", "verify", "instance", str(onnx), str(prop),
         "--backend", "bab", "--timeout", "120"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(8)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out, err)
    assert "interrupted" in err


def test_an_error_raised_by_the_interruption_is_an_interruption(monkeypatch, cli_runner) -> None:
    """A signal landing in an import makes it fail ("ImportError: initialization failed");
    that is the interruption (143 for SIGTERM, one line), not an internal error (exit 4)."""
    import signal

    from autospec_cli import procs
    from autospec_cli.cli import main as cli_main

    def broken_import(**_: object) -> None:
        procs._received = signal.SIGTERM  # what the handler records before raising
        raise ImportError("initialization failed")

    monkeypatch.setattr(procs, "_received", None)  # restored after the test
    monkeypatch.setattr(cli_main, "app", broken_import)
    monkeypatch.setattr(procs, "on_termination", lambda: {})  # keep pytest's own handlers
    code, _, err = cli_runner("data", "info", "builtin:digits")  # in-process: no os._exit
    assert code == 128 + signal.SIGTERM, err
    assert "interrupted" in err and "internal error" not in err
