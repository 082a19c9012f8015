"""`data split --by-group`: whole traces / files in one part, sizes near the ratio."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autospec_cli.data.builtin import throughput
from autospec_cli.data.dataset import Dataset
from autospec_cli.data.npzfile import load_npz
from autospec_cli.data.split import split_dataset, split_indices
from autospec_cli.errors import InputError


def _ds(groups: list[int]) -> Dataset:
    n = len(groups)
    return Dataset(X=np.arange(n, dtype=float).reshape(-1, 1), y=np.arange(n, dtype=float),
                   features=["a"], task="regression", name="g", groups=np.array(groups))


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(0, 6), min_size=2, max_size=60), st.floats(0.05, 0.95),
       st.integers(0, 5))
def test_groups_never_straddle_the_parts(groups: list[int], ratio: float,
                                                     seed: int) -> None:
    ds = _ds(groups)
    if len(set(groups)) < 2:
        with pytest.raises(InputError, match="single group"):
            split_indices(ds, ratio, seed, by_group=True)
        return
    gen, ev, stratified = split_indices(ds, ratio, seed, by_group=True)
    assert not stratified and gen.size and ev.size
    assert np.array_equal(np.sort(np.concatenate([gen, ev])), np.arange(len(groups)))
    assert not set(ds.groups[gen]) & set(ds.groups[ev])
    again = split_indices(ds, ratio, seed, by_group=True)
    assert np.array_equal(again[1], ev)  # deterministic


def test_sizes_follow_the_ratio_with_equal_groups() -> None:
    ds = _ds([g for g in range(10) for _ in range(7)])  # 10 groups of 7 rows
    gen, ev, _ = split_indices(ds, 0.7, seed=1, by_group=True)
    assert (gen.size, ev.size) == (49, 21) and len(set(ds.groups[ev])) == 3


def test_builtin_throughput_windows_by_trace() -> None:
    ds = throughput(0, n_files=5)
    gen, ev = split_dataset(ds, 0.8, seed=0, by_group=True)
    assert not set(gen.groups) & set(ev.groups) and gen.meta["split"]["by_group"]
    assert 0.6 < gen.n / ds.n < 0.95


def test_no_groups_is_a_clear_error() -> None:
    ds = _ds([0, 1, 2])
    ds.groups = None
    with pytest.raises(InputError, match="has no groups"):
        split_indices(ds, 0.5, 0, by_group=True)


def test_cli_by_group_on_real_oran_traces(cli_runner, shared_data: Path, tmp_path: Path) -> None:
    folder = shared_data / "oran-commag"
    out = tmp_path / "split"
    code, stdout, err = cli_runner("data", "split", str(folder), "-o", str(out), "--by-group",
                                   "--ratio", "0.75", "--json")
    assert code == 0, err
    summary = json.loads(stdout)
    g = summary["groups"]
    assert summary["by_group"] and g["generation"] and g["evaluation"]
    assert not set(g["generation"]) & set(g["evaluation"])
    gen, ev = load_npz(out / "generation.npz"), load_npz(out / "evaluation.npz")
    assert not set(gen.groups.tolist()) & set(ev.groups.tolist())
    assert json.loads((out / "split.json").read_text())["by_group"] is True


def test_cli_by_group_without_groups_exits_2(cli_runner, tmp_path: Path) -> None:
    code, stdout, err = cli_runner("data", "split", "builtin:spiral", "-o", str(tmp_path / "s"),
                                   "--by-group")
    assert code == 2 and err.startswith("error: ") and "no groups" in err
    assert len(err.strip().splitlines()) == 1
