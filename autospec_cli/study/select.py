"""Choosing the images every model is verified on.

As in the paper: for each class, the first ``per_class`` images of the verification pool, in
file order, that *every* model classifies correctly (predictions from onnxruntime on the
exported files, so the verified artefact is the one judged). A class with fewer such images
contributes what it has; :attr:`Selection.short` lists those classes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autospec_cli.errors import ConfigError


@dataclass
class Selection:
    """Pool rows chosen (grouped by class, each group in file order) and how many were eligible."""

    positions: list[int]
    labels: list[int]
    per_class: int
    eligible: dict[int, int]
    short: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"positions": self.positions, "labels": self.labels, "per_class": self.per_class,
                "eligible": {str(k): v for k, v in self.eligible.items()}, "short": self.short}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Selection:
        return cls([int(v) for v in d["positions"]], [int(v) for v in d["labels"]],
                   int(d["per_class"]), {int(k): int(v) for k, v in d["eligible"].items()},
                   [int(v) for v in d.get("short", [])])


def select_images(labels: np.ndarray, predictions: Mapping[str, np.ndarray] | list[np.ndarray],
                  per_class: int, n_classes: int | None = None) -> Selection:
    """The first ``per_class`` pool rows of each class that all ``predictions`` get right."""
    labels = np.asarray(labels)
    preds = list(predictions.values()) if isinstance(predictions, Mapping) else list(predictions)
    if not preds:
        raise ConfigError("no trained model to select images with; did every training job fail?")
    ok = np.ones(len(labels), dtype=bool)
    for p in preds:
        p = np.asarray(p)
        if p.shape != labels.shape:
            raise ConfigError(f"predictions for {p.shape} images, the pool has {labels.shape}")
        ok &= p == labels
    k = int(n_classes if n_classes is not None else labels.max() + 1)
    positions: list[int] = []
    eligible: dict[int, int] = {}
    short: list[int] = []
    for c in range(k):
        rows = np.flatnonzero(ok & (labels == c))
        eligible[c] = int(len(rows))
        if len(rows) < per_class:
            short.append(c)
        positions += rows[:per_class].tolist()
    return Selection(positions, labels[positions].astype(int).tolist(), per_class, eligible, short)


__all__ = ["Selection", "select_images"]
