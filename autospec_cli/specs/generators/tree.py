"""Decision-tree generation (AutoSpec Algorithm 2): one specification per leaf.

A CART tree (Gini for classification, squared error for regression) is fitted to the
generation points; a depth-first walk from the root collects each leaf's box from the
thresholds on its path: the left branch is ``x_f <= t`` and the right branch ``x_f > t``.
Boxes are closed, so the right side's lower bound is written ``nextafter(t, +inf)``, the
smallest float above ``t``; sides no split bounds are -inf / +inf. The leaf boxes therefore
*partition* the whole input space: every point (inside the data range or not, on a threshold
or not) lies in exactly one leaf box. A leaf whose path contradicts itself (an empty box) is
dropped; it contains no point.

The output constraint is Algorithm 1 on the generation points inside each leaf box (found by
walking the tree with the same float64 comparisons the boxes use), not the tree's own
prediction. scikit-learn fits on float32 copies of the features, so in rare boundary cases
a point's float32 and float64 sides of a threshold differ; a leaf left without float64
members then takes the points scikit-learn put there, so no specification is without support.

``method``: ``"exact"`` is scikit-learn's ``DecisionTreeClassifier`` / ``Regressor`` (best
splitter; ``random_state`` breaks ties between equally good features); ``"hist"`` is the
histogram builder in :mod:`.histtree` (the same criterion over at most ``max_bins - 1``
thresholds per feature; about ten times faster on a million points); ``"auto"`` (default)
uses exact up to ``AUTO_EXACT_CELLS`` feature values (``n * d``) and hist above.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from autospec_cli.errors import InputError
from autospec_cli.params import param
from autospec_cli.specs.generators.base import Boxes, SpecGenerator, check_int, check_seed
from autospec_cli.specs.generators.histtree import TreeArrays, grow_hist_tree

AUTO_EXACT_CELLS = 4_000_000
METHODS = ("auto", "exact", "hist")


@dataclass(kw_only=True, eq=False)
class TreeGenerator(SpecGenerator):
    """A CART tree of depth ``max_depth``; one box per leaf (the leaves partition R^d)."""

    name = "tree"
    requires = ("sklearn.tree",)
    max_depth: int = param(10, "maximum depth", min=1)
    min_samples_leaf: int = param(
        5, "minimum generation points per leaf, at most their number")
    method: str = param(
        "auto", "scikit-learn's exact CART, the histogram builder, or chosen by data size",
        choices=METHODS)
    max_bins: int = param(255, "thresholds per feature of the histogram builder, plus one",
                          min=2, max=65536)
    random_state: int | None = param(
        0, "random seed (none: unseeded); the CLI's default is the global --seed",
        type=int, optional=True)

    def _validate(self, n: int, d: int) -> None:
        self._check_declared("max_depth")
        check_int("min_samples_leaf", self.min_samples_leaf, 1, n,
                  why=" (at most the number of generation points)")
        self._check_declared("method", "max_bins")
        check_seed(self.random_state)

    def resolved_method(self, n: int, d: int) -> str:
        """The builder ``method`` selects for ``n`` points of ``d`` features."""
        if self.method != "auto":
            return str(self.method)
        return "exact" if n * d <= AUTO_EXACT_CELLS else "hist"

    def _boxes(self, X: np.ndarray, y: np.ndarray, task: str, features: list[str] | None) -> Boxes:
        self.method_ = self.resolved_method(*X.shape)
        sk_leaf = None
        if self.method_ == "exact":
            tree, sk_leaf = _fit_sklearn(X, y, task, self)
        else:
            tree = grow_hist_tree(
                X, y, task=task, max_depth=int(self.max_depth),
                min_samples_leaf=int(self.min_samples_leaf), max_bins=int(self.max_bins),
                seed=self.random_state,
            )
        self.tree_ = tree
        leaves, lo, hi = leaf_boxes(tree, X.shape[1])
        pos = np.full(tree.feature.size, -1, dtype=np.int64)
        pos[leaves] = np.arange(leaves.size)
        assign = pos[apply_tree(tree, X)]
        owner, member = _with_fallback(assign, pos, sk_leaf)
        return Boxes(lo=lo, hi=hi, owner=owner, member=member)


def _fit_sklearn(
    X: np.ndarray, y: np.ndarray, task: str, gen: TreeGenerator
) -> tuple[TreeArrays, np.ndarray]:
    """scikit-learn's exact tree as :class:`TreeArrays`, and its own leaf of every point."""
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    cls = DecisionTreeClassifier if task == "classification" else DecisionTreeRegressor
    model = cls(max_depth=int(gen.max_depth), min_samples_leaf=int(gen.min_samples_leaf),
                random_state=gen.random_state)
    X32 = X.astype(np.float32)
    if not np.all(np.isfinite(X32)):
        raise InputError("feature values beyond the float32 range (|x| > 3.4e38); rescale them "
                         "or use method='hist'")
    model.fit(X32, y)
    t = model.tree_
    leaf = t.children_left < 0
    tree = TreeArrays(
        feature=np.where(leaf, -1, t.feature).astype(np.int64),
        threshold=t.threshold.astype(np.float64),
        left=t.children_left.astype(np.int64), right=t.children_right.astype(np.int64),
    )
    return tree, model.apply(X32).astype(np.int64)


def leaf_boxes(tree: TreeArrays, d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Depth-first, left before right: leaf node ids and their closed boxes ``lo, hi``."""
    leaves, los, his = [], [], []
    stack = [(0, np.full(d, -np.inf), np.full(d, np.inf))]
    while stack:
        node, lo, hi = stack.pop()
        f = int(tree.feature[node])
        if f < 0:
            if np.all(lo <= hi):
                leaves.append(node)
                los.append(lo)
                his.append(hi)
            continue
        t = float(tree.threshold[node])
        r_lo, l_hi = lo.copy(), hi.copy()
        r_lo[f] = max(lo[f], np.nextafter(t, np.inf))
        l_hi[f] = min(hi[f], t)
        stack.append((int(tree.right[node]), r_lo, hi))
        stack.append((int(tree.left[node]), lo, l_hi))
    if not leaves:
        return np.empty(0, dtype=np.int64), np.empty((0, d)), np.empty((0, d))
    return np.array(leaves, dtype=np.int64), np.stack(los), np.stack(his)


def apply_tree(tree: TreeArrays, X: np.ndarray) -> np.ndarray:
    """The leaf node of every row of ``X`` (float64 comparisons ``x <= threshold``)."""
    node = np.zeros(X.shape[0], dtype=np.int64)
    while True:
        f = tree.feature[node]
        idx = np.flatnonzero(f >= 0)
        if idx.size == 0:
            return node
        at = node[idx]
        go_left = X[idx, f[idx]] <= tree.threshold[at]
        node[idx] = np.where(go_left, tree.left[at], tree.right[at])


def _with_fallback(
    assign: np.ndarray, pos: np.ndarray, sk_leaf: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Members by float64 walk; leaves left empty take the points scikit-learn put there."""
    member = np.flatnonzero(assign >= 0)
    owner = assign[member]
    m = int(pos.max()) + 1 if pos.size else 0
    empty = np.flatnonzero(np.bincount(owner, minlength=m) == 0)
    if empty.size == 0 or sk_leaf is None:
        return owner, member
    sk_pos = pos[sk_leaf]
    extra = np.flatnonzero(np.isin(sk_pos, empty))
    return np.concatenate([owner, sk_pos[extra]]), np.concatenate([member, extra])
