"""Architectures (MLP, ConvNet, --arch strings) and their ONNX export."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from autospec_cli.errors import ConfigError, ModelError, OutputExistsError
from autospec_cli.models.arch import (
    MLP,
    ArchSpec,
    ConvNet,
    infer_image_shape,
    parse_arch,
    parse_shape,
)
from autospec_cli.models.onnx_export import check_onnx_file, compare_outputs, export_onnx
from autospec_cli.models.runtime import OnnxRunner


def _ort(path, x: np.ndarray) -> np.ndarray:
    """Outputs straight from onnxruntime (independent of our OnnxRunner)."""
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return np.asarray(sess.run(None, {name: x.astype(np.float32)})[0]).reshape(len(x), -1)


def _torch(model: nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model.eval()(torch.as_tensor(x, dtype=torch.float32)).reshape(len(x), -1).numpy()


def _randomise_stats(model: MLP | ConvNet, rng: np.random.Generator, X: np.ndarray) -> None:
    model.set_input_stats(X)
    n_out = model.output_denorm.mean.shape[1]
    model.set_output_stats(rng.normal(size=n_out) * 10, rng.uniform(0.5, 3.0, size=n_out))


# --- MLP ------------------------------------------------------------------------------------


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n_in=st.integers(1, 6), hidden=st.lists(st.integers(1, 12), max_size=3),
       n_out=st.integers(1, 4), act=st.sampled_from(["relu", "tanh", "sigmoid", "leaky_relu"]),
       seed=st.integers(0, 2**16))
def test_mlp_any_sizes_export_matches_onnxruntime(tmp_path, n_in, hidden, n_out, act, seed):
    rng = np.random.default_rng(seed)
    model = ArchSpec("mlp", hidden=tuple(hidden), activation=act).build(
        n_inputs=n_in, n_outputs=n_out, seed=seed)
    X = rng.normal(loc=100.0, scale=20.0, size=(50, n_in))  # raw, unnormalised features
    _randomise_stats(model, rng, X)
    path = export_onnx(model, (n_in,), tmp_path / f"mlp-{seed}.onnx", force=True)
    onnx.checker.check_model(str(path), full_check=True)
    x = rng.normal(loc=100.0, scale=20.0, size=(37, n_in)).astype(np.float32)
    expected = _torch(model, x)
    got = _ort(path, x)
    assert got.shape == (37, n_out)
    assert compare_outputs(expected, got, rtol=1e-4, atol=1e-4) <= 0


def test_mlp_export_has_only_gemm_and_activations(tmp_path):
    model = MLP(4, [10, 5], 1)
    X = np.random.default_rng(2).uniform(0, 1e6, (40, 4))
    _randomise_stats(model, np.random.default_rng(1), X)
    path = export_onnx(model, (4,), tmp_path / "m.onnx")
    ops = [n.op_type for n in onnx.load(str(path)).graph.node]
    assert ops == ["Gemm", "Relu", "Gemm", "Relu", "Gemm"]
    inp = onnx.load(str(path)).graph.input[0]
    assert inp.type.tensor_type.shape.dim[0].dim_param  # symbolic batch axis
    assert OnnxRunner(path).batch_mode == "native"


def test_folded_mlp_equals_unfolded():
    rng = np.random.default_rng(0)
    model = MLP(3, [7], 2)
    _randomise_stats(model, rng, rng.normal(5, 2, (30, 3)))
    x = rng.normal(5, 2, (20, 3)).astype(np.float32)
    with torch.no_grad():
        a = model(torch.as_tensor(x)).numpy()
        b = model.folded()(torch.as_tensor(x)).numpy()
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_mlp_rejects_bad_sizes():
    with pytest.raises(ConfigError):
        MLP(0, [3], 1)
    with pytest.raises(ConfigError):
        MLP(2, [3, 0], 1)


# --- ConvNet ---------------------------------------------------------------------------------


def _trained_like_bn(model: ConvNet, rng: np.random.Generator) -> None:
    """Give every BatchNorm non-trivial running statistics and affine parameters."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.as_tensor(rng.normal(size=m.num_features)))
                m.running_var.copy_(torch.as_tensor(rng.uniform(0.2, 3.0, size=m.num_features)))
                m.weight.copy_(torch.as_tensor(rng.normal(size=m.num_features)))
                m.bias.copy_(torch.as_tensor(rng.normal(size=m.num_features)))


@pytest.mark.parametrize("arch,shape", [
    ("conv:3", (1, 8, 8)),
    ("conv:4/6", (1, 9, 9)),
    ("conv:2,3:kernel=3,pool=2,padding=1", (3, 8, 8)),
    ("conv:3:bn=0,act=tanh", (1, 6, 6)),
    ("conv:2:dropout=0.2,pool=3", (2, 7, 7)),
])
def test_conv_classifier_export_matches_onnxruntime(tmp_path, arch, shape):
    rng = np.random.default_rng(7)
    n = int(np.prod(shape))
    model = parse_arch(arch).build(n_inputs=n, n_outputs=4, input_shape=shape, seed=3)
    assert isinstance(model, ConvNet)
    _trained_like_bn(model, rng)
    X = rng.uniform(0, 255, size=(40, n))
    model.set_input_stats(X)
    path = export_onnx(model, shape, tmp_path / "c.onnx")
    onnx.checker.check_model(str(path), full_check=True)
    ops = {nd.op_type for nd in onnx.load(str(path)).graph.node}
    assert "Conv" in ops and "BatchNormalization" not in ops  # BN folded into the conv
    x = rng.uniform(0, 255, size=(9, *shape)).astype(np.float32)
    assert compare_outputs(_torch(model, x), _ort(path, x)) <= 0
    # flat rows work too (VNN-LIB X_i order)
    assert compare_outputs(_torch(model, x), OnnxRunner(path).run(x.reshape(9, -1))) <= 0


