"""``bab --opt split=auto|input|relu``: which search runs, and that both agree with sampling."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conformance import save_model, vnnlib_text

from autospec_cli.models.runtime import OnnxRunner
from autospec_cli.verify.backends.bab.backend import RELU_MIN_INPUTS
from autospec_cli.verify.base import Instance, Verdict
from autospec_cli.verify.registry import make_backend
from autospec_cli.verify.runner import run_instances


def _mlp(tmp_path: Path, n_in: int, seed: int) -> tuple[Path, list]:
    rng = np.random.default_rng(seed)
    layers = [(rng.normal(size=(12, n_in)) / np.sqrt(n_in), rng.normal(size=12) * 0.1, True),
              (rng.normal(size=(10, 12)) / np.sqrt(12), rng.normal(size=10) * 0.1, True),
              (rng.normal(size=(2, 10)) / np.sqrt(10), np.zeros(2), False)]
    return save_model(tmp_path / f"mlp{n_in}-{seed}.onnx", layers), layers


def _robustness(tmp_path: Path, onnx: Path, n_in: int, eps: float, name: str) -> Path:
    """Around x0 = 0.5: the class the model predicts there must not change."""
    x0 = np.full((1, n_in), 0.5, dtype=np.float32)
    label = int(np.argmax(OnnxRunner(onnx).run(x0)[0]))
    other = 1 - label
    p = tmp_path / f"{name}.vnnlib"
    p.write_text(vnnlib_text(n_in, 2, [([0.5 - eps] * n_in, [0.5 + eps] * n_in)],
                             [[f"(>= Y_{other} Y_{label})"]]))
    return p


@pytest.mark.parametrize("n_in", [4, RELU_MIN_INPUTS + 10])
def test_auto_chooses_by_input_count_and_all_modes_agree(tmp_path: Path, n_in: int) -> None:
    onnx, _ = _mlp(tmp_path, n_in, seed=n_in)
    props = [_robustness(tmp_path, onnx, n_in, eps, f"p{k}")
             for k, eps in enumerate((0.01, 0.05, 0.3, 1.0))]
    insts = [Instance(onnx, p, 30, "t") for p in props]
    got = {}
    for mode in ("auto", "input", "relu"):
        results = run_instances(make_backend("bab", split=mode), insts)
        got[mode] = [r.verdict for r in results]
        assert all(r.verdict.decided for r in results), (mode, results)
        expected = mode if mode != "auto" else ("relu" if n_in > RELU_MIN_INPUTS else "input")
        assert {r.extra["split"] for r in results} == {expected}
    assert got["auto"] == got["input"] == got["relu"]
    # sampling never contradicts an unsat (a sat carries a counterexample the runner re-checked)
    runner = OnnxRunner(onnx)
    rng = np.random.default_rng(0)
    for prop, verdict, eps in zip(props, got["relu"], (0.01, 0.05, 0.3, 1.0), strict=True):
        if verdict is Verdict.UNSAT:
            X = (0.5 + rng.uniform(-eps, eps, size=(20_000, n_in))).astype(np.float32)
            Y = runner.run(X)
            label = int(np.argmax(runner.run(np.full((1, n_in), 0.5, np.float32))[0]))
            assert np.all(Y[:, label] > Y[:, 1 - label]), prop


def test_split_relu_on_a_network_that_is_not_a_relu_chain_is_an_error(tmp_path: Path) -> None:
    onnx = tmp_path / "sig.onnx"
    import onnx as onnx_lib
    from onnx import TensorProto, helper, numpy_helper

    W = numpy_helper.from_array(np.eye(2, dtype=np.float32) + 0.5, "W")
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "W"], ["h"], transB=1),
         helper.make_node("Sigmoid", ["h"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2])], [W])
    onnx_lib.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), onnx)
    prop = tmp_path / "p.vnnlib"
    prop.write_text(vnnlib_text(2, 2, [([0.0, 0.0], [0.1, 0.1])], [["(>= Y_1 Y_0)"]]))
    (res,) = run_instances(make_backend("bab", split="relu"), [Instance(onnx, prop, 10, "t")])
    assert res.verdict is Verdict.ERROR and "split=relu" in res.message
    (res,) = run_instances(make_backend("bab", split="auto"), [Instance(onnx, prop, 10, "t")])
    assert res.verdict.decided and res.extra["split"] == "input"


def _sigmoid_net(tmp_path: Path, seed: int) -> Path:
    """30 inputs -> 40 sigmoids -> 40 sigmoids -> 2 outputs (no native bounds)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    W1, W2, W3 = (rng.normal(0, 1, s).astype(np.float32) for s in ((40, 30), (40, 40), (2, 40)))
    zero = [numpy_helper.from_array(np.zeros(n, np.float32), f"b{n}") for n in (40, 2)]
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "W1", "b40"], ["h"], transB=1),
         helper.make_node("Sigmoid", ["h"], ["a"]),
         helper.make_node("Gemm", ["a", "W2", "b40"], ["h2"], transB=1),
         helper.make_node("Sigmoid", ["h2"], ["a2"]),
         helper.make_node("Gemm", ["a2", "W3", "b2"], ["y"], transB=1)],
        "sig", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 30])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2])],
        initializer=[numpy_helper.from_array(W, n) for W, n in ((W1, "W1"), (W2, "W2"),
                                                                (W3, "W3"))] + zero)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path = tmp_path / "sig.onnx"
    onnx.save(model, str(path))
    return path


