"""Scoring verification results: SCR, PAR2, VNN-COMP points, per factor level, conflicts.

Input is :class:`~autospec_cli.verifyrun.records.VerifyRecord` rows (verifier, instance,
verdict, time, timeout, optional expected verdict and factor levels), as
:func:`~autospec_cli.verifyrun.records.load_records` reads them from a campaign or built by
hand. Verdict words are read with :meth:`Verdict.parse`. Each (verifier, instance) pair is
classified as

- **correct**: a decided verdict (``sat``/``unsat``) that matches the expected verdict when
  one is known; when there is no ground truth, a decided verdict that no other verifier
  contradicts (no ``sat`` vs ``unsat`` conflict on that instance);
- **wrong**: a decided verdict that contradicts the expected verdict; without ground truth,
  only with ``trust_sat=True``, where a conflict is settled for ``sat`` (VNN-COMP's rule when
  every ``sat`` carries a checked counterexample) and the ``unsat`` side is wrong;
- **unsolved**: ``unknown``, ``timeout``, ``error``, a missing result, or (by default) either
  side of a conflict without ground truth — neither credited nor penalised, and listed in
  :attr:`Scoreboard.conflicts` for a human to settle (give those instances an expected verdict).

Scores per verifier: SCR (solution count ranking: correct count, ties broken by the total
time of the correct results, then by name), PAR2 (per instance the time if correct, else
twice the timeout — wrong results included; sum and mean), and points (VNN-COMP: +10
correct, -150 wrong, 0 otherwise; configurable through :class:`Points`; the speed bonuses of
some VNN-COMP years are not modelled). The same counts are reported per level of every factor.
Instances some verifier has no record for count as unsolved for it (``missing``), with the
instance's largest recorded timeout.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from autospec_cli.errors import InputError
from autospec_cli.verify.base import Verdict
from autospec_cli.verifyrun.records import VerifyRecord

CORRECT, WRONG, UNSOLVED = "correct", "wrong", "unsolved"

#: The record scoring reads: the same class as every other verification record.
ScoreRecord = VerifyRecord


@dataclass(frozen=True)
class Points:
    """Points per outcome (VNN-COMP defaults)."""

    correct: float = 10.0
    wrong: float = -150.0
    unsolved: float = 0.0


@dataclass
class Conflict:
    """An instance on which some verifiers said ``sat`` and others ``unsat``."""

    instance: str
    sat: list[str]
    unsat: list[str]
    expected: str | None


@dataclass
class Tally:
    """Counts and scores of a group of (verifier, instance) results."""

    instances: int = 0
    solved: int = 0
    wrong: int = 0
    unsolved: int = 0
    missing: int = 0
    solved_time: float = 0.0
    par2_sum: float = 0.0
    points: float = 0.0

    @property
    def par2_mean(self) -> float:
        return self.par2_sum / self.instances if self.instances else 0.0

    def add(self, outcome: str, time: float, timeout: float, points: Points,
            missing: bool = False) -> None:
        self.instances += 1
        self.missing += missing
        if outcome == CORRECT:
            self.solved += 1
            self.solved_time += time
            self.par2_sum += time
            self.points += points.correct
        else:
            self.par2_sum += 2.0 * timeout
            if outcome == WRONG:
                self.wrong += 1
                self.points += points.wrong
            else:
                self.unsolved += 1
                self.points += points.unsolved

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "par2_mean": self.par2_mean}


@dataclass
class VerifierScore(Tally):
    verifier: str = ""
    rank: int = 0


@dataclass
class LevelScore(Tally):
    factor: str = ""
    level: Any = None
    verifier: str = ""


@dataclass
class Scoreboard:
    """Per-verifier scores in SCR order, per-factor-level scores, and conflicts."""

    verifiers: list[VerifierScore]
    by_factor: list[LevelScore] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)

    def ranking(self) -> list[str]:
        return [v.verifier for v in self.verifiers]

    def to_dict(self) -> dict[str, Any]:
        return {"verifiers": [v.to_dict() for v in self.verifiers],
                "by_factor": [s.to_dict() for s in self.by_factor],
                "conflicts": [asdict(c) for c in self.conflicts]}


def _clean(records: Iterable[VerifyRecord]) -> list[VerifyRecord]:
    out, seen = [], set()
    for r in records:
        key = (r.verifier, r.instance)
        if key in seen:
            raise InputError(f"two results for verifier {r.verifier!r} on instance "
                             f"{r.instance!r}; keep one per pair")
        seen.add(key)
        expected = None if r.expected is None else Verdict.parse(r.expected)
        out.append(replace(r, verdict=Verdict.parse(r.verdict).value, time=float(r.time),
                           timeout=float(r.timeout),
                           expected=expected.value if expected and expected.decided else None))
    return out


def find_conflicts(records: Iterable[VerifyRecord]) -> list[Conflict]:
    """Instances with both ``sat`` and ``unsat`` verdicts, sorted by instance."""
    sat: dict[str, list[str]] = defaultdict(list)
    unsat: dict[str, list[str]] = defaultdict(list)
    expected: dict[str, str | None] = {}
    for r in _clean(records):
        if r.verdict == "sat":
            sat[r.instance].append(r.verifier)
        elif r.verdict == "unsat":
            unsat[r.instance].append(r.verifier)
        expected[r.instance] = expected.get(r.instance) or r.expected
    return [Conflict(i, sorted(sat[i]), sorted(unsat[i]), expected.get(i))
            for i in sorted(set(sat) & set(unsat))]


def classify(record: VerifyRecord, conflicted: bool, trust_sat: bool = False) -> str:
    """``correct``, ``wrong`` or ``unsolved`` for one cleaned record (see the module doc)."""
    if record.verdict not in ("sat", "unsat"):
        return UNSOLVED
    if record.expected is not None:
        return CORRECT if record.verdict == record.expected else WRONG
    if not conflicted:
        return CORRECT
    if trust_sat:
        return CORRECT if record.verdict == "sat" else WRONG
    return UNSOLVED


def level_key(level: Any) -> tuple[int, Any]:
    """Sort key of factor levels: numbers in numeric order first, then anything else."""
    if isinstance(level, (int, float)) and not isinstance(level, bool):
        return (0, level)
    return (1, json.dumps(level, sort_keys=True, default=str))


def score(records: Iterable[VerifyRecord], *, points: Points | None = None,
          trust_sat: bool = False) -> Scoreboard:
    """Score every verifier (SCR order), every factor level, and list the conflicts."""
    points = points or Points()
    rows = _clean(records)
    conflicts = find_conflicts(rows)
    conflicted = {c.instance for c in conflicts}
    verifiers = sorted({r.verifier for r in rows})
    timeout: dict[str, float] = {}
    factors: dict[str, Mapping[str, Any]] = {}
    have: dict[tuple[str, str], VerifyRecord] = {}
    for r in rows:
        timeout[r.instance] = max(timeout.get(r.instance, 0.0), r.timeout)
        if r.factors and r.instance not in factors:
            factors[r.instance] = r.factors
        have[(r.verifier, r.instance)] = r
    per_verifier = {v: VerifierScore(verifier=v) for v in verifiers}
    per_level: dict[tuple[str, str, str], LevelScore] = {}
    for v in verifiers:
        for inst in sorted(timeout):
            got = have.get((v, inst))
            outcome = classify(got, inst in conflicted, trust_sat) if got else UNSOLVED
            t, lim = (got.time, got.timeout) if got else (0.0, timeout[inst])
            per_verifier[v].add(outcome, t, lim, points, missing=got is None)
            for name, level in (factors.get(inst) or {}).items():
                key = (name, json.dumps(level, sort_keys=True, default=str), v)
                if key not in per_level:
                    per_level[key] = LevelScore(factor=name, level=level, verifier=v)
                per_level[key].add(outcome, t, lim, points, missing=got is None)
    ranked = sorted(per_verifier.values(), key=lambda s: (-s.solved, s.solved_time, s.verifier))
    for i, s in enumerate(ranked, start=1):
        s.rank = i
    levels = sorted(per_level.values(),
                    key=lambda s: (s.factor, level_key(s.level), s.verifier))
    return Scoreboard(ranked, levels, conflicts)
