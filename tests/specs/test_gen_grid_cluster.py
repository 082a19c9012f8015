"""Grid (occupied cells only, each generation point in exactly one cell) and k-means clusters
(boxes contain their members)."""

from __future__ import annotations

import numpy as np
import pytest
from gen_helpers import blobs, count_containing
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from autospec_cli.specs.generators.grid import cell_codes, grid_edges, unique_rows
from autospec_cli.specs.generators.registry import get_generator

FINITE = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=60, deadline=None)
@given(X=hnp.arrays(np.float64, st.tuples(st.integers(1, 40), st.integers(1, 4)), elements=FINITE),
       beta=st.integers(1, 12))
def test_every_generation_point_is_in_exactly_one_nonempty_cell(X: np.ndarray, beta: int) -> None:
    if beta > len(X):
        return
    specs = get_generator("grid", beta=beta).fit(X, X.sum(axis=1), task="regression").specs_
    assert np.all(count_containing(specs, X) == 1)
    assert len(specs) <= len(X)
    for s in specs:  # no empty cell, and the support is the cell's own point count
        assert s.support == int(s.contains(X).sum()) >= 1
        assert np.all(s.lo >= X.min(axis=0)) and np.all(s.hi <= X.max(axis=0))


def test_cells_are_the_paper_cells() -> None:
    X = np.array([[0.0, 0.0], [0.9, 9.0], [1.0, 10.0], [0.5, 5.0]])
    specs = get_generator("grid", beta=4).fit(X, np.arange(4.0), task="regression").specs_
    boxes = sorted((tuple(s.lo), tuple(s.hi)) for s in specs)
    prev = lambda v: float(np.nextafter(v, -np.inf))  # noqa: E731
    assert boxes == [
        ((0.0, 0.0), (prev(0.25), prev(2.5))),
        ((0.5, 5.0), (prev(0.75), prev(7.5))),
        ((0.75, 7.5), (1.0, 10.0)),
    ]


def test_constant_and_extreme_features() -> None:
    X = np.array([[3.0, -1e308], [3.0, 1e308], [3.0, 0.0]])
    specs = get_generator("grid", beta=3).fit(X, np.zeros(3), task="regression").specs_
    assert all(s.lo[0] == s.hi[0] == 3.0 for s in specs)
    assert np.all(np.isfinite([s.lo for s in specs])) and len(specs) == 3
    assert np.all(count_containing(specs, X) == 1)


def test_beta_above_the_number_of_points_is_refused() -> None:
    from autospec_cli.errors import ConfigError

    X = np.random.default_rng(0).random((20, 2))
    with pytest.raises(ConfigError, match="beta must be between 1 and 20"):
        get_generator("grid", beta=21).fit(X, X[:, 0], task="regression")


@pytest.mark.parametrize("beta", [7, 300, 70000])
def test_unique_rows_matches_numpy_unique(beta: int) -> None:
    rng = np.random.default_rng(beta)
    X = rng.integers(0, 4, size=(500, 3)) * rng.random(3) + rng.random((500, 3)) * 1e-3
    codes = cell_codes(X, grid_edges(X, beta))
    cells, inverse = unique_rows(codes)
    ref, ref_inv = np.unique(codes.astype(np.int64), axis=0, return_inverse=True)
    np.testing.assert_array_equal(cells.astype(np.int64), ref)
    np.testing.assert_array_equal(inverse, ref_inv.reshape(-1))


# -- cluster -----------------------------------------------------------------------------------
@pytest.mark.parametrize("task", ["classification", "regression"])
def test_cluster_boxes_are_their_members_extremities(task: str) -> None:
    from sklearn.cluster import KMeans

    ds = blobs()
    y = ds.y if task == "classification" else ds.X[:, 0]
    gen = get_generator("cluster", k=5, random_state=3).fit(ds.X, y, task=task)
    labels = KMeans(n_clusters=5, n_init=4, max_iter=300, random_state=3).fit_predict(ds.X)
    assert len(gen.specs_) == 5
    assert np.all(count_containing(gen.specs_, ds.X) >= 1)
    for s, c in zip(gen.specs_, np.unique(labels), strict=True):
        members = ds.X[labels == c]
        np.testing.assert_array_equal(s.lo, members.min(axis=0))
        np.testing.assert_array_equal(s.hi, members.max(axis=0))
        assert s.support == len(members)
        assert np.all(s.contains(members))


def test_fewer_distinct_points_than_k_gives_fewer_nonempty_clusters() -> None:
    X = np.repeat(np.array([[0.0, 0.0], [1.0, 1.0], [5.0, 5.0]]), 4, axis=0)
    specs = get_generator("cluster", k=6).fit(X, np.arange(12) % 2, task="classification").specs_
    assert len(specs) == 3 and all(s.support == 4 for s in specs)
    assert all(np.array_equal(s.lo, s.hi) for s in specs)  # each cluster is one point


def test_cluster_seed_changes_nothing_but_the_seed() -> None:
    ds = blobs(seed=2)
    a = get_generator("cluster", k=6, random_state=1).fit(ds.X, ds.y, task="classification")
    b = get_generator("cluster", k=6, random_state=1).fit(ds.X, ds.y, task="classification")
    assert [s.to_json() for s in a.specs_] == [s.to_json() for s in b.specs_]
