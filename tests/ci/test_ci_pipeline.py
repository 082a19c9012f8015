"""The example CI pipeline (examples/ci/verify.mk and the two YAML files run the same steps):
verify the "main" commit, then a "pull request" whose network's output bias is shifted so that
one property flips, with JUnit, the job summary and the regression gate.

The fast variant runs the steps in-process on tiny generated networks; the slow one runs the
Makefile fragment itself with `make` on two VNN-COMP 2021 ACAS Xu instances."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import onnx
import pytest
from junitparser import Error, Failure, JUnitXml, Skipped
from onnx import numpy_helper

from autospec_cli.testing.verifiers import build_problems, write_benchmark_folder

REPO = Path(__file__).resolve().parents[2]


def shift_output_bias(src: Path, dst: Path, index: int, delta: float) -> None:
    """Copy the ONNX model ``src`` to ``dst`` with output ``index``'s bias moved by ``delta``
    (the initializer added by the node that produces the graph output)."""
    model = onnx.load(str(src))
    g = model.graph
    producer = {o: n for n in g.node for o in n.output}
    inits = {i.name: i for i in g.initializer}
    node = producer[g.output[0].name]
    while node.op_type == "Identity":
        node = producer[node.input[0]]
    candidates = [node.input[2]] if node.op_type == "Gemm" else list(node.input)
    name = next(i for i in candidates if i in inits)
    bias = numpy_helper.to_array(inits[name]).copy()
    bias.reshape(-1)[index] += delta
    inits[name].CopyFrom(numpy_helper.from_array(bias.astype(bias.dtype), name))
    onnx.checker.check_model(model)
    onnx.save(model, str(dst))


def _read_junit(path: Path) -> dict[tuple[str, str], str]:
    outcomes = {}
    for suite in JUnitXml.fromfile(str(path)):
        for case in suite:
            kinds = {type(r) for r in case.result}
            outcome = ("failure" if Failure in kinds else "error" if Error in kinds
                       else "skipped" if Skipped in kinds else "passed")
            outcomes[(case.classname, case.name)] = outcome
    return outcomes


@pytest.fixture()
def tiny_commits(tmp_path: Path) -> tuple[Path, Path]:
    """main: lin_unsat (holds), lin_sat (violated), abs_unsat (holds); the pull request
    shifts lin_unsat's output bias by -2.5 so that it is violated."""
    problems = {p.name: p for p in build_problems(tmp_path / "problems")}
    chosen = [problems[n] for n in ("lin_unsat", "lin_sat", "abs_unsat")]
    # A generous limit: these decide in well under a second, but a loaded machine must not
    # turn a proof into a timeout.
    main = write_benchmark_folder(tmp_path / "main" / "bench", chosen, timeout=300)
    pr = tmp_path / "pr" / "bench"
    shutil.copytree(main, pr)
    shift_output_bias(main / "onnx" / "lin_unsat.onnx", pr / "onnx" / "lin_unsat.onnx", 0, -2.5)
    return main, pr


