"""The fail policy: which verdicts make a verification job fail, and how.

``--fail-on`` takes a comma-separated set of ``sat``, ``error``, ``unknown``, ``timeout`` (or
``none``). Without it the policy is the one ``verify`` always had: a violation exits 1, any
undecided instance (``unknown``/``timeout``/``error``) exits 3, and in a JUnit report only a
violation fails and an error errs while ``unknown``/``timeout`` are skipped. With it, only the
named verdicts count: a counted ``sat`` exits 1, a counted undecided verdict exits 3, and the
JUnit report fails (or, for ``error``, errs) exactly the counted ones; everything else that is
not ``unsat`` is skipped there and exits 0.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from autospec_cli.errors import InputError

EXIT_HOLDS, EXIT_VIOLATED, EXIT_UNDECIDED = 0, 1, 3
# Verdict words (autospec_cli.verify.base.Verdict values), written out so that the CLI can
# parse --fail-on without loading numpy.
SAT, UNSAT, ERROR_VERDICT = "sat", "unsat", "error"
COUNTABLE = ("sat", "error", "unknown", "timeout")

PASSED, FAILURE, ERROR, SKIPPED = "passed", "failure", "error", "skipped"


@dataclass(frozen=True)
class FailPolicy:
    """``fail_on``: the counted verdicts; None is the default policy (see the module doc)."""

    fail_on: frozenset[str] | None = None

    @classmethod
    def parse(cls, text: str | None) -> FailPolicy:
        """From ``--fail-on`` text (None or empty: the default)."""
        if text is None or not text.strip():
            return cls()
        words = {w.strip().lower() for w in text.split(",") if w.strip()}
        if words == {"none"}:
            return cls(frozenset())
        bad = sorted(words - set(COUNTABLE))
        if bad:
            raise InputError(f"--fail-on: unknown verdict(s) {', '.join(bad)}; choose from "
                             f"{','.join(COUNTABLE)} (comma-separated) or none")
        return cls(frozenset(words))

    def counts(self, verdict: str) -> bool:
        """Whether ``verdict`` makes the run fail (for the exit code)."""
        if verdict == UNSAT:
            return False
        return self.fail_on is None or verdict in self.fail_on

    def exit_code(self, verdicts: Iterable[str]) -> int:
        """0 nothing counted, 1 a counted violation, 3 a counted undecided verdict."""
        counted = {v for v in verdicts if self.counts(v)}
        if SAT in counted:
            return EXIT_VIOLATED
        return EXIT_UNDECIDED if counted else EXIT_HOLDS

    def junit_outcome(self, verdict: str) -> str:
        """``passed``, ``failure``, ``error`` or ``skipped`` for one instance's verdict."""
        if verdict == UNSAT:
            return PASSED
        if self.fail_on is None:
            counted = verdict in (SAT, ERROR_VERDICT)
        else:
            counted = verdict in self.fail_on
        if not counted:
            return SKIPPED
        return ERROR if verdict == ERROR_VERDICT else FAILURE

    def gate_exit_code(self, verdicts: Iterable[str], regressed: bool) -> int:
        """:meth:`exit_code`, except that a regression against a baseline exits 1."""
        return EXIT_VIOLATED if regressed else self.exit_code(verdicts)

    def describe(self) -> str:
        if self.fail_on is None:
            return "default (sat exits 1; unknown, timeout, error exit 3)"
        return ",".join(sorted(self.fail_on)) or "none"
