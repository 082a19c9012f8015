"""Operators the converter turns into exact steps (affine maps read off numpy, casts, products)
and the interval bounds of every such step, checked against onnxruntime by sampling."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from autospec_cli.models.interval import interval_bounds, lower_of_rows, needs_intervals
from autospec_cli.models.onnx_to_torch import SUPPORTED_OPS, load_onnx_as_torch


def _model(nodes, inits, in_shape, out_shape, out_type=TensorProto.FLOAT, opset=18):
    g = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info("y", out_type, out_shape)],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(m)
    return m


def _ort(proto, x: np.ndarray, in_shape) -> np.ndarray:
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    rows = [sess.run(None, {"x": r.astype(np.float32).reshape(in_shape)})[0] for r in x]
    return np.asarray(rows, dtype=np.float64).reshape(len(x), -1)


I64 = np.int64
CASES = {
    "gather": ([helper.make_node("Gather", ["x", "i"], ["y"], axis=0)],
               {"i": np.array([3, 0, -1], I64)}, [4], [3]),
    "slice_negative_step": ([helper.make_node("Slice", ["x", "s", "e", "a", "t"], ["y"])],
                            {"s": np.array([3], I64), "e": np.array([0], I64),
                             "a": np.array([1], I64), "t": np.array([-2], I64)}, [2, 4], [2, 2]),
    "concat_constant": ([helper.make_node("Concat", ["x", "c"], ["y"], axis=0)],
                        {"c": np.array([10.0, -3.0], np.float32)}, [3], [5]),
    "pad": ([helper.make_node("Pad", ["x", "p", "v"], ["y"])],
            {"p": np.array([1, 0, 0, 2], I64), "v": np.array(7.0, np.float32)}, [2, 2], [3, 4]),
    "expand": ([helper.make_node("Expand", ["x", "s"], ["y"])], {"s": np.array([3, 2], I64)},
               [1, 2], [3, 2]),
    "tile": ([helper.make_node("Tile", ["x", "r"], ["y"])], {"r": np.array([2, 1], I64)},
             [2, 2], [4, 2]),
    "reducesum": ([helper.make_node("ReduceSum", ["x", "a"], ["y"], keepdims=0)],
                  {"a": np.array([1], I64)}, [2, 3], [2]),
    "reducemean": ([helper.make_node("ReduceMean", ["x"], ["y"], keepdims=1)], {}, [2, 3],
                   [1, 1]),
    "mul_expanding_constant": ([helper.make_node("Mul", ["x", "c"], ["y"])],
                               {"c": np.array([[1.0, -2.0]], np.float32)}, [2, 1], [2, 2]),
    "split_second_part": ([helper.make_node("Split", ["x", "s"], ["a", "y"], axis=1)],
                          {"s": np.array([1, 2], I64)}, [2, 3], [2, 2]),
    "split_equal_chunks": ([helper.make_node("Split", ["x"], ["y", "b"], axis=0,
                                             num_outputs=2)], {}, [5], [3]),
    "equal": ([helper.make_node("Equal", ["x", "c"], ["e"]),
               helper.make_node("Cast", ["e"], ["y"], to=TensorProto.FLOAT)],
              {"c": np.array([1.0, 0.0, 2.0], np.float32)}, [3], [3]),
    "greater_constant_left": ([helper.make_node("Greater", ["c", "x"], ["e"]),
                               helper.make_node("Cast", ["e"], ["y"], to=TensorProto.FLOAT)],
                              {"c": np.array([1.0], np.float32)}, [3], [3]),
    "less_or_equal": ([helper.make_node("LessOrEqual", ["x", "c"], ["e"]),
                       helper.make_node("Cast", ["e"], ["y"], to=TensorProto.FLOAT)],
                      {"c": np.array([1.0], np.float32)}, [3], [3]),
    "where_constant_else": ([helper.make_node("Greater", ["x", "c"], ["g"]),
                             helper.make_node("Where", ["g", "x", "v"], ["y"])],
                            {"c": np.array([0.0], np.float32), "v": np.array([10.0], np.float32)},
                            [3], [3]),
    "where_constant_then": ([helper.make_node("Less", ["x", "c"], ["g"]),
                             helper.make_node("Where", ["g", "v", "x"], ["y"])],
                            {"c": np.array([1.0], np.float32), "v": np.array([-4.0], np.float32)},
                            [3], [3]),
    "pow_mixed_exponents": ([helper.make_node("Pow", ["x", "e"], ["y"])],
                            {"e": np.array([2.0, -1.0, 3.0, 0.5, -2.0, 0.0], np.float32)}, [6],
                            [6]),
    "pow_constant_base": ([helper.make_node("Pow", ["b", "x"], ["y"])],
                          {"b": np.array([2.0, 0.5], np.float32)}, [2], [2]),
    "softmax": ([helper.make_node("Softmax", ["x"], ["y"], axis=1)], {}, [2, 3], [2, 3]),
    "square": ([helper.make_node("Mul", ["x", "x"], ["y"])], {}, [3], [3]),
    "quotient": ([helper.make_node("Slice", ["x", "z", "o"], ["a"]),
                  helper.make_node("Slice", ["x", "o", "t"], ["b"]),
                  helper.make_node("Div", ["a", "b"], ["y"])],
                 {"z": np.array([0], I64), "o": np.array([1], I64), "t": np.array([2], I64)},
                 [2], [1]),
    "cast_int_and_back": ([helper.make_node("Cast", ["x"], ["i"], to=TensorProto.INT64),
                           helper.make_node("Cast", ["i"], ["y"], to=TensorProto.FLOAT)], {}, [3],
                          [3]),
    "cast_bool_and_back": ([helper.make_node("Cast", ["x"], ["b"], to=TensorProto.BOOL),
                            helper.make_node("Cast", ["b"], ["y"], to=TensorProto.FLOAT)], {},
                           [3], [3]),
    "conv1d": ([helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 0], dilations=[2])],
               {"w": np.arange(12, dtype=np.float32).reshape(2, 3, 2) - 5}, [1, 3, 5], [1, 2, 4]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_operator_matches_onnxruntime_and_intervals_enclose_samples(name):
    nodes, inits, in_shape, out_shape = CASES[name]
    proto = _model(nodes, inits, in_shape, out_shape)
    n = int(np.prod(in_shape))
    lo, hi = np.full(n, 0.5), np.full(n, 3.0)
    lo[::2] = -2.7  # mixed signs, and integer boundaries inside the box for the casts
    model = load_onnx_as_torch(proto, bounds=(lo, hi))  # checked against onnxruntime
    x = np.random.default_rng(1).uniform(lo, hi, size=(300, n))
    x = np.vstack([x, lo, hi, np.round(x[:20])]).clip(lo, hi)
    ref = _ort(proto, x, in_shape)
    with torch.no_grad():
        ours = model(torch.as_tensor(x, dtype=torch.float32)).double().numpy()
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-5)
    ylo, yhi = interval_bounds(model, torch.as_tensor(lo)[None], torch.as_tensor(hi)[None])
    ylo, yhi = ylo.numpy(), yhi.numpy()  # onnxruntime rounds in float32: relative slack
    assert (ref >= ylo - 1e-5 * (1 + abs(ylo))).all() and (ref <= yhi + 1e-5 * (1 + abs(yhi))).all()


def test_intervals_are_exact_for_steps_on_exact_inputs():
    nodes, inits, in_shape, out_shape = CASES["cast_bool_and_back"]
    model = load_onnx_as_torch(_model(nodes, inits, in_shape, out_shape))
    assert needs_intervals(model)
    lo = torch.tensor([[0.0, -2.0, -1.0]], dtype=torch.float64)
    hi = torch.tensor([[0.0, -1.0, 1.0]], dtype=torch.float64)
    ylo, yhi = interval_bounds(model, lo, hi)
    assert ylo.tolist() == [[0.0, 1.0, 0.0]] and yhi.tolist() == [[0.0, 1.0, 1.0]]
    nodes, inits, in_shape, out_shape = CASES["cast_int_and_back"]
    model = load_onnx_as_torch(_model(nodes, inits, in_shape, out_shape))
    ylo, yhi = interval_bounds(model, torch.tensor([[2.1, -2.4, 0.5]]),
                               torch.tensor([[2.4, -2.1, 1.5]]))
    assert ylo.tolist() == [[2.0, -2.0, 0.0]] and yhi.tolist() == [[2.0, -2.0, 1.0]]


def test_square_and_quotient_bounds_are_tight():
    nodes, inits, in_shape, out_shape = CASES["square"]
    model = load_onnx_as_torch(_model(nodes, inits, in_shape, out_shape))
    ylo, yhi = interval_bounds(model, torch.tensor([[-2.0, 1.0, -3.0]]),
                               torch.tensor([[1.0, 2.0, -1.0]]))
    assert ylo.tolist() == [[0.0, 1.0, 1.0]] and yhi.tolist() == [[4.0, 4.0, 9.0]]
    nodes, inits, in_shape, out_shape = CASES["quotient"]
    model = load_onnx_as_torch(_model(nodes, inits, in_shape, out_shape))
    ylo, yhi = interval_bounds(model, torch.tensor([[2.0, -4.0]]), torch.tensor([[8.0, -1.0]]))
    assert ylo.tolist() == [[-8.0]] and yhi.tolist() == [[-0.5]]
    ylo, yhi = interval_bounds(model, torch.tensor([[2.0, -1.0]]), torch.tensor([[8.0, 1.0]]))
    assert ylo.tolist() == [[-np.inf]] and yhi.tolist() == [[np.inf]]  # divisor may be 0


@pytest.mark.parametrize("e", [2.0, 3.0, -1.0, -2.0, -3.0, 0.5, -0.5, 0.0, 4.0])
def test_pow_bounds_enclose_samples_on_every_sign_pattern(e):
    from autospec_cli.models.graph_modules import Pow
    from autospec_cli.models.interval import _pow

    rng = np.random.default_rng(0)
    lo = torch.tensor(rng.uniform(-3, 3, 40)).sort().values.reshape(20, 2)
    lo = torch.cat([lo, torch.tensor([[0.0, 1.0], [-1.0, 0.0], [0.0, 0.0], [-2.0, -0.5]])])
    ylo, yhi, _ = _pow(Pow(np.array(e)), (lo[:, 0], lo[:, 1], False))
    t = np.linspace(0, 1, 201)[None]
    x = lo[:, :1].numpy() + t * (lo[:, 1:] - lo[:, :1]).numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.power(x, e)
    ok = np.isnan(y) | ((y >= ylo.numpy()[:, None] - 1e-9) & (y <= yhi.numpy()[:, None] + 1e-9))
    assert ok.all()


def test_lower_of_rows_ignores_unbounded_outputs_a_row_does_not_use():
    C = torch.tensor([[1.0, 0.0], [0.0, -1.0]])
    lb = lower_of_rows(C, torch.tensor([[1.0, -np.inf]]), torch.tensor([[2.0, 3.0]]))
    assert lb.tolist() == [[1.0, -3.0]]


def test_shape_output_is_a_constant_network():
    proto = _model([helper.make_node("Shape", ["x"], ["y"])], {}, [2, 3], [2],
                   out_type=TensorProto.INT64)
    model = load_onnx_as_torch(proto)
    with torch.no_grad():
        assert model(torch.rand(4, 6)).tolist() == [[2.0, 3.0]] * 4


def test_claimed_affine_operators_are_listed():
    for op in ("Pow", "Equal", "Greater", "Less", "Where", "Gather", "Slice", "Split", "Pad",
               "Expand", "Tile", "ReduceSum", "ReduceMean", "Cast", "Softmax"):
        assert op in SUPPORTED_OPS
