"""JUnit XML (read back with junitparser) and the Markdown job summary of a run."""

from __future__ import annotations

from pathlib import Path

from junitparser import Error, Failure, JUnitXml, Skipped

from autospec_cli.report.junit import write_junit
from autospec_cli.report.summary import summary_markdown
from autospec_cli.verifyrun.diff import diff_runs
from autospec_cli.verifyrun.policy import FailPolicy
from autospec_cli.verifyrun.runs import Run, RunEntry


def _e(verifier: str, bench: str, model: str, prop: str, verdict: str, time: float,
       cex: str | None = None, message: str = "") -> RunEntry:
    return RunEntry(verifier, bench, model, prop, "m" + model, "p" + prop, verdict, time,
                    10.0, message, cex)


ENTRIES = [
    _e("bab", "acas", "n1.onnx", "prop_1.vnnlib", "unsat", 0.5),
    _e("bab", "acas", "n1.onnx", "prop_2.vnnlib", "sat", 1.25,
       "counterexamples/n1__prop_2.counterexample"),
    _e("bab", "acas", "n2.onnx", "prop_1.vnnlib", "timeout", 10.5),
    _e("bab", "acas", "n2.onnx", "prop_2.vnnlib", "unknown", 3.0),
    _e("bab", "acas", "n3.onnx", "prop_1.vnnlib", "error", 0.1, message="model failed to load"),
    _e("attack", "acas", "n1.onnx", "prop_1.vnnlib", "unknown", 0.2),
    _e("bab", "mnist", "m.onnx", "rob_0.vnnlib", "unsat", 2.0),
]


def _outcome(case) -> str:
    kinds = {type(r) for r in case.result}
    return ("failure" if Failure in kinds else "error" if Error in kinds
            else "skipped" if Skipped in kinds else "passed")


def test_junit_suites_cases_outcomes_and_times(tmp_path: Path) -> None:
    path = write_junit(tmp_path / "j.xml", ENTRIES)
    xml = JUnitXml.fromfile(str(path))
    suites = {s.name: s for s in xml}
    assert set(suites) == {"acas [bab]", "acas [attack]", "mnist [bab]"}
    bab = suites["acas [bab]"]
    assert (bab.tests, bab.failures, bab.errors, bab.skipped) == (5, 1, 1, 2)
    assert abs(bab.time - (0.5 + 1.25 + 10.5 + 3.0 + 0.1)) < 1e-6
    cases = {(c.classname, c.name): c for c in bab}
    assert {k: _outcome(c) for k, c in cases.items()} == {
        ("n1", "prop_1"): "passed", ("n1", "prop_2"): "failure", ("n2", "prop_1"): "skipped",
        ("n2", "prop_2"): "skipped", ("n3", "prop_1"): "error"}
    violated = cases[("n1", "prop_2")]
    assert violated.time == 1.25
    message = violated.result[0].message
    assert "prop_2.vnnlib violated" in message
    assert "counterexamples/n1__prop_2.counterexample" in message
    assert "model failed to load" in cases[("n3", "prop_1")].result[0].message
    assert sum(s.tests for s in xml) == len(ENTRIES)


def test_junit_counts_undecided_when_the_policy_does(tmp_path: Path) -> None:
    xml = JUnitXml.fromfile(str(write_junit(tmp_path / "j.xml", ENTRIES,
                                            FailPolicy.parse("sat,timeout"))))
    bab = next(s for s in xml if s.name == "acas [bab]")
    got = {(c.classname, c.name): _outcome(c) for c in bab}
    assert got[("n2", "prop_1")] == "failure"  # timeout counted
    assert got[("n2", "prop_2")] == "skipped"  # unknown not counted
    assert got[("n3", "prop_1")] == "skipped"  # error not counted


def test_markdown_summary_counts_violations_and_slowest() -> None:
    text = summary_markdown(Run("r", None, ENTRIES))
    assert text.startswith("## autospec verify: acas, mnist [attack, bab]")
    assert "**7 instance(s)**: 1 violated, 2 held, 2 unknown, 1 timeout, 1 error" in text
    assert "failed (violation or regression)" in text
    violated = text.split("### Violated properties", 1)[1].split("###", 1)[0]
    assert "n1.onnx | prop_2.vnnlib | counterexamples/n1__prop_2.counterexample" in violated
    slowest = text.split("### Slowest 5 instance(s)", 1)[1].split("###", 1)[0]
    rows = [r for r in slowest.splitlines() if ".onnx" in r]
    assert [r.split(" | ")[3] for r in rows] == ["10.50 |", "3.00 |", "2.00 |", "1.25 |",
                                                 "0.50 |"]
    assert "Against the baseline" not in text
    passing = summary_markdown(Run("r", None, ENTRIES[:1]))
    assert "**passed**" in passing and "Violated" not in passing


def test_markdown_summary_with_baseline() -> None:
    base = Run("base", None, [_e("bab", "acas", "n1.onnx", "prop_2.vnnlib", "unsat", 1.0)])
    new = Run("new", None, ENTRIES[1:2])
    text = summary_markdown(new, FailPolicy.parse("none"), diff_runs(base, new))
    assert "**failed (violation or regression)**" in text  # the regression, not the policy
    section = text.split("### Against the baseline", 1)[1]
    assert "1 regression(s)" in section
    assert "| n1.onnx | prop_2.vnnlib | held -> violated | sat |" in section
