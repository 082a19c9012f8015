"""Training: minibatch Adam/SGD with the AutoSpec stopping rule, deterministic for a seed.

Regression trains on standardised targets (MSE); the model's :class:`~.arch.Denormalize`
then maps outputs back to raw units, so the trained (and exported) model predicts raw
targets. Classification trains with cross-entropy on logits. Training stops when the epoch
training loss changes by at most ``tol`` (AutoSpec §5.3: "until the loss change is <= 1e-3")
or after ``epochs`` epochs; with ``keep_best`` the weights of the best validation epoch are
restored. Inputs are raw features: models with ``set_input_stats`` standardise them inside.
Models without ``set_output_stats`` (plain ``nn.Module``) train on raw regression targets.
"""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from autospec_cli.data.dataset import Dataset
from autospec_cli.errors import ConfigError, InputError, ModelError
from autospec_cli.progress import ProgressFn

Regularizer = Callable[[nn.Module], torch.Tensor]


@dataclass
class TrainResult:
    """The trained model (eval mode), per-epoch history and final metrics.

    ``history`` rows: ``{"epoch", "train_loss", "val_loss"}`` (losses on the standardised
    scale for regression). ``metrics``: ``train_*`` / ``val_*`` keys, regression ``mse``,
    ``rmse``, ``mae``, ``r2`` in raw target units, classification ``accuracy`` and ``loss``.
    ``stopped`` is ``"converged"`` (loss change <= tol) or ``"max_epochs"``.
    """

    model: nn.Module
    history: list[dict[str, float]]
    best_epoch: int
    metrics: dict[str, float]
    stopped: str = "max_epochs"
    split: dict[str, Any] = field(default_factory=dict)


