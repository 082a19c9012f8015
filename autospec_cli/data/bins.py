"""Labelled (binned) targets: a regression target cut into ordered classes of equal width.

AutoSpec compares human and generated throughput specifications in a *labelled* setting
(§5.2): the throughput is cut into ten intervals of its maximum (label 0 = 0-10 %, label 1 =
10-20 %, ...) and every specification names one interval. :func:`bin_dataset` turns any
regression dataset into that form:

- ``n`` bins of equal width over ``[0, max]`` when the target is never negative (throughput),
  else over ``[min, max]``. Edges ``e_0 < ... < e_n``; bin ``i`` is ``[e_i, e_{i+1})``, the
  last one closed, so every target value of the dataset falls in exactly one bin.
- The dataset becomes a classification dataset whose class ``i`` is named by its interval
  (``[0, 1.2e+05)``), so tables, plots and reports name bins by interval; the edges travel in
  ``meta["target_bins"]`` (and in the NPZ form, and in every spec set mined from it), so that
  evaluation and export know which interval each label stands for.
- Values outside ``[e_0, e_n]`` (data binned with edges taken from other data) go to the
  nearest end bin; :func:`bin_indices` reports how many did.

Bin before splitting: a generation and an evaluation fold binned separately would give one
label two meanings. ``data split --target-bins`` and the demo do that.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autospec_cli.data.dataset import Dataset
from autospec_cli.errors import ConfigError, InputError

MAX_BINS = 10_000
META_KEY = "target_bins"


def check_n_bins(n: Any) -> int:
    """The number of bins: an integer from 2 to :data:`MAX_BINS`."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 2 <= n <= MAX_BINS:
        raise ConfigError(f"target_bins must be an integer from 2 to {MAX_BINS}, got {n!r}",
                          param="target_bins")
    return int(n)


def bin_edges(y: np.ndarray, n: int) -> np.ndarray:
    """``n + 1`` equal-width edges over ``[0, max]`` (``[min, max]`` if some value is < 0)."""
    n = check_n_bins(n)
    y = np.asarray(y, dtype=np.float64)
    if y.size == 0 or not np.all(np.isfinite(y)):
        raise InputError("cannot bin an empty or non-finite target; drop those rows first")
    lo, hi = min(0.0, float(y.min())), float(y.max())
    if not hi > lo:
        raise InputError(f"the target is constant ({hi:g}); it cannot be cut into bins",
                         param="target_bins")
    return np.linspace(lo, hi, n + 1)


def check_edges(edges: Any) -> np.ndarray:
    """Edges as a strictly increasing finite float array of at least 3 values."""
    try:
        e = np.asarray(edges, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"bin edges must be numbers, got {edges!r}") from None
    if e.ndim != 1 or e.size < 3 or not np.all(np.isfinite(e)) or np.any(np.diff(e) <= 0):
        raise InputError("bin edges must be at least 3 finite, strictly increasing numbers")
    return e


def bin_indices(y: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, int]:
    """The bin of every value (int64), and how many values lay outside the edges."""
    e = check_edges(edges)
    y = np.asarray(y, dtype=np.float64)
    idx = np.searchsorted(e, y, side="right") - 1
    outside = int(np.count_nonzero((y < e[0]) | (y > e[-1])))
    return np.clip(idx, 0, e.size - 2).astype(np.int64), outside


def bin_names(edges: np.ndarray) -> list[str]:
    """``[lo, hi)`` per bin (the last one ``[lo, hi]``), with 6 significant digits."""
    e = check_edges(edges)
    last = e.size - 2
    return [f"[{e[i]:.6g}, {e[i + 1]:.6g}{']' if i == last else ')'}" for i in range(e.size - 1)]


def bin_interval(edges: np.ndarray, label: int) -> tuple[float, float]:
    """The interval ``(e_label, e_label+1)`` that class ``label`` stands for."""
    e = check_edges(edges)
    if not 0 <= int(label) < e.size - 1:
        raise InputError(f"label {label} is not a bin of these {e.size - 1} bins")
    return float(e[label]), float(e[label + 1])


def dataset_edges(ds: Dataset) -> np.ndarray | None:
    """The bin edges of a binned dataset, else None."""
    info = ds.meta.get(META_KEY)
    return None if not info else check_edges(info["edges"])


def bin_dataset(ds: Dataset, n: int | None = None, *, edges: Any = None) -> Dataset:
    """A classification copy of regression ``ds`` with its target cut into bins.

    Give ``n`` (equal-width bins over the data, see the module notes) or ``edges`` (bins
    taken from elsewhere, e.g. a spec set). A dataset already binned with the same bins is
    returned unchanged; one binned otherwise, or a classification dataset, is refused.
    """
    if (n is None) == (edges is None):
        raise ConfigError("give either a number of bins or bin edges", param="target_bins")
    have = dataset_edges(ds)
    if have is not None:
        want_n = (len(check_edges(edges)) - 1) if edges is not None else check_n_bins(n)
        if have.size - 1 == want_n and (edges is None or np.array_equal(have, edges)):
            return ds
        raise InputError(f"{ds.name or 'the dataset'} is already binned into {have.size - 1} "
                         "other bins; bin the regression data once", param="target_bins")
    if ds.task != "regression":
        raise InputError(f"{ds.name or 'the dataset'} is a classification dataset; only a "
                         "regression target can be cut into bins", param="target_bins")
    e = bin_edges(ds.y, n) if edges is None else check_edges(edges)  # type: ignore[arg-type]
    labels, outside = bin_indices(ds.y, e)
    meta = dict(ds.meta)
    meta[META_KEY] = {"edges": e.tolist(), "n": int(e.size - 1), "outside": outside}
    return Dataset(X=ds.X, y=labels, features=list(ds.features), task="classification",
                   name=ds.name, classes=bin_names(e), groups=ds.groups, meta=meta)

