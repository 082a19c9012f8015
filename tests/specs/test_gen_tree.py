"""Decision-tree generation: leaf boxes partition R^d, Algorithm 1 on leaf members, and the
histogram builder against scikit-learn's exact tree."""

from __future__ import annotations

import numpy as np
import pytest
from gen_helpers import count_containing, spiral, throughput_windows
from hypothesis import given, settings
from hypothesis import strategies as st

from autospec_cli.specs.generators.histtree import TreeArrays, candidate_thresholds
from autospec_cli.specs.generators.registry import get_generator
from autospec_cli.specs.generators.tree import _with_fallback, apply_tree, leaf_boxes

VALUES = st.sampled_from([-3.0, -1.0, -0.5, 0.0, 0.1, 0.2, 0.30000000000000004, 1.0, 2.5, 1e6])


def _probes(gen, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Points on, just above and just below every threshold, inside and far outside the data."""
    tree: TreeArrays = gen.tree_
    inner = np.flatnonzero(tree.feature >= 0)
    base = X[rng.integers(0, len(X), size=max(1, 4 * inner.size))].copy()
    probes = [X, rng.uniform(-1e7, 1e7, size=(50, X.shape[1])), X * 10 - 5]
    for i, node in enumerate(inner):
        f, t = tree.feature[node], tree.threshold[node]
        for j, v in enumerate((t, np.nextafter(t, np.inf), np.nextafter(t, -np.inf), t)):
            p = base[(4 * i + j) % len(base)].copy()
            p[f] = v
            probes.append(p[None, :])
    return np.concatenate(probes)


@settings(max_examples=40, deadline=None)
@given(
    data=st.lists(st.tuples(VALUES, VALUES, st.integers(0, 2)), min_size=2, max_size=60),
    depth=st.integers(1, 5), leaf=st.integers(1, 3), method=st.sampled_from(["exact", "hist"]),
    task=st.sampled_from(["classification", "regression"]),
)
def test_leaf_boxes_partition_the_whole_space(data, depth, leaf, method, task) -> None:
    X = np.array([[a, b] for a, b, _ in data])
    y = np.array([c for _, _, c in data])
    if leaf > len(data):
        return
    gen = get_generator("tree", max_depth=depth, min_samples_leaf=leaf, method=method)
    gen.fit(X, y if task == "classification" else y * 1.5, task=task)
    probes = _probes(gen, X, np.random.default_rng(0))
    assert np.all(count_containing(gen.specs_, probes) == 1)
    assert sum(s.support for s in gen.specs_) == len(X)
    assert all(s.support >= 1 for s in gen.specs_)


def test_outputs_come_from_the_generation_points_in_each_leaf() -> None:
    ds = throughput_windows(n=400)
    gen = get_generator("tree", max_depth=4, min_samples_leaf=10).fit(ds.X, ds.y, task="regression")
    for s in gen.specs_:
        members = ds.y[s.contains(ds.X)]
        assert s.support == members.size >= 10
        assert s.y_lo == pytest.approx(members.mean() - members.std(), rel=1e-12)
        assert s.y_hi == pytest.approx(members.mean() + members.std(), rel=1e-12)


def test_edge_leaves_are_unbounded() -> None:
    ds = spiral()
    specs = get_generator("tree", max_depth=3).fit(ds.X, ds.y, task="classification").specs_
    assert np.isneginf(specs[0].lo).all()  # the left-most leaf: only upper bounds
    assert np.isposinf(specs[-1].hi).all()  # the right-most leaf: only lower bounds


def test_leaf_boxes_follow_the_thresholds() -> None:
    # root: x1 <= 0.5 ; right child: x0 <= 2
    tree = TreeArrays(feature=np.array([1, -1, 0, -1, -1]), threshold=np.array([0.5, 0, 2.0, 0, 0]),
                      left=np.array([1, -1, 3, -1, -1]), right=np.array([2, -1, 4, -1, -1]))
    leaves, lo, hi = leaf_boxes(tree, 2)
    assert leaves.tolist() == [1, 3, 4]
    after = np.nextafter(0.5, np.inf)
    above2 = np.nextafter(2.0, 9)
    np.testing.assert_array_equal(lo, [[-np.inf, -np.inf], [-np.inf, after], [above2, after]])
    np.testing.assert_array_equal(hi, [[np.inf, 0.5], [2.0, np.inf], [np.inf, np.inf]])
    X = np.array([[0.0, 0.5], [2.0, after], [2.0000001, 1.0]])
    assert apply_tree(tree, X).tolist() == [1, 3, 4]


def test_contradicting_paths_give_no_box() -> None:
    # root x0 <= 1, its left child x0 <= 3: the right grandchild (1 < x0 <= 1 ... > 3) is empty
    tree = TreeArrays(feature=np.array([0, 0, -1, -1, -1]), threshold=np.array([1.0, 3.0, 0, 0, 0]),
                      left=np.array([1, 3, -1, -1, -1]), right=np.array([2, 4, -1, -1, -1]))
    leaves, lo, hi = leaf_boxes(tree, 1)
    assert leaves.tolist() == [3, 2]


def test_empty_float64_leaves_take_scikit_learns_points() -> None:
    pos = np.array([-1, 0, 1, 2])
    assign = np.array([0, 0, 2, 2])  # leaf 1 (node 2) got no point by the float64 walk
    sk_leaf = np.array([1, 2, 3, 3])  # scikit-learn (float32) put point 1 there
    owner, member = _with_fallback(assign, pos, sk_leaf)
    pairs = sorted(zip(owner.tolist(), member.tolist(), strict=True))
    assert pairs == [(0, 0), (0, 1), (1, 1), (2, 2), (2, 3)]


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_hist_matches_exact_on_few_distinct_values(task: str) -> None:
    """Below max_bins distinct values the histogram candidates are the exact splitter's."""
    rng = np.random.default_rng(1)
    X = rng.integers(0, 30, size=(3000, 4)).astype(float)
    y = (X[:, 2] > 11).astype(int) + (X[:, 0] > 20) if task == "classification" \
        else X[:, 2] * 2 + np.sqrt(X[:, 0]) + rng.normal(0, 0.5, 3000)
    impurity = {}
    for method in ("exact", "hist"):
        specs = get_generator("tree", max_depth=1, min_samples_leaf=1, method=method).fit(
            X, y, task=task).specs_
        parts = [y[s.contains(X)] for s in specs]
        impurity[method] = sum(_impurity(p, task) for p in parts)
    assert impurity["hist"] == pytest.approx(impurity["exact"], rel=1e-9)


def _impurity(y: np.ndarray, task: str) -> float:
    if task == "regression":
        return float(((y - y.mean()) ** 2).sum())
    p = np.bincount(y) / y.size
    return float(y.size * (1 - (p**2).sum()))


def test_hist_with_quantile_bins_keeps_leaves_populated() -> None:
    ds = throughput_windows(n=2000, seed=4)
    gen = get_generator("tree", method="hist", max_bins=8, max_depth=6, min_samples_leaf=7)
    gen.fit(ds.X, ds.y, task="regression")
    assert gen.method_ == "hist"
    assert min(s.support for s in gen.specs_) >= 7
    assert np.all(count_containing(gen.specs_, ds.X) == 1)


def test_candidate_thresholds_are_midpoints_between_distinct_values() -> None:
    t = candidate_thresholds(np.array([3.0, 1.0, 1.0, 2.0, 3.0]), 255)
    np.testing.assert_array_equal(t, [1.5, 2.5])
    assert candidate_thresholds(np.array([4.0, 4.0]), 255).size == 0
    adjacent = np.array([1.0, np.nextafter(1.0, 2.0)])
    t = candidate_thresholds(adjacent, 255)
    assert adjacent[0] <= t[0] < adjacent[1]
    many = candidate_thresholds(np.arange(1000.0), 10)
    assert many.size == 9 and np.all(np.diff(many) > 0)


def test_auto_method_depends_on_size() -> None:
    gen = get_generator("tree")
    assert gen.resolved_method(1000, 4) == "exact"
    assert gen.resolved_method(1_000_000, 78) == "hist"


def test_pure_data_gives_one_leaf() -> None:
    X = np.random.default_rng(0).random((50, 3))
    for method in ("exact", "hist"):
        gen = get_generator("tree", method=method)
        specs = gen.fit(X, np.full(50, 0.1), task="regression").specs_
        assert len(specs) == 1 and specs[0].y_lo == pytest.approx(0.1)
