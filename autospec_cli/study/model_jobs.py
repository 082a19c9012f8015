"""Campaign jobs of a training-factor study (run in worker processes or on Dask workers).

- :func:`train_one`: train one model (initialiser x regulariser x seed), export it to
  ``onnx/<model>.onnx``, record its test accuracy and its onnxruntime predictions on the
  verification pool (the coordinator selects images from them).
- :func:`verify_model`: verify one model on every selected image; counterexamples go to
  ``cex/<model>.npz`` (``image``, ``x``, ``y`` arrays), verdicts and times into the result.

Both read the study folder's ``data.npz`` and take the folder as ``params["dir"]`` (a path
every worker can reach: on Dask, a shared filesystem).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

TRAIN_KIND = "autospec_cli.study.model_jobs:train_one"
VERIFY_KIND = "autospec_cli.study.model_jobs:verify_model"


def _threads(params: dict[str, Any]) -> None:
    import torch

    torch.set_num_threads(max(1, int(params.get("threads", 1))))


def _pool_predictions(onnx_path: Path, X: np.ndarray) -> np.ndarray:
    from autospec_cli.models.runtime import OnnxRunner

    runner = OnnxRunner(onnx_path, threads=1)
    return np.argmax(runner.run(X.reshape(len(X), -1)), axis=1)


def train_one(params: dict[str, Any]) -> dict[str, Any]:
    """Train, export and evaluate one model; see the module docstring."""
    from autospec_cli.models.onnx_export import export_onnx
    from autospec_cli.study.data import StudyData
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


def _save_cex(path: Path, results: list[Any]) -> int:
    from autospec_cli.io import atomic_path

    found = [r for r in results if r.cex is not None]
    if not found:
        return 0
    with atomic_path(path, force=True) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, image=np.array([r.index for r in found]),
                     label=np.array([r.label for r in found]),
                     x=np.stack([r.cex for r in found]), y=np.stack([r.cex_y for r in found]))
    return len(found)


def verify_model(params: dict[str, Any]) -> dict[str, Any]:
    """Verify one model on the selected images; see the module docstring."""
    from autospec_cli.models.onnx_to_torch import load_onnx_as_torch
    from autospec_cli.models.runtime import OnnxRunner
    from autospec_cli.study.data import StudyData
    from autospec_cli.study.verify import AttackConfig, verify_images

    _threads(params)
    folder = Path(params["dir"])
    data = StudyData.load(folder / "data.npz")
    onnx_path = folder / params["onnx"]
    domain = (float(params["domain"][0]), float(params["domain"][1]))
    n = int(np.prod(data.input_shape))
    model = load_onnx_as_torch(onnx_path, bounds=(np.full(n, domain[0]), np.full(n, domain[1])))
    for p in model.parameters():
        p.requires_grad_(False)
    runner = OnnxRunner(onnx_path, threads=1)
    pos = np.asarray(params["positions"], dtype=np.int64)  # rows of the pool
    X, y = data.inputs("pool")[pos], data.labels("pool")[pos]
    a = params["attack"]
    results = verify_images(model, runner, X, y.tolist(), data.pool_index[pos].tolist(),
                            eps=float(params["eps"]), methods=params["methods"], domain=domain,
                            batch=int(params["batch"]),
                            attack_cfg=AttackConfig(a["samples"], a["restarts"], a["steps"],
                                                    a["seed"]))
    n_cex = _save_cex(folder / "cex" / f"{params['model']}.npz", results)
    return {"model": params["model"], "instances": [r.to_dict() for r in results],
            "counterexamples": n_cex, "cex_file": f"cex/{params['model']}.npz" if n_cex else None}


__all__ = ["TRAIN_KIND", "VERIFY_KIND", "train_one", "verify_model"]