def test_pipeline_flags_the_flipped_property_and_no_other(cli_runner, tiny_commits,
                                                           tmp_path: Path,
                                                           monkeypatch) -> None:
    main, pr = tiny_commits
    base = tmp_path / "main-results"
    code, _, err = cli_runner("--quiet", "verify", str(main), "--backend", "bab", "-o",
                              str(base), "--junit", str(base / "junit.xml"), "--fail-on",
                              "sat,error", "-e", "inline")
    assert code == 1, err  # lin_sat is violated on main already
    assert _read_junit(base / "junit.xml") == {("lin_unsat", "lin_unsat"): "passed",
                                                ("lin_sat", "lin_sat"): "failure",
                                                ("abs_unsat", "abs_unsat"): "passed"}

    summary = tmp_path / "step-summary.md"
    summary.write_text("# earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    new = tmp_path / "pr-results"
    code, out, err = cli_runner("--quiet", "verify", str(pr), "--backend", "bab", "-o",
                                str(new), "--junit", str(new / "junit.xml"), "--fail-on",
                                "sat,error", "--baseline", str(base), "-e", "inline")
    assert code == 1, err
    assert "REGRESSION" in out and "lin_unsat.onnx lin_unsat.vnnlib" in out
    cases = _read_junit(new / "junit.xml")
    assert cases == {("lin_unsat", "lin_unsat"): "failure", ("lin_sat", "lin_sat"): "failure",
                     ("abs_unsat", "abs_unsat"): "passed"}
    xml = JUnitXml.fromfile(str(new / "junit.xml"))
    flipped = next(c for s in xml for c in s if c.name == "lin_unsat")
    message = flipped.result[0].message
    assert "lin_unsat.vnnlib violated" in message
    cex = message.split("counterexample ", 1)[1]
    assert (new / cex).is_file()

    text = summary.read_text()
    assert text.startswith("# earlier step\n")  # appended, not replaced
    assert "Violated properties" in text and "Regressions" in text
    regressions = text.split("Regressions", 1)[1].split("###", 1)[0]
    assert "lin_unsat.vnnlib" in regressions and "lin_sat.vnnlib" not in regressions
    assert "model `lin_unsat.onnx` changed content" in text

    code, out, err = cli_runner("report", "diff", str(base), str(new), "--fail-on-regression",
                                "--json")
    assert code == 1, err
    doc = json.loads(out)
    assert [(r["model"], r["prop"], r["change"]) for r in doc["regressions"]] == [
        ("lin_unsat.onnx", "lin_unsat.vnnlib", "held -> violated")]
    assert [c["name"] for c in doc["content_changes"]] == ["lin_unsat.onnx"]
    # The same gate read from the other forms a run takes: results.csv and campaign.sqlite.
    code, _, _ = cli_runner("report", "diff", str(base / "results.csv"),
                            str(new / "campaign.sqlite"), "--fail-on-regression")
    assert code == 1
    # A run diffed with itself passes; so does the main run against the pull request's
    # reverse (a property that was violated and now holds is no regression).
    assert cli_runner("report", "diff", str(new), str(new), "--fail-on-regression")[0] == 0
    assert cli_runner("report", "diff", str(new), str(base), "--fail-on-regression")[0] == 0
    # Without --fail-on-regression the gate reports and exits 0.
    assert cli_runner("report", "diff", str(base), str(new))[0] == 0

    # The fail policy on a resumed run (nothing runs again): only counted verdicts fail.
    monkeypatch.delenv("GITHUB_STEP_SUMMARY")
    for policy, expected in (("none", 0), ("unknown,timeout", 0), ("sat", 1)):
        code, _, err = cli_runner("--quiet", "verify", str(main), "--backend", "bab", "-o",
                                  str(base), "--fail-on", policy, "-e", "inline")
        assert code == expected, (policy, err)
    # `report` gives the same JUnit and summary from the stored run.
    code, _, err = cli_runner("report", str(new), "--junit", str(tmp_path / "again.xml"))
    assert code == 0, err
    assert _read_junit(tmp_path / "again.xml") == cases
    assert not (new / "report").exists()  # --junit alone builds no tables and figures
    code, out, err = cli_runner("report", str(new), "--format", "markdown", "--fail-on",
                                "sat,error", "--baseline", str(base))
    assert code == 0, err
    assert out == text.removeprefix("# earlier step\n")


@pytest.mark.slow
def test_makefile_fragment_on_acasxu(shared_data: Path, tmp_path: Path) -> None:
    """examples/ci/verify.mk run by make on two ACAS Xu instances: prop_1 on 1_1 holds until
    the pull request raises output 0's bias by 10 (the clear-of-conflict score), prop_2 on
    1_2 is violated in both."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    acas = shared_data / "vnncomp2021" / "acasxu"
    if not acas.is_dir():
        pytest.skip("ACAS Xu instances not found")
    rows = [("ACASXU_run2a_1_1_batch_2000.onnx", "prop_1.vnnlib"),
            ("ACASXU_run2a_1_2_batch_2000.onnx", "prop_2.vnnlib")]
    for commit in ("main", "pr"):
        bench = tmp_path / commit / "bench"
        bench.mkdir(parents=True)
        for onnx_name, prop in rows:
            for f in (onnx_name, prop):
                if not (bench / f).exists():
                    shutil.copy(acas / f, bench / f)
        (bench / "instances.csv").write_text("".join(f"{o},{p},60\n" for o, p in rows))
    shift_output_bias(acas / rows[0][0], tmp_path / "pr" / "bench" / rows[0][0], 0, 10.0)

    autospec = str(Path(sys.executable).parent / "autospec")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("GITHUB_STEP_SUMMARY", None)

    def make(commit: str, results: Path, baseline: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["make", "-s", "-f", str(REPO / "examples" / "ci" / "verify.mk"), "verify-ci",
             f"AUTOSPEC={autospec}", f"BENCH={tmp_path / commit / 'bench'}",
             f"RESULTS={results}", f"BASELINE={baseline}", "TIMEOUT=60"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)

    main = make("main", tmp_path / "main-results", tmp_path / "none")
    assert main.returncode != 0 and "verify exited 1" in main.stdout, main.stderr
    assert _read_junit(tmp_path / "main-results" / "junit.xml") == {
        ("ACASXU_run2a_1_1_batch_2000", "prop_1"): "passed",
        ("ACASXU_run2a_1_2_batch_2000", "prop_2"): "failure"}
    pr = make("pr", tmp_path / "pr-results", tmp_path / "main-results")
    assert pr.returncode != 0, pr.stderr
    assert "REGRESSION" in pr.stdout and "prop_1.vnnlib: held -> violated" in pr.stdout
    assert pr.stdout.count("REGRESSION") == 2  # verify --baseline and report diff, once each
    assert _read_junit(tmp_path / "pr-results" / "junit.xml") == {
        ("ACASXU_run2a_1_1_batch_2000", "prop_1"): "failure",
        ("ACASXU_run2a_1_2_batch_2000", "prop_2"): "failure"}
    summary = (tmp_path / "pr-results" / "summary.md").read_text()
    assert "Regressions" in summary and "ACASXU_run2a_1_1_batch_2000.onnx" in summary
