"""SIGINT and SIGTERM end any command with one line and exit 130 / 143, stop external tools
with their process groups, remove their scratch folders, and leave outputs complete or absent.

Real signals (``os.kill``) are sent to a real ``autospec`` process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conformance import build_problems, write_benchmark_folder

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

LINE = "interrupted; rerun the same command to resume"
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict:
    return {p.name: p for p in build_problems(tmp_path_factory.mktemp("tiny"))}


def _alive(pid: int) -> bool:
    """A process that exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _wait_for(path: Path, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if proc.poll() is not None:
            pytest.fail(f"exited early: {proc.communicate()}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"{path.name} never appeared: {proc.communicate()}")
        time.sleep(0.05)


def _autospec(*args: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "autospec_cli", "--quiet", *args], cwd=cwd,
                            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _ends_interrupted(proc: subprocess.Popen, sig: int) -> str:
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, (out, err)
    assert err.strip().splitlines() == [LINE], err
    assert "Traceback" not in out + err
    return out


def sleeping_tool(tmp_path: Path) -> tuple[str, Path]:
    """A VNN-COMP tool script that records its working folder (the scratch folder we made)
    and starts a grandchild, then sleeps: the command template and the marker folder."""
    marks = tmp_path / "marks"
    marks.mkdir()
    tool = tmp_path / "slow_tool.py"
    tool.write_text(textwrap.dedent(f"""\
        import os, subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        marks = {str(marks)!r}
        open(os.path.join(marks, "info.tmp"), "w").write(f"{{child.pid}}\\n{{os.getcwd()}}\\n")
        os.replace(os.path.join(marks, "info.tmp"), os.path.join(marks, "info"))
        time.sleep(120)
    """))
    command = (f"command={sys.executable} {tool} v1 {{category}} {{onnx}} {{vnnlib}} "
               "{results} {timeout}")
    return command, marks


def _check_tool_stopped(marks: Path) -> None:
    child_pid, scratch = (marks / "info").read_text().split("\n")[:2]
    deadline = time.monotonic() + 5
    while _alive(int(child_pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(int(child_pid)), "the tool's child outlived the interrupted command"
    assert not Path(scratch).exists(), "the tool's scratch folder was left behind"


def _check_outputs(results: Path) -> None:
    """Complete or absent: no temporary files, and no results.csv of a run that did not end."""
    if results.exists():
        leftovers = [p.name for p in results.rglob("*") if ".tmp" in p.name]
        assert not leftovers, leftovers
        assert not (results / "results.csv").exists()


@pytest.mark.parametrize("executor, sig", [("local", signal.SIGTERM), ("inline", signal.SIGINT)])
def test_external_tool_is_killed_with_its_group(tmp_path, tiny, executor, sig) -> None:
    bench = write_benchmark_folder(tmp_path / "bench", [tiny["lin_unsat"]], timeout=100)
    command, marks = sleeping_tool(tmp_path)
    proc = _autospec("verify", str(bench), "--backend", "external", "--opt", command,
                     "-e", executor, "-o", str(tmp_path / "res"), cwd=tmp_path)
    _wait_for(marks / "info", proc)
    _ends_interrupted(proc, sig)
    _check_tool_stopped(marks)
    _check_outputs(tmp_path / "res")


def _attack_forever(bench: Path, tmp_path: Path, executor: str) -> list[str]:
    """The attack backend on a property that holds runs until its time limit."""
    return ["verify", str(bench), "--backend", "attack", "--opt", "restarts=1000000",
            "-e", executor, "-o", str(tmp_path / "res")]


def test_in_process_backend_interrupted(tmp_path, tiny) -> None:
    bench = write_benchmark_folder(tmp_path / "bench", [tiny["lin_unsat"]], timeout=60)
    proc = _autospec(*_attack_forever(bench, tmp_path, "local"), cwd=tmp_path)
    _wait_for(tmp_path / "res" / "campaign.sqlite", proc)
    time.sleep(0.5)
    _ends_interrupted(proc, signal.SIGINT)
    _check_outputs(tmp_path / "res")


@pytest.mark.slow
def test_in_process_backend_interrupted_then_resumed(tmp_path, tiny) -> None:
    """After the signal the same command runs to the end (the instance was never finished)."""
    bench = write_benchmark_folder(tmp_path / "bench", [tiny["lin_unsat"]], timeout=60)
    args = _attack_forever(bench, tmp_path, "inline")
    proc = _autospec(*args, cwd=tmp_path)
    _wait_for(tmp_path / "res" / "campaign.sqlite", proc)
    time.sleep(1.0)
    _ends_interrupted(proc, signal.SIGINT)
    _check_outputs(tmp_path / "res")
    done = subprocess.run([sys.executable, "-m", "autospec_cli", "--quiet", *args, "--timeout",
                           "1", "--force"], cwd=tmp_path, env=ENV, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 3, done.stderr
    assert (tmp_path / "res" / "results.csv").is_file()


def test_train_sigterm_writes_nothing(tmp_path) -> None:
    out = tmp_path / "model.onnx"
    proc = _autospec("train", "builtin:digits", "--arch", "mlp:64,64", "--epochs", "100000",
                     "-o", str(out), cwd=tmp_path)
    time.sleep(5)  # past the imports, into the epochs
    assert proc.poll() is None, proc.communicate()
    _ends_interrupted(proc, signal.SIGTERM)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.slow
def test_dask_executor_stops_the_external_tool(tmp_path, tiny) -> None:
    bench = write_benchmark_folder(tmp_path / "bench", [tiny["lin_unsat"]], timeout=100)
    command, marks = sleeping_tool(tmp_path)
    proc = _autospec("verify", str(bench), "--backend", "external", "--opt", command,
                     "-e", "dask-local", "-j", "1", "-o", str(tmp_path / "res"), cwd=tmp_path)
    _wait_for(marks / "info", proc, seconds=120)
    _ends_interrupted(proc, signal.SIGTERM)
    _check_tool_stopped(marks)
    _check_outputs(tmp_path / "res")
