"""Train GDVB networks: the built-in seed, and students distilled from a seed network.

Distillation follows GDVB's MNIST setting: Adam, learning rate 1e-3, batch 64, 10 epochs, MSE
between the student's outputs and the teacher's (the seed's) outputs on the training inputs,
keeping the epoch with the best validation loss. The student reads the mapped inputs
(:func:`autospec_cli.bench.problems.map_inputs`), the teacher the original ones. Targets are
standardised per output while training (:func:`autospec_cli.models.train.train_model`'s
regression mode) and the scale is folded back, so the student predicts raw logits.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from autospec_cli.bench.problems import SeedData, map_inputs
from autospec_cli.bench.transform import NetSpec

#: The built-in seed: a small conv net on scikit-learn's 8x8 digits.
BUILTIN_SEEDS: dict[str, dict[str, Any]] = {
    "builtin:digits-conv": {
        "data": "builtin:digits",
        "arch": NetSpec((1, 8, 8), convs=(8, 8), fcs=(32, 32), n_classes=10, kernel=3).to_dict(),
        "epochs": 30,
    },
}


#: the students' input standardisation unless a config names another (``train_model``'s
#: ``input_norm``); training jobs carry the key only when it differs, so their ids stay stable
DEFAULT_INPUT_NORM = "feature"


@dataclass
class TrainedNet:
    """A trained network and its metrics (accuracy on held-out data, fidelity to the seed)."""

    model: Any
    metrics: dict[str, float]


def accuracy(model: Any, X: np.ndarray, y: np.ndarray) -> float:
    """Share of rows of ``X`` classified as ``y``."""
    from autospec_cli.models.train import predict

    return float(np.mean(predict(model, X).argmax(axis=1) == np.asarray(y)))


def train_seed(spec: NetSpec, data: SeedData, *, epochs: int = 30, seed: int = 0,
               lr: float = 1e-3, batch: int = 64) -> TrainedNet:
    """Train a seed classifier on ``data`` (cross-entropy, best validation epoch kept)."""
    import torch

    from autospec_cli.models.train import train_model

    model = spec.build(seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny nets: one thread is fastest, and fair to other workers
    try:
        res = train_model(model, (data.X_train, data.y_train), task="classification",
                          epochs=epochs, lr=lr, batch_size=batch, tol=0.0, seed=seed)
    finally:
        torch.set_num_threads(threads)
    return TrainedNet(res.model, {"test_accuracy": accuracy(res.model, data.X_test, data.y_test),
                                  "best_epoch": float(res.best_epoch)})


def load_teacher(path: str | os.PathLike[str]) -> Any:
    """The seed ONNX network as a torch module (eval mode)."""
    from autospec_cli.models.onnx_to_torch import load_onnx_as_torch

    return load_onnx_as_torch(path).eval()


def distill(teacher: Any, spec: NetSpec, data: SeedData, *, ids: float = 1.0, seed: int = 0,
            epochs: int = 10, lr: float = 1e-3, batch: int = 64,
            val_fraction: float = 0.2, input_norm: str = DEFAULT_INPUT_NORM) -> TrainedNet:
    """Train the student ``spec`` to match ``teacher``'s outputs (module doc); ``input_norm``
    is the student's input standardisation (``train_model``'s)."""
    from autospec_cli.models.train import predict, train_model

    targets = predict(teacher, data.X_train)
    xs = map_inputs(data.X_train, data.input_shape, spec.input_shape, ids)
    student = spec.build(seed)
    res = train_model(student, (xs, targets), task="regression", epochs=epochs, lr=lr,
                      batch_size=batch, tol=0.0, seed=seed, val_fraction=val_fraction,
                      keep_best=True, input_norm=input_norm)
    xt = map_inputs(data.X_test, data.input_shape, spec.input_shape, ids)
    teacher_test = predict(teacher, data.X_test).argmax(axis=1)
    student_test = predict(res.model, xt).argmax(axis=1)
    metrics = {
        "test_accuracy": float(np.mean(student_test == data.y_test)),
        "teacher_accuracy": float(np.mean(teacher_test == data.y_test)),
        "fidelity": float(np.mean(student_test == teacher_test)),
        "best_epoch": float(res.best_epoch),
        "val_mse": float(res.metrics.get("val_mse", float("nan"))),
        "epochs": float(len(res.history)),
    }
    return TrainedNet(res.model, metrics)


def export_net(model: Any, spec: NetSpec, path: str | os.PathLike[str],
               sample: np.ndarray) -> Path:
    """Export a trained network to ONNX (checked against onnxruntime on ``sample`` rows)."""
    from autospec_cli.models.onnx_export import export_onnx

    shape = spec.input_shape if spec.convs else (spec.n_inputs,)
    x = np.asarray(sample, dtype=np.float32).reshape(len(sample), *shape)
    return export_onnx(model, shape, path, force=True, sample_inputs=x)
