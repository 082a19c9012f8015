"""Dependencies' deprecation notes do not reach the user's terminal (``-v`` shows them)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from autospec_cli.testing.verifiers import build_problems


def test_a_lirpa_run_prints_no_deprecation_warnings(tmp_path: Path) -> None:
    prob = {p.name: p for p in build_problems(tmp_path / "p")}["lin_unsat"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    out = subprocess.run(
        [sys.executable, "-m", "autospec_cli", "--quiet", "verify", "instance", str(prob.onnx),
         str(prob.vnnlib), "--backend", "lirpa", "--timeout", "30"],
        capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode in (0, 3), out.stderr
    assert "Warning" not in out.stderr, out.stderr
