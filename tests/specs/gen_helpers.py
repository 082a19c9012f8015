"""Small synthetic datasets for the generator tests (built inline, no loader involved)."""

from __future__ import annotations

import numpy as np

from autospec_cli.data.dataset import Dataset


def spiral(n_per_class: int = 60, n_classes: int = 3, seed: int = 0) -> Dataset:
    """The cs231n spiral: ``n_classes`` interleaved arms in 2-D (classification)."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for c in range(n_classes):
        r = np.linspace(0.0, 1.0, n_per_class)
        t = np.linspace(c * 4.0, (c + 1) * 4.0, n_per_class) + rng.normal(0, 0.2, n_per_class)
        xs.append(np.c_[r * np.sin(t), r * np.cos(t)])
        ys.append(np.full(n_per_class, c))
    return Dataset(X=np.concatenate(xs), y=np.concatenate(ys), features=["x0", "x1"],
                   task="classification", name="spiral",
                   classes=[f"arm{c}" for c in range(n_classes)])


def throughput_windows(n: int = 300, k: int = 4, seed: int = 0) -> Dataset:
    """Windows of a positive random-walk series: k past values -> next value (regression)."""
    rng = np.random.default_rng(seed)
    series = np.abs(np.cumsum(rng.normal(0, 1e5, n + k)) + 2e6)
    X = np.lib.stride_tricks.sliding_window_view(series[:-1], k).copy()
    return Dataset(X=X, y=series[k:].copy(), task="regression", name="walk",
                   features=[f"ul_brate[t-{i}]" for i in range(k, 0, -1)])


def blobs(n: int = 240, d: int = 3, seed: int = 0) -> Dataset:
    """Gaussian blobs with integer-valued and constant columns mixed in (classification)."""
    from sklearn.datasets import make_blobs

    X, y = make_blobs(n_samples=n, n_features=d, centers=4, random_state=seed)
    X = np.c_[X, np.round(X[:, 0]), np.full(n, 7.0)]
    return Dataset(X=X, y=y, features=[f"f{j}" for j in range(X.shape[1])],
                   task="classification", name="blobs", classes=list("abcd"))


def count_containing(specs: list, X: np.ndarray) -> np.ndarray:
    """How many specification boxes contain each row of ``X``."""
    counts = np.zeros(X.shape[0], dtype=np.int64)
    for s in specs:
        counts += s.contains(X)
    return counts
