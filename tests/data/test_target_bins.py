"""Labelled (binned) targets: edges, bin membership, names, NPZ round trip, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from autospec_cli.data.bins import (
    bin_dataset,
    bin_edges,
    bin_indices,
    bin_interval,
    bin_names,
    dataset_edges,
)
from autospec_cli.data.dataset import Dataset
from autospec_cli.data.loaders import load_dataset
from autospec_cli.errors import ConfigError, InputError


def _reg(y: list[float]) -> Dataset:
    y_arr = np.asarray(y, dtype=float)
    return Dataset(X=np.c_[np.arange(y_arr.size, dtype=float)], y=y_arr, features=["t"],
                   task="regression", name="r")


def test_edges_start_at_zero_unless_negative() -> None:
    assert bin_edges(np.array([5.0, 10.0, 20.0]), 4).tolist() == [0, 5, 10, 15, 20]
    assert bin_edges(np.array([-2.0, 0.0, 6.0]), 4).tolist() == [-2, 0, 2, 4, 6]


def test_each_value_in_exactly_one_bin_last_closed() -> None:
    edges = np.array([0.0, 5.0, 10.0])
    idx, outside = bin_indices(np.array([0.0, 4.999, 5.0, 9.99, 10.0]), edges)
    assert idx.tolist() == [0, 0, 1, 1, 1] and outside == 0
    idx, outside = bin_indices(np.array([-1.0, 11.0]), edges)
    assert idx.tolist() == [0, 1] and outside == 2
    assert bin_names(edges) == ["[0, 5)", "[5, 10]"]
    assert bin_interval(edges, 1) == (5.0, 10.0)


def test_bin_dataset_is_classification_with_interval_classes() -> None:
    ds = bin_dataset(_reg([0, 1, 2, 3, 10]), 5)
    assert ds.task == "classification" and ds.y.tolist() == [0, 0, 1, 1, 4]
    assert ds.classes == ["[0, 2)", "[2, 4)", "[4, 6)", "[6, 8)", "[8, 10]"]
    assert dataset_edges(ds).tolist() == [0, 2, 4, 6, 8, 10]
    assert bin_dataset(ds, 5) is ds  # already binned the same way
    with pytest.raises(InputError, match="already binned"):
        bin_dataset(ds, 4)


@pytest.mark.parametrize("n", [1, 0, 10_001, True])
def test_bad_bin_counts(n) -> None:
    with pytest.raises(ConfigError, match="target_bins"):
        bin_dataset(_reg([0, 1]), n)


def test_constant_or_classification_targets_are_refused() -> None:
    with pytest.raises(InputError, match="constant"):
        bin_dataset(_reg([0, 0, 0]), 2)
    cls = Dataset(X=np.zeros((2, 1)), y=np.array([0, 1]), features=["a"],
                  task="classification", classes=["a", "b"])
    with pytest.raises(InputError, match="classification"):
        bin_dataset(cls, 2)


def test_npz_keeps_the_edges(tmp_path: Path) -> None:
    ds = bin_dataset(_reg([0, 1, 2, 3, 10]), 5)
    back = load_dataset(str(ds.save_npz(tmp_path / "b.npz")))
    assert back.classes == ds.classes and back.y.tolist() == ds.y.tolist()
    assert dataset_edges(back).tolist() == dataset_edges(ds).tolist()
    assert load_dataset(str(tmp_path / "b.npz"), target_bins=5).classes == ds.classes


def test_load_dataset_bins_throughput() -> None:
    ds = load_dataset("builtin:throughput", target_bins=10)
    raw = load_dataset("builtin:throughput")
    assert ds.task == "classification" and len(ds.classes) == 10
    edges = dataset_edges(ds)
    assert edges[0] == 0 and edges[-1] == raw.y.max()
    assert np.all((raw.y >= edges[ds.y]) & (raw.y <= edges[ds.y + 1]))


def test_split_cli_bins_before_splitting(cli_runner, tmp_path: Path) -> None:
    out = tmp_path / "split"
    code, stdout, err = cli_runner("data", "split", "builtin:throughput", "--target-bins", "10",
                                   "-o", str(out), "--json")
    assert code == 0, err
    info = json.loads(stdout)
    assert info["task"] == "classification" and len(info["target_bins"]["edges"]) == 11
    gen = load_dataset(str(out / "generation.npz"))
    ev = load_dataset(str(out / "evaluation.npz"))
    assert dataset_edges(gen).tolist() == dataset_edges(ev).tolist() == info["target_bins"][
        "edges"]


def test_bad_target_bins_is_one_line(cli_runner, tmp_path: Path) -> None:
    code, _, err = cli_runner("data", "info", "builtin:throughput", "--target-bins", "1")
    assert code == 2 and err.count("\n") == 1 and "--target-bins" in err
    code, _, err = cli_runner("data", "info", "builtin:spiral", "--target-bins", "3")
    assert code == 2 and "classification" in err and "Traceback" not in err
