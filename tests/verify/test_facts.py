"""Exact output-layer facts (Softmax range and sums, Sigmoid/Tanh/ReLU ranges): they hold in
onnxruntime, their certificates are checked exactly, and the runner decides with them only
when every case is refuted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conformance import vnnlib_text

from autospec_cli.verify.backends.attack import AttackVerifier
from autospec_cli.verify.backends.bab import BabVerifier
from autospec_cli.verify.base import Instance, Result, Verdict
from autospec_cli.verify.facts import (
    OutputFacts,
    certified_empty,
    facts_of_model,
    output_facts,
    polytope_refuted,
    refuted_by_output_facts,
)
from autospec_cli.verify.runner import verify_guarded
from autospec_cli.vnnlib.property import Polytope
from autospec_cli.vnnlib.reader import read_vnnlib
from autospec_cli.vnnlib.reader_v2 import isomorphic_types_aligned, parse_query


def _model(n: int, last: str, *, opset: int = 17, shape: list[int] | None = None,
           axis: int | None = None):
    """x (n) -> Gemm (n -> n) -> [Reshape to ``shape``] -> ``last`` -> Reshape to (n)."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(n)
    W = rng.normal(size=(n, n)).astype(np.float32)
    nodes = [helper.make_node("Gemm", ["x", "W", "b"], ["h"], transB=1)]
    inits = [numpy_helper.from_array(W, "W"), numpy_helper.from_array(np.zeros(n, np.float32),
                                                                      "b")]
    src = "h"
    if shape is not None:
        inits.append(numpy_helper.from_array(np.array(shape, np.int64), "s"))
        nodes.append(helper.make_node("Reshape", ["h", "s"], ["hr"]))
        src = "hr"
    attrs = {} if axis is None else {"axis": axis}
    nodes.append(helper.make_node(last, [src], ["z"], **attrs))
    inits.append(numpy_helper.from_array(np.array([1, n], np.int64), "flat"))
    nodes.append(helper.make_node("Reshape", ["z", "flat"], ["y"]))
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, n])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, n])], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model


def _save(tmp_path: Path, model) -> Path:
    import onnx

    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))
    return path


