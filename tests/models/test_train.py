"""train_model: the AutoSpec stopping rule, determinism, raw-unit outputs, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from autospec_cli.data.dataset import Dataset
from autospec_cli.errors import ConfigError, InputError
from autospec_cli.models.arch import MLP, parse_arch
from autospec_cli.models.onnx_export import export_onnx
from autospec_cli.models.runtime import OnnxRunner
from autospec_cli.models.train import predict, train_model


def _regression(n: int = 400, seed: int = 0) -> Dataset:
    """Raw features in the 1e5 range, target in the 1e6 range (throughput-like units)."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 2e5, size=(n, 4))
    y = 3.0 * X.mean(axis=1) + 5e5 + rng.normal(0, 1e3, size=n)
    return Dataset(X, y, [f"f{i}" for i in range(4)], "regression", name="lin")


def _blobs(n: int = 300, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0], [6, 0], [0, 6]])
    y = rng.integers(0, 3, size=n)
    X = centres[y] + rng.normal(size=(n, 2))
    return Dataset(X, y, ["a", "b"], "classification", classes=["p", "q", "r"])


def test_autospec_stop_rule_loss_change_at_most_tol():
    model = parse_arch("mlp:10,5").build(n_inputs=4, n_outputs=1, seed=0)
    res = train_model(model, _regression(), epochs=300, tol=1e-3, seed=0)
    assert res.stopped == "converged"
    assert 2 <= len(res.history) < 300
    losses = [h["train_loss"] for h in res.history]
    assert abs(losses[-1] - losses[-2]) <= 1e-3
    # it stopped at the first epoch where the change was small enough
    assert all(abs(a - b) > 1e-3 for a, b in zip(losses[:-2], losses[1:-1], strict=True))


def test_tol_zero_runs_all_epochs():
    model = MLP(4, [6], 1)
    res = train_model(model, _regression(120), epochs=5, tol=0, seed=1)
    assert res.stopped == "max_epochs" and len(res.history) == 5
    assert [h["epoch"] for h in res.history] == [1, 2, 3, 4, 5]


def test_same_seed_same_weights_and_history():
    def net():
        return parse_arch("mlp:5").build(n_inputs=4, n_outputs=1, seed=3)

    a = train_model(net(), _regression(), epochs=6, seed=3, tol=0)
    b = train_model(net(), _regression(), epochs=6, seed=3, tol=0)
    c = train_model(net(), _regression(), epochs=6, seed=4, tol=0)
    assert a.history == b.history
    for pa, pb in zip(a.model.state_dict().values(), b.model.state_dict().values(), strict=True):
        assert torch.equal(pa, pb)
    assert a.history != c.history


def test_regression_outputs_are_in_raw_units_and_export_keeps_them(tmp_path):
    ds = _regression()
    res = train_model(MLP(4, [16], 1), ds, epochs=200, lr=1e-2, tol=1e-5, seed=0)
    assert res.metrics["val_r2"] > 0.95
    assert res.metrics["val_mae"] < 0.1 * float(ds.y.std())
    pred = predict(res.model, ds.X)[:, 0]
    assert abs(pred.mean() - ds.y.mean()) < 0.05 * ds.y.std()
    path = export_onnx(res.model, (4,), tmp_path / "m.onnx", sample_inputs=ds.X[:32])
    onnx_pred = OnnxRunner(path).run(ds.X[:100])[:, 0]
    np.testing.assert_allclose(onnx_pred, pred[:100], rtol=1e-4, atol=1e-4 * np.abs(pred).max())


def test_classification_learns_separable_blobs():
    ds = _blobs()
    res = train_model(parse_arch("mlp:16").build(n_inputs=2, n_outputs=3, seed=0), ds,
                      epochs=25, lr=3e-2, tol=0, seed=0)
    assert res.metrics["val_accuracy"] > 0.9
    assert set(res.metrics) >= {"train_accuracy", "train_loss", "val_accuracy", "val_loss"}


def test_split_and_keep_best():
    ds = _regression(200)
    res = train_model(MLP(4, [4], 1), ds, epochs=8, tol=0, val_fraction=0.25, seed=0)
    assert res.split == {"train": 150, "val": 50, "seed": 0}
    vals = [h["val_loss"] for h in res.history]
    assert res.best_epoch == int(np.argmin(vals)) + 1
    res2 = train_model(MLP(4, [4], 1), ds, epochs=3, tol=0, val_fraction=0.0, seed=0)
    assert res2.split["val"] == 0 and not any(k.startswith("val_") for k in res2.metrics)


def test_progress_and_regularizer():
    calls: list[tuple] = []
    ds = _regression(100)

    def l1(model: nn.Module) -> torch.Tensor:
        return 10.0 * sum(p.abs().sum() for n, p in model.named_parameters() if "weight" in n)

    def fresh() -> MLP:  # the same initial weights for both runs, whatever ran before
        torch.manual_seed(0)
        return MLP(4, [8], 1)

    plain = train_model(fresh(), ds, epochs=4, tol=0, seed=0, lr=5e-2,
                        progress=lambda d, c, t: calls.append((d, c, t)))
    reg = train_model(fresh(), ds, epochs=4, tol=0, seed=0, regularizer=l1, lr=5e-2)
    assert calls == [("train", e, 4) for e in range(1, 5)]
    norm = lambda m: float(m.body[0].weight.detach().abs().sum())  # noqa: E731
    assert norm(reg.model) < 0.8 * norm(plain.model)


def test_plain_module_and_arrays():
    X = np.random.default_rng(0).normal(size=(80, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    net = nn.Sequential(nn.Linear(3, 1))
    res = train_model(net, (X, y), task="regression", epochs=150, lr=5e-2, tol=0, seed=0)
    assert res.metrics["train_r2"] > 0.99
    multi = train_model(nn.Sequential(nn.Linear(3, 2)), (X, np.c_[y, -y]), task="regression",
                        epochs=2, tol=0)
    assert predict(multi.model, X).shape == (80, 2)


@pytest.mark.parametrize("kwargs,err", [
    ({"epochs": 0}, ConfigError),
    ({"lr": 0.0}, ConfigError),
    ({"optimizer": "lbfgs"}, ConfigError),
    ({"val_fraction": 1.0}, ConfigError),
    ({"task": "classification"}, ConfigError),
])
def test_bad_options(kwargs, err):
    with pytest.raises(err):
        train_model(MLP(4, [2], 1), _regression(20), **kwargs)


def test_array_inputs_need_a_task_and_matching_rows():
    X, y = np.zeros((5, 2)), np.zeros(5)
    with pytest.raises(ConfigError, match="task"):
        train_model(MLP(2, [], 1), (X, y))
    with pytest.raises(InputError):
        train_model(MLP(2, [], 1), (X, y[:3]), task="regression")


def test_throughput_model_4_10_5_1():
    from autospec_cli.data.loaders import load_dataset

    ds = load_dataset("builtin:throughput")
    model = parse_arch("mlp:10,5").build(n_inputs=ds.d, n_outputs=1, seed=0)
    res = train_model(model, ds, epochs=100, tol=1e-3, seed=0)
    assert res.stopped == "converged"
    assert [m.out_features for m in model.body if isinstance(m, nn.Linear)] == [10, 5, 1]
    assert np.isfinite(res.metrics["val_rmse"])
