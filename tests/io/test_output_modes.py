"""Outputs get the user's umask (0644 files, 0755 folders by default), not the private
0600 / 0700 of the temporary file or folder they were staged in."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from autospec_cli.io import atomic_write_text, current_umask
from autospec_cli.testing.verifiers import build_problems
from autospec_cli.vnnlib.benchmark import write_benchmark
from autospec_cli.vnnlib.reader import read_vnnlib


@pytest.fixture(params=[0o022, 0o027, 0o002])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_current_umask_reads_without_changing(umask: int) -> None:
    assert current_umask() == umask
    assert current_umask() == umask


def test_atomic_file_gets_the_umask_mode(tmp_path: Path, umask: int) -> None:
    out = atomic_write_text(tmp_path / "a.txt", "x\n")
    assert _mode(out) == 0o666 & ~umask
    again = atomic_write_text(tmp_path / "a.txt", "y\n", force=True)
    assert _mode(again) == 0o666 & ~umask
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left


def test_benchmark_folder_gets_the_umask_mode(tmp_path: Path, umask: int) -> None:
    prob = build_problems(tmp_path / "p")[0]
    bench = write_benchmark(tmp_path / "bench", prob.onnx,
                            [("p0", read_vnnlib(prob.vnnlib))])
    assert _mode(bench) == 0o777 & ~umask
    for p in bench.rglob("*"):
        assert _mode(p) == (0o777 if p.is_dir() else 0o666) & ~umask, p
