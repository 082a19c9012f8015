"""Datasets the package carries or generates: ``builtin:spiral``, ``builtin:throughput``,
``builtin:digits``. Every generator is deterministic for a given seed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from autospec_cli.data.dataset import Dataset
from autospec_cli.data.throughput import Trace, traces_to_dataset
from autospec_cli.errors import InputError


def spiral(seed: int = 0, *, n_per_class: int = 300, n_classes: int = 3) -> Dataset:
    """The classic 3-arm spiral (cs231n): radius 0..1, angle 4 rad per arm plus N(0, 0.2) noise."""
    rng = np.random.default_rng(seed)
    X = np.zeros((n_per_class * n_classes, 2))
    y = np.zeros(n_per_class * n_classes, dtype=np.int64)
    for j in range(n_classes):
        ix = slice(n_per_class * j, n_per_class * (j + 1))
        r = np.linspace(0.0, 1.0, n_per_class)
        t = np.linspace(j * 4, (j + 1) * 4, n_per_class) + rng.standard_normal(n_per_class) * 0.2
        X[ix] = np.c_[r * np.sin(t), r * np.cos(t)]
        y[ix] = j
    return Dataset(
        X=X,
        y=y,
        features=["x0", "x1"],
        task="classification",
        name="spiral",
        classes=[str(j) for j in range(n_classes)],
        meta={"format": "builtin", "source": "builtin:spiral", "seed": seed},
    )


def synthetic_trace(rng: np.random.Generator, n: int = 600) -> Trace:
    """One synthetic base-station trace shaped like the Colosseum uplink series (bit/s).

    Piecewise levels (segments of 60-200 samples around 20-120 kbit/s), multiplicative
    gamma noise, isolated zero reports, idle stretches of zero traffic and short bursts.
    """
    ul = np.empty(n)
    ue = np.empty(n)
    i = 0
    while i < n:
        seg = int(rng.integers(60, 200))
        level = float(rng.lognormal(np.log(55_000), 0.5))
        ul[i : i + seg] = level * rng.gamma(2.0, 0.5, size=min(seg, n - i))
        ue[i : i + seg] = rng.integers(4, 13)
        i += seg
    ul[rng.random(n) < 0.06] = 0.0
    for _ in range(int(rng.integers(1, 3))):
        start, length = int(rng.integers(0, n - 40)), int(rng.integers(8, 40))
        ul[start : start + length] = 0.0
    bursts = rng.random(n) < 0.02
    ul[bursts] *= rng.uniform(3.0, 8.0, size=int(bursts.sum()))
    ul = np.round(ul, 0)
    dl = np.round(ul * rng.uniform(4.0, 12.0) + rng.gamma(2.0, 40_000.0, size=n), 0)
    time = 1.6e12 + 250.0 * np.arange(n)
    return {"time": time, "nof_ue": ue, "dl_brate": dl, "ul_brate": ul}


def throughput(
    seed: int = 0, *, window: int = 4, n_files: int = 4, nan_policy: str = "drop"
) -> Dataset:
    """Synthetic uplink-throughput regression windows over ``n_files`` traces (groups = trace)."""
    rng = np.random.default_rng(seed)
    traces = [
        (f"synthetic-{g}", synthetic_trace(rng, int(rng.integers(500, 700))))
        for g in range(n_files)
    ]
    ds = traces_to_dataset(
        traces, window=window, nan_policy=nan_policy, name="throughput", source="builtin:throughput"
    )
    ds.meta.update({"format": "builtin", "seed": seed})
    return ds


def digits(seed: int = 0) -> Dataset:
    """scikit-learn's 8x8 handwritten digits: 1797 rows, 64 features in 0..16, 10 classes."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return Dataset(
        X=bunch.data,
        y=bunch.target,
        features=list(bunch.feature_names),
        task="classification",
        name="digits",
        classes=[str(c) for c in range(10)],
        meta={"format": "builtin", "source": "builtin:digits"},
    )


BUILTINS: dict[str, Callable[..., Dataset]] = {
    "spiral": spiral,
    "throughput": throughput,
    "digits": digits,
}


def load_builtin(name: str, *, seed: int = 0, window: int = 4, nan_policy: str = "drop") -> Dataset:
    """A built-in dataset by name; an unknown name raises an :class:`InputError` listing all."""
    if name not in BUILTINS:
        raise InputError(
            f"unknown builtin dataset {name!r}; known: "
            + ", ".join(f"builtin:{n}" for n in BUILTINS)
        )
    if name == "throughput":
        return throughput(seed, window=window, nan_policy=nan_policy)
    return BUILTINS[name](seed)
