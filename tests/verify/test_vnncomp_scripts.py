"""The VNN-COMP tool scripts (vnncomp/*.sh) on the competition's smoke instances: the verdict in
the results file is the one `autospec verify instance` gives, and a sat comes with a
counterexample that replays in onnxruntime."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from autospec_cli.verify.cex import parse_vnncomp_counterexample
from autospec_cli.verify.loading import load_property, onnx_runner

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "vnncomp"
SMOKE = [("test_sat.onnx", "test_prop.vnnlib"), ("test_unsat.onnx", "test_prop.vnnlib"),
         ("test_nano.onnx", "test_nano.vnnlib"), ("test_tiny.onnx", "test_tiny.vnnlib"),
         ("test_small.onnx", "test_small.vnnlib")]


def _env() -> dict[str, str]:
    return {**os.environ, "AUTOSPEC": str(Path(sys.executable).parent / "autospec"),
            "OMP_NUM_THREADS": "1"}


def _run(tmp_path: Path, onnx: Path, vnnlib: Path) -> str:
    prep = subprocess.run([str(SCRIPTS / "prepare_instance.sh"), "v1", "test", str(onnx),
                           str(vnnlib)], env=_env(), capture_output=True, text=True, timeout=300)
    assert prep.returncode == 0, prep.stderr
    results = tmp_path / f"{onnx.stem}.txt"
    run = subprocess.run([str(SCRIPTS / "run_instance.sh"), "v1", "test", str(onnx), str(vnnlib),
                          str(results), "30"], env=_env(), capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    return results.read_text()


def _check(tmp_path: Path, cli_runner, folder: Path, onnx_name: str, vnnlib_name: str) -> None:
    onnx, vnnlib = folder / onnx_name, folder / vnnlib_name
    if not onnx.is_file():
        pytest.skip(f"{onnx} not in the shared data")
    text = _run(tmp_path, onnx, vnnlib)
    verdict = text.splitlines()[0]
    code, out, _ = cli_runner("--quiet", "verify", "instance", str(onnx), str(vnnlib),
                              "--backend", "bab", "--timeout", "30")
    assert out.split()[0] == verdict
    if verdict == "sat":
        cex = parse_vnncomp_counterexample(text.split("\n", 1)[1])
        x, y = cex.x, cex.y
        prop = load_property(vnnlib, n_inputs=len(x), n_outputs=len(y))
        y_ort = onnx_runner(onnx).run(np.asarray(x, dtype=np.float32)[None])[0]
        np.testing.assert_allclose(y_ort, y, rtol=1e-3, atol=1e-4)
        assert any(c.contains(np.asarray(x)[None])[0] and c.unsafe(np.asarray(y)[None])[0]
                   for c in prop.cases)
    else:
        assert verdict == "unsat" and text.strip() == "unsat"


@pytest.mark.slow  # three tool start-ups (about 15 s of CPU)
def test_sat_smoke_instance_gives_the_verify_verdict_and_a_counterexample(
        tmp_path, cli_runner, shared_data):
    _check(tmp_path, cli_runner, shared_data / "vnncomp2021" / "test", *SMOKE[0])


@pytest.mark.slow
@pytest.mark.parametrize("pair", SMOKE[1:], ids=[p[0] for p in SMOKE[1:]])
def test_every_smoke_instance_gives_the_verify_verdict(tmp_path, cli_runner, shared_data, pair):
    _check(tmp_path, cli_runner, shared_data / "vnncomp2021" / "test", *pair)


def test_wrong_arguments_are_refused(tmp_path):
    run = subprocess.run([str(SCRIPTS / "run_instance.sh"), "v2", "c", "a.onnx", "b.vnnlib",
                          str(tmp_path / "r"), "5"], env=_env(), capture_output=True, text=True)
    assert run.returncode == 1 and "usage" in run.stderr and not (tmp_path / "r").exists()


def test_missing_network_is_an_error_result(tmp_path, shared_data):
    vnnlib = shared_data / "vnncomp2021" / "test" / "test_prop.vnnlib"
    if not vnnlib.is_file():
        pytest.skip("smoke instances not in the shared data")
    results = tmp_path / "r.txt"
    run = subprocess.run([str(SCRIPTS / "run_instance.sh"), "v1", "test",
                          str(tmp_path / "missing.onnx"), str(vnnlib), str(results), "5"],
                         env=_env(), capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and results.read_text() == "error\n"
