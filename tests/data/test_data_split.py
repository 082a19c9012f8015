"""Generation / evaluation splits: determinism, stratification, ratio, files on disk."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autospec_cli.data.dataset import Dataset
from autospec_cli.data.loaders import load_dataset
from autospec_cli.data.split import split_dataset, split_indices, write_split
from autospec_cli.errors import ConfigError, InputError, OutputExistsError


def labelled(y: list[int]) -> Dataset:
    n = len(y)
    return Dataset(
        X=np.arange(n, dtype=float)[:, None],
        y=np.array(y),
        features=["i"],
        task="classification",
        name="t",
        classes=[str(c) for c in range(max(y) + 1)],
    )


def test_same_seed_same_split_other_seed_other_split() -> None:
    ds = load_dataset("builtin:spiral")
    a, b = split_dataset(ds, 0.8, seed=3), split_dataset(ds, 0.8, seed=3)
    c = split_dataset(ds, 0.8, seed=4)
    assert a[0].sha256() == b[0].sha256() and a[1].sha256() == b[1].sha256()
    assert a[1].sha256() != c[1].sha256()


def test_stratified_and_ratio() -> None:
    y = [0] * 500 + [1] * 300 + [2] * 100 + [3] * 20
    gen, ev = split_dataset(labelled(y), ratio=0.75, seed=1)
    assert gen.n == round(0.75 * len(y)) and gen.n + ev.n == len(y)
    expected = np.array([500, 300, 100, 20]) * 0.25
    assert np.all(np.abs(np.bincount(ev.y) - expected) <= 1)
    assert gen.meta["split"]["stratified"] and ev.meta["split"]["part"] == "evaluation"
    idx = np.concatenate([gen.X[:, 0], ev.X[:, 0]]).astype(int)
    assert sorted(idx.tolist()) == list(range(len(y)))  # a partition
    assert np.all(np.diff(gen.X[:, 0]) > 0)  # original order kept


def test_single_member_class_goes_to_generation() -> None:
    y = [0] * 40 + [1] * 40 + [2]
    gen_idx, ev_idx, stratified = split_indices(labelled(y), 0.5, 0)
    assert stratified and 80 in gen_idx.tolist()
    assert len(ev_idx) == len(y) - round(0.5 * len(y))


def test_unstratified_fallback_when_evaluation_is_tiny() -> None:
    y = [0, 1, 2, 3] * 5
    gen, ev = split_dataset(labelled(y), ratio=0.9, seed=0)
    assert ev.n == 2 and not ev.meta["split"]["stratified"]


def test_regression_split_and_bad_ratio() -> None:
    ds = load_dataset("builtin:throughput")
    gen, ev = split_dataset(ds, 0.9, 0)
    assert gen.n == round(0.9 * ds.n) and gen.groups is not None and ev.groups is not None
    for r in (0.0, 1.0, 1.5):
        with pytest.raises(ConfigError, match="ratio"):
            split_dataset(ds, r, 0)
    with pytest.raises(InputError, match="at least 2"):
        split_dataset(labelled([0]), 0.5, 0)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.integers(0, 4), min_size=2, max_size=60), st.floats(0.05, 0.95), st.integers(0, 99)
)
def test_split_is_a_deterministic_partition(y: list[int], ratio: float, seed: int) -> None:
    ds = labelled(y)
    g1, e1, _ = split_indices(ds, ratio, seed)
    g2, e2, _ = split_indices(ds, ratio, seed)
    assert g1.tolist() == g2.tolist() and e1.tolist() == e2.tolist()
    assert sorted(g1.tolist() + e1.tolist()) == list(range(len(y)))
    assert len(g1) >= 1 and len(e1) >= 1


def test_write_split(tmp_path: Path) -> None:
    ds = load_dataset("builtin:spiral")
    summary = write_split(ds, tmp_path / "out", ratio=0.9, seed=2)
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == ["evaluation.npz", "generation.npz", "split.json"]
    on_disk = json.loads((tmp_path / "out" / "split.json").read_text())
    assert on_disk == summary
    assert on_disk["sizes"] == {"total": 900, "generation": 810, "evaluation": 90}
    assert on_disk["class_counts"]["evaluation"] == [30, 30, 30]
    assert on_disk["dataset_sha256"] == ds.sha256() and on_disk["seed"] == 2
    gen = load_dataset(str(tmp_path / "out" / "generation.npz"))
    assert gen.sha256() == on_disk["files"]["generation"]["sha256"] and gen.classes == ds.classes
    with pytest.raises(OutputExistsError, match="set force") as info:
        write_split(ds, tmp_path / "out", ratio=0.5, seed=2)
    assert info.value.param == "force"
    assert json.loads((tmp_path / "out" / "split.json").read_text())["ratio"] == 0.9  # untouched
    assert (
        write_split(ds, tmp_path / "out", ratio=0.5, seed=2, force=True)["sizes"]["generation"]
        == 450
    )


def test_write_split_into_a_file_path_is_refused(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(InputError, match="is a file"):
        write_split(load_dataset("builtin:spiral"), tmp_path / "f")
