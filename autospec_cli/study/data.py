"""The study's data: image datasets split per class as the published code does, saved once.

The published MNIST code draws, with a fixed seed, 2500 training, 500 validation and 500 test
images per class from the training file, and verifies images of the separate test file.
:func:`prepare_data` does the same for any image source: ``train``/``val``/``test`` are per
class counts (ints) or fractions of each class (floats), drawn with ``split_seed``
independently of the model seeds. The verification pool is the source's test file when it has
one (``verify_from="auto"`` or ``"test-file"``), else the held-out test split
(``"test-split"``, the only choice for the 8x8 scikit-learn digits), always in file order.

Pixels are divided by ``scale`` (default: the largest value in the data, 255 for MNIST, 16 for
digits) so models take inputs in ``[0, 1]`` and an L-inf radius ``3/255`` means 3/255 of the
data range. The prepared arrays are written once to ``data.npz`` in the study folder (uint8
when the values are bytes) and every training job reads that file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from autospec_cli.data.idx import load_image_arrays
from autospec_cli.data.loaders import detect_format, load_dataset
from autospec_cli.errors import ConfigError, InputError
from autospec_cli.io import atomic_path

VERIFY_FROM: tuple[str, ...] = ("auto", "test-file", "test-split")
SPLITS: tuple[str, ...] = ("train", "val", "test", "pool")


@dataclass
class StudyData:
    """Split images ``(n, C, H, W)`` in raw units (divide by ``scale`` for model inputs)."""

    arrays: dict[str, tuple[np.ndarray, np.ndarray]]  # split -> (X raw, y)
    pool_index: np.ndarray  # position of each pool image in its source file
    input_shape: tuple[int, int, int]
    n_classes: int
    scale: float
    pool_source: str  # "test-file" or "test-split"

    def inputs(self, split: str) -> np.ndarray:
        """Model inputs of a split: float32 ``(n, C, H, W)`` in ``[0, 1]``."""
        return (self.arrays[split][0].astype(np.float32) / np.float32(self.scale))

    def labels(self, split: str) -> np.ndarray:
        return self.arrays[split][1]

    def counts(self) -> dict[str, int]:
        return {k: int(len(v[1])) for k, v in self.arrays.items()}

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write ``data.npz`` atomically (replacing an older one)."""
        out: dict[str, Any] = {"input_shape": np.array(self.input_shape),
                               "n_classes": np.array(self.n_classes),
                               "scale": np.array(self.scale), "pool_index": self.pool_index,
                               "pool_source": np.array(self.pool_source)}
        for split, (X, y) in self.arrays.items():
            out[f"X_{split}"], out[f"y_{split}"] = _compact(X), y.astype(np.int64)
        with atomic_path(path, force=True) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, **out)
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> StudyData:
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {s: (z[f"X_{s}"], z[f"y_{s}"]) for s in SPLITS}
                shape = tuple(int(v) for v in z["input_shape"])
                if len(shape) != 3:  # save() writes C,H,W
                    raise ValueError(f"input_shape {shape} is not C,H,W")
                return cls(arrays, z["pool_index"], shape,
                           int(z["n_classes"]), float(z["scale"]), str(z["pool_source"]))
        except (OSError, KeyError, ValueError) as e:
            raise InputError(f"{path}: not a study data file ({e}); run `autospec study run` "
                             "again to rebuild it") from None


def _compact(X: np.ndarray) -> np.ndarray:
    if X.dtype == np.uint8:
        return X
    if np.all(np.mod(X, 1) == 0) and X.min() >= 0 and X.max() <= 255:
        return X.astype(np.uint8)
    return X.astype(np.float32)


