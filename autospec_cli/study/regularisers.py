"""Regularisers of the training-factor study: dropout, Jacobian penalty, L2 weight decay.

- ``dropout``: a Dropout layer after the ReLU (rate 0.5, MATLAB's ``dropoutLayer`` default)
  *and* L2 weight decay 1e-4: the published code trains the dropout models with
  ``trainingOptions(..., 'L2Regularization', 0.0001)`` (MATLAB's default), so we do too.
- ``l2``: L2 weight decay 1e-4 (SGD ``weight_decay``, i.e. ``1e-4 * w`` added to every
  gradient, as MATLAB's ``L2Regularization`` does), no dropout.
- ``jacobian``: the input-output Jacobian penalty of Hoffman, Roberts & Yaida (2019, "Robust
  learning with Jacobian regularization"): the loss is ``CE + lambda/2 * ||J(x)||_F^2``
  averaged over the batch, the squared Frobenius norm estimated with random projections,
  ``||J||_F^2 ~= C * mean_k ||v_k^T J||^2`` with ``v_k`` uniform on the unit sphere of the
  ``C`` outputs (unbiased; one extra backward pass per projection). Defaults: ``lambda =
  0.01``, one projection (the paper's MNIST setting). No weight decay.
- ``none``: no regularisation (a baseline level outside the published design).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from autospec_cli.errors import ConfigError

REGULARISERS: tuple[str, ...] = ("dropout", "jacobian", "l2", "none")
DEFAULT_DROPOUT = 0.5
DEFAULT_WEIGHT_DECAY = 1e-4
DEFAULT_JACOBIAN_LAMBDA = 0.01


@dataclass(frozen=True)
class Regularisation:
    """What one regulariser level means for training."""

    name: str
    dropout: float = 0.0
    weight_decay: float = 0.0
    jacobian_lambda: float = 0.0
    projections: int = 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def regularisation(name: str, *, dropout: float = DEFAULT_DROPOUT,
                   weight_decay: float = DEFAULT_WEIGHT_DECAY,
                   jacobian_lambda: float = DEFAULT_JACOBIAN_LAMBDA,
                   projections: int = 1) -> Regularisation:
    """The training settings of regulariser ``name`` (see the module docstring)."""
    key = name.strip().lower().replace("_", "-")
    key = {"weight-decay": "l2", "jr": "jacobian"}.get(key, key)
    if not 0.0 <= dropout < 1.0:
        raise ConfigError(f"dropout rate must be in [0, 1), got {dropout}")
    if weight_decay < 0 or jacobian_lambda < 0:
        raise ConfigError("weight decay and the Jacobian weight must be >= 0")
    if projections == 0 or projections < -1:
        raise ConfigError("Jacobian projections must be >= 1 (or -1 for the exact norm)")
    if key == "dropout":
        return Regularisation("dropout", dropout=dropout, weight_decay=weight_decay)
    if key == "l2":
        return Regularisation("l2", weight_decay=weight_decay)
    if key == "jacobian":
        return Regularisation("jacobian", jacobian_lambda=jacobian_lambda, projections=projections)
    if key == "none":
        return Regularisation("none")
    raise ConfigError(f"unknown regulariser {name!r}; use one of {', '.join(REGULARISERS)}")


def _unit_vectors(shape: tuple[int, ...], like: torch.Tensor,
                  generator: torch.Generator | None) -> torch.Tensor:
    v = torch.randn(shape, generator=generator, dtype=like.dtype).to(like.device)
    return v / v.norm(dim=1, keepdim=True).clamp_min(1e-12)


def jacobian_penalty(x: torch.Tensor, y: torch.Tensor, projections: int = 1,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """Batch mean of ``||dy_i/dx_i||_F^2`` for outputs ``y = f(x)`` (``x`` requires grad).

    ``projections >= 1``: the random-projection estimate (differentiable, for training);
    ``-1``: the exact norm (one backward pass per output). The graph is kept so the penalty
    can be back-propagated into the weights.
    """
    if not x.requires_grad:
        raise ConfigError("jacobian_penalty needs inputs with requires_grad=True")
    n = y.shape[0]
    y2 = y.reshape(n, -1)
    C = y2.shape[1]
    total = y2.new_zeros(())
    if projections == -1:
        for j in range(C):
            (g,) = torch.autograd.grad(y2[:, j].sum(), x, create_graph=True)
            total = total + g.pow(2).sum()
        return total / n
    for _ in range(projections):
        v = _unit_vectors((n, C), y2, generator)
        (g,) = torch.autograd.grad((y2 * v).sum(), x, create_graph=True)
        total = total + C * g.pow(2).sum()
    return total / (n * projections)


def jacobian_frobenius(model: nn.Module, x: torch.Tensor, projections: int = -1,
                       generator: torch.Generator | None = None) -> float:
    """``mean_i ||J(x_i)||_F^2`` of ``model`` at the rows of ``x`` (eval mode; a number)."""
    was_training = model.training
    model.eval()
    try:
        xr = x.detach().clone().requires_grad_(True)
        value = jacobian_penalty(xr, model(xr), projections, generator)
        return float(value.detach())
    finally:
        model.train(was_training)


__all__ = [
    "REGULARISERS",
    "Regularisation",
    "jacobian_frobenius",
    "jacobian_penalty",
    "regularisation",
]
