"""Experiment designs: full factorial and Latin hypercube properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autospec_cli.errors import ConfigError
from autospec_cli.study.designs import Design, Factor, full_factorial, latin_hypercube, lhs_unit


@given(st.lists(st.integers(1, 4), min_size=1, max_size=4))
def test_factorial_has_every_combination_once(sizes: list[int]) -> None:
    factors = [Factor.categorical(f"f{i}", [f"l{j}" for j in range(k)])
               for i, k in enumerate(sizes)]
    d = full_factorial(factors)
    assert len(d) == math.prod(sizes)
    combos = {tuple(r[f.name] for f in factors) for r in d}
    assert len(combos) == len(d)
    # the first factor varies slowest
    assert [r["f0"] for r in d] == sorted(r["f0"] for r in d)


def test_study_factorial_is_45_runs() -> None:
    d = full_factorial([Factor.categorical("regulariser", ["dropout", "jacobian", "l2"]),
                        Factor.categorical("initialiser", ["he", "glorot", "narrow-normal"]),
                        Factor.categorical("seed", [0, 1, 2, 3, 4])])
    assert len(d) == 45
    assert d.runs[0] == {"regulariser": "dropout", "initialiser": "he", "seed": 0}
    assert d.runs[-1] == {"regulariser": "l2", "initialiser": "narrow-normal", "seed": 4}


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 60), st.integers(1, 5), st.integers(0, 10_000))
def test_lhs_each_stratum_used_once(n: int, d: int, seed: int) -> None:
    U = lhs_unit(n, d, seed)
    assert U.shape == (n, d) and np.all((U >= 0) & (U < 1))
    for j in range(d):
        assert sorted(np.floor(U[:, j] * n).astype(int)) == list(range(n))


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 40), st.integers(1, 6), st.integers(0, 1000))
def test_lhs_categorical_levels_are_balanced(n: int, k: int, seed: int) -> None:
    f = Factor.categorical("c", list(range(k)))
    counts = np.bincount([r["c"] for r in latin_hypercube([f], n, seed=seed)], minlength=k)
    assert counts.max() - counts.min() <= 1
    assert counts.sum() == n


def test_lhs_numeric_ranges_and_reproducibility() -> None:
    fs = [Factor.numeric("lr", 1e-3, 1e-1, "log"), Factor.numeric("w", 2, 9, "int"),
          Factor.categorical("init", ["he", "glorot"])]
    a, b = latin_hypercube(fs, 16, seed=3), latin_hypercube(fs, 16, seed=3)
    assert a.runs == b.runs
    assert a.runs != latin_hypercube(fs, 16, seed=4).runs
    assert all(1e-3 <= r["lr"] <= 1e-1 and 2 <= r["w"] <= 9 for r in a)
    assert isinstance(a.runs[0]["w"], int)
    assert Design.from_dict(a.to_dict()).runs == a.runs


def test_design_errors() -> None:
    with pytest.raises(ConfigError):
        full_factorial([Factor.categorical("a", [1]), Factor.categorical("a", [2])])
    with pytest.raises(ConfigError):
        Factor.categorical("a", [1, 1])
    with pytest.raises(ConfigError):
        full_factorial([Factor.numeric("x", 0, 1)])  # numeric without levels or n_levels
    assert full_factorial([Factor.numeric("x", 0, 1)], n_levels=3).runs == [
        {"x": 0.0}, {"x": 0.5}, {"x": 1.0}]
