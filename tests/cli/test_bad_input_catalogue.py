"""The exit-code contract, table-driven: every command against a catalogue of bad inputs.

Each case must end with exit 2, exactly one stderr line starting ``error:``, no traceback
and no new file anywhere in the workspace. Inputs are made once per module in a workspace
folder; the cases run in-process through the CLI runner (the solver CLI through its own
``main``), so the whole catalogue takes seconds.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from autospec_cli.testing.verifiers import build_problems, write_benchmark_folder

UNBALANCED = "(declare-const X_0 Real)\n(declare-const Y_0 Real)\n(assert (<= X_0 1.0)\n"


def _write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data)
    return path


def _bench(ws: Path, name: str, rows: str | bytes | None, problems) -> Path:
    b = write_benchmark_folder(ws / name, problems, timeout=5)
    if rows is not None:
        _write(b / "instances.csv", rows)
    return b


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Path:
    """The workspace of bad (and a few good) inputs every case refers to as ``{ws}``."""
    ws = tmp_path_factory.mktemp("catalogue")
    probs = {p.name: p for p in build_problems(ws / "problems")}
    good = probs["lin_unsat"]
    shutil.copy(good.onnx, ws / "model.onnx")
    shutil.copy(good.vnnlib, ws / "prop.vnnlib")
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 2)), np.arange(40) % 2
    np.savez(ws / "good.npz", X=X, y=y)
    _write(ws / "trunc.npz", (ws / "good.npz").read_bytes()[:120])
    np.savez(ws / "nox.npz", a=X)
    _write(ws / "good.csv", "a,b,y\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(30)))
    _write(ws / "three.csv", "a,b,c,y\n" + "".join(f"{i},{i},{i},{i % 2}\n" for i in range(9)))
    _write(ws / "empty.csv", "")
    _write(ws / "binary.csv", bytes(range(256)) * 4)
    _write(ws / "header.csv", "a,b,y\n")
    _write(ws / "text.csv", "a,b,y\nfoo,1,0\nbar,2,1\n")
    _write(ws / "ragged.csv", "a,b,y\n1,2\n3,4,5,6\n")
    (ws / "emptydir").mkdir()
    _write(ws / "afile", "not a folder\n")
    (ws / "adir").mkdir()
    _write(ws / "adir" / "keep.txt", "something of the user's\n")
    _write(ws / "[bold]x[/].csv", b"\xff\xfe\x00binary")
    spec = {"version": 1, "task": "classification", "features": ["a", "b"],
            "algorithm": "tree", "params": {}, "dataset": {"sha256": "0"}, "classes": None,
            "domain": None,
            "specs": [{"id": "s0", "lo": [-1, -1], "hi": [1, 1], "label": 0, "support": 3}]}
    _write(ws / "specs.json", json.dumps(spec))
    _write(ws / "v99.json", json.dumps({**spec, "version": 99}))
    _write(ws / "domain.json", json.dumps({**spec, "domain": {"lo": [0.0], "hi": [1.0]}}))
    _write(ws / "notjson.json", "{not json")
    _write(ws / "binary.json", bytes(range(256)))
    _write(ws / "unbalanced.vnnlib", UNBALANCED)
    _write(ws / "undeclared.vnnlib", good.vnnlib.read_text().replace("(declare-const X_1 Real)",
                                                                     ""))
    _write(ws / "binary.vnnlib", bytes(range(256)))
    _write(ws / "wrongdims.vnnlib", "".join(f"(declare-const X_{i} Real)\n" for i in range(5))
           + "(declare-const Y_0 Real)\n"
           + "".join(f"(assert (<= X_{i} 1.0))\n(assert (>= X_{i} 0.0))\n" for i in range(5))
           + "(assert (>= Y_0 0.0))\n")
    _write(ws / "garbage.onnx", b"\x08\x07garbage that is not a protobuf" * 3)
    _write(ws / "empty.onnx", b"")
    _write(ws / "notoml.toml", "[[[ not toml")
    _write(ws / "outside" / "x.vnnlib", good.vnnlib.read_text())
    _bench(ws, "bench_missing", "onnx/lin_unsat.onnx,vnnlib/nope.vnnlib,5\n", [good])
    _bench(ws, "bench_timeout", "x,y,z\nonnx/lin_unsat.onnx,vnnlib/lin_unsat.vnnlib,soon,9\n",
           [good])
    _bench(ws, "bench_empty", "", [good])
    _bench(ws, "bench_outside", "onnx/lin_unsat.onnx,../outside/x.vnnlib,5\n", [good])
    _bench(ws, "bench_binary", bytes(range(256)), [good])
    _bench(ws, "bench_ok", None, [good])
    (ws / "ro").mkdir()
    return ws


S = "--opt samples=8 --opt restarts=1 --opt steps=2"

# (case id, command line; {ws} is the workspace). At least 40 kinds of bad input.
CASES: list[tuple[str, str]] = [
    # files
    ("missing-data-file", "data info {ws}/nope.csv"),
    ("empty-csv", "data info {ws}/empty.csv"),
    ("binary-csv", "data info {ws}/binary.csv"),
    ("binary-csv-generate", "specs generate {ws}/binary.csv --algo tree -o {ws}/o.json"),
    ("truncated-npz", "data info {ws}/trunc.npz"),
    ("npz-without-X", "data info {ws}/nox.npz"),
    ("empty-folder", "data info {ws}/emptydir"),
    ("unknown-loader", "data info nosuch:{ws}/good.csv"),
    # data
    ("header-only-csv", "data info {ws}/header.csv"),
    ("text-in-numeric-csv", "data info {ws}/text.csv --label y"),
    ("ragged-csv", "data info {ws}/ragged.csv"),
    ("missing-label-column", "data info {ws}/good.csv --label nope"),
    ("split-ratio", "data split {ws}/good.csv --ratio 1.5 -o {ws}/split"),
    ("window-zero", "data info builtin:throughput --window 0"),
    ("binary-labels-no-benign", "data info {ws}/good.csv --binary-labels"),
    ("binary-labels-regression", "specs generate builtin:throughput --binary-labels "
     "--algo tree -o {ws}/o.json"),
    # specs
    ("unknown-algo", "specs generate builtin:spiral --algo nosuch -o {ws}/o.json"),
    ("bad-generator-option", "specs generate builtin:spiral --algo tree --opt max_depth=abc "
                             "-o {ws}/o.json"),
    ("specs-not-json", "specs evaluate {ws}/notjson.json {ws}/good.csv --label y"),
    ("specs-binary", "specs evaluate {ws}/binary.json {ws}/good.csv --label y"),
    ("specs-version", "specs evaluate {ws}/v99.json {ws}/good.csv --label y"),
    ("specs-feature-mismatch", "specs evaluate {ws}/specs.json {ws}/three.csv --label y"),
    ("specs-domain-length", "export {ws}/domain.json --model {ws}/model.onnx -o {ws}/b1"),
    ("specs-plot-features", "specs plot {ws}/specs.json {ws}/good.csv --label y "
                            "--features-xy 0,7 -o {ws}/p.png"),
    ("specs-output-exists", "specs generate builtin:spiral --algo tree -o {ws}/specs.json"),
    # VNN-LIB
    ("vnnlib-unbalanced", "verify instance {ws}/model.onnx {ws}/unbalanced.vnnlib -b attack"),
    ("vnnlib-undeclared", "verify instance {ws}/model.onnx {ws}/undeclared.vnnlib -b attack"),
    ("vnnlib-binary", "verify instance {ws}/model.onnx {ws}/binary.vnnlib -b attack"),
    ("vnnlib-wrong-dims", "verify instance {ws}/model.onnx {ws}/wrongdims.vnnlib -b attack"),
    ("vnnlib-missing", "verify instance {ws}/model.onnx {ws}/nope.vnnlib -b attack"),
    # ONNX
    ("onnx-garbage", "verify instance {ws}/garbage.onnx {ws}/prop.vnnlib -b attack"),
    ("onnx-empty", "verify instance {ws}/empty.onnx {ws}/prop.vnnlib -b attack"),
    ("onnx-garbage-export", "export {ws}/specs.json --model {ws}/garbage.onnx -o {ws}/b2"),
    # instances
    ("instances-missing-file", "verify {ws}/bench_missing -b attack"),
    ("instances-bad-timeout", "verify {ws}/bench_timeout -b attack"),
    ("instances-empty", "verify {ws}/bench_empty -b attack"),
    ("instances-outside", "verify {ws}/bench_outside -b attack"),
    ("instances-binary", "verify {ws}/bench_binary -b attack"),
    ("bench-missing", "verify {ws}/nobench -b attack"),
    # options
    ("seed-negative", "--seed -1 data split builtin:spiral -o {ws}/split"),
    ("seed-negative-generate", "specs generate builtin:spiral --algo cluster --seed -1 "
                               "-o {ws}/o.json"),
    ("unknown-option", "data info builtin:spiral --nosuch"),
    ("missing-argument", "specs evaluate"),
    ("bad-choice", "data info {ws}/good.csv --nan-policy nosuch"),
    ("bad-vnnlib-version", "export {ws}/specs.json --model {ws}/model.onnx --vnnlib-version 3 "
                           "-o {ws}/b3"),
    ("timeout-nan", "verify {ws}/bench_ok -b attack --timeout nan"),
    ("timeout-negative", "verify instance {ws}/model.onnx {ws}/prop.vnnlib -b attack "
                         "--timeout -1"),
    ("jobs-zero", "verify {ws}/bench_ok -b attack -j 0"),
    ("unknown-backend", "verify {ws}/bench_ok -b nosuch"),
    ("unknown-backend-option", "verify {ws}/bench_ok -b attack --opt nosuch=1"),
    ("unknown-executor", "verify {ws}/bench_ok -b attack -e nosuch"),
    ("not-an-integer", "data split builtin:spiral --seed abc -o {ws}/split"),
    # outputs
    ("output-parent-is-file", "data split builtin:spiral -o {ws}/afile/sub"),
    ("output-file-parent-is-file", "specs generate builtin:spiral --algo tree "
                                   "-o {ws}/afile/s.json"),
    ("force-onto-folder", "specs generate builtin:spiral --algo tree -o {ws}/adir --force"),
    ("export-onto-user-folder", "export {ws}/specs.json --model {ws}/model.onnx -o {ws}/adir "
                                "--force"),
    ("verify-results-parent-is-file", f"verify {{ws}}/bench_ok -b attack {S} -e inline "
                                      "-o {ws}/afile/res"),
    # markup in names
    ("markup-in-file-name", "data info {ws}/[bold]x[/].csv"),
    ("emoji-in-file-name", "data info {ws}/:x:.csv"),
    # configs and folders
    ("config-not-toml", "bench array {ws}/notoml.toml"),
    ("config-missing", "study run {ws}/nope.toml -o {ws}/study"),
    ("report-not-a-campaign", "report {ws}/emptydir"),
    ("campaign-missing", "campaign status {ws}/nope"),
]

SOLVER_CASES: list[tuple[str, str]] = [
    ("solver-unbalanced", "verify {ws}/unbalanced.vnnlib --network N={ws}/model.onnx"),
    ("solver-binary", "verify {ws}/binary.vnnlib --network N={ws}/model.onnx"),
    ("solver-garbage-onnx", "verify {ws}/prop.vnnlib --network N={ws}/garbage.onnx"),
    ("solver-unknown-option", "verify {ws}/prop.vnnlib --nosuch"),
]


def _snapshot(ws: Path) -> set[str]:
    return {str(p.relative_to(ws)) for p in ws.rglob("*")}


def _run_solver(args: list[str]) -> tuple[int, str, str]:
    from autospec_cli.cli.solver import main

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(args)
        except SystemExit as e:
            code = int(e.code or 0) if not isinstance(e.code, str) else 1
    return code, out.getvalue(), err.getvalue()


def _check(ws: Path, before: set[str], code: int, out: str, err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2, (code, out, err)
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    assert "Traceback" not in out + err
    assert _snapshot(ws) == before, sorted(_snapshot(ws) ^ before)
    return lines[0]


def test_catalogue_has_at_least_40_kinds() -> None:
    assert len({c for c, _ in CASES + SOLVER_CASES}) == len(CASES + SOLVER_CASES) >= 40


@pytest.mark.parametrize("case, line", CASES, ids=[c for c, _ in CASES])
def test_bad_input_is_one_error_line_and_exit_2(cli_runner, ws, case, line) -> None:
    before = _snapshot(ws)
    code, out, err = cli_runner(*line.format(ws=ws).split())
    shown = _check(ws, before, code, out, err)
    if case == "markup-in-file-name":
        assert "[bold]x[/]" in shown  # printed as text, not as markup
    if case == "emoji-in-file-name":
        assert ":x:" in shown


@pytest.mark.parametrize("case, line", SOLVER_CASES, ids=[c for c, _ in SOLVER_CASES])
def test_solver_malformed_query_is_an_error_not_a_verdict(ws, case, line) -> None:
    """VNN-LIB 2.0 solver interface: an error goes to stderr, and no verdict is printed."""
    before = _snapshot(ws)
    code, out, err = _run_solver(line.format(ws=ws).split())
    _check(ws, before, code, out, err)
    assert out == ""


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="permissions do not bind root")
def test_read_only_output_folder_is_exit_2(cli_runner, ws) -> None:
    ro = ws / "ro"
    ro.chmod(0o555)
    try:
        before = _snapshot(ws)
        code, out, err = cli_runner("data", "split", "builtin:spiral", "-o", str(ro / "split"))
        _check(ws, before, code, out, err)
    finally:
        ro.chmod(0o755)


def test_option_errors_as_a_real_process(ws) -> None:
    """Through the console script too: no usage block, no 'Error:' box, one line."""
    import subprocess

    r = subprocess.run([sys.executable, "-m", "autospec_cli", "data", "info", "builtin:spiral",
                        "--nosuch"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [r.stderr.strip()]
    assert r.stderr.startswith("error:") and "--nosuch" in r.stderr


def test_backend_error_on_a_valid_instance_is_a_verdict(cli_runner, ws, tmp_path) -> None:
    """A backend that fails on a well-formed instance gives the verdict ``error`` (exit 3),
    unlike a malformed input (exit 2)."""
    tool = _write(tmp_path / "crash.py", "import sys\nsys.exit(7)\n")
    code, out, err = cli_runner("verify", "instance", str(ws / "model.onnx"),
                                str(ws / "prop.vnnlib"), "-b", "external", "--opt",
                                f"command={sys.executable} {tool} {{onnx}}")
    assert code == 3, (out, err)
    assert out.startswith("error"), out


def test_zip_is_what_a_truncated_npz_breaks(ws) -> None:
    """The truncated NPZ case really is a BadZipFile for numpy (guards the fixture)."""
    with pytest.raises(zipfile.BadZipFile):
        np.load(ws / "trunc.npz")


def test_solver_still_answers_a_well_formed_query(ws) -> None:
    """The checks before solving leave valid queries alone: a verdict on stdout, exit 0."""
    code, out, err = _run_solver(["verify", str(ws / "prop.vnnlib"), "--network",
                                  f"N={ws / 'model.onnx'}", "--backend", "attack",
                                  "--timeout", "5"])
    assert code == 0, err
    assert out.splitlines()[0] in ("unknown", "timed-out"), out  # lin_unsat: attack can't prove
