"""Campaign jobs of a training-factor study (run in worker processes or on Dask workers).

- :func:`train_one`: train one model (initialiser x regulariser x seed), export it to
  ``onnx/<model>.onnx``, record its test accuracy and its onnxruntime predictions on the
  verification pool (the coordinator selects images from them).
- :func:`measure_relus`: count one model's unstable ReLUs over the input box of every
  selected image's property (a measurement, not a verdict: the verdicts come from the
  verification run's own jobs, see :mod:`.verify`).

Both take the study folder as ``params["dir"]`` (a path every worker can reach: on Dask, a
shared filesystem); training reads its ``data.npz``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from autospec_cli.models.runtime import OnnxRunner
from autospec_cli.study.data import StudyData
from autospec_cli.study.verify import property_box, unstable_relus

TRAIN_KIND = "autospec_cli.study.model_jobs:train_one"
RELU_KIND = "autospec_cli.study.model_jobs:measure_relus"


def _threads(params: dict[str, Any]) -> None:
    import torch

    torch.set_num_threads(max(1, int(params.get("threads", 1))))


def _pool_predictions(onnx_path: Path, X: np.ndarray) -> np.ndarray:
    runner = OnnxRunner(onnx_path, threads=1)
    return np.argmax(runner.run(X.reshape(len(X), -1)), axis=1)


def train_one(params: dict[str, Any]) -> dict[str, Any]:
    """Train, export and evaluate one model; see the module docstring."""
    from autospec_cli.models.onnx_export import export_onnx
    from autospec_cli.study.regularisers import regularisation
    from autospec_cli.study.training import (
        TrainingConfig,
        accuracy,
        build_model,
        train_study_model,
    )

    _threads(params)
    folder = Path(params["dir"])
    data = StudyData.load(folder / "data.npz")
    cfg = TrainingConfig.from_dict(params["training"])
    reg = regularisation(params["regulariser"], dropout=cfg.dropout,
                         weight_decay=cfg.weight_decay, jacobian_lambda=cfg.jacobian_lambda,
                         projections=cfg.jacobian_projections)
    seed = int(params["seed"])
    model = build_model(data.input_shape, data.n_classes, params["initialiser"], reg, seed, cfg)
    res = train_study_model(model, data.inputs("train"), data.labels("train"),
                            data.inputs("val"), data.labels("val"), reg, cfg, seed)
    rel = f"onnx/{params['model']}.onnx"
    export_onnx(model, data.input_shape, folder / rel, force=True,
                sample_inputs=data.inputs("test")[:32])
    pred = _pool_predictions(folder / rel, data.inputs("pool"))
    return {
        "model": params["model"], "onnx": rel, "initialiser": params["initialiser"],
        "regulariser": reg.name, "seed": seed, "regularisation": reg.to_dict(),
        "accuracy": accuracy(model, data.inputs("test"), data.labels("test")),
        "val_accuracy": accuracy(model, data.inputs("val"), data.labels("val")),
        "pool_accuracy": float(np.mean(pred == data.labels("pool"))),
        "best_epoch": res.best_epoch, "best_val_loss": res.best_val_loss,
        "train_time": res.train_time, "history": res.history,
        "pool_pred": pred.astype(int).tolist(),
    }


def measure_relus(params: dict[str, Any]) -> dict[str, Any]:
    """Count one model's unstable ReLUs over the box of each property (see the module doc)."""
    from autospec_cli.models.onnx_to_torch import load_onnx_as_torch

    _threads(params)
    folder = Path(params["dir"])
    model = load_onnx_as_torch(folder / params["onnx"], check=True).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    boxes = [property_box(folder / v) for v in params["vnnlib"]]
    lo, hi = np.stack([b[0] for b in boxes]), np.stack([b[1] for b in boxes])
    counts = unstable_relus(model, lo, hi, params["method"])
    return {"model": params["model"], "method": params["method"],
            "unstable": {v: int(n) for v, n in zip(params["vnnlib"], counts, strict=True)}}


__all__ = ["RELU_KIND", "TRAIN_KIND", "measure_relus", "train_one"]
