"""Initialiser statistics, the Jacobian penalty against finite differences, regularisers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from autospec_cli.study.initialisers import NARROW_STD, fans, initialise
from autospec_cli.study.regularisers import jacobian_penalty, regularisation
from autospec_cli.study.training import TrainingConfig, accuracy, build_model, train_study_model


def _wide() -> nn.Module:
    return nn.Sequential(nn.Conv2d(4, 64, 3), nn.Flatten(), nn.Linear(400, 300))


@pytest.mark.parametrize("layer", [0, 2])
def test_he_std(layer: int) -> None:
    m = initialise(_wide(), "he", 0)
    w = m[layer].weight.detach().numpy().ravel()
    fan_in, _ = fans(m[layer].weight)
    assert abs(w.std() / math.sqrt(2.0 / fan_in) - 1) < 0.03
    assert abs(w.mean()) < 0.05 * w.std()
    assert np.all(m[layer].bias.detach().numpy() == 0)


def test_glorot_uniform_bounds_and_std() -> None:
    m = initialise(_wide(), "glorot", 1)
    w = m[2].weight.detach().numpy().ravel()
    a = math.sqrt(6.0 / (400 + 300))
    assert w.max() <= a and w.min() >= -a and w.max() > 0.98 * a
    assert abs(w.std() / (a / math.sqrt(3)) - 1) < 0.03
    conv = m[0].weight
    fi, fo = fans(conv)
    assert (fi, fo) == (4 * 9, 64 * 9)
    assert float(conv.abs().max()) <= math.sqrt(6.0 / (fi + fo))


def test_narrow_normal_weights_and_biases() -> None:
    m = initialise(_wide(), "narrow-normal", 2)
    w = m[2].weight.detach().numpy().ravel()
    b = m[2].bias.detach().numpy()
    assert abs(w.std() / NARROW_STD - 1) < 0.03
    assert 0.005 < b.std() < 0.015  # biases drawn from N(0, 0.01) too, as published


def test_initialisers_are_seeded_and_differ() -> None:
    a = initialise(_wide(), "he", 5)[2].weight
    b = initialise(_wide(), "he", 5)[2].weight
    c = initialise(_wide(), "he", 6)[2].weight
    assert torch.equal(a, b) and not torch.equal(a, c)


def _tiny_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 4)).double()


def _fd_frobenius(net: nn.Module, x: torch.Tensor, h: float = 1e-6) -> float:
    total = 0.0
    for row in x:
        J = np.zeros((4, 3))
        for k in range(3):
            e = torch.zeros(3, dtype=torch.float64)
            e[k] = h
            J[:, k] = ((net(row + e) - net(row - e)) / (2 * h)).detach().numpy()
        total += float((J ** 2).sum())
    return total / len(x)


def test_jacobian_penalty_matches_finite_differences() -> None:
    net = _tiny_net()
    x = torch.randn(6, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    fd = _fd_frobenius(net, x)
    xr = x.clone().requires_grad_(True)
    exact = float(jacobian_penalty(xr, net(xr), projections=-1))
    assert exact == pytest.approx(fd, rel=1e-6)
    gen = torch.Generator().manual_seed(0)
    est = np.mean([float(jacobian_penalty(xr, net(xr), 1, gen)) for _ in range(3000)])
    assert est == pytest.approx(fd, rel=0.05)  # random projections: unbiased


def test_jacobian_penalty_is_differentiable_in_weights() -> None:
    net = _tiny_net()
    x = torch.randn(4, 3, dtype=torch.float64).requires_grad_(True)
    jacobian_penalty(x, net(x), projections=2).backward()
    assert net[0].weight.grad is not None and float(net[0].weight.grad.abs().sum()) > 0


def test_regulariser_settings_follow_the_published_code() -> None:
    assert regularisation("dropout").weight_decay == 1e-4  # as in the published code
    assert regularisation("dropout").dropout == 0.5
    assert regularisation("l2").weight_decay == 1e-4 and regularisation("l2").dropout == 0
    j = regularisation("jacobian")
    assert j.jacobian_lambda > 0 and j.weight_decay == 0


def test_training_keeps_best_validation_epoch() -> None:
    rng = np.random.default_rng(0)
    X = rng.random((200, 1, 6, 6)).astype(np.float32)
    y = (X[:, 0, :3].mean(axis=(1, 2)) > X[:, 0, 3:].mean(axis=(1, 2))).astype(np.int64)
    cfg = TrainingConfig(epochs=3, batch_size=16, lr=0.05)
    reg = regularisation("dropout")
    model = build_model((1, 6, 6), 2, "he", reg, 0, cfg)
    assert any(isinstance(m, nn.Dropout) for m in model.modules())
    res = train_study_model(model, X[:150], y[:150], X[150:], y[150:], reg, cfg, 0)
    assert res.best_val_loss == min(h["val_loss"] for h in res.history)
    assert 0.5 <= accuracy(model, X[150:], y[150:]) <= 1.0
