"""GDVB verification runs as ``verify.instance`` jobs: labels, levels, records, report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from autospec_cli.bench.run import gdvb_records, instance_levels, run, verify_jobs
from autospec_cli.campaign.engine import write_description
from autospec_cli.campaign.executors import make_executor
from autospec_cli.campaign.store import CampaignStore
from autospec_cli.report.gdvb import build_report
from autospec_cli.verifyrun.jobs import INSTANCE_KIND, results_of


def _affine_onnx(path: Path, bias: list[float]) -> None:
    """y = x + bias for a 2-input, 2-output model."""
    inits = [numpy_helper.from_array(np.eye(2, dtype=np.float32), "W"),
             numpy_helper.from_array(np.asarray(bias, dtype=np.float32), "b")]
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "W", "b"], ["y"], transB=1)], "affine",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2])], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))


# class 0 is robust on [-1, 1]^2 iff y1 - y0 = x1 - x0 - b0 < 0 there: violated for b0 = 1
# (x = (-1, 1)), holds for b0 = 3.
PROPERTY = "".join(f"(declare-const {v} Real)\n" for v in ("X_0", "X_1", "Y_0", "Y_1")) + (
    "(assert (>= X_0 -1.0))\n(assert (<= X_0 1.0))\n(assert (>= X_1 -1.0))\n"
    "(assert (<= X_1 1.0))\n(assert (or (and (>= Y_1 Y_0))))\n")


@pytest.fixture()
def gdvb_folder(tmp_path: Path) -> Path:
    """A GDVB campaign folder without the training: one violated and one holding instance."""
    folder = tmp_path / "gdvb"
    bench = folder / "benchmark"
    (bench / "vnnlib").mkdir(parents=True)
    (bench / "vnnlib" / "prop.vnnlib").write_text(PROPERTY, encoding="utf-8")
    entries = []
    for k, b0 in enumerate((1.0, 3.0)):
        _affine_onnx(bench / "onnx" / f"net{k}.onnx", [b0, 0.0])
        entries.append({"id": f"row{k:03d}_s0", "onnx": f"onnx/net{k}.onnx",
                        "vnnlib": "vnnlib/prop.vnnlib", "timeout": 10.0,
                        "meta": {"gdvb": {"levels": {"neu": 0.5 * (k + 1), "eps": 1.0}}}})
    (bench / "manifest.json").write_text(json.dumps({"instances": entries}), encoding="utf-8")
    write_description(folder, {"kind": "gdvb", "benchmark": "benchmark"})
    return folder


def test_jobs_carry_the_label_the_instance_id_and_its_levels(gdvb_folder: Path) -> None:
    manifest = json.loads((gdvb_folder / "benchmark" / "manifest.json").read_text())
    jobs = verify_jobs(gdvb_folder, manifest, ["fast", "attack"], timeout=3.0,
                       options={"fast": {"samples": 8}}, backends={"fast": "attack"})
    assert [j.kind for j in jobs] == [INSTANCE_KIND] * 4
    assert [(j.params["verifier"], j.params["backend"], j.params["name"]) for j in jobs] == [
        ("fast", "attack", "row000_s0"), ("fast", "attack", "row001_s0"),
        ("attack", "attack", "row000_s0"), ("attack", "attack", "row001_s0")]
    assert jobs[0].params["options"] == {"samples": 8} and jobs[2].params["options"] == {}
    assert jobs[1].params["factors"] == {"neu": 1.0, "eps": 1.0}
    assert jobs[0].params["timeout"] == 3.0 and jobs[0].params["category"] == "gdvb"
    assert Path(jobs[0].params["onnx"]).is_absolute()
    assert len({j.id for j in jobs}) == 4  # two configurations of one backend, both kept


def test_run_keeps_counterexamples_and_scores_per_label(gdvb_folder: Path,
                                                        tmp_path: Path) -> None:
    res = run(gdvb_folder, ["fast", "attack"], executor=make_executor("inline"),
              options={"fast": {"samples": 16, "restarts": 1, "steps": 5}},
              backends={"fast": "attack"})
    assert res["summary"]["ran"] == 4
    assert sorted(v["verifier"] for v in res["scores"]["verifiers"]) == ["attack", "fast"]
    records = gdvb_records(gdvb_folder)
    assert [(r.verifier, r.instance) for r in records] == [
        ("attack", "row000_s0"), ("attack", "row001_s0"),
        ("fast", "row000_s0"), ("fast", "row001_s0")]
    assert {r.instance: r.verdict for r in records if r.verifier == "attack"} == {
        "row000_s0": "sat", "row001_s0": "unknown"}
    assert records[0].factors == instance_levels(gdvb_folder)["row000_s0"]
    assert [r.verifier for r in gdvb_records(gdvb_folder, ["fast"])] == ["fast", "fast"]
    with CampaignStore(gdvb_folder, create=False, writable=False) as store:
        sat = [r for r in store.iter_results(INSTANCE_KIND)
               if r.params["verifier"] == "attack" and r.params["name"] == "row000_s0"]
    result = results_of(sat[0])[0]
    assert result.counterexample is not None and len(result.counterexample.x) > 0
    rep = build_report(gdvb_folder, tmp_path / "report")
    assert {s["verifier"] for s in rep["scores"]} == {"attack", "fast"}
    assert rep["instances"] == 2


def test_configurations_of_one_backend_are_separate_verifiers(gdvb_folder: Path) -> None:
    """`lirpa[method=ibp]` and `bab[split=input]` name a backend with options (the portfolio's
    member syntax), so one backend is ranked under several configurations; bad options are a
    one-line configuration error naming the label."""
    from autospec_cli.bench.config import _verify
    from autospec_cli.bench.run import configured
    from autospec_cli.errors import ConfigError

    manifest = json.loads((gdvb_folder / "benchmark" / "manifest.json").read_text())
    labels = ["lirpa[method=ibp]", "lirpa[method=crown]", "bab[split=input;threads=1]"]
    jobs = verify_jobs(gdvb_folder, manifest, labels, timeout=5.0)
    assert [(j.params["verifier"], j.params["backend"]) for j in jobs[::2]] == [
        ("lirpa[method=ibp]", "lirpa"), ("lirpa[method=crown]", "lirpa"),
        ("bab[split=input;threads=1]", "bab")]
    assert jobs[0].params["options"] == {"method": "ibp"}
    assert jobs[4].params["options"] == {"split": "input", "threads": 1}
    res = run(gdvb_folder, labels[1:], executor=make_executor("inline"))
    verdicts = {(r.verifier, r.instance): r.verdict for r in gdvb_records(gdvb_folder)}
    assert verdicts[("bab[split=input;threads=1]", "row000_s0")] == "sat"
    assert verdicts[("bab[split=input;threads=1]", "row001_s0")] == "unsat"
    assert verdicts[("lirpa[method=crown]", "row001_s0")] == "unsat"
    assert {v["verifier"] for v in res["scores"]["verifiers"]} == set(labels[1:])
    assert configured("attack") == ("attack", {})
    assert configured("portfolio") == ("portfolio", {})  # a plain name is never a member list
    assert configured("portfolio[backends=attack,bab]") == (
        "portfolio", {"backends": "attack,bab"})
    for bad in ("lirpa[method=nope]", "bab[nosuch=1]", "a[x=1],b[y=2]"):
        with pytest.raises(ConfigError, match="verifier"):
            configured(bad)
    with pytest.raises(ConfigError, match=r"lirpa\[method=nope\]"):
        _verify({"verifiers": ["lirpa[method=nope]"]})
    assert _verify({"verifiers": labels}).verifiers == tuple(labels)
