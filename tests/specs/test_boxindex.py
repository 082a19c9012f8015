"""The sorted box index yields exactly the brute-force (box, point) incidences."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from autospec_cli.specs.boxindex import iter_incidences


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 14), st.sampled_from([3, 50, 1 << 20]))
def test_incidences_equal_brute_force(seed: int, d: int, block_pairs: int) -> None:
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(1, 400)), int(rng.integers(1, 60))
    X = rng.integers(0, 4, (n, d)).astype(float)  # many ties on box edges
    X[:, rng.random(d) < 0.3] = 0.0               # constant (sparse-like) features
    LO, HI = np.full((m, d), -np.inf), np.full((m, d), np.inf)
    for i in range(m):  # from no constraint to every feature constrained (grid-cell like)
        k = int(rng.integers(0, d + 1))
        cols = rng.choice(d, size=k, replace=False)
        a, b = rng.integers(0, 4, k), rng.integers(0, 4, k)
        LO[i, cols], HI[i, cols] = np.minimum(a, b), np.maximum(a, b)
        if rng.random() < 0.2:  # one-sided boxes
            HI[i, cols[: k // 2]] = np.inf
    got = set()
    for s, p in iter_incidences(X, LO, HI, block_pairs=block_pairs, sample_rows=64):
        pairs = list(zip(s.tolist(), p.tolist(), strict=True))
        assert not got.intersection(pairs)  # every pair once
        got.update(pairs)
    inside = np.all((X[None] >= LO[:, None]) & (X[None] <= HI[:, None]), axis=2)
    assert got == set(zip(*map(np.ndarray.tolist, np.nonzero(inside)), strict=True))
