"""`autospec doctor`: readiness of each backend and executor, the command completing each."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from autospec_cli.verifyrun import doctor as doctor_mod
from autospec_cli.verifyrun.doctor import diagnose, install_command


def _by_name(doc: dict) -> dict[str, dict]:
    return {c["name"]: c for c in doc["checks"]}


def test_doctor_json_reports_every_backend_and_exits_0(cli_runner, monkeypatch) -> None:
    monkeypatch.setenv("AUTOSPEC_TOOLS", "/nonexistent/tools.toml")
    code, out, err = cli_runner("doctor", "--json")
    assert code == 0, err
    doc = json.loads(out)
    checks = _by_name(doc)
    for name in ("numpy", "torch", "onnx", "onnxruntime", "backend lirpa", "backend bab",
                 "backend attack", "backend portfolio"):
        assert checks[name]["kind"] == "core" and checks[name]["ready"], checks[name]
    assert checks["backend marabou"]["kind"] == "optional"
    assert checks["executor dask"]["kind"] == "optional"
    assert doc["core_ready"] and doc["exit_code"] == 0
    from importlib.metadata import version

    assert doc["version"] == version("autospec-cli")


def _without_lirpa(monkeypatch) -> None:
    real = doctor_mod.describe_backends

    def fake(names):
        rows = real(names)
        for r in rows:
            if r["name"] == "lirpa":
                r.update(available=False, reason="auto_LiRPA is not installed")
        return rows

    monkeypatch.setattr(doctor_mod, "describe_backends", fake)


def test_missing_lirpa_is_a_core_gap_with_its_no_deps_command(cli_runner, monkeypatch) -> None:
    _without_lirpa(monkeypatch)
    code, out, _ = cli_runner("doctor")
    assert code == 1
    assert "pip install --no-deps auto-lirpa==0.3 appdirs tqdm setuptools" in out
    assert "a core piece is missing" in out
    code, out, _ = cli_runner("doctor", "--json")
    lirpa = _by_name(json.loads(out))["backend lirpa"]
    assert code == 1 and not lirpa["ready"]
    assert lirpa["fix"].startswith(sys.executable) or lirpa["fix"].startswith("'")


def test_missing_optional_pieces_keep_exit_0(monkeypatch) -> None:
    monkeypatch.setattr(doctor_mod.importlib.util, "find_spec",
                        lambda name: None if name == "distributed" else object())
    doc = diagnose(tools_file=None)
    dask = _by_name(doc)["executor dask"]
    assert not dask["ready"] and "dask[distributed]" in dask["fix"]
    assert doc["exit_code"] == 0


def test_external_tools_are_checked(tmp_path: Path) -> None:
    tools = tmp_path / "tools.toml"
    tools.write_text('[tools.here]\ncommand = ["sh", "-c", "true"]\n'
                     '[tools.gone]\ncommand = ["/no/such/verifier", "{onnx}"]\n')
    checks = _by_name(diagnose(tools))
    assert checks["external:here"]["ready"]
    assert not checks["external:gone"]["ready"]
    assert "/no/such/verifier" in checks["external:gone"]["detail"]


def test_pipx_environments_get_pipx_inject() -> None:
    assert install_command("auto-lirpa==0.3", "tqdm", no_deps=True,
                           prefix="/home/u/.local/pipx/venvs/autospec-cli") == (
        "pipx inject --pip-args=--no-deps autospec-cli auto-lirpa==0.3 tqdm")
    assert install_command("maraboupy==2.0.0", prefix="/venv", python="/venv/bin/python") == (
        "/venv/bin/python -m pip install maraboupy==2.0.0")


def test_bad_tools_file_is_one_line_exit_2(cli_runner, tmp_path: Path) -> None:
    bad = tmp_path / "tools.toml"
    bad.write_text("[tools.x\n")
    code, _, err = cli_runner("doctor", "--tools", str(bad))
    assert code == 2 and err.startswith("error:") and "Traceback" not in err


@pytest.mark.parametrize("args", [
    ["verify", "BENCH", "--fail-on", "sat,maybe"],
    ["report", "diff", "MISSING", "MISSING"],
    ["report", "BENCH", "--format", "pdf"],
    ["report", "BENCH", "--baseline", "BENCH"],
])
def test_ci_options_reject_bad_input_in_one_line(cli_runner, tmp_path: Path, args) -> None:
    from autospec_cli.testing.verifiers import build_problems, write_benchmark_folder

    bench = write_benchmark_folder(tmp_path / "b", build_problems(tmp_path / "p")[:1])
    args = [str(bench) if a == "BENCH" else str(tmp_path / a) if a == "MISSING" else a
            for a in args]
    code, _, err = cli_runner(*args)
    assert code == 2, err
    assert err.startswith("error:") and err.count("\n") == 1 and "Traceback" not in err
