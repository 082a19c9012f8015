"""GDVB transformations: architectures, neuron/layer counts, distilled ONNX networks, properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autospec_cli.bench.problems import make_property, map_inputs, split_seed_data
from autospec_cli.bench.transform import (
    InvalidCombination,
    NetSpec,
    evenly_spaced,
    scaled_image,
    transform,
)

SEED = NetSpec((1, 8, 8), convs=(8, 8), fcs=(32, 32), n_classes=10, kernel=3)


def test_seed_neurons_count_conv_activations_and_units():
    # conv1 8x6x6, conv2 8x4x4, two FC layers of 32
    assert SEED.layer_neurons() == [288, 128, 32, 32]
    assert SEED.neurons == 480 and SEED.n_layers == 4


def test_levels_evenly_spaced():
    assert evenly_spaced(0.2, 1.0, 5) == (0.2, 0.4, 0.6, 0.8, 1.0)
    assert evenly_spaced(0.0, 1.0, 1) == (1.0,)


def test_identity_levels_give_the_seed():
    t = transform(SEED, {})
    assert t.spec == SEED and t.neurons == 480


def test_drop_add_and_scale():
    t = transform(SEED, {"fc": 0.5, "conv": 0.0, "neu": 0.5})
    assert len(t.spec.convs) == 0 and len(t.spec.fcs) == 1
    assert len(t.dropped["fc"]) == 1 and t.dropped["conv"] == [0, 1]
    assert abs(t.neurons - 240) <= 1
    grown = transform(SEED, {"fc": 2.0})
    assert len(grown.spec.fcs) == 4 and grown.added["fc"] == 2
    assert abs(grown.neurons - 480) / 480 < 0.05  # same total, spread over more layers


def test_input_dimension_scales_height_and_width():
    assert scaled_image((1, 8, 8), 0.25) == (1, 4, 4)
    assert scaled_image((1, 8, 8), 0.5) == (1, 6, 6)
    t = transform(SEED, {"idm": 0.5})
    assert t.spec.input_shape == (1, 6, 6)


def test_invalid_combinations_raise():
    with pytest.raises(InvalidCombination, match="smaller than its"):
        transform(SEED, {"idm": 0.25})  # 4x4 -> 2x2 before the second 3x3 conv
    with pytest.raises(InvalidCombination, match="no hidden layer"):
        transform(SEED, {"fc": 0.0, "conv": 0.0})


def test_drops_are_seeded():
    a = transform(SEED, {"fc": 0.5, "conv": 0.5}, seed=3)
    b = transform(SEED, {"fc": 0.5, "conv": 0.5}, seed=3)
    assert a.dropped == b.dropped


@settings(max_examples=60, deadline=None)
@given(neu=st.sampled_from([0.2, 0.4, 0.6, 0.8, 1.0, 1.5]),
       fc=st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0]),
       conv=st.sampled_from([0.0, 0.5, 1.0, 2.0]),
       idm=st.sampled_from([0.25, 0.5, 0.75, 1.0]), seed=st.integers(0, 5))
def test_transform_counts(neu, fc, conv, idm, seed):
    try:
        t = transform(SEED, {"neu": neu, "fc": fc, "conv": conv, "idm": idm}, seed=seed)
    except InvalidCombination:
        return
    expect_fc = 2 - round(2 * (1 - fc)) if fc <= 1 else 2 + round(2 * (fc - 1))
    expect_conv = 2 - round(2 * (1 - conv)) if conv <= 1 else 2 + round(2 * (conv - 1))
    assert len(t.spec.fcs) == expect_fc and len(t.spec.convs) == expect_conv
    assert t.spec.n_layers == expect_fc + expect_conv
    # one scale factor for every layer: within the rounding of one filter/unit per layer
    slack = sum(h * w for h, w in t.spec.conv_sizes()) + len(t.spec.fcs)
    assert abs(t.neurons - neu * 480) <= max(slack, 0.1 * neu * 480)


@settings(max_examples=60, deadline=None)
@given(ids=st.sampled_from([0.25, 0.5, 1.0]), scl=st.sampled_from([0.5, 1.0, 3.0]),
       idm=st.sampled_from([0.25, 0.5, 1.0]), trn=st.integers(0, 50),
       radius=st.sampled_from([0.02, 0.1, 0.5]))
def test_properties_stay_in_the_input_domain(ids, scl, idm, trn, radius):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 17, size=(60, 64)).astype(float)
    data = split_seed_data(X, rng.integers(0, 10, 60), (1, 8, 8), seed=1)
    shape = scaled_image((1, 8, 8), idm)
    prop, meta = make_property(data, shape, ids=ids, scl=scl, trn=trn, radius=radius, seed=0,
                               n_classes=10)
    case = prop.cases[0]
    lo, hi = ids * data.domain[0], ids * data.domain[1]
    assert case.lo.size == int(np.prod(shape))
    assert np.all(case.lo >= lo - 1e-12) and np.all(case.hi <= hi + 1e-12)
    assert np.all(case.hi - case.lo <= 2 * meta["eps"] + 1e-9)
    assert meta["eps"] == pytest.approx(scl * radius * (hi - lo))
    x0 = map_inputs(data.X_test[meta["centre_index"]:][:1], (1, 8, 8), shape, ids)[0]
    assert np.all(case.lo <= x0) and np.all(x0 <= case.hi)


@pytest.fixture(scope="module")
def digits_seed(tmp_path_factory):
    """A small seed trained quickly on digits, exported to ONNX."""
    from autospec_cli.bench.distill import export_net, train_seed
    from autospec_cli.bench.problems import load_seed_data

    spec = NetSpec((1, 8, 8), convs=(4, 4), fcs=(16, 16), n_classes=10, kernel=3)
    data = load_seed_data("builtin:digits", (1, 8, 8))
    net = train_seed(spec, data, epochs=12)
    path = export_net(net.model, spec, tmp_path_factory.mktemp("seed") / "seed.onnx",
                      data.X_test[:16])
    return spec, data, path, net.metrics["test_accuracy"]


@pytest.mark.parametrize("levels", [
    {"neu": 1.0, "fc": 0.5, "conv": 1.0, "idm": 1.0, "ids": 0.5},
    {"neu": 0.5, "fc": 1.0, "conv": 0.0, "idm": 0.5, "ids": 1.0},
])
def test_distilled_networks_are_valid_onnx(digits_seed, tmp_path, levels):
    import onnx
    import torch

    from autospec_cli.bench.distill import distill, export_net, load_teacher
    from autospec_cli.models.runtime import OnnxRunner

    torch.set_num_threads(1)
    spec, data, seed_path, seed_acc = digits_seed
    assert seed_acc > 0.85
    t = transform(spec, levels)
    net = distill(load_teacher(seed_path), t.spec, data, ids=levels["ids"], epochs=10)
    xt = map_inputs(data.X_test, data.input_shape, t.spec.input_shape, levels["ids"])
    path = export_net(net.model, t.spec, tmp_path / "student.onnx", xt[:16])
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    ops = [n.op_type for n in model.graph.node]
    assert ops.count("Conv") == len(t.spec.convs)
    assert ops.count("Gemm") + ops.count("MatMul") == len(t.spec.fcs) + 1
    runner = OnnxRunner(path)
    shape = t.spec.input_shape if t.spec.convs else (t.spec.n_inputs,)
    acc = float(np.mean(runner.run(xt.reshape(len(xt), *shape).astype(np.float32)).argmax(1)
                        == data.y_test))
    assert acc == pytest.approx(net.metrics["test_accuracy"], abs=1e-6)
    assert acc > seed_acc - 0.15, (acc, seed_acc)


@pytest.mark.parametrize("norm", ["feature", "global"])
def test_students_take_the_configured_input_standardisation(digits_seed, norm):
    """``[training] input_norm``: ``global`` gives an MLP student one mean and one std over
    all pixels (per-pixel statistics would scale near-constant border pixels up)."""
    import torch

    from autospec_cli.bench.distill import distill, load_teacher

    torch.set_num_threads(1)
    spec, data, seed_path, _ = digits_seed
    t = transform(spec, {"neu": 0.5, "fc": 1.0, "conv": 0.0, "idm": 1.0, "ids": 1.0})
    net = distill(load_teacher(seed_path), t.spec, data, epochs=1, input_norm=norm)
    mean = net.model.input_norm.mean.reshape(-1).numpy()
    inv_std = net.model.input_norm.inv_std.reshape(-1).numpy()
    uniform = np.ptp(mean) == 0 and np.ptp(inv_std) == 0
    assert uniform == (norm == "global")
    if norm == "global":
        assert mean[0] == pytest.approx(float(data.X_train.mean()), rel=0.05)