def test_conv_layer_order_is_conv_bn_act_pool_linear():
    model = ConvNet((1, 8, 8), filters=3, n_classes=5)
    kinds = [type(m).__name__ for m in model.features] + [type(m).__name__ for m in model.head]
    assert kinds == ["Conv2d", "BatchNorm2d", "ReLU", "AvgPool2d", "Flatten", "Linear"]
    assert model(torch.zeros(2, 64)).shape == (2, 5)


def test_conv_too_large_for_input_is_config_error():
    with pytest.raises(ConfigError, match="do not fit"):
        ConvNet((1, 3, 3), convs=[2, 2], kernel=3)


# --- export errors ----------------------------------------------------------------------------


def test_export_refuses_to_overwrite(tmp_path):
    model = MLP(2, [3], 1)
    path = export_onnx(model, (2,), tmp_path / "m.onnx")
    with pytest.raises(OutputExistsError):
        export_onnx(model, (2,), path)
    export_onnx(model, (2,), path, force=True)


class _SignBranch(nn.Module):
    """Python control flow on values: tracing freezes one branch, so the export is wrong."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if float(x.sum()) > 0:
            return x * 2.0
        return x - 1.0


def test_export_mismatch_is_model_error_and_leaves_nothing(tmp_path):
    dest = tmp_path / "bad.onnx"
    x = np.ones((4, 3), dtype=np.float32)
    with pytest.raises(ModelError, match="disagrees"):
        export_onnx(_SignBranch(), (3,), dest, sample_inputs=x, fold=False)
    assert list(tmp_path.iterdir()) == []


def test_export_bad_sample_inputs(tmp_path):
    with pytest.raises(ModelError, match="do not fit"):
        export_onnx(MLP(3, [], 1), (3,), tmp_path / "m.onnx", sample_inputs=np.zeros((2, 4)))


def test_check_onnx_file_detects_wrong_expectation(tmp_path):
    model = MLP(2, [4], 1)
    path = export_onnx(model, (2,), tmp_path / "m.onnx")
    x = np.random.default_rng(0).normal(size=(5, 2)).astype(np.float32)
    check_onnx_file(path, x, _torch(model, x))
    with pytest.raises(ModelError):
        check_onnx_file(path, x, _torch(model, x) + 1.0)


def test_compare_outputs_sign():
    e = np.array([[1.0], [2.0]])
    assert compare_outputs(e, e) < 0
    assert compare_outputs(e, e + 0.5) > 0


# --- architecture strings ----------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "mlp", "mlp:10,5", "mlp:10,5:act=tanh", "conv", "conv:3", "conv:8,16/32",
    "conv:3:kernel=5,pool=1,dropout=0.1,bn=0,padding=1,act=sigmoid",
])
def test_parse_arch_round_trip(text):
    spec = parse_arch(text)
    assert parse_arch(str(spec)) == spec


def test_parse_arch_values():
    spec = parse_arch("mlp:10,5")
    assert spec.kind == "mlp" and spec.hidden == (10, 5) and spec.activation == "relu"
    c = parse_arch("conv:8,16/32:kernel=5,bn=0")
    assert c.convs == (8, 16) and c.hidden == (32,) and c.kernel == 5 and not c.batchnorm


@pytest.mark.parametrize("text", [
    "rnn:3", "mlp:a,b", "mlp:0", "mlp:3:kernel=3", "conv:3:foo=1", "conv:3:kernel=x",
    "mlp:3:act=gelu", "conv:3:dropout=1.5",
])
def test_parse_arch_errors(text):
    with pytest.raises(ConfigError):
        parse_arch(text)


def test_build_is_deterministic_for_a_seed_and_keeps_global_rng():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = parse_arch("mlp:10,5").build(n_inputs=4, n_outputs=1, seed=9)
    after = torch.rand(1)
    b = parse_arch("mlp:10,5").build(n_inputs=4, n_outputs=1, seed=9)
    c = parse_arch("mlp:10,5").build(n_inputs=4, n_outputs=1, seed=10)
    assert torch.equal(before, after)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    assert not torch.equal(next(a.parameters()), next(c.parameters()))


def test_shapes():
    assert infer_image_shape(784) == (1, 28, 28)
    assert infer_image_shape(3 * 16) == (3, 4, 4)
    with pytest.raises(ConfigError, match="input_shape") as info:
        infer_image_shape(10)
    assert info.value.param == "input_shape"
    assert parse_shape("1x8x8") == (1, 8, 8)
    with pytest.raises(ConfigError):
        parse_shape("1,a")
    with pytest.raises(ConfigError, match="values"):
        parse_arch("conv:3").build(n_inputs=64, n_outputs=2, input_shape=(1, 7, 7))