def test_many_input_sigmoid_net_is_proved_by_alpha_crown_at_the_root(tmp_path: Path) -> None:
    """Without native bounds and with many inputs, input splitting cannot go deep enough;
    after the attack the whole box gets alpha-CROWN. A threshold between CROWN's and
    alpha-CROWN's bound of y1 - y0 is proved that way, and sampling agrees."""
    from autospec_cli.models.lirpa_compat import compute_bounds
    from autospec_cli.models.onnx_to_torch import load_onnx_as_torch

    path = _sigmoid_net(tmp_path, seed=1)
    net = load_onnx_as_torch(path)
    lo, hi, C = -0.3 * np.ones(30), 0.3 * np.ones(30), np.array([[-1.0, 1.0]])
    crown = float(compute_bounds(net, lo, hi, C=C, method="CROWN")[0][0, 0])
    alpha = float(compute_bounds(net, lo, hi, C=C, method="alpha-CROWN")[0][0, 0])
    assert alpha > crown + 2  # the premise: alpha-CROWN is clearly tighter here
    b = (crown + alpha) / 2
    prop = tmp_path / "p.vnnlib"
    prop.write_text(vnnlib_text(30, 2, [(lo.tolist(), hi.tolist())],
                                [[f"(<= Y_1 (+ Y_0 {b!r}))"]]))
    runner = OnnxRunner(path)
    X = np.random.default_rng(0).uniform(lo, hi, (20_000, 30)).astype(np.float32)
    Y = runner.run(X)
    assert (Y[:, 1] - Y[:, 0]).min() > b  # sampling agrees with the proof
    r = run_instances(make_backend("bab", threads=1), [Instance(path, prop, 60.0)])[0]
    assert r.verdict is Verdict.UNSAT, r.message
    assert "alpha_root_seconds" in r.extra["stats"][0]


def test_input_splitting_of_many_inputs_branches_by_coefficients(tmp_path: Path,
                                                                monkeypatch) -> None:
    """Trial branching bounds both halves along every input in one call: on a 400-input
    network that call outlived a 30 s deadline by minutes. Above TRIAL_MAX_INPUTS inputs the
    input search must split by coefficients, and still decide as activation splitting does."""
    from autospec_cli.verify.backends.bab import search

    n_in = search.TRIAL_MAX_INPUTS + 10
    onnx, _ = _mlp(tmp_path, n_in, seed=5)
    props = [_robustness(tmp_path, onnx, n_in, eps, f"p{k}")
             for k, eps in enumerate((0.15, 0.3))]  # unsat after ~1,000 boxes; sat
    insts = [Instance(onnx, p, 30, "t") for p in props]
    relu = [r.verdict for r in run_instances(make_backend("bab", split="relu"), insts)]

    def no_trial(self, *a):
        raise AssertionError("trial branching on a box with more than TRIAL_MAX_INPUTS inputs")

    monkeypatch.setattr(search.CaseSearch, "_trial_dim", no_trial)
    results = run_instances(make_backend("bab", split="input"), insts)
    assert [r.verdict for r in results] == relu, [r.message for r in results]
    assert all(r.verdict.decided for r in results)
    assert max(s.get("boxes", 0) for r in results for s in r.extra["stats"]) > 1  # it branched
