"""ONNX -> torch conversion: real ACAS Xu networks, hand-built graphs, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper
from torch import nn

from autospec_cli.errors import ModelError
from autospec_cli.models.arch import MLP, ConvNet
from autospec_cli.models.onnx_export import compare_outputs, export_onnx
from autospec_cli.models.onnx_to_torch import (
    SUPPORTED_OPS,
    check_against_onnxruntime,
    load_onnx_as_torch,
)

ACAS_CI = ["1_1", "2_7", "3_3", "5_9"]
ACAS_ALL = [f"{i}_{j}" for i in range(1, 6) for j in range(1, 10)]


def _ort(model: onnx.ModelProto | Path, x: np.ndarray) -> np.ndarray:
    data = model.SerializeToString() if isinstance(model, onnx.ModelProto) else str(model)
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    shape = [len(x) if not isinstance(d, int) else d for d in inp.shape]
    if shape[0] != len(x):  # fixed batch of 1: run row by row
        return np.vstack([_ort(model, x[i:i + 1]) for i in range(len(x))])
    out = sess.run(None, {inp.name: x.astype(np.float32).reshape(shape)})[0]
    return np.asarray(out).reshape(len(x), -1)


def _torch(model: nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.as_tensor(x, dtype=torch.float32)).numpy()


def _layers(model: nn.Module) -> list[str]:
    return [type(m).__name__ for m in model.net.modules() if not list(m.children())]


# --- ACAS Xu (real VNN-COMP networks) -------------------------------------------------------------


def _acas(shared_data: Path, net: str) -> Path:
    path = shared_data / "vnncomp2021" / "acasxu" / f"ACASXU_run2a_{net}_batch_2000.onnx"
    if not path.is_file():
        pytest.skip(f"{path.name} not in the shared data")
    return path


def _check_acas(path: Path) -> None:
    lo = np.array([-0.33, -0.5, -0.5, -0.5, -0.5])
    hi = np.array([0.68, 0.5, 0.5, 0.5, 0.5])
    model = load_onnx_as_torch(path, bounds=(lo, hi), n_check=32)
    assert model.n_inputs == 5 and model.n_outputs == 5
    # Sub/Div normalisation and MatMul+Add are all folded: plain Linear/ReLU layers only
    assert _layers(model) == ["Linear", "ReLU"] * 6 + ["Linear"]
    x = np.random.default_rng(1).uniform(lo, hi, size=(200, 5)).astype(np.float32)
    assert compare_outputs(_ort(path, x), _torch(model, x)) <= 0
    # the tensor layout of the file ([1, 1, 1, 5]) is accepted too
    assert compare_outputs(_ort(path, x[:3]), _torch(model, x[:3].reshape(3, 1, 1, 5))) <= 0


@pytest.mark.parametrize("net", ACAS_CI)
def test_acasxu_matches_onnxruntime(shared_data, net):
    _check_acas(_acas(shared_data, net))


@pytest.mark.slow
@pytest.mark.parametrize("net", ACAS_ALL)
def test_acasxu_all_45_match_onnxruntime(shared_data, net):
    _check_acas(_acas(shared_data, net))


def test_vnncomp_test_networks(shared_data):
    folder = shared_data / "vnncomp2021" / "test"
    files = sorted(folder.glob("*.onnx"))
    if not files:
        pytest.skip("no VNN-COMP test networks")
    for f in files:
        model = load_onnx_as_torch(f)
        x = np.random.default_rng(0).uniform(-1, 1, (20, model.n_inputs)).astype(np.float32)
        assert compare_outputs(_ort(f, x), _torch(model, x)) <= 0, f.name


# --- hand-built graphs ----------------------------------------------------------------------------


def _graph(nodes, inits, in_shape, out_shape, opset=13) -> onnx.ModelProto:
    g = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
        [numpy_helper.from_array(np.asarray(v, dtype=np.float32), k) for k, v in inits.items()],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(m)
    return m


def _matmul_add_mlp(rng: np.random.Generator, sizes: list[int]) -> onnx.ModelProto:
    nodes, inits, prev = [], {}, "x"
    for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        inits[f"W{k}"], inits[f"b{k}"] = rng.normal(size=(a, b)), rng.normal(size=b)
        last = k == len(sizes) - 2
        nodes += [helper.make_node("MatMul", [prev, f"W{k}"], [f"m{k}"]),
                  helper.make_node("Add", [f"m{k}", f"b{k}"], ["y" if last else f"a{k}"])]
        if not last:
            nodes.append(helper.make_node("Relu", [f"a{k}"], [f"r{k}"]))
            prev = f"r{k}"
    return _graph(nodes, inits, ["N", sizes[0]], ["N", sizes[-1]])


def test_matmul_add_fuses_to_linear():
    rng = np.random.default_rng(0)
    proto = _matmul_add_mlp(rng, [4, 10, 5, 1])
    model = load_onnx_as_torch(proto)
    assert _layers(model) == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    W0 = numpy_helper.to_array(proto.graph.initializer[0])
    np.testing.assert_allclose(model.net[0].weight.detach().numpy(), W0.T, rtol=1e-6)
    x = rng.normal(size=(30, 4)).astype(np.float32)
    assert compare_outputs(_ort(proto, x), _torch(model, x)) <= 0


@settings(max_examples=15, deadline=None)
@given(sizes=st.lists(st.integers(1, 9), min_size=2, max_size=5), trans_b=st.booleans(),
       alpha=st.floats(0.25, 2.0), beta=st.floats(0.25, 2.0), seed=st.integers(0, 2**16),
       normalise=st.booleans())
def test_random_gemm_networks_match_onnxruntime(sizes, trans_b, alpha, beta, seed, normalise):
    rng = np.random.default_rng(seed)
    nodes, inits, prev = [], {}, "x"
    if normalise:  # ACAS Xu style (x - mean) / range in front
        inits["mu"], inits["sd"] = rng.normal(size=sizes[0]), rng.uniform(0.5, 4, size=sizes[0])
        nodes += [helper.make_node("Sub", ["x", "mu"], ["xs"]),
                  helper.make_node("Div", ["xs", "sd"], ["xn"])]
        prev = "xn"
    for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        w = rng.normal(size=(a, b))
        inits[f"W{k}"], inits[f"c{k}"] = (w.T if trans_b else w), rng.normal(size=b)
        last = k == len(sizes) - 2
        nodes.append(helper.make_node("Gemm", [prev, f"W{k}", f"c{k}"], ["y" if last else f"g{k}"],
                                      transB=int(trans_b), alpha=alpha, beta=beta))
        if not last:
            nodes.append(helper.make_node("Tanh" if k % 2 else "Relu", [f"g{k}"], [f"r{k}"]))
            prev = f"r{k}"
    proto = _graph(nodes, inits, ["N", sizes[0]], ["N", sizes[-1]])
    model = load_onnx_as_torch(proto)
    x = rng.normal(size=(25, sizes[0])).astype(np.float32) * 3
    assert compare_outputs(_ort(proto, x), _torch(model, x)) <= 0
    assert all(k in ("Linear", "ReLU", "Tanh") for k in _layers(model))


def test_conv_bn_relu_avgpool_gemm_graph():
    rng = np.random.default_rng(3)
    c, f, hw, k, n_cls = 2, 3, 8, 3, 4
    flat = f * 3 * 3
    inits = {
        "Wc": rng.normal(size=(f, c, k, k)), "bc": rng.normal(size=f),
        "g": rng.uniform(0.5, 2, f), "be": rng.normal(size=f), "mu": rng.normal(size=f),
        "var": rng.uniform(0.5, 2, f), "Wf": rng.normal(size=(n_cls, flat)),
        "bf": rng.normal(size=n_cls),
    }
    nodes = [
        helper.make_node("Conv", ["x", "Wc", "bc"], ["c"], kernel_shape=[k, k]),
        helper.make_node("BatchNormalization", ["c", "g", "be", "mu", "var"], ["bn"], epsilon=1e-5),
        helper.make_node("Relu", ["bn"], ["r"]),
        helper.make_node("AveragePool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p"], ["fl"], axis=1),
        helper.make_node("Gemm", ["fl", "Wf", "bf"], ["y"], transB=1),
    ]
    proto = _graph(nodes, inits, ["N", c, hw, hw], ["N", n_cls])
    model = load_onnx_as_torch(proto)
    kinds = _layers(model)
    assert "BatchNorm2d" not in kinds and "Affine" not in kinds  # BN folded into the conv
    assert kinds[0] == "Conv2d" and kinds[-1] == "Linear"
    x = rng.normal(size=(6, c * hw * hw)).astype(np.float32)
    assert compare_outputs(_ort(proto, x), _torch(model, x)) <= 0


def test_residual_add_graph():
    rng = np.random.default_rng(5)
    inits = {"W1": rng.normal(size=(3, 3)), "W2": rng.normal(size=(3, 2))}
    nodes = [helper.make_node("MatMul", ["x", "W1"], ["h"]),
             helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("Add", ["r", "x"], ["s"]),
             helper.make_node("MatMul", ["s", "W2"], ["y"])]
    proto = _graph(nodes, inits, ["N", 3], ["N", 2])
    model = load_onnx_as_torch(proto)
    x = rng.normal(size=(10, 3)).astype(np.float32)
    assert compare_outputs(_ort(proto, x), _torch(model, x)) <= 0


def test_concat_graph():
    """Concat used to crash the converter (its step passed ``out_full`` twice)."""
    rng = np.random.default_rng(6)
    inits = {"W1": rng.normal(size=(3, 4)), "W2": rng.normal(size=(8, 2))}
    nodes = [helper.make_node("MatMul", ["x", "W1"], ["h"]),
             helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("Concat", ["h", "r"], ["c"], axis=1),
             helper.make_node("MatMul", ["c", "W2"], ["y"])]
    proto = _graph(nodes, inits, ["N", 3], ["N", 2])
    model = load_onnx_as_torch(proto)
    x = rng.normal(size=(10, 3)).astype(np.float32)
    assert compare_outputs(_ort(proto, x), _torch(model, x)) <= 0


@pytest.mark.parametrize("arch", ["mlp", "conv"])
def test_round_trip_of_our_exports(tmp_path, arch):
    rng = np.random.default_rng(2)
    if arch == "mlp":
        model, shape = MLP(4, [10, 5], 1), (4,)
    else:
        model, shape = ConvNet((1, 6, 6), filters=2, n_classes=3, padding=1), (1, 6, 6)
    n = int(np.prod(shape))
    model.set_input_stats(rng.uniform(0, 100, (30, n)))
    path = export_onnx(model, shape, tmp_path / "m.onnx")
    conv = load_onnx_as_torch(path, bounds=(np.zeros(n), np.full(n, 100.0)))
    x = rng.uniform(0, 100, (12, n)).astype(np.float32)
    assert compare_outputs(_torch(model.eval(), x), _torch(conv, x)) <= 0


def test_sources_path_bytes_and_proto(tmp_path):
    proto = _matmul_add_mlp(np.random.default_rng(0), [2, 3, 1])
    path = tmp_path / "m.onnx"
    onnx.save(proto, str(path))
    x = np.array([[0.5, -1.0]], dtype=np.float32)
    outs = [_torch(load_onnx_as_torch(s), x) for s in (path, str(path), path.read_bytes(), proto)]
    for o in outs[1:]:
        np.testing.assert_allclose(o, outs[0])


# --- errors -------------------------------------------------------------------------------------


def test_unsupported_operator_is_model_error_naming_it():
    assert "Hardmax" not in SUPPORTED_OPS
    proto = _graph([helper.make_node("MatMul", ["x", "W"], ["h"]),
                    helper.make_node("Hardmax", ["h"], ["y"], axis=1)],
                   {"W": np.eye(3)}, ["N", 3], ["N", 3])
    with pytest.raises(ModelError, match="unsupported ONNX operator.*Hardmax"):
        load_onnx_as_torch(proto)


def test_constant_only_operator_on_computed_tensor_is_model_error():
    proto = _graph([helper.make_node("Sqrt", ["x"], ["y"])], {}, ["N", 3], ["N", 3])
    with pytest.raises(ModelError, match="constants only"):
        load_onnx_as_torch(proto)


def test_matrix_product_of_two_computed_tensors_is_model_error():
    proto = _graph([helper.make_node("MatMul", ["x", "x"], ["y"])], {}, [3, 3], [3, 3])
    with pytest.raises(ModelError, match="MatMul"):
        load_onnx_as_torch(proto)


def test_mismatch_against_onnxruntime_is_model_error():
    proto = _matmul_add_mlp(np.random.default_rng(0), [3, 4, 2])
    model = load_onnx_as_torch(proto)
    assert check_against_onnxruntime(model, proto) <= 0
    with torch.no_grad():
        model.net[0].bias.add_(0.5)
    with pytest.raises(ModelError, match="disagrees with onnxruntime"):
        check_against_onnxruntime(model, proto)


def test_unreadable_or_missing_file(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"this is not a protobuf")
    with pytest.raises(ModelError, match="not a readable ONNX model"):
        load_onnx_as_torch(bad)
    with pytest.raises(ModelError, match="not found"):
        load_onnx_as_torch(tmp_path / "missing.onnx")


def test_output_independent_of_input_is_a_constant_network():
    proto = _graph([helper.make_node("Identity", ["c"], ["y"])], {"c": [[1.5, -2.0]]},
                   [1, 2], [1, 2])
    model = load_onnx_as_torch(proto)
    np.testing.assert_array_equal(_torch(model, np.random.rand(3, 2)), [[1.5, -2.0]] * 3)


# --- Pad ----------------------------------------------------------------------------------------


def _pad_graph(pads: list[int], value: float = 0.0, opset: int = 13) -> onnx.ModelProto:
    rng = np.random.default_rng(11)
    c, hw, f = 2, 5, 3
    out_hw = (hw + pads[2] + pads[6] - 1, hw + pads[3] + pads[7] - 1)
    inits = {"Wc": rng.normal(size=(f, c, 2, 2)), "bc": rng.normal(size=f),
             "Wf": rng.normal(size=(4, f * out_hw[0] * out_hw[1])), "bf": rng.normal(size=4)}
    if opset >= 11:
        pad = helper.make_node("Pad", ["x", "pads", "val"], ["p"], mode="constant")
    else:
        pad = helper.make_node("Pad", ["x"], ["p"], mode="constant", pads=pads, value=value)
    nodes = [pad, helper.make_node("Conv", ["p", "Wc", "bc"], ["c"], kernel_shape=[2, 2]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("Flatten", ["r"], ["fl"], axis=1),
             helper.make_node("Gemm", ["fl", "Wf", "bf"], ["y"], transB=1)]
    g = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, hw, hw])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
        [numpy_helper.from_array(np.asarray(v, dtype=np.float32), k) for k, v in inits.items()]
        + ([numpy_helper.from_array(np.asarray(pads, dtype=np.int64), "pads"),
            numpy_helper.from_array(np.asarray(value, dtype=np.float32), "val")]
           if opset >= 11 else []))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(m)
    return m


@pytest.mark.parametrize("pads,opset", [([0, 0, 1, 2, 0, 0, 2, 1], 13),
                                        ([0, 0, 1, 1, 0, 0, 1, 1], 10),
                                        ([0] * 8, 13)])
def test_zero_pad_matches_onnxruntime(pads, opset):
    proto = _pad_graph(pads, opset=opset)
    model = load_onnx_as_torch(proto)
    assert ("ZeroPad2d" in _layers(model)) == any(pads)
    x = np.random.default_rng(2).normal(size=(5, 2 * 25)).astype(np.float32)
    assert compare_outputs(_ort(proto, x), _torch(model, x)) <= 0


@pytest.mark.parametrize("pads,value", [([0, 0, 1, 1, 0, 0, 1, 1], 1.5),
                                         ([0, 1, 0, 0, 0, 0, 0, 0], 0.0)])
def test_other_paddings_become_an_exact_linear_map(pads, value):
    """A non-zero value or a padded channel axis is no padding layer: the generic affine path
    converts it, still equal to onnxruntime."""
    if pads[1]:
        with pytest.raises(ModelError):  # the conv's weights no longer match the channels
            load_onnx_as_torch(_pad_graph(pads, value=value), check=False)
        return
    proto = _pad_graph(pads, value=value)
    model = load_onnx_as_torch(proto)
    assert "ZeroPad2d" not in _layers(model)
    x = np.random.default_rng(3).normal(size=(5, 2 * 25)).astype(np.float32)
    assert compare_outputs(_ort(proto, x), _torch(model, x)) <= 0


def test_verivital_avgpool_net_with_its_pad_node_converts(shared_data: Path):
    path = shared_data / "vnncomp2021" / "verivital" / "Convnet_avgpool.onnx"
    if not path.is_file():
        pytest.skip("verivital not in the shared data")
    model = load_onnx_as_torch(path, bounds=(np.zeros(784), np.ones(784)))
    assert model.n_inputs == 784 and model.n_outputs == 10
