"""Dependencies' deprecation notes do not reach the user's terminal (``-v`` shows them)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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


def _generate(tmp_path: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    data = tmp_path / "huge.csv"
    data.write_text("a,b,label\n" + "".join(f"{(i % 5) * 1e308!r},{i},{i % 2}\n"
                                            for i in range(60)))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    return subprocess.run(
        [sys.executable, "-m", "autospec_cli", *flags, "specs", "generate", str(data), "--algo",
         "cluster", "--k", "2", "-o", str(tmp_path / "s.json"), "--force"],
        capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.slow
def test_numpy_runtime_warnings_only_with_v(tmp_path: Path) -> None:
    """Heavy-tailed values make numpy and scikit-learn warn about overflow: the user sees
    the result, and the warnings only with -v."""
    quiet = _generate(tmp_path, "--quiet")
    assert quiet.returncode == 0, quiet.stderr
    assert "Warning" not in quiet.stderr, quiet.stderr
    loud = _generate(tmp_path, "-v")
    assert loud.returncode == 0, loud.stderr
    assert "RuntimeWarning" in loud.stderr


@pytest.mark.parametrize("verbose", [0, 1])
def test_every_warning_category_is_hidden_without_v(monkeypatch, verbose: int) -> None:
    import warnings

    from autospec_cli.cli.main import _quiet_library_warnings

    monkeypatch.delenv("PYTHONWARNINGS", raising=False)
    monkeypatch.setattr(sys, "warnoptions", [])
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        _quiet_library_warnings(verbose)
        for category in (RuntimeWarning, UserWarning, DeprecationWarning, FutureWarning):
            warnings.warn("noise", category, stacklevel=1)
        shown = [w.category for w in seen]
        env = os.environ.get("PYTHONWARNINGS")
    assert shown == ([] if verbose == 0 else
                     [RuntimeWarning, UserWarning, DeprecationWarning, FutureWarning])
    assert env == ("ignore" if verbose == 0 else None)  # worker processes inherit the choice
