"""Scoring: SCR, PAR2, VNN-COMP points, factor levels and conflicts."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autospec_cli.errors import InputError
from autospec_cli.verify.base import Verdict
from autospec_cli.verifyrun.scoring import (
    Points,
    ScoreRecord,
    find_conflicts,
    score,
)


def R(v: str, i: str, verdict: str, t: float, expected: str | None = None,
      timeout: float = 10.0, **factors: object) -> ScoreRecord:
    return ScoreRecord(v, i, verdict, t, timeout, expected, factors or None)


def test_hand_computed_scores_with_ground_truth() -> None:
    records = [
        R("a", "i1", "unsat", 1.0, "unsat"), R("a", "i2", "sat", 2.0, "sat"),
        R("a", "i3", "timeout", 10.0, "unsat"),
        R("b", "i1", "unsat", 0.5, "unsat"), R("b", "i2", "unsat", 1.0, "sat"),  # wrong
        R("b", "i3", "unsat", 3.0, "unsat"),
    ]
    board = score(records)
    a, b = (next(s for s in board.verifiers if s.verifier == v) for v in "ab")
    assert (a.solved, a.wrong, a.unsolved) == (2, 0, 1)
    assert (b.solved, b.wrong, b.unsolved) == (2, 1, 0)
    assert a.par2_sum == pytest.approx(1 + 2 + 20) and a.par2_mean == pytest.approx(23 / 3)
    assert b.par2_sum == pytest.approx(0.5 + 20 + 3)  # wrong counts as 2 x timeout
    assert a.points == 20 and b.points == 20 - 150
    # same solved count; b's correct results took 3.5 s, a's 3.0 s -> a ranks first
    assert board.ranking() == ["a", "b"] and [s.rank for s in board.verifiers] == [1, 2]
    assert [c.instance for c in board.conflicts] == ["i2"]  # a said sat, b said unsat


def test_without_ground_truth_conflicts_are_unsolved_or_settled_for_sat() -> None:
    records = [R("a", "i1", "sat", 1.0), R("b", "i1", "unsat", 1.0),
               R("a", "i2", "unsat", 1.0), R("b", "i2", "unknown", 1.0)]
    conflicts = find_conflicts(records)
    assert len(conflicts) == 1
    assert (conflicts[0].instance, conflicts[0].sat, conflicts[0].unsat) == ("i1", ["a"], ["b"])
    board = score(records)
    a = board.verifiers[0]
    assert (a.verifier, a.solved, a.wrong, a.unsolved) == ("a", 1, 0, 1)
    b = board.verifiers[1]
    assert (b.solved, b.wrong, b.unsolved) == (0, 0, 2)
    trusted = score(records, trust_sat=True)
    by = {s.verifier: s for s in trusted.verifiers}
    assert (by["a"].solved, by["b"].wrong) == (2, 1)


def test_missing_results_count_as_unsolved_with_the_instance_timeout() -> None:
    board = score([R("a", "i1", "sat", 1.0, timeout=30), R("a", "i2", "sat", 1.0),
                   R("b", "i1", "sat", 2.0, timeout=30)])
    b = next(s for s in board.verifiers if s.verifier == "b")
    assert (b.instances, b.missing, b.unsolved) == (2, 1, 1)
    assert b.par2_sum == pytest.approx(2.0 + 2 * 10)


def test_points_are_configurable_and_aliases_are_accepted() -> None:
    board = score([R("a", "i1", "holds", 1.0, "unsat"), R("a", "i2", "violated", 1.0, "unsat")],
                  points=Points(correct=1, wrong=-2, unsolved=0))
    assert board.verifiers[0].points == -1
    assert Verdict.parse("HOLDS") == "unsat"
    with pytest.raises(InputError, match="unknown verdict"):
        Verdict.parse("maybe")


def test_duplicates_are_refused() -> None:
    with pytest.raises(InputError, match="two results"):
        score([R("a", "i1", "sat", 1.0), R("a", "i1", "unsat", 1.0)])


def test_per_factor_level_counts() -> None:
    records = [R("a", "i1", "unsat", 1, "unsat", neurons=10, eps=0.1),
               R("a", "i2", "timeout", 10, "unsat", neurons=100, eps=0.1),
               R("a", "i3", "unsat", 2, "unsat", neurons=100, eps=0.5)]
    board = score(records)
    rows = {(s.factor, s.level): s for s in board.by_factor}
    assert [k for k in rows] == [("eps", 0.1), ("eps", 0.5), ("neurons", 10), ("neurons", 100)]
    assert (rows[("neurons", 100)].instances, rows[("neurons", 100)].solved) == (2, 1)
    assert rows[("eps", 0.1)].par2_sum == pytest.approx(1 + 20)
    assert board.to_dict()["by_factor"][0]["par2_mean"] == pytest.approx(10.5)


verdicts = st.sampled_from(["sat", "unsat", "unknown", "timeout", "error"])
record_lists = st.lists(
    st.tuples(st.sampled_from("abc"), st.sampled_from(["i1", "i2", "i3", "i4"]), verdicts,
              st.floats(0, 10), st.sampled_from([None, "sat", "unsat"])),
    max_size=12, unique_by=lambda r: (r[0], r[1]))


def _records(rows: list[tuple]) -> list[ScoreRecord]:
    truth: dict[str, str | None] = {}
    out = []
    for v, i, verdict, t, exp in rows:
        truth.setdefault(i, exp)  # one ground truth per instance
        out.append(ScoreRecord(v, i, verdict, t, 10.0, truth[i], {"f": i[-1]}))
    return out


@given(record_lists, st.randoms())
def test_score_invariants(rows: list[tuple], rnd: random.Random) -> None:
    records = _records(rows)
    board = score(records)
    shuffled = records[:]
    rnd.shuffle(shuffled)
    assert score(shuffled).to_dict() == board.to_dict()
    n_instances = len({r.instance for r in records})
    for s in board.verifiers:
        assert s.solved + s.wrong + s.unsolved == s.instances == n_instances
        assert s.points == 10 * s.solved - 150 * s.wrong
        assert s.par2_sum >= s.solved_time - 1e-9
        assert s.par2_sum == pytest.approx(s.solved_time + 20.0 * (s.wrong + s.unsolved))
    solved = [s.solved for s in board.verifiers]
    assert solved == sorted(solved, reverse=True)
    for s in board.verifiers:  # factor levels partition each verifier's instances
        levels = [x for x in board.by_factor if x.verifier == s.verifier]
        assert sum(x.solved for x in levels) == s.solved
        assert sum(x.instances for x in levels) == s.instances