def _run(model, X: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    s = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return np.concatenate([s.run(None, {"x": X[i:i + 1]})[0] for i in range(len(X))]
                          ).astype(np.float64)


def _inputs(n: int, rows: int = 300) -> np.ndarray:
    rng = np.random.default_rng(0)
    scales = np.repeat([1e-6, 1e-2, 1.0, 30.0, 1e3, 1e20], rows // 6)[:, None]
    X = rng.normal(size=(len(scales), n)) * scales
    X[:10] = 0.0  # ties everywhere
    return X.astype(np.float32)


@pytest.mark.parametrize(("last", "shape", "axis", "opset"), [
    ("Softmax", None, None, 17),
    ("Softmax", [2, 3], 1, 17),
    ("Softmax", [2, 3], 0, 17),
    ("Softmax", [1, 2, 3], 1, 11),
    ("Sigmoid", None, None, 17),
    ("Tanh", None, None, 17),
    ("Relu", None, None, 17),
])
def test_facts_hold_in_onnxruntime(last: str, shape, axis, opset) -> None:
    """Every sampled output (scales 1e-6 to 1e20, ties) lies in the facts' box and every
    group's sum within its delta of 1; the groups are the ones the op normalises."""
    model = _model(6, last, opset=opset, shape=shape, axis=axis)
    facts = facts_of_model(model)
    assert facts is not None and facts.source == last
    Y = _run(model, _inputs(6))
    assert np.all(Y >= facts.lo) and np.all(Y <= facts.hi)
    for g, d in zip(facts.groups, facts.deltas, strict=True):
        assert np.all(np.abs(Y[:, g].sum(axis=1) - 1.0) <= d)
    if last == "Softmax":
        sizes = {"None": [6], "[2, 3]1": [3, 3], "[2, 3]0": [2, 2, 2], "[1, 2, 3]1": [6]}
        key = f"{shape}{'' if axis is None else axis}"
        assert sorted(len(g) for g in facts.groups) == sizes[key]
        assert sorted(np.concatenate(facts.groups).tolist()) == list(range(6))


def test_no_facts_for_other_output_layers() -> None:
    from onnx import helper

    model = _model(3, "Relu")
    model.graph.node.append(helper.make_node("Neg", ["y"], ["y2"]))
    model.graph.output[0].name = "y2"
    assert facts_of_model(model) is None


def _softmax_facts(n: int = 4) -> OutputFacts:
    facts = facts_of_model(_model(n, "Softmax"))
    assert facts is not None
    return facts


@pytest.mark.parametrize(("rows", "rhs", "refuted"), [
    ([[1, 0, 0, 0]], [-1.4e-45], True),  # Y0 < 0 read as Y0 <= largest float32 below 0
    ([[-1, 0, 0, 0]], [-1.0000001192092896], True),  # Y0 > 1: Y0 >= next float32 above 1
    ([[1, 0, 0, 0]], [0.0], False),  # Y0 <= 0 happens (exp underflows to 0)
    ([[-1, 0, 0, 0]], [-1.0], False),  # Y0 >= 1 happens
    ([[-1, -1, -1, -1]], [-1.01], True),  # the sum above 1.01
    ([[1, 1, 1, 1]], [0.99], True),  # the sum below 0.99
    ([[-1, -1, 0, 0]], [-0.99], False),  # two of four above 0.99: possible
    ([[-1, 0, 0, 0], [-1, 1, 0, 0]], [-0.6, -0.2], False),  # Y0 >= 0.6, Y0 >= Y1 + 0.2
    ([[-1, 0, 0, 0], [0, -1, 0, 0]], [-0.6, -0.6], True),  # Y0 and Y1 both above 0.6
])
def test_polytopes_refuted_exactly_when_impossible(rows, rhs, refuted: bool) -> None:
    poly = Polytope(np.array(rows, float), np.array(rhs, float))
    assert polytope_refuted(poly, _softmax_facts()) is refuted


def test_certificate_check_does_not_trust_the_multipliers() -> None:
    """Multipliers for a satisfiable system never pass the exact check, however scaled."""
    M = np.array([[1.0, 0.0], [-1.0, 0.0]])
    c = np.array([0.5, -0.5])  # y0 = 0.5: satisfiable
    lo, hi = np.zeros(2), np.ones(2)
    for lam in ([1.0, 1.0], [1.0, 0.0], [0.0, 1.0], [3.0, 3.0000001]):
        assert not certified_empty(M, c, lo, hi, np.array(lam))
    c2 = np.array([0.5, -0.5000001])  # y0 <= 0.5 and y0 >= 0.5000001: empty
    assert certified_empty(M, c2, lo, hi, np.array([1.0, 1.0]))


def test_refutation_needs_every_case(tmp_path: Path) -> None:
    facts = _softmax_facts(3)
    box = ([-5.0] * 3, [5.0] * 3)
    both = tmp_path / "both.vnnlib"
    both.write_text(vnnlib_text(3, 3, [box, box], [["(> Y_0 1.001)"], ["(< Y_1 -0.001)"]]))
    one = tmp_path / "one.vnnlib"
    one.write_text(vnnlib_text(3, 3, [box, box], [["(> Y_0 1.001)"], ["(>= Y_1 0.5)"]]))
    assert refuted_by_output_facts(read_vnnlib(both), facts)
    assert not refuted_by_output_facts(read_vnnlib(one), facts)
    # VNN-LIB 1.0 reads < as <=: "Y_1 < 0" includes Y_1 = 0, which a softmax reaches
    edge = tmp_path / "edge.vnnlib"
    edge.write_text(vnnlib_text(3, 3, [box], [["(< Y_1 0.0)"]]))
    assert not refuted_by_output_facts(read_vnnlib(edge), facts)


def test_runner_decides_by_facts_for_provers_only(tmp_path: Path) -> None:
    """bab answers unsat from the facts at once; the attack (a falsifier) runs as before and
    cannot prove; a property the facts leave open goes to the backend, which finds the
    softmax output that underflows to exactly 0."""
    path = _save(tmp_path, _model(3, "Softmax"))
    box = ([-1000.0] * 3, [1000.0] * 3)
    prop = tmp_path / "p.vnnlib"
    prop.write_text(vnnlib_text(3, 3, [box], [["(> (+ Y_0 Y_1) 1.01)"], ["(< Y_2 -0.001)"]]))
    inst = Instance(path, prop, 10.0)
    assert output_facts(path) is not None
    r = verify_guarded(BabVerifier(threads=1), inst)
    assert r.verdict is Verdict.UNSAT and r.extra["decided_by"] == "output_facts", r.message
    r = verify_guarded(AttackVerifier(), Instance(path, prop, 2.0))
    assert r.verdict is not Verdict.UNSAT and "decided_by" not in r.extra

    class Wrapped:  # a duck-typed verifier (a benchmark's wrapper, a plug-in): run as it is
        def verify_instance(self, instance: Instance) -> Result:
            return Result(Verdict.UNKNOWN, 0.1)

    r = verify_guarded(Wrapped(), inst)  # type: ignore[arg-type]
    assert r.verdict is Verdict.UNKNOWN, r.message
    sat = tmp_path / "s.vnnlib"
    sat.write_text(vnnlib_text(3, 3, [box], [["(>= Y_0 0.9)"], ["(<= Y_2 0.0)"]]))
    r = verify_guarded(BabVerifier(threads=1), Instance(path, sat, 10.0))
    assert r.verdict is Verdict.SAT and "decided_by" not in r.extra, r.message


ISO = """(vnnlib-version <2.0>)
(declare-network N1 (declare-input X float32 [1]) (declare-output Y float32 [1]))
(declare-network N2 (isomorphic-to N1) (declare-input X2 float16 [1])
  (declare-output Y2 float16 [1]))
(assert (>= X[0] 0.0)) (assert (<= X[0] 1.0)) (assert (>= X2[0] 2.0)) (assert (<= X2[0] 3.0))
(assert (<= Y[0] 0.5)) (assert (<= Y2[0] 0.5))
"""


def test_isomorphic_network_read_with_reference_types() -> None:
    """The standard's parser rejects an isomorphic copy with other element types; the query
    is read with the reference's types, and nothing else changes."""
    aligned = isomorphic_types_aligned(ISO)
    assert aligned is not None and "float16" not in aligned
    query = parse_query(ISO)
    assert [n.name for n in query.networks] == ["N1", "N2"]
    assert len(query.assertions) == 6
    assert isomorphic_types_aligned(ISO.replace("float16", "float32")) is None


def test_batched_backend_gets_the_facts_too(tmp_path: Path) -> None:
    """lirpa decides several instances in one verify_many call; the facts still decide the
    instances they refute, and only the others reach the backend, in their order."""
    from autospec_cli.verify.backends.lirpa import LirpaVerifier
    from autospec_cli.verify.runner import run_instances

    path = _save(tmp_path, _model(3, "Softmax"))
    box = ([-1.0] * 3, [1.0] * 3)
    props = []
    for name, out in (("a", "(> Y_0 1.001)"), ("b", "(>= Y_0 0.999)"), ("c", "(< Y_1 -0.5)")):
        props.append(tmp_path / f"{name}.vnnlib")
        props[-1].write_text(vnnlib_text(3, 3, [box], [[out]]))
    seen: list[str] = []

    class Counting(LirpaVerifier):
        def verify_many(self, instances, progress=None):  # type: ignore[no-untyped-def]
            seen.extend(Path(i.vnnlib).stem for i in instances)
            return super().verify_many(instances, progress)

    res = run_instances(Counting(), [Instance(path, p, 10.0) for p in props])
    assert seen == ["b"]
    assert [r.extra.get("decided_by") for r in res] == ["output_facts", None, "output_facts"]
    assert res[0].verdict is res[2].verdict is Verdict.UNSAT
