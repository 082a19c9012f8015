"""Clustering-based generation (AutoSpec Algorithm 4): one specification per k-means cluster.

The generation points are clustered with k-means (scikit-learn ``KMeans``, Lloyd, k-means++
initialisation, ``n_init`` restarts with a fixed count so results do not depend on the
scikit-learn version's ``"auto"`` rule) on the raw features, as in the paper. Each cluster's
box is the extremities of its members: the per-feature minimum and maximum. Boxes of
different clusters may overlap; every member lies in its cluster's box. When the data holds
fewer distinct points than ``k``, k-means finds fewer clusters and only the non-empty ones
become specifications.

``k`` must lie in ``[1, n]`` (at most one cluster per generation point).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from autospec_cli.params import param
from autospec_cli.specs.generators.base import Boxes, SpecGenerator, check_int, check_seed


@dataclass(kw_only=True, eq=False)
class ClusterGenerator(SpecGenerator):
    """k-means with ``k`` clusters; one box (member extremities) per non-empty cluster."""

    name = "cluster"
    requires = ("sklearn.cluster", "sklearn.exceptions")
    k: int = param(8, "number of k-means clusters, 1 to the number of generation points")
    n_init: int = param(4, "k-means runs from different centroids (the best is kept)", min=1)
    max_iter: int = param(300, "k-means iterations per run", min=1)
    random_state: int | None = param(
        0, "random seed (none: unseeded); the CLI's default is the global --seed",
        type=int, optional=True)

    def _validate(self, n: int, d: int) -> None:
        check_int("k", self.k, 1, n, why=" (at most the number of generation points)")
        self._check_declared("n_init", "max_iter")
        check_seed(self.random_state)

    def _boxes(self, X: np.ndarray, y: np.ndarray, task: str, features: list[str] | None) -> Boxes:
        labels = self._cluster(X)
        used, assign = np.unique(labels, return_inverse=True)
        assign = assign.reshape(-1)
        lo, hi = group_extremities(X, assign, used.size)
        return Boxes.from_assignment(lo, hi, assign)

    def _cluster(self, X: np.ndarray) -> np.ndarray:
        from sklearn.cluster import KMeans
        from sklearn.exceptions import ConvergenceWarning

        model = KMeans(
            n_clusters=int(self.k), n_init=int(self.n_init), max_iter=int(self.max_iter),
            random_state=self.random_state,
        )
        with warnings.catch_warnings():
            # fewer distinct points than k: fewer clusters, reported by the number of specs
            warnings.simplefilter("ignore", ConvergenceWarning)
            return model.fit_predict(X)


def group_extremities(X: np.ndarray, assign: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature min and max (m, d) of the rows of each group ``0..m-1`` (all non-empty)."""
    if m == 0:
        return np.empty((0, X.shape[1])), np.empty((0, X.shape[1]))
    order = np.argsort(assign, kind="stable")
    starts = np.searchsorted(assign[order], np.arange(m))
    rows = X[order]
    return np.minimum.reduceat(rows, starts, axis=0), np.maximum.reduceat(rows, starts, axis=0)
