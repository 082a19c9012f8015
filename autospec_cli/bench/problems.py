"""GDVB inputs and properties: the ``idm``/``ids`` input maps and the ``scl``/``trn`` properties.

A transformed network reads ``ids · resize(x)``: the seed's image resized to the student's
height and width (area interpolation, a convex combination of pixels, so values stay inside
the domain) and the input domain (mean, min, max) scaled by ``ids``.

Property factors (GDVB §4.3): the robustness radius is ``scl`` × the seed radius, where the seed
radius is a fraction of the input domain's range (so it follows ``ids`` like every input
coordinate); the centre is instance ``center + trn`` of a seeded shuffle of the held-out data,
mapped like every input.
The label is the instance's true class. The ball is intersected with the student's domain
``[ids·min, ids·max]``, so a property never leaves the input domain.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from autospec_cli.data.loaders import load_dataset
from autospec_cli.errors import ConfigError
from autospec_cli.vnnlib.builders import robustness_property
from autospec_cli.vnnlib.property import Property


@dataclass(frozen=True)
class SeedData:
    """The seed problem's data: a train and a held-out test part, raw inputs (n, C·H·W)."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    input_shape: tuple[int, int, int]
    domain: tuple[float, float]  # the seed's input domain (min, max over the training data)


def split_seed_data(X: np.ndarray, y: np.ndarray, input_shape: Sequence[int], *,
                    test_fraction: float = 0.2, seed: int = 0) -> SeedData:
    """A seeded train/test split of a classification data set with image-shaped rows."""
    X = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
    shape = tuple(int(v) for v in input_shape)
    if len(shape) != 3 or int(np.prod(shape)) != X.shape[1]:
        raise ConfigError(f"input shape {shape} does not match {X.shape[1]} features per row")
    perm = np.random.default_rng(seed).permutation(len(X))
    n_test = max(1, int(round(len(X) * test_fraction)))
    te, tr = np.sort(perm[:n_test]), np.sort(perm[n_test:])
    dom = (float(X[tr].min()), float(X[tr].max()))
    return SeedData(X[tr], np.asarray(y)[tr], X[te], np.asarray(y)[te], shape, dom)


def map_inputs(X: np.ndarray, src_shape: Sequence[int], dst_shape: Sequence[int],
               ids: float) -> np.ndarray:
    """Seed inputs (n, C·H·W) to a student's: resized to ``dst_shape`` and scaled by ``ids``."""
    import torch
    from torch.nn import functional as F

    c, h, w = (int(v) for v in src_shape)
    dc, dh, dw = (int(v) for v in dst_shape)
    if dc != c:
        raise ConfigError(f"cannot map {c} input channels to {dc}")
    x = np.asarray(X, dtype=np.float64).reshape(len(X), c, h, w)
    if (dh, dw) != (h, w):
        t = torch.as_tensor(x)
        x = F.interpolate(t, size=(dh, dw), mode="area").numpy()
    return (x * float(ids)).reshape(len(X), -1)


def centre_order(n: int, seed: int) -> np.ndarray:
    """The seeded shuffle of held-out instance indices that ``trn`` levels index into."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, 7]).permutation(n)


def centre_index(trn: float, n: int, seed: int, center: int = 0) -> int:
    """The held-out instance the ``trn`` level selects: position ``center + trn`` (wrapping
    around) of the seeded shuffle."""
    k = int(round(float(trn)))
    if k < 0 or center < 0:
        raise ConfigError(f"trn level {trn:g} and the seed centre {center} must be >= 0")
    return int(centre_order(n, seed)[(int(center) + k) % n])


def make_property(data: SeedData, student_shape: Sequence[int], *, ids: float, scl: float,
                  trn: float, radius: float, seed: int, n_classes: int,
                  center: int = 0) -> tuple[Property, dict]:
    """The robustness property of one problem and its provenance (centre index, eps, label).

    ``radius`` is the seed's L-inf radius as a fraction of the seed's input domain range."""
    if not scl >= 0 or not radius >= 0:
        raise ConfigError(f"radius {radius:g} and scl level {scl:g} must be >= 0")
    idx = centre_index(trn, len(data.X_test), seed, center)
    x0 = map_inputs(data.X_test[idx:idx + 1], data.input_shape, student_shape, ids)[0]
    lo, hi = (float(ids) * v for v in data.domain)
    eps = float(scl) * float(radius) * (hi - lo)
    label = int(data.y_test[idx])
    prop = robustness_property(x0, eps, label, n_classes, lo, hi)
    return prop, {"centre_index": idx, "eps": eps, "label": label, "domain": [lo, hi]}

_DATA_CACHE: dict[tuple, SeedData] = {}


def load_seed_data(source: str, input_shape: Sequence[int], *, split_seed: int = 0,
                   test_fraction: float = 0.2) -> SeedData:
    """Load a classification data set (any ``load_dataset`` source) and split it (cached per
    process, so the jobs of one worker load it once)."""
    key = (source, tuple(int(v) for v in input_shape), int(split_seed), float(test_fraction))
    if key not in _DATA_CACHE:
        ds = load_dataset(source)
        if ds.task != "classification":
            raise ConfigError(f"GDVB seed data {source!r} must be a classification data set")
        y = np.asarray(ds.y)
        if not np.issubdtype(y.dtype, np.integer):
            y = np.unique(y, return_inverse=True)[1]
        _DATA_CACHE[key] = split_seed_data(ds.X, y, input_shape, test_fraction=test_fraction,
                                           seed=split_seed)
    return _DATA_CACHE[key]