def _arrays(data: Dataset | tuple[np.ndarray, np.ndarray], task: str | None
            ) -> tuple[np.ndarray, np.ndarray, str]:
    if isinstance(data, Dataset):
        if task is not None and task != data.task:
            raise ConfigError(f"task {task!r} does not match the dataset's task {data.task!r}")
        return data.X, data.y, data.task
    X, y = (np.asarray(a) for a in data)
    if task not in ("classification", "regression"):
        raise ConfigError("train_model on arrays needs task='classification' or 'regression'")
    if len(X) != len(y) or len(X) == 0:
        raise InputError(f"training data: {len(X)} inputs and {len(y)} targets")
    return X.reshape(len(X), -1), y, task


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` torch intra-op threads, then restore the previous number.

    Training the small networks of this tool is fastest on one thread, and unpinned threads
    fight each other (and parallel jobs) for cores: measured 3.5x slower under contention.
    """
    if n < 1:
        raise ConfigError(f"threads must be at least 1, got {n}", param="threads")
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _check_float32(X: np.ndarray) -> None:
    """Training runs in float32: refuse features that are not finite there (1e308 is a
    float64 but overflows float32 to infinity, and every loss after it is NaN)."""
    if X.size == 0 or not np.issubdtype(X.dtype, np.number):
        return
    big = float(np.max(np.abs(X)))
    if not big <= float(np.finfo(np.float32).max):
        raise InputError(
            f"training data holds a value of magnitude {big:.3g}, beyond float32's range "
            f"({float(np.finfo(np.float32).max):.3g}) used for training; scale the features "
            "or remove those rows")


def _split(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    if not 0.0 <= val_fraction < 1.0:
        raise ConfigError(f"val_fraction must be in [0, 1), got {val_fraction}")
    perm = np.random.default_rng(seed).permutation(n)
    n_val = int(round(n * val_fraction))
    if n_val and n - n_val < 1:
        raise InputError(f"too few rows ({n}) to hold out a validation part")
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


class _Task:
    """Loss, target scaling and metrics for one task."""

    def __init__(self, task: str, y_train: np.ndarray, standardize: bool) -> None:
        self.task = task
        if task == "regression":
            y2 = y_train.reshape(len(y_train), -1).astype(np.float64)
            self.mean, self.std = y2.mean(axis=0), y2.std(axis=0)
            self.std = np.where(self.std > 1e-12, self.std, 1.0)
            if not standardize:
                self.mean, self.std = np.zeros_like(self.mean), np.ones_like(self.std)

    def targets(self, y: np.ndarray) -> torch.Tensor:
        if self.task == "classification":
            return torch.as_tensor(np.asarray(y, dtype=np.int64))
        z = (np.asarray(y, dtype=np.float64).reshape(len(y), self.mean.size) - self.mean) / self.std
        return torch.as_tensor(z, dtype=torch.float32)

    def loss(self, out: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if self.task == "classification":
            return nn.functional.cross_entropy(out, t)
        return nn.functional.mse_loss(out.reshape(t.shape), t)

    def metrics(self, pred: np.ndarray, y: np.ndarray, prefix: str) -> dict[str, float]:
        if len(y) == 0:
            return {}
        if self.task == "classification":
            logits = torch.as_tensor(pred)
            loss = float(nn.functional.cross_entropy(logits, torch.as_tensor(y.astype(np.int64))))
            return {f"{prefix}_accuracy": float(np.mean(pred.argmax(axis=1) == y)),
                    f"{prefix}_loss": loss}
        y2 = y.reshape(len(y), -1).astype(np.float64)
        err = pred.reshape(y2.shape) - y2
        mse = float(np.mean(err**2))
        var = float(np.mean((y2 - y2.mean(axis=0)) ** 2))
        return {f"{prefix}_mse": mse, f"{prefix}_rmse": math.sqrt(mse),
                f"{prefix}_mae": float(np.mean(np.abs(err))),
                f"{prefix}_r2": 1.0 - mse / var if var > 0 else float("nan")}


def predict(model: nn.Module, X: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    """Model outputs for raw inputs ``X`` (n, d) as float64 (n, n_outputs), in eval mode."""
    model.eval()
    outs = []
    with torch.no_grad():
        for i in range(0, len(X), batch_size):
            xb = torch.as_tensor(np.asarray(X[i:i + batch_size], dtype=np.float32))
            outs.append(model(xb).reshape(len(xb), -1).double().numpy())
    return np.concatenate(outs) if outs else np.zeros((0, 0))


def _epoch(model: nn.Module, opt: torch.optim.Optimizer, X: torch.Tensor, t: torch.Tensor,
           spec: _Task, batch_size: int, gen: torch.Generator,
           regularizer: Regularizer | None) -> float:
    model.train()
    perm = torch.randperm(len(X), generator=gen)
    total = 0.0
    for i in range(0, len(X), batch_size):
        idx = perm[i:i + batch_size]
        opt.zero_grad()
        loss = spec.loss(model(X[idx]), t[idx])
        total += float(loss.detach()) * len(idx)
        if regularizer is not None:
            loss = loss + regularizer(model)
        loss.backward()
        opt.step()
    return total / len(X)


def _eval_loss(model: nn.Module, X: torch.Tensor, t: torch.Tensor, spec: _Task) -> float:
    if len(X) == 0:
        return float("nan")
    model.eval()
    with torch.no_grad():
        return float(spec.loss(model(X), t))


def _optimizer(name: str, model: nn.Module, lr: float,
               weight_decay: float) -> torch.optim.Optimizer:
    if name == "adam":
        return torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=weight_decay)
    raise ConfigError(f"unknown optimizer {name!r}; use adam or sgd")


#: Input standardisation choices of :func:`train_model` (``feature`` is the default).
INPUT_NORMS: tuple[str, ...] = ("feature", "global", "none")


def train_model(
    model: nn.Module,
    data: Dataset | tuple[np.ndarray, np.ndarray],
    *,
    task: str | None = None,
    epochs: int = 100,
    lr: float = 1e-3,
    batch_size: int = 64,
    tol: float = 1e-3,
    seed: int = 0,
    val_fraction: float = 0.2,
    weight_decay: float = 0.0,
    keep_best: bool = True,
    optimizer: str = "adam",
    regularizer: Regularizer | None = None,
    min_epochs: int = 2,
    progress: ProgressFn | None = None,
    input_norm: str = "feature",
) -> TrainResult:
    """Train ``model`` in place on raw features and return a :class:`TrainResult`.

    ``data`` is a :class:`Dataset` or ``(X, y)`` arrays (then ``task`` is required; y may be
    (n, k) for multi-output regression, e.g. distillation targets). A ``val_fraction`` of the
    rows (seeded shuffle) is held out. Stops when ``|loss_e - loss_{e-1}| <= tol`` after at
    least ``min_epochs`` epochs (``tol=0`` disables), or at ``epochs``. ``regularizer(model)``
    is added to every minibatch loss. The same seed gives the same weights and history.
    ``input_norm`` (models with input statistics): ``feature`` standardises each input (each
    channel of a conv net) with its own training mean and std, ``global`` uses one mean and
    std over all input values, ``none`` feeds raw features.
    """
    X, y, task = _arrays(data, task)
    stats: Any = model  # the optional statistics hooks of our architectures (hasattr-checked)
    if epochs < 1 or batch_size < 1 or lr <= 0:
        raise ConfigError("epochs and batch_size must be >= 1 and lr > 0")
    _check_float32(X)
    tr, va = _split(len(X), val_fraction, seed)
    spec = _Task(task, y[tr], standardize=hasattr(model, "set_output_stats"))
    if input_norm not in INPUT_NORMS:
        raise ConfigError(f"input_norm must be one of {', '.join(INPUT_NORMS)}, got "
                          f"{input_norm!r}", param="input_norm")
    if hasattr(model, "set_input_stats"):
        if input_norm == "feature":
            stats.set_input_stats(X[tr])
        elif input_norm == "global":
            stats.set_global_input_stats(X[tr])
        else:
            stats.clear_input_stats()
    if hasattr(model, "reset_output_stats"):
        stats.reset_output_stats()
    Xt = torch.as_tensor(X[tr], dtype=torch.float32)
    Xv = torch.as_tensor(X[va], dtype=torch.float32)
    tt, tv = spec.targets(y[tr]), spec.targets(y[va])
    history: list[dict[str, float]] = []
    best = (math.inf, 0, copy.deepcopy(model.state_dict()))
    stopped = "max_epochs"
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        opt = _optimizer(optimizer, model, lr, weight_decay)
        for epoch in range(1, epochs + 1):
            train_loss = _epoch(model, opt, Xt, tt, spec, batch_size, gen, regularizer)
            if not math.isfinite(train_loss):
                raise ModelError(
                    f"training diverged at epoch {epoch}: the loss is {train_loss}; scale the "
                    "data or lower the learning rate (lr)", param="lr")
            val_loss = _eval_loss(model, Xv, tv, spec)
            history.append({"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss})
            score = val_loss if len(va) else train_loss
            if score < best[0]:
                best = (score, epoch, copy.deepcopy(model.state_dict()))
            if progress is not None:
                progress("train", epoch, epochs)
            if (epoch >= min_epochs and tol > 0 and len(history) > 1
                    and abs(history[-2]["train_loss"] - train_loss) <= tol):
                stopped = "converged"
                if progress is not None:
                    progress("train", epoch, epoch)  # complete the bar at the early stop
                break
    best_epoch = history[-1]["epoch"]
    if keep_best and math.isfinite(best[0]):
        model.load_state_dict(best[2])
        best_epoch = best[1]
    if task == "regression" and hasattr(model, "set_output_stats"):
        stats.set_output_stats(spec.mean, spec.std)
    model.eval()
    metrics = spec.metrics(predict(model, X[tr]), y[tr], "train")
    if len(va):
        metrics.update(spec.metrics(predict(model, X[va]), y[va], "val"))
    return TrainResult(model, history, int(best_epoch), metrics, stopped,
                       {"train": int(len(tr)), "val": int(len(va)), "seed": seed})

