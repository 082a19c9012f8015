"""Verification job kinds: result round trips, instance naming, grouping, failed jobs."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from autospec_cli.campaign.jobs import resolve_kind
from autospec_cli.verify.base import Counterexample, Instance, Result, Verdict
from autospec_cli.verifyrun.jobs import (
    GROUP_KIND,
    INSTANCE_KIND,
    describe_instances,
    make_jobs,
    read_expected,
    result_from_dict,
    result_to_dict,
    results_of,
)

floats = st.floats(allow_nan=False, allow_infinity=False, width=64)


@given(st.lists(floats, min_size=1, max_size=6), st.lists(floats, max_size=4))
def test_counterexample_survives_the_json_round_trip_exactly(x: list, y: list) -> None:
    r = Result(Verdict.SAT, 1.5, Counterexample(np.array(x), np.array(y)), "found",
               extra={"margin": np.float32(0.5), "bad": float("nan"), "v": Verdict.SAT})
    back = result_from_dict(result_to_dict(r))
    assert back.verdict is Verdict.SAT and back.message == "found" and back.time == 1.5
    assert back.counterexample is not None
    assert back.counterexample.to_vnncomp() == r.counterexample.to_vnncomp()
    assert back.extra == {"margin": 0.5, "bad": None, "v": "sat"}


def _bench(tmp_path: Path) -> tuple[list[Instance], Path]:
    for name in ("onnx/a.onnx", "onnx/b.onnx", "vnnlib/p.vnnlib", "vnnlib/q.vnnlib"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(name)
    pairs = [("a", "p"), ("a", "q"), ("b", "p")]
    return [Instance(tmp_path / f"onnx/{m}.onnx", tmp_path / f"vnnlib/{v}.vnnlib", 5.0, "c")
            for m, v in pairs], tmp_path


def test_names_factors_and_expected_verdicts(tmp_path: Path) -> None:
    instances, root = _bench(tmp_path)
    (root / "expected.csv").write_text("onnx,vnnlib,expected\nonnx/a.onnx,vnnlib/p.vnnlib,"
                                       "holds\nonnx/b.onnx,vnnlib/p.vnnlib,unknown\n")
    assert read_expected(root) == {("onnx/a.onnx", "vnnlib/p.vnnlib"): "unsat"}
    manifest = {"instances": [{"onnx": "onnx/a.onnx", "vnnlib": "vnnlib/q.vnnlib",
                               "meta": {"factors": {"neu": 2}, "expected": "sat"}},
                              {"onnx": "onnx/b.onnx", "vnnlib": "vnnlib/p.vnnlib",
                               "meta": {"gdvb": {"levels": {"neu": 1}, "row": 3}}}]}
    infos = describe_instances(instances, root, manifest, read_expected(root))
    assert [i.name for i in infos] == ["onnx/a.onnx::vnnlib/p.vnnlib",
                                       "onnx/a.onnx::vnnlib/q.vnnlib",
                                       "onnx/b.onnx::vnnlib/p.vnnlib"]
    assert [i.expected for i in infos] == ["unsat", "sat", None]
    assert [i.factors for i in infos] == [None, {"neu": 2}, {"neu": 1}]


def test_jobs_per_instance_or_per_model_and_edited_inputs_change_ids(tmp_path: Path) -> None:
    instances, root = _bench(tmp_path)
    infos = describe_instances(instances, root)
    single = make_jobs("attack", {"samples": 8}, infos)  # attack decides one by one
    assert [(s.kind, m) for s, m in single] == [(INSTANCE_KIND, [0]), (INSTANCE_KIND, [1]),
                                                (INSTANCE_KIND, [2])]
    assert single[0][0].timeout == 1.25 * 5.0 + 10.0
    grouped = make_jobs("attack", {"samples": 8}, infos, batch=True)
    assert [(s.kind, m) for s, m in grouped] == [(GROUP_KIND, [0, 1]), (GROUP_KIND, [2])]
    assert [s.id for s, _ in make_jobs("attack", {"samples": 8}, infos)] == [
        s.id for s, _ in single]  # stable ids: a re-run finds its finished jobs
    (root / "vnnlib/p.vnnlib").write_text("edited")
    again = make_jobs("attack", {"samples": 8}, infos)
    assert [s.id == t.id for (s, _), (t, _) in zip(single, again, strict=True)] == [
        False, True, False]
    assert resolve_kind(INSTANCE_KIND) == "autospec_cli.verifyrun.jobs:verify_instance"


def test_killed_and_crashed_jobs_read_back_as_timeout_and_error() -> None:
    def rec(kind: str, status: str, n: int = 1) -> SimpleNamespace:
        params = {"instances": [{}] * n} if kind == GROUP_KIND else {}
        return SimpleNamespace(kind=kind, status=status, result=None, params=params,
                               error="killed after the 16 s hard timeout\ntraceback",
                               duration=16.0)
    [hung] = results_of(rec(INSTANCE_KIND, "timeout"))
    assert hung.verdict is Verdict.TIMEOUT and hung.message.startswith("killed after")
    group = results_of(rec(GROUP_KIND, "failed", 4))
    assert [r.verdict for r in group] == [Verdict.ERROR] * 4 and group[0].time == 4.0
