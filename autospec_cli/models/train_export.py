"""Train a network on a dataset and write it as ONNX with a JSON sidecar (``autospec train``).

:func:`train_to_onnx` builds the architecture (``--arch`` string, see
:mod:`autospec_cli.models.arch`), trains it with :func:`~.train.train_model` (AutoSpec §5.3
stopping rule: the epoch loss changes by at most ``tol``), exports it with
:func:`~.export.export_onnx` (checked against onnxruntime on the dataset's own rows) and
writes ``MODEL.json`` beside ``MODEL.onnx``: the architecture, the training configuration,
metrics, per-epoch history, the dataset's hash and the ONNX file's hash. Both outputs are
written atomically and checked for overwrites before training starts.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from autospec_cli.data.dataset import Dataset
from autospec_cli.errors import ConfigError, InputError, ModelError
from autospec_cli.io import atomic_write_json, check_writable, sha256_file, to_jsonable
from autospec_cli.progress import ProgressFn

SIDECAR_FORMAT = "autospec-model"
SIDECAR_VERSION = 1
#: The AutoSpec §5.3 throughput predictor: 4 inputs, hidden 10 and 5 ReLUs, 1 output.
THROUGHPUT_ARCH = "mlp:10,5"


@dataclass(frozen=True)
class TrainConfig:
    """Training options (stored in the sidecar). ``tol``: stop when the epoch training loss
    changes by at most this much (AutoSpec: 1e-3); ``epochs``: the cap."""

    arch: str = THROUGHPUT_ARCH
    epochs: int = 100
    lr: float = 1e-3
    batch_size: int = 64
    tol: float = 1e-3
    val_fraction: float = 0.1
    weight_decay: float = 0.0
    optimizer: str = "adam"
    seed: int = 0
    input_shape: tuple[int, ...] | None = None
    input_norm: str = "feature"

    def __post_init__(self) -> None:
        from autospec_cli.models.train import INPUT_NORMS

        if self.input_norm not in INPUT_NORMS:
            raise ConfigError(f"input_norm must be one of {', '.join(INPUT_NORMS)}, got "
                              f"{self.input_norm!r}", param="input_norm")


def sidecar_path(onnx_path: str | os.PathLike[str]) -> Path:
    """``model.onnx`` -> ``model.json``."""
    return Path(onnx_path).with_suffix(".json")


def n_outputs_of(ds: Dataset) -> int:
    """Logits per class for classification, one output for regression."""
    if ds.task == "regression":
        return 1
    if ds.classes:
        return len(ds.classes)
    return int(ds.y.max()) + 1 if ds.n else 0


def _input_shape(ds: Dataset, cfg: TrainConfig) -> tuple[int, ...] | None:
    if cfg.input_shape is not None:
        return tuple(cfg.input_shape)
    shape = ds.meta.get("input_shape")
    return tuple(int(v) for v in shape) if shape else None


def _dataset_record(ds: Dataset) -> dict[str, Any]:
    rec: dict[str, Any] = {"name": ds.name, "sha256": ds.sha256(), "rows": ds.n,
                           "features": list(ds.features), "task": ds.task}
    if ds.classes is not None:
        rec["classes"] = list(ds.classes)
    for key in ("source", "source_sha256"):
        if key in ds.meta:
            rec[key] = ds.meta[key]
    return rec


def _sample_rows(ds: Dataset, seed: int, n: int = 64) -> np.ndarray:
    idx = np.random.default_rng(seed).choice(ds.n, size=min(n, ds.n), replace=False)
    return ds.X[np.sort(idx)]


def train_to_onnx(
    ds: Dataset,
    out: str | os.PathLike[str],
    cfg: TrainConfig | None = None,
    *,
    force: bool = False,
    progress: ProgressFn | None = None,
    threads: int = 1,
) -> dict[str, Any]:
    """Train ``cfg.arch`` on ``ds``, write ``out`` (ONNX) and its JSON sidecar; return the
    sidecar's content plus ``"onnx"``/``"sidecar"`` paths. Raises OutputExistsError before
    training when either file exists and ``force`` is false. Training runs on ``threads``
    torch threads (one by default: see :func:`~.train.torch_threads`)."""
    from autospec_cli.models.arch import parse_arch
    from autospec_cli.models.onnx_export import export_onnx
    from autospec_cli.models.train import torch_threads, train_model

    cfg = cfg or TrainConfig()
    onnx_path, side = Path(out), sidecar_path(out)
    if onnx_path.suffix.lower() != ".onnx":
        raise ConfigError(f"the model file must end in .onnx, got {onnx_path.name!r}")
    check_writable(onnx_path, force)
    check_writable(side, force)
    if ds.n < 2:
        raise InputError(f"dataset {ds.name!r} has {ds.n} row(s); training needs at least 2")
    ds.require_classes("training a classifier")
    spec = parse_arch(cfg.arch)
    n_out = n_outputs_of(ds)
    model = spec.build(n_inputs=ds.d, n_outputs=n_out, input_shape=_input_shape(ds, cfg),
                       seed=cfg.seed)
    t0 = time.perf_counter()
    with torch_threads(threads):
        res = train_model(model, ds, epochs=cfg.epochs, lr=cfg.lr, batch_size=cfg.batch_size,
                          tol=cfg.tol, seed=cfg.seed, val_fraction=cfg.val_fraction,
                          weight_decay=cfg.weight_decay, optimizer=cfg.optimizer,
                          progress=progress, input_norm=cfg.input_norm)
    train_seconds = time.perf_counter() - t0
    bad = [name for name, w in model.state_dict().items()
           if w.is_floating_point() and not bool(w.isfinite().all())]
    if bad:
        raise ModelError(
            f"training diverged: {len(bad)} weight tensor(s) hold NaN or infinity (first: "
            f"{bad[0]}); the data's values (largest magnitude {float(np.abs(ds.X).max()):.3g}) "
            "probably need scaling, or lower the learning rate (lr)", param="lr")
    shape = tuple(int(v) for v in getattr(model, "input_shape", (ds.d,)))
    export_onnx(model, shape, onnx_path, force=force, sample_inputs=_sample_rows(ds, cfg.seed))
    record = {
        "format": SIDECAR_FORMAT, "format_version": SIDECAR_VERSION,
        "arch": str(spec), "arch_spec": spec.to_dict(), "model": model.config(),  # type: ignore[operator]
        "input_shape": list(shape), "n_inputs": ds.d, "n_outputs": n_out,
        "config": {**asdict(cfg), "input_shape": list(shape)},
        "metrics": res.metrics, "stopped": res.stopped, "epochs_run": len(res.history),
        "best_epoch": res.best_epoch, "split": res.split, "history": res.history,
        "train_seconds": round(train_seconds, 3), "dataset": _dataset_record(ds),
        "onnx_sha256": sha256_file(onnx_path),
    }
    atomic_write_json(side, to_jsonable(record), force=True)
    return {**record, "onnx": str(onnx_path), "sidecar": str(side)}
