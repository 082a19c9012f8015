"""Monotonicity specifications mined from regression data (``--algo monotonic``).

The generation points are partitioned by a shallow CART regression tree (depth
``max_depth``, at least ``min_samples_leaf`` points per leaf). In each leaf, the box is the
bounding box of the leaf's points (where the data supports a claim, always finite), and the
comparable pairs of its points (``x <= x'`` componentwise, :mod:`autospec_cli.specs.monotonic`)
are counted: the direction (``increasing``: ``y' >= y``; ``decreasing``: ``y' <= y``) is the
one more of them agree with, and the leaf becomes a spec when at least ``min_pairs`` pairs are
comparable and the share agreeing is at least ``threshold``. The spec says "if every input is
at least as large, the prediction is at least as large" (or at most as large) inside its box;
its purity is that share and its confidence the Wilson lower bound over the pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from autospec_cli.params import param
from autospec_cli.specs.generators.base import (
    Boxes,
    SpecGenerator,
    check_float,
    check_int,
    check_seed,
)
from autospec_cli.specs.generators.tree import TreeGenerator
from autospec_cli.specs.monotonic import DEFAULT_MAX_PAIRS, pair_counts


@dataclass(kw_only=True, eq=False)
class MonotonicGenerator(SpecGenerator):
    """Leaves of a shallow regression tree where the target is monotone in the data."""

    name = "monotonic"
    tasks = ("regression",)
    requires = ("sklearn.tree",)
    max_depth: int = param(2, "depth of the tree whose leaves are the candidate boxes", min=1)
    min_samples_leaf: int = param(20, "minimum generation points per leaf", min=2)
    threshold: float = param(0.8, "minimum share of comparable pairs agreeing with the "
                             "direction", min=0.5, max=1.0)
    min_pairs: int = param(10, "minimum comparable pairs in a box", min=1)
    max_pairs: int = param(DEFAULT_MAX_PAIRS, "pairs sampled per box (all when fewer)", min=1)
    random_state: int | None = param(
        0, "random seed (none: unseeded); the CLI's default is the global --seed",
        type=int, optional=True)

    def _validate(self, n: int, d: int) -> None:
        self._check_declared("max_depth", "min_pairs", "max_pairs")
        check_int("min_samples_leaf", self.min_samples_leaf, 2, max(n, 2),
                  why=" (at most the number of generation points)")
        check_float("threshold", self.threshold, 0.5, 1.0)
        check_seed(self.random_state)

    def _boxes(self, X: np.ndarray, y: np.ndarray, task: str, features: list[str] | None) -> Boxes:
        tree = TreeGenerator(max_depth=self.max_depth, min_samples_leaf=self.min_samples_leaf,
                             random_state=self.random_state)
        tree.fit(X, y, task=task, features=features)
        seed = 0 if self.random_state is None else int(self.random_state)
        los, his, dirs, agree, comp, members = [], [], [], [], [], []
        for k, spec in enumerate(tree.specs_):
            idx = np.flatnonzero(spec.contains(X))
            c = pair_counts(X[idx], y[idx], max_pairs=int(self.max_pairs), seed=seed + k)
            direction = "increasing" if c.increasing >= c.decreasing else "decreasing"
            if c.comparable < self.min_pairs or c.agreement(direction) < self.threshold:
                continue
            los.append(X[idx].min(axis=0))
            his.append(X[idx].max(axis=0))
            dirs.append(direction)
            agree.append(c.agreeing(direction))
            comp.append(c.comparable)
            members.append(idx)
        d = X.shape[1]
        owner = np.concatenate([np.full(m.size, i) for i, m in enumerate(members)]
                               ) if members else np.zeros(0, np.int64)
        member = np.concatenate(members) if members else np.zeros(0, np.int64)
        return Boxes(
            lo=np.array(los).reshape(-1, d), hi=np.array(his).reshape(-1, d),
            owner=owner.astype(np.int64), member=member.astype(np.int64), direction=dirs,
            agreeing=np.array(agree, np.int64), comparable=np.array(comp, np.int64))
