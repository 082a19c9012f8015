"""The in-memory dataset every part of the pipeline passes around, and its NPZ form."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from autospec_cli.errors import InputError
from autospec_cli.io import atomic_path, sha256_arrays

Task = Literal["classification", "regression"]
TASKS: tuple[str, ...] = ("classification", "regression")


@dataclass
class Dataset:
    """Features ``X`` (n, d) float64 and targets ``y`` (n,).

    For classification ``y`` holds int64 class indices into ``classes`` (names);
    for regression ``y`` is float64. ``groups`` (optional, (n,) int) says which source a row
    came from (e.g. the trace file of a throughput window) so splits can respect it.
    """

    X: np.ndarray
    y: np.ndarray
    features: list[str]
    task: Task
    name: str = ""
    classes: list[str] | None = None
    groups: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.X = np.asarray(self.X, dtype=np.float64)
        if self.X.ndim != 2:
            raise InputError(
                f"dataset {self.name!r}: features must be a 2-D table, got shape {self.X.shape}"
            )
        self.y = np.asarray(self.y, dtype=np.int64 if self.task == "classification" else np.float64)
        if self.y.shape != (self.X.shape[0],):
            raise InputError(
                f"dataset {self.name!r}: {self.X.shape[0]} rows of features "
                f"but {self.y.shape} targets"
            )
        if len(self.features) != self.X.shape[1]:
            raise InputError(
                f"dataset {self.name!r}: {self.X.shape[1]} feature columns "
                f"but {len(self.features)} names"
            )
        if self.task not in TASKS:
            raise InputError(f"unknown task {self.task!r}; use classification or regression")

    @property
    def n(self) -> int:
        return int(self.X.shape[0])

    @property
    def d(self) -> int:
        return int(self.X.shape[1])

    def sha256(self) -> str:
        return sha256_arrays(self.X, self.y)

    def require_classes(self, purpose: str) -> None:
        """Refuse a classification dataset whose rows hold fewer than two classes.

        A one-class "classifier" (one output, every spec the same label) is accepted by the
        arithmetic and meaningless to the user, so ``purpose`` (``"training"``, ...) fails
        here with the class it found. Regression datasets pass.
        """
        if self.task != "classification":
            return
        present = np.unique(self.y)
        if present.size >= 2:
            return
        if present.size == 0:
            raise InputError(f"dataset {self.name!r} has no rows; {purpose} needs data")
        code = int(present[0])
        name = self.classes[code] if self.classes and 0 <= code < len(self.classes) else code
        raise InputError(
            f"dataset {self.name!r} holds one class only ({name!r} in all {self.n} rows); "
            f"{purpose} needs at least two classes (check the label column, or use "
            "task regression for a numeric target)", param="label")

    def subset(self, idx: np.ndarray, name: str | None = None) -> Dataset:
        return Dataset(
            X=self.X[idx],
            y=self.y[idx],
            features=list(self.features),
            task=self.task,
            name=name if name is not None else self.name,
            classes=self.classes,
            groups=None if self.groups is None else self.groups[idx],
            meta=dict(self.meta),
        )

    def save_npz(self, path: str | os.PathLike[str], *, force: bool = False) -> Path:
        """Write the dataset as NPZ (atomically); ``load_npz`` reads it back exactly."""
        arrays: dict[str, Any] = {
            "X": self.X,
            "y": self.y,
            "features": np.array(self.features, dtype=str),
            "task": np.array(self.task),
            "name": np.array(self.name),
        }
        if self.classes is not None:
            arrays["classes"] = np.array(self.classes, dtype=str)
        if self.groups is not None:
            arrays["groups"] = self.groups
        if self.meta.get("target_bins"):  # labelled targets: which interval each class is
            arrays["target_bin_edges"] = np.asarray(self.meta["target_bins"]["edges"], float)
        if self.meta.get("feature_kinds"):  # integer / one-hot features (data.kinds), as JSON
            arrays["feature_kinds"] = np.array(json.dumps(self.meta["feature_kinds"]))
        with atomic_path(path, force=force) as tmp:
            with open(tmp, "wb") as fh:
                np.savez_compressed(fh, **arrays)
        return Path(path)
