"""Training as the study's published code does it (MATLAB ``trainNetwork``, ``'sgdm'``).

Architecture (:class:`autospec_cli.models.arch.ConvNet` with one conv layer): Conv 3x3 with 3
filters -> BatchNorm -> ReLU -> (Dropout, dropout variant only) -> AvgPool 2x2 stride 2 ->
Flatten -> Linear(n_classes). Inputs are standardised per channel inside the model (MATLAB's
input layer zero-centres per pixel instead; ours folds into the first conv on export).

Optimiser: SGD with momentum 0.9, learning rate 0.01, mini-batches of 128 reshuffled every
epoch, 5 epochs (MATLAB's ``sgdm`` defaults and the published ``MaxEpochs``); L2 weight decay
per :mod:`.regularisers`. Validation loss is measured at the end of every epoch (and every
``val_every`` iterations when set: MATLAB's ``ValidationFrequency`` is 50) and the weights with
the lowest validation loss are kept (``'OutputNetwork','best-validation-loss'``).
Deterministic for a seed on CPU: the seed drives initialisation, shuffling, dropout masks and
Jacobian projections, without touching the global torch RNG.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from autospec_cli.errors import ConfigError
from autospec_cli.models.arch import ConvNet
from autospec_cli.progress import ProgressFn
from autospec_cli.study.initialisers import initialise
from autospec_cli.study.regularisers import Regularisation, jacobian_penalty


@dataclass(frozen=True)
class TrainingConfig:
    """Hyperparameters shared by every model of a study (the published values by default)."""

    epochs: int = 5
    lr: float = 0.01
    momentum: float = 0.9
    batch_size: int = 128
    val_every: int = 0  # iterations between validation checks; 0: end of each epoch only
    filters: int = 3
    kernel: int = 3
    pool: int = 2
    dropout: float = 0.5
    weight_decay: float = 1e-4
    jacobian_lambda: float = 0.01
    jacobian_projections: int = 1

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0 or self.val_every < 0:
            raise ConfigError("training: epochs and batch_size must be >= 1, lr > 0, "
                              "val_every >= 0")
        if not 0 <= self.momentum < 1:
            raise ConfigError(f"training.momentum must be in [0, 1), got {self.momentum}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainingConfig:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown training option(s) {', '.join(unknown)}; "
                              f"known: {', '.join(sorted(known))}")
        return cls(**d)


def build_model(input_shape: tuple[int, int, int], n_classes: int, initialiser: str,
                reg: Regularisation, seed: int, cfg: TrainingConfig) -> nn.Module:
    """The study's ConvNet with ``initialiser`` applied for ``seed``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = ConvNet(input_shape, filters=cfg.filters, kernel=cfg.kernel, n_classes=n_classes,
                        dropout=reg.dropout, pool=cfg.pool)
    return initialise(model, initialiser, seed)


@dataclass
class StudyTrainResult:
    """A trained model (eval mode) and how training went."""

    model: nn.Module
    history: list[dict[str, float]]
    best_epoch: int
    best_iteration: int
    best_val_loss: float
    train_time: float
    metrics: dict[str, float] = field(default_factory=dict)


def _val_loss(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        loss = nn.functional.cross_entropy(model(X), y, reduction="sum")
    model.train()
    return float(loss) / len(X)


def _step(model: nn.Module, opt: torch.optim.Optimizer, xb: torch.Tensor, yb: torch.Tensor,
          reg: Regularisation, gen: torch.Generator) -> float:
    if reg.jacobian_lambda > 0:
        xb = xb.clone().requires_grad_(True)
    opt.zero_grad()
    out = model(xb)
    loss = nn.functional.cross_entropy(out, yb)
    total = loss
    if reg.jacobian_lambda > 0:
        total = loss + 0.5 * reg.jacobian_lambda * jacobian_penalty(xb, out, reg.projections, gen)
    total.backward()
    opt.step()
    return float(loss.detach())


class _Best:
    """The lowest validation loss seen and the weights that gave it."""

    def __init__(self, model: nn.Module) -> None:
        self.loss, self.epoch, self.iteration = math.inf, 0, 0
        self.state = copy.deepcopy(model.state_dict())

    def offer(self, model: nn.Module, loss: float, epoch: int, iteration: int) -> None:
        if loss < self.loss:
            self.loss, self.epoch, self.iteration = loss, epoch, iteration
            self.state = copy.deepcopy(model.state_dict())


def train_study_model(model: nn.Module, X_train: np.ndarray, y_train: np.ndarray,
                      X_val: np.ndarray, y_val: np.ndarray, reg: Regularisation,
                      cfg: TrainingConfig, seed: int,
                      progress: ProgressFn | None = None) -> StudyTrainResult:
    """Train in place with SGD+momentum for ``cfg.epochs`` and keep the best validation loss."""
    t0 = time.perf_counter()
    stats: Any = model  # the optional statistics hook of our architectures (hasattr-checked)
    if hasattr(model, "set_input_stats"):
        stats.set_input_stats(X_train.reshape(len(X_train), -1))
    Xt, yt = torch.as_tensor(X_train, dtype=torch.float32), torch.as_tensor(y_train)
    Xv, yv = torch.as_tensor(X_val, dtype=torch.float32), torch.as_tensor(y_val)
    history: list[dict[str, float]] = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum,
                              weight_decay=reg.weight_decay)
        model.train()
        best, iteration = _Best(model), 0
        for epoch in range(1, cfg.epochs + 1):
            perm = torch.randperm(len(Xt), generator=gen)
            losses = []
            for i in range(0, len(Xt), cfg.batch_size):
                idx = perm[i:i + cfg.batch_size]
                losses.append(_step(model, opt, Xt[idx], yt[idx], reg, gen) * len(idx))
                iteration += 1
                if cfg.val_every and iteration % cfg.val_every == 0:
                    best.offer(model, _val_loss(model, Xv, yv), epoch, iteration)
            val = _val_loss(model, Xv, yv)
            best.offer(model, val, epoch, iteration)
            history.append({"epoch": epoch, "iteration": iteration,
                            "train_loss": sum(losses) / len(Xt), "val_loss": val})
            if progress is not None:
                progress("train", epoch, cfg.epochs)
    model.load_state_dict(best.state)
    model.eval()
    return StudyTrainResult(model, history, best.epoch, best.iteration, best.loss,
                            time.perf_counter() - t0)


def accuracy(model: nn.Module, X: np.ndarray, y: np.ndarray) -> float:
    """Fraction of ``X`` that ``model`` (eval mode) classifies as ``y``."""
    model.eval()
    with torch.no_grad():
        pred = model(torch.as_tensor(X, dtype=torch.float32)).argmax(dim=1).numpy()
    return float(np.mean(pred == y))


__all__ = ["StudyTrainResult", "TrainingConfig", "accuracy", "build_model", "train_study_model"]
