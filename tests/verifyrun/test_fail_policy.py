"""The fail policy: the default keeps verify's exit codes; --fail-on counts only what it names."""

from __future__ import annotations

import pytest

from autospec_cli.errors import InputError
from autospec_cli.verifyrun.policy import FailPolicy

VERDICTS = ("sat", "unsat", "unknown", "timeout", "error")


@pytest.mark.parametrize(("verdicts", "code"), [
    ([], 0), (["unsat"], 0), (["unsat", "sat"], 1), (["unknown", "sat"], 1),
    (["unsat", "unknown"], 3), (["timeout"], 3), (["error"], 3)])
def test_default_policy_is_verifys_exit_codes(verdicts: list[str], code: int) -> None:
    assert FailPolicy.parse(None).exit_code(verdicts) == code


@pytest.mark.parametrize(("text", "verdicts", "code"), [
    ("sat", ["unknown", "error", "timeout"], 0),
    ("sat", ["unknown", "sat"], 1),
    ("sat,error", ["error", "unknown"], 3),
    ("sat,error", ["unknown", "timeout"], 0),
    ("unknown", ["sat", "timeout"], 0),
    ("unknown", ["sat", "unknown"], 3),
    ("timeout, SAT", ["timeout"], 3),
    ("none", ["sat", "error"], 0),
])
def test_fail_on_counts_only_the_named_verdicts(text: str, verdicts: list[str],
                                                code: int) -> None:
    assert FailPolicy.parse(text).exit_code(verdicts) == code


def test_junit_outcomes() -> None:
    default = FailPolicy.parse("")
    assert [default.junit_outcome(v) for v in VERDICTS] == [
        "failure", "passed", "skipped", "skipped", "error"]
    strict = FailPolicy.parse("sat,error,unknown,timeout")
    assert [strict.junit_outcome(v) for v in VERDICTS] == [
        "failure", "passed", "failure", "failure", "error"]
    lax = FailPolicy.parse("timeout")
    assert [lax.junit_outcome(v) for v in VERDICTS] == [
        "skipped", "passed", "skipped", "failure", "skipped"]


def test_a_regression_exits_1_whatever_the_policy() -> None:
    assert FailPolicy.parse("none").gate_exit_code(["unsat"], regressed=True) == 1
    assert FailPolicy.parse(None).gate_exit_code(["unknown"], regressed=True) == 1
    assert FailPolicy.parse(None).gate_exit_code(["unknown"], regressed=False) == 3


@pytest.mark.parametrize("text", ["sat,maybe", "holds", "sat;error"])
def test_unknown_words_are_refused(text: str) -> None:
    with pytest.raises(InputError, match="--fail-on"):
        FailPolicy.parse(text)
