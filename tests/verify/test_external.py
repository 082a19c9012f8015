"""The external backend against fake VNN-COMP tool scripts, and Marabou when installed."""

from __future__ import annotations

import sys
import textwrap
import time
from pathlib import Path

import pytest
from conformance import BackendConformance, build_problems

from autospec_cli.errors import VerifierError
from autospec_cli.verify.backends.external import (
    Argv,
    ExternalVerifier,
    MarabouVerifier,
    find_marabou,
    parse_assignment_listing,
    verdict_from_stdout,
)
from autospec_cli.verify.base import Instance, Verdict
from autospec_cli.verify.runner import run_instances

RUN_ARGS = ["v1", "{category}", "{onnx}", "{vnnlib}", "{results}", "{timeout}"]


def make_tool(tmp_path: Path, name: str, body: str) -> Path:
    """A python script following run_instance.sh's argv: v1 CATEGORY ONNX VNNLIB RESULTS TIMEOUT."""
    path = tmp_path / name
    path.write_text(
        f"#!{sys.executable}\nimport sys, os, time, subprocess\n"
        "_, version, category, onnx, vnnlib, results, timeout = sys.argv\n" + textwrap.dedent(body)
    )
    path.chmod(0o755)
    return path


def external(tool: Path, **opts) -> ExternalVerifier:
    return ExternalVerifier(command=[str(tool), *RUN_ARGS], **opts)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict:
    return {p.name: p for p in build_problems(tmp_path_factory.mktemp("tiny"))}


def inst(problem, timeout: float = 10.0) -> Instance:
    return Instance(problem.onnx, problem.vnnlib, timeout, "test")


@pytest.mark.parametrize(
    "word, verdict",
    [
        ("sat", Verdict.SAT),
        ("violated", Verdict.SAT),
        ("unsat", Verdict.UNSAT),
        ("holds", Verdict.UNSAT),
        ("unknown", Verdict.UNKNOWN),
        ("timeout", Verdict.TIMEOUT),
        ("error", Verdict.ERROR),
        ("  UNSAT  ", Verdict.UNSAT),
        ("maybe", Verdict.ERROR),
        ("", Verdict.ERROR),
    ],
)
def test_results_file_words(tmp_path, tiny, word: str, verdict: Verdict) -> None:
    tool = make_tool(tmp_path, "tool.py", f"open(results, 'w').write({word + chr(10)!r})\n")
    r = external(tool).verify_instance(inst(tiny["lin_sat"]))
    assert r.verdict is verdict, r.message
    assert r.time > 0


def test_arguments_follow_the_convention(tmp_path, tiny) -> None:
    tool = make_tool(
        tmp_path,
        "tool.py",
        """
        assert version == "v1" and category == "test" and timeout == "7", sys.argv
        assert os.path.isfile(onnx) and os.path.isfile(vnnlib)
        open(results, "w").write("unsat\\n")
    """,
    )
    assert external(tool).verify_instance(inst(tiny["lin_unsat"], 7.0)).verdict is Verdict.UNSAT


def test_stdout_verdict_when_template_has_no_results(tmp_path, tiny) -> None:
    tool = make_tool(tmp_path, "tool.py", 'print("loading...\\nunsat\\nbye")\n')
    v = ExternalVerifier(command=[str(tool), *RUN_ARGS[:4], "ignored", "{timeout}"])
    assert v.verify_instance(inst(tiny["lin_unsat"])).verdict is Verdict.UNSAT


def test_hanging_tool_and_child_are_killed_at_the_timeout(tmp_path, tiny) -> None:
    pidfile = tmp_path / "child.pid"
    tool = make_tool(
        tmp_path,
        "hang.py",
        f"""
        child = subprocess.Popen(["sleep", "1000"])
        open({str(pidfile)!r}, "w").write(str(child.pid))
        time.sleep(1000)
    """,
    )
    t0 = time.monotonic()
    r = external(tool, grace=0.2).verify_instance(inst(tiny["lin_sat"], timeout=1.0))
    assert r.verdict is Verdict.TIMEOUT
    assert time.monotonic() - t0 < 6
    child = int(pidfile.read_text())
    assert _gone(child), "the tool's child survived the timeout"


def _gone(pid: int, wait: float = 2.0) -> bool:
    end = time.monotonic() + wait
    while time.monotonic() < end:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state == "Z":  # a zombie nobody reaped is dead
            return True
        time.sleep(0.05)
    return False


def test_crashing_tool_is_an_error_with_its_message(tmp_path, tiny) -> None:
    tool = make_tool(
        tmp_path, "crash.py", 'sys.stderr.write("boom: bad weights\\n"); sys.exit(3)\n'
    )
    r = external(tool).verify_instance(inst(tiny["lin_sat"]))
    assert r.verdict is Verdict.ERROR
    assert "exit 3" in r.message and "boom" in r.message


def test_wrong_counterexample_becomes_error_not_sat(tmp_path, tiny) -> None:
    # lin_sat: y = (x0 + 1, x1); (0, 0) gives y = (1, 0): y1 >= y0 is false -> not a counterexample
    tool = make_tool(
        tmp_path,
        "liar.py",
        'open(results, "w").write("sat\\n((X_0 0.0)\\n (X_1 0.0)\\n (Y_0 1.0)\\n (Y_1 0.0))\\n")\n',
    )
    # without witness recovery (tested in test_witness_recovery.py) the runner's check decides
    r = run_instances(external(tool, recover=False), [inst(tiny["lin_sat"])])[0]
    assert r.verdict is Verdict.ERROR
    assert "invalid counterexample" in r.message


