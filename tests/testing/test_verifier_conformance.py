"""The shipped verifier conformance suite applied to the backends no other test file covers
(``portfolio``, ``external`` with Marabou), and the suite itself catching planted faults."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from autospec_cli.testing.verifiers import (
    VerifierConformance,
    build_problems,
    check_verifier,
    finds_sat,
    proves_unsat,
)
from autospec_cli.verify.backends.external import find_marabou
from autospec_cli.verify.base import Result, Verdict, Verifier
from autospec_cli.verify.registry import backend_names, get_backend_class
from autospec_cli.vnnlib.benchmark import Instance

MARABOU = find_marabou()

#: where each registered backend runs the suite (a new backend must be added to one of them)
COVERED = {
    "attack": "tests/verify/test_attack.py",
    "bab": "tests/verify/test_bab.py",
    "lirpa": "tests/verify/test_lirpa.py",
    "marabou": "tests/verify/test_external.py",
    "portfolio": __file__,
    "external": __file__,
}


def test_every_registered_backend_runs_the_suite() -> None:
    missing = set(backend_names()) - set(COVERED)
    assert not missing, f"backends without a conformance test: {sorted(missing)}"


class TestPortfolioConformance(VerifierConformance):
    backend = "portfolio"
    options: ClassVar[dict[str, Any]] = {"backends": "attack,bab"}


@pytest.mark.marabou
class TestExternalMarabouConformance(VerifierConformance):
    """``external`` driving the Marabou executable through an argv template."""

    backend = "external"
    options: ClassVar[dict[str, Any]] = {
        "tool": "Marabou",
        "command": [
            str(MARABOU),
            "{onnx}",
            "{vnnlib}",
            "--timeout",
            "{timeout}",
            "--verbosity",
            "0",
        ],
    }
    skip_reason = "" if MARABOU else "Marabou executable not installed"


def test_capabilities_follow_the_declarations() -> None:
    attack, lirpa, bab = (get_backend_class(n) for n in ("attack", "lirpa", "bab"))
    assert finds_sat(attack) and not proves_unsat(attack)
    assert proves_unsat(lirpa) and not finds_sat(lirpa)
    assert finds_sat(bab) and proves_unsat(bab)


# -- the suite catches planted faults ----------------------------------------------------------


class _Always(Verifier):
    """Answers one verdict for everything (a planted fault)."""

    name: ClassVar[str] = "always"
    verdict: ClassVar[Verdict] = Verdict.UNSAT

    def verify_instance(self, instance: Instance) -> Result:
        return Result(self.verdict)


class _AlwaysUnsat(_Always):
    name: ClassVar[str] = "always-unsat"


class _UnknownButComplete(_Always):
    name: ClassVar[str] = "lazy-complete"
    complete: ClassVar[bool] = True
    verdict: ClassVar[Verdict] = Verdict.UNKNOWN


class _FalsifierThatProves(_AlwaysUnsat):
    name: ClassVar[str] = "proving-falsifier"
    finds_sat: ClassVar[bool] = True


def test_unsound_backend_fails(tmp_path) -> None:
    with pytest.raises(AssertionError, match="check_counterexample_never_unsat"):
        check_verifier(_AlwaysUnsat, tmp_path)


def test_complete_backend_that_decides_nothing_fails() -> None:
    with pytest.raises(AssertionError) as info:
        check_verifier(_UnknownButComplete)
    assert "check_complete_decides_everything" in str(info.value)
    assert "check_declared_capabilities_work" in str(info.value)
    assert "unsound" not in str(info.value)


def test_falsifier_claiming_unsat_fails() -> None:
    with pytest.raises(AssertionError, match="does not declare that it can answer unsat"):
        check_verifier(_FalsifierThatProves)


def test_a_conforming_backend_passes_and_returns_answers(tmp_path) -> None:
    answers = check_verifier("attack", tmp_path, options={"samples": 64, "restarts": 2})
    expected = {p.name: p.expected for p in build_problems(tmp_path / "again")}
    assert set(answers) == set(expected)
    assert all(answers[n].verdict.value == "sat" for n, e in expected.items() if e == "sat")
