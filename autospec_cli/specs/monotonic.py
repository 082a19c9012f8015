"""Pairs of points and monotonicity: what ``--algo monotonic`` mines and how it is scored.

Two points are *comparable* when ``x <= x'`` componentwise and ``x != x'`` (every input at
least as large, one larger). Within a box, a comparable pair *agrees* with ``increasing`` when
``y' >= y`` and with ``decreasing`` when ``y' <= y`` (an equal target agrees with both).

The pair metric of a monotonicity spec on some data (the generation fold when mining, the
evaluation fold when scoring) is its **pair agreement**: the share of the comparable pairs of
points inside its box that agree with its direction. Boxes with many points use a seeded
random sample of ``max_pairs`` ordered pairs instead of all of them; the pooled agreement of a
spec set is the sum of agreeing pairs over the sum of comparable pairs of all its specs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from autospec_cli.specs.model import SpecSet

DEFAULT_MAX_PAIRS = 20_000


@dataclass(frozen=True)
class PairCounts:
    """Comparable pairs in a box and how many agree with each direction."""

    comparable: int
    increasing: int
    decreasing: int

    def agreeing(self, direction: str) -> int:
        return self.increasing if direction == "increasing" else self.decreasing

    def agreement(self, direction: str) -> float:
        """Share of comparable pairs agreeing with ``direction`` (0 when there is none)."""
        return self.agreeing(direction) / self.comparable if self.comparable else 0.0


def pair_counts(X: np.ndarray, y: np.ndarray, *, max_pairs: int = DEFAULT_MAX_PAIRS,
                seed: int = 0) -> PairCounts:
    """Count comparable pairs of the rows of ``X`` (all of them, or ``max_pairs`` sampled)."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n = X.shape[0]
    if n < 2:
        return PairCounts(0, 0, 0)
    if n * (n - 1) // 2 <= max_pairs:
        i, j = np.triu_indices(n, k=1)
    else:
        rng = np.random.default_rng(seed)
        i = rng.integers(0, n, size=max_pairs)
        j = rng.integers(0, n, size=max_pairs)
        keep = i != j
        i, j = i[keep], j[keep]
    up = np.all(X[i] <= X[j], axis=1)      # x_i <= x_j
    down = np.all(X[j] <= X[i], axis=1)    # x_j <= x_i
    same = up & down
    lo_idx = np.where(up, i, j)[(up | down) & ~same]
    hi_idx = np.where(up, j, i)[(up | down) & ~same]
    dy = y[hi_idx] - y[lo_idx]
    return PairCounts(int(dy.size), int(np.sum(dy >= 0)), int(np.sum(dy <= 0)))


def evaluate_monotonic(specset: SpecSet, X: np.ndarray, y: np.ndarray, *,
                       max_pairs: int = DEFAULT_MAX_PAIRS, seed: int = 0) -> dict[str, Any]:
    """The pair metric of every monotonicity spec on ``X, y`` and their pooled agreement."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    rows, comparable, agreeing = [], 0, 0
    for k, spec in enumerate(specset.specs):
        inside = spec.contains(X)
        c = pair_counts(X[inside], y[inside], max_pairs=max_pairs, seed=seed + k)
        direction = str(spec.direction)
        comparable += c.comparable
        agreeing += c.agreeing(direction)
        rows.append({"id": spec.id, "direction": direction, "points": int(inside.sum()),
                     "comparable_pairs": c.comparable, "agreeing_pairs": c.agreeing(direction),
                     "agreement": c.agreement(direction)})
    return {"specs": rows, "comparable_pairs": comparable, "agreeing_pairs": agreeing,
            "agreement": agreeing / comparable if comparable else 0.0,
            "n_specs": len(specset.specs), "metric": "pair agreement"}