def test_sat_without_counterexample_becomes_error(tmp_path, tiny) -> None:
    tool = make_tool(tmp_path, "lazy.py", 'open(results, "w").write("sat\\n")\n')
    r = run_instances(external(tool, recover=False), [inst(tiny["lin_sat"])])[0]
    assert r.verdict is Verdict.ERROR and "without a counterexample" in r.message


def test_right_counterexample_is_sat(tmp_path, tiny) -> None:
    tool = make_tool(
        tmp_path,
        "honest.py",
        'open(results, "w").write("sat\\n((X_0 -1.0)\\n (X_1 1.0)\\n (Y_0 0.0)\\n (Y_1 1.0))")\n',
    )
    r = run_instances(external(tool), [inst(tiny["lin_sat"])])[0]
    assert r.verdict is Verdict.SAT, r.message
    assert r.counterexample.x.tolist() == [-1.0, 1.0]


def test_prepare_runs_first_and_its_failure_is_an_error(tmp_path, tiny) -> None:
    marker = tmp_path / "prepared"
    prep = tmp_path / "prep.py"
    prep.write_text(
        f"#!{sys.executable}\nimport sys\nassert sys.argv[1] == 'v1'\n"
        f"open({str(marker)!r}, 'w').write(sys.argv[2])\n"
    )
    prep.chmod(0o755)
    tool = make_tool(
        tmp_path,
        "tool.py",
        f"assert os.path.exists({str(marker)!r})\nopen(results, 'w').write('unsat')\n",
    )
    v = external(tool, prepare=[str(prep), "v1", "{category}", "{onnx}", "{vnnlib}"])
    r = v.verify_instance(inst(tiny["lin_unsat"]))
    assert r.verdict is Verdict.UNSAT and marker.read_text() == "test" and r.prepare_time > 0
    bad = external(tool, prepare=[str(prep), "v0"])
    assert bad.verify_instance(inst(tiny["lin_unsat"])).verdict is Verdict.ERROR


def test_missing_executable_or_command_is_a_verifier_error(tmp_path) -> None:
    with pytest.raises(VerifierError, match="no command"):
        ExternalVerifier()
    with pytest.raises(VerifierError, match="not found"):
        ExternalVerifier(command=[str(tmp_path / "nope.sh"), "v1"])


def test_argv_option_accepts_lists_shell_strings_and_json() -> None:
    assert Argv("run.sh v1 '{onnx} x'") == ["run.sh", "v1", "{onnx} x"]
    assert Argv('["a b", "{timeout}"]') == ["a b", "{timeout}"]
    assert Argv(["a", 1]) == ["a", "1"]


def test_stdout_and_listing_parsers() -> None:
    text = "log\nsat\nInput assignment:\n\tx0 = 0.5\n\tx1 = -1\n\nOutput:\n\ty0 = 2.000000\n"
    verdict, rest = verdict_from_stdout(text)
    assert verdict is Verdict.SAT
    cex = parse_assignment_listing(rest)
    assert cex.x.tolist() == [0.5, -1.0] and cex.y.tolist() == [2.0]
    assert verdict_from_stdout("Timeout\n")[0] is Verdict.TIMEOUT
    assert verdict_from_stdout("nothing here\n")[0] is None


# ------------------------------------------------------------------------------ Marabou

needs_marabou = pytest.mark.skipif(
    find_marabou() is None, reason="Marabou executable not installed"
)


@pytest.mark.marabou
@needs_marabou
def test_marabou_on_vnncomp_test_instances(shared_data) -> None:
    d = shared_data / "vnncomp2021" / "test"
    insts = [
        Instance(d / "test_sat.onnx", d / "test_prop.vnnlib", 30, "test"),
        Instance(d / "test_unsat.onnx", d / "test_prop.vnnlib", 30, "test"),
    ]
    sat, unsat = run_instances(MarabouVerifier(), insts)
    assert sat.verdict is Verdict.SAT, sat.message
    assert sat.extra["cex_exact"] or "tolerance" in sat.extra["cex_check"]
    assert unsat.verdict is Verdict.UNSAT, unsat.message


@pytest.mark.marabou
@needs_marabou
def test_marabou_acasxu_prop1_holds(shared_data) -> None:
    d = shared_data / "vnncomp2021" / "acasxu"
    r = run_instances(
        MarabouVerifier(),
        [Instance(d / "ACASXU_run2a_1_1_batch_2000.onnx", d / "prop_1.vnnlib", 20, "acasxu")],
    )[0]
    assert r.verdict is Verdict.UNSAT, r.message


@pytest.mark.marabou
@needs_marabou
def test_marabou_timeout_is_reported(shared_data) -> None:
    d = shared_data / "vnncomp2021" / "acasxu"
    r = MarabouVerifier().verify_instance(
        Instance(d / "ACASXU_run2a_1_2_batch_2000.onnx", d / "prop_2.vnnlib", 1, "acasxu")
    )
    assert r.verdict is Verdict.TIMEOUT


def test_marabou_unavailable_is_explained(monkeypatch) -> None:
    monkeypatch.setenv("PATH", "")
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    ok, why = MarabouVerifier.available()
    assert not ok and "maraboupy" in why
    with pytest.raises(VerifierError, match="Marabou executable not found"):
        MarabouVerifier()


@pytest.mark.marabou
class TestMarabouConformance(BackendConformance):
    backend = "marabou"
    skip_reason = "" if find_marabou() else "Marabou executable not installed"


def test_env_is_inherited(tmp_path, tiny, monkeypatch) -> None:
    monkeypatch.setenv("AUTOSPEC_TEST_MARK", "yes")
    tool = make_tool(
        tmp_path,
        "env.py",
        'mark = os.environ.get("AUTOSPEC_TEST_MARK")\n'
        'open(results, "w").write("unsat" if mark == "yes" else "error")\n',
    )
    assert external(tool).verify_instance(inst(tiny["lin_unsat"])).verdict is Verdict.UNSAT
