"""Backend registry (entry points, options, external:NAME), the runner and results files."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from conformance import build_problems

from autospec_cli.errors import ConfigError, OutputExistsError, VerifierError
from autospec_cli.verify.base import Counterexample, Instance, Parameter, Result, Verdict, Verifier
from autospec_cli.verify.registry import (
    backend_names,
    describe_backends,
    get_backend_class,
    make_backend,
    parse_option_pairs,
    resolve_backend,
)
from autospec_cli.verify.runner import run_instances, run_one, validate_result
from autospec_cli.verifyrun.results import read_results_csv, write_results


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict:
    return {p.name: p for p in build_problems(tmp_path_factory.mktemp("tiny"))}


def inst(problem, timeout: float = 10.0) -> Instance:
    return Instance(problem.onnx, problem.vnnlib, timeout, "tiny")


# ------------------------------------------------------------------------------ registry


def test_builtin_backends_are_registered() -> None:
    names = backend_names()
    for name in ("attack", "external", "marabou", "lirpa", "bab", "portfolio"):
        assert name in names


def test_unknown_backend_lists_known_ones() -> None:
    with pytest.raises(VerifierError, match="unknown verifier backend 'nope'.*attack"):
        get_backend_class("nope")


def test_lookup_is_lazy() -> None:
    import subprocess

    code = (
        "import sys; from autospec_cli.verify.registry import get_backend_class; "
        "get_backend_class('external'); print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_cli_options_are_parsed_against_declared_parameters() -> None:
    cls = get_backend_class("attack")
    assert parse_option_pairs(cls, ["samples=5", "device=cpu", "step-size=0.5"]) == {
        "samples": 5,
        "device": "cpu",
        "step_size": 0.5,
    }
    with pytest.raises(VerifierError, match="unknown option 'nope'"):
        parse_option_pairs(cls, ["nope=1"])
    with pytest.raises(VerifierError, match="key=value"):
        parse_option_pairs(cls, ["samples"])
    with pytest.raises(VerifierError, match="cannot read"):
        parse_option_pairs(cls, ["samples=many"])
    with pytest.raises(VerifierError, match="not one of"):
        parse_option_pairs(cls, ["device=tpu"])


def test_make_backend_applies_options() -> None:
    v = make_backend("attack", samples=7)
    assert v.options["samples"] == 7 and v.options["steps"] == 100


def test_external_name_resolves_from_tools_file(tmp_path) -> None:
    tools = tmp_path / "tools.toml"
    tools.write_text(
        f'[tools.mytool]\ncommand = ["{sys.executable}", "run.py", "{{onnx}}"]\ngrace = 1.5\n'
    )
    spec = resolve_backend("external:mytool", {"grace": 3.0}, tools_file=tools)
    assert spec.entry == "external" and spec.label == "external-mytool"
    assert spec.options["grace"] == 3.0 and spec.options["command"][0] == sys.executable
    v = make_backend("external:mytool", tools_file=tools)
    assert (
        v.options["command"] == [sys.executable, "run.py", "{onnx}"] and v.options["grace"] == 1.5
    )
    with pytest.raises(VerifierError, match="'other' is not configured.*mytool"):
        resolve_backend("external:other", tools_file=tools)
    with pytest.raises(ConfigError, match="not found"):
        resolve_backend("external:x", tools_file=tmp_path / "missing.toml")
    tools.write_text("[tools\n")
    with pytest.raises(ConfigError, match="TOML"):
        resolve_backend("external:mytool", tools_file=tools)


def test_describe_backends_reports_availability_and_parameters() -> None:
    rows = {r["name"]: r for r in describe_backends(["attack", "marabou", "nope"])}
    assert rows["attack"]["available"] and "samples" in rows["attack"]["parameters"]
    assert rows["attack"]["parameters"]["device"]["choices"] == ["cpu", "cuda"]
    assert not rows["nope"]["available"] and "unknown" in rows["nope"]["reason"]
    json.dumps(rows)  # JSON-ready


# ------------------------------------------------------------------------------ runner


class _Forger(Verifier):
    """Claims sat with a made-up counterexample, or raises, or returns garbage."""

    name: ClassVar[str] = "forger"
    parameters: ClassVar[dict[str, Parameter]] = {"mode": Parameter(str, "forge", "what to do")}

    def verify_instance(self, instance: Instance) -> Result:
        mode = self.options["mode"]
        if mode == "raise":
            raise RuntimeError("kaboom\nsecond line")
        if mode == "none":
            return Result(Verdict.SAT)
        if mode == "late":
            return Result(Verdict.UNSAT, time=instance.timeout + 5)
        if mode == "noy":
            return Result(
                Verdict.SAT, counterexample=Counterexample(np.array([-1.0, 1.0]), np.array([]))
            )
        return Result(
            Verdict.SAT, counterexample=Counterexample(np.array([0.0, 0.0]), np.array([1.0, 0.0]))
        )


def test_runner_turns_a_forged_sat_into_error(tiny) -> None:
    r = run_instances(_Forger(), [inst(tiny["lin_sat"])])[0]
    assert r.verdict is Verdict.ERROR and "invalid counterexample" in r.message
    assert r.time >= 0


def test_runner_turns_sat_without_counterexample_into_error(tiny) -> None:
    r = run_instances(_Forger(mode="none"), [inst(tiny["lin_sat"])])[0]
    assert r.verdict is Verdict.ERROR and "without a counterexample" in r.message


def test_runner_fills_missing_outputs_from_onnxruntime(tiny) -> None:
    r = run_instances(_Forger(mode="noy"), [inst(tiny["lin_sat"])])[0]
    assert r.verdict is Verdict.SAT
    np.testing.assert_allclose(r.counterexample.y, [0.0, 1.0])


def test_runner_contains_exceptions_in_one_line(tiny) -> None:
    rs = run_instances(_Forger(mode="raise"), [inst(tiny["lin_sat"]), inst(tiny["lin_unsat"])])
    assert [r.verdict for r in rs] == [Verdict.ERROR, Verdict.ERROR]
    assert rs[0].message == "RuntimeError: kaboom second line"


def test_late_answers_count_as_timeouts(tiny) -> None:
    r = run_instances(_Forger(mode="late"), [inst(tiny["lin_unsat"], 1.0)])[0]
    assert r.verdict is Verdict.TIMEOUT and "after the 1 s limit" in r.message


def test_validate_passes_non_sat_through(tiny) -> None:
    res = Result(Verdict.UNKNOWN, 1.0, message="m")
    assert validate_result(inst(tiny["lin_sat"]), res) is res


def test_run_one_is_picklable_and_reports_bad_backends(tiny) -> None:
    import pickle

    pickle.dumps((run_one, "attack", {"samples": 8}, inst(tiny["lin_sat"])))
    r = run_one("attack", {"samples": 64, "restarts": 2, "steps": 10}, inst(tiny["lin_sat"]))
    assert r.verdict is Verdict.SAT
    bad = run_one("nope", {}, inst(tiny["lin_sat"]))
    assert bad.verdict is Verdict.ERROR and "unknown verifier backend" in bad.message


def test_parallel_runner_keeps_order(tiny, tmp_path) -> None:
    # parallel runs are campaign jobs (the runner's own process pool is gone)
    from autospec_cli.campaign.engine import run_campaign
    from autospec_cli.campaign.executors import make_executor
    from autospec_cli.campaign.store import CampaignStore
    from autospec_cli.verifyrun.jobs import collect, describe_instances, make_jobs

    probs = [tiny["lin_sat"], tiny["lin_unsat"], tiny["abs_sat"]]
    infos = describe_instances([inst(p) for p in probs], None)
    jobs = make_jobs("attack", {"samples": 64, "restarts": 2, "steps": 10}, infos, batch=False)
    with CampaignStore(tmp_path / "c") as store:
        run_campaign(store, [spec for spec, _ in jobs], make_executor("local", jobs=2))
        rs = collect(store, jobs, len(probs))
    assert [r.verdict for r in rs] == [Verdict.SAT, Verdict.UNKNOWN, Verdict.SAT]


# ------------------------------------------------------------------------------ results


def test_results_csv_counterexamples_and_summary(tmp_path, tiny) -> None:
    insts = [inst(tiny["lin_sat"]), inst(tiny["lin_unsat"])]
    results = run_instances(make_backend("attack", samples=64, restarts=2, steps=10), insts)
    out = tmp_path / "res"
    paths = write_results(
        out,
        insts,
        results,
        backend="attack",
        options={"samples": 64},
        root=tiny["lin_sat"].onnx.parent,
    )
    rows = list(csv.reader(open(out / "results.csv")))
    assert rows == [
        ["tiny", "lin_sat.onnx", "lin_sat.vnnlib", rows[0][3], "sat", rows[0][5]],
        ["tiny", "lin_unsat.onnx", "lin_unsat.vnnlib", rows[1][3], "unknown", rows[1][5]],
    ]
    assert float(rows[0][5]) > 0
    cex_file = out / "counterexamples" / "lin_sat__lin_sat.counterexample"
    assert paths.counterexamples[insts[0].key] == cex_file
    from autospec_cli.verify.cex import check_counterexample, parse_vnncomp_counterexample

    cex = parse_vnncomp_counterexample(cex_file.read_text(), 2, 2)
    assert check_counterexample(tiny["lin_sat"].onnx, tiny["lin_sat"].vnnlib, cex.x, cex.y).ok
    summary = json.loads((out / "summary.json").read_text())
    assert summary["counts"]["sat"] == 1 and summary["counts"]["unknown"] == 1
    assert (
        summary["results"][0]["counterexample"] == "counterexamples/lin_sat__lin_sat.counterexample"
    )
    assert [r["result"] for r in read_results_csv(out / "results.csv")] == ["sat", "unknown"]
    with pytest.raises(OutputExistsError):
        write_results(out, insts, results, backend="attack")
    write_results(out, insts[1:], results[1:], backend="attack", force=True)
    assert not cex_file.exists(), "stale counterexample left behind"


def test_read_results_accepts_competition_files(tmp_path: Path) -> None:
    p = tmp_path / "nnenum.csv"
    p.write_text(
        "acasxu,./a.onnx,./p.vnnlib,.0072,holds,7.37\nacasxu,./b.onnx,./p.vnnlib,.01,violated,1.2\n"
    )
    assert [r["result"] for r in read_results_csv(p)] == ["unsat", "sat"]
    p.write_text("acasxu,./a.onnx,./p.vnnlib,.0072,probably,7.37\n")
    with pytest.raises(Exception, match="unknown result"):
        read_results_csv(p)
