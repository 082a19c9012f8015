"""Portfolio members with their own options: ``backends=lirpa[method=alpha-crown],attack``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conformance import save_model, vnnlib_text

from autospec_cli.errors import VerifierError
from autospec_cli.verify.base import Instance, Verdict
from autospec_cli.verify.portfolio import parse_members
from autospec_cli.verify.registry import make_backend
from autospec_cli.verify.runner import run_instances


def test_members_are_read_with_their_options() -> None:
    assert parse_members("lirpa[method=alpha-crown],attack, bab") == [
        ("lirpa", ["method=alpha-crown"]), ("attack", []), ("bab", [])]
    assert parse_members("attack[restarts=4; steps=50]") == [
        ("attack", ["restarts=4", "steps=50"])]
    assert parse_members("lirpa[method=crown],lirpa[method=alpha-crown]") == [
        ("lirpa", ["method=crown"]), ("lirpa", ["method=alpha-crown"])]


@pytest.mark.parametrize("spec, match", [
    ("", "empty"),
    ("attack[steps=2", "cannot read member"),
    ("attack,portfolio", "cannot contain itself"),
])
def test_malformed_member_lists_are_refused(spec: str, match: str) -> None:
    with pytest.raises(VerifierError, match=match):
        parse_members(spec)


def test_member_options_are_checked_against_the_member_before_any_run() -> None:
    with pytest.raises(VerifierError, match="method"):
        make_backend("portfolio", backends="lirpa[method=nope],attack")
    with pytest.raises(VerifierError, match="nosuch"):
        make_backend("portfolio", backends="attack[nosuch=1]")
    with pytest.raises(VerifierError, match="steps"):
        make_backend("portfolio", backends="attack[steps=2.5]")  # strict int parsing


def test_member_options_reach_the_member_and_seed_is_still_passed() -> None:
    p = make_backend("portfolio", backends="lirpa[method=alpha-crown],attack[steps=7]", seed=3)
    (lname, lopts), (aname, aopts) = p.member_specs
    assert (lname, lopts["method"]) == ("lirpa", "alpha-crown")
    assert (aname, aopts["steps"], aopts["seed"]) == ("attack", 7, 3)


def test_a_portfolio_with_member_options_decides_like_its_members(tmp_path: Path) -> None:
    layers = [(np.array([[1.0, 0.0], [0.0, 1.0]]), np.zeros(2), False)]
    onnx = save_model(tmp_path / "id.onnx", layers)
    sat = tmp_path / "sat.vnnlib"
    sat.write_text(vnnlib_text(2, 2, [([0.0, 0.0], [1.0, 1.0])], [["(>= Y_1 Y_0)"]]))
    unsat = tmp_path / "unsat.vnnlib"
    unsat.write_text(vnnlib_text(2, 2, [([0.5, -1.0], [1.0, 0.0])], [["(>= Y_1 Y_0)"]]))
    p = make_backend("portfolio", backends="lirpa[method=alpha-crown],attack[steps=20]")
    results = run_instances(p, [Instance(onnx, sat, 30, "t"), Instance(onnx, unsat, 30, "t")])
    assert [r.verdict for r in results] == [Verdict.SAT, Verdict.UNSAT], results
    assert [r.extra["member"] for r in results] == ["attack", "lirpa"]