def _images(X: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    return X.reshape(len(X), *shape)


def load_source(source: str, input_shape: tuple[int, ...] | None = None
                ) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], tuple[int, int, int]]:
    """``({"train": (X, y)[, "test": (X, y)]}, (C, H, W))`` for an image source."""
    if detect_format(source) == "idx":
        arrays = load_image_arrays(source)
        shape = _shape3(input_shape or arrays.input_shape, source)
        return {k: (_images(X, shape), y) for k, (X, y) in arrays.parts.items()}, shape

    ds = load_dataset(source)
    if ds.task != "classification":
        raise InputError(f"{source}: the study needs a classification dataset")
    from autospec_cli.models.arch import infer_image_shape

    shape = _shape3(input_shape or ds.meta.get("input_shape") or infer_image_shape(ds.d), source)
    return {"train": (_images(ds.X, shape), ds.y)}, shape


def _shape3(shape: Any, source: str) -> tuple[int, int, int]:
    s = tuple(int(v) for v in shape)
    if len(s) == 2:
        s = (1, *s)
    if len(s) != 3:
        raise ConfigError(f"{source}: images must be C,H,W (got shape {s}); set data.input_shape")
    return s


def _take(count: float | int, n: int, what: str) -> int:
    """A per-class count: an int, or a float in (0, 1] as a fraction of the class."""
    if isinstance(count, bool) or not count > 0:
        raise ConfigError(f"data.{what} = {count!r}: give a positive count or a fraction")
    if isinstance(count, float) and count <= 1.0:
        return int(np.floor(count * n))
    if float(count) != int(count):
        raise ConfigError(f"data.{what} = {count}: a count must be a whole number")
    return int(count)


def split_per_class(y: np.ndarray, train: float | int, val: float | int, test: float | int,
                    seed: int) -> dict[str, np.ndarray]:
    """Indices of each split: per class, a seeded permutation cut into train/val/test."""
    rng = np.random.default_rng(seed)
    out: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        k = [_take(v, len(idx), w) for v, w in ((train, "train"), (val, "val"), (test, "test"))]
        if sum(k) > len(idx):
            raise ConfigError(f"class {c} has {len(idx)} images; data.train+val+test asks for "
                              f"{sum(k)}; lower them")
        perm = idx[rng.permutation(len(idx))]
        out["train"].append(perm[:k[0]])
        out["val"].append(perm[k[0]:k[0] + k[1]])
        out["test"].append(perm[k[0] + k[1]:sum(k)])
    return {s: np.sort(np.concatenate(v)) for s, v in out.items()}


def prepare_data(source: str, *, train: float | int, val: float | int, test: float | int,
                 split_seed: int = 0, verify_from: str = "auto", scale: float | None = None,
                 input_shape: tuple[int, ...] | None = None) -> StudyData:
    """Load ``source`` and split it (see the module docstring)."""
    if verify_from not in VERIFY_FROM:
        raise ConfigError(f"data.verify_from must be one of {', '.join(VERIFY_FROM)}")
    parts, shape = load_source(source, input_shape)
    if "train" not in parts:
        raise InputError(f"{source}: no training images (only a test part)")
    Xtr, ytr = parts["train"]
    idx = split_per_class(ytr, train, val, test, split_seed)
    if min(len(v) for v in idx.values()) == 0:
        raise ConfigError("data.train, data.val and data.test must each select some images")
    arrays = {s: (Xtr[i], ytr[i]) for s, i in idx.items()}
    use_file = verify_from == "test-file" or (verify_from == "auto" and "test" in parts)
    if use_file and "test" not in parts:
        raise ConfigError(f"{source} has no test file; use data.verify_from = 'test-split'")
    if use_file:
        arrays["pool"], pool_index = parts["test"], np.arange(len(parts["test"][1]))
    else:
        arrays["pool"], pool_index = arrays["test"], idx["test"]
    n_classes = int(max(int(y.max()) for _, y in arrays.values())) + 1
    if scale is None:
        scale = float(max(float(np.max(X)) for X, _ in arrays.values())) or 1.0
    if scale <= 0:
        raise ConfigError(f"data.scale must be positive, got {scale}")
    return StudyData(arrays, pool_index, shape, n_classes, float(scale),
                     "test-file" if use_file else "test-split")


__all__ = ["StudyData", "load_source", "prepare_data", "split_per_class"]
