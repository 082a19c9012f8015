"""Generation / evaluation splits: specifications are mined on one part and scored on the other.

Classification splits are stratified (scikit-learn ``train_test_split(stratify=y)``). Rule
for rare classes: a class with fewer than 2 rows cannot be stratified, so all its rows go to
the generation part and the remaining rows are stratified; if stratifying is still
impossible (the evaluation part would be smaller than the number of classes), the split is a
plain seeded shuffle and ``meta["split"]["stratified"]`` is false. Regression splits are a
seeded shuffle. Both parts keep the original row order. The same data, ratio and seed give
the same split on every run.

Group split (``by_group=True``, CLI ``--by-group``): rows that share ``Dataset.groups`` (the
trace file of an O-RAN throughput window, the CSV file of a flow in a folder) go to the same
part, so overlapping windows of one trace never appear in both parts and evaluation measures
how specs carry over to unseen traces. Groups are shuffled with the seed and taken into the
evaluation part in that order while that brings its row count closer to ``(1 - ratio) * n``;
each part gets at least one group. Group splits are never stratified; ``split.json`` records
``by_group`` and the groups of each part.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from autospec_cli.data.dataset import Dataset
from autospec_cli.errors import ConfigError, InputError
from autospec_cli.io import atomic_write_json, check_writable

FILES: tuple[str, ...] = ("generation.npz", "evaluation.npz", "split.json")


def check_ratio(ratio: float) -> float:
    """The generation share must lie strictly between 0 and 1."""
    if not 0.0 < ratio < 1.0:
        raise ConfigError(f"ratio must be strictly between 0 and 1, got {ratio}", param="ratio")
    return float(ratio)


def group_split_indices(
    ds: Dataset, ratio: float = 0.9, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted generation and evaluation row indices with whole groups in each part."""
    check_ratio(ratio)
    if ds.groups is None:
        raise InputError(
            f"dataset {ds.name!r} has no groups (folders of traces or flow files have them); "
            "split without by_group",
            param="by_group",
        )
    names, inverse, sizes = np.unique(ds.groups, return_inverse=True, return_counts=True)
    if names.size < 2:
        raise InputError(f"dataset {ds.name!r} has a single group; by_group needs at least 2",
                         param="by_group")
    order = np.random.default_rng(seed).permutation(names.size)
    target = ds.n - _n_generation(ds.n, ratio)
    cum = np.cumsum(sizes[order])[:-1]  # evaluation rows when taking the first k+1 groups
    k = int(np.argmin(np.abs(cum - target)))  # closest to the target, ties: fewer groups
    ev_mask = np.isin(inverse, order[: k + 1])
    return np.flatnonzero(~ev_mask), np.flatnonzero(ev_mask)


def split_indices(
    ds: Dataset, ratio: float = 0.9, seed: int = 0, *, by_group: bool = False
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Sorted generation and evaluation row indices, and whether the split is stratified."""
    from sklearn.model_selection import train_test_split

    check_ratio(ratio)
    if by_group:
        gen, ev = group_split_indices(ds, ratio, seed)
        return gen, ev, False
    if ds.n < 2:
        raise InputError(f"dataset {ds.name!r} has {ds.n} row(s); a split needs at least 2")
    idx = np.arange(ds.n)
    n_eval = ds.n - _n_generation(ds.n, ratio)
    if ds.task != "classification":
        gen, ev = train_test_split(idx, test_size=n_eval, random_state=seed, shuffle=True)
        return np.sort(gen), np.sort(ev), False
    counts = np.bincount(ds.y)
    rare = np.isin(ds.y, np.flatnonzero(counts == 1))
    pool = idx[~rare]
    n_classes = int(np.count_nonzero(counts >= 2))
    stratified = 0 < n_eval < len(pool) and n_classes <= n_eval and len(pool) - n_eval >= n_classes
    if stratified:
        gen, ev = train_test_split(pool, test_size=n_eval, random_state=seed, stratify=ds.y[pool])
        gen = np.concatenate([gen, idx[rare]])
    else:
        gen, ev = train_test_split(idx, test_size=n_eval, random_state=seed, shuffle=True)
    return np.sort(gen), np.sort(ev), bool(stratified)


def _n_generation(n: int, ratio: float) -> int:
    """Rows in the generation part: round(ratio * n), kept within 1 .. n-1."""
    return int(min(max(round(ratio * n), 1), n - 1))


def split_dataset(
    ds: Dataset, ratio: float = 0.9, seed: int = 0, *, by_group: bool = False
) -> tuple[Dataset, Dataset]:
    """Split into (generation, evaluation) datasets; see the module notes for the rules."""
    gen_idx, ev_idx, stratified = split_indices(ds, ratio, seed, by_group=by_group)
    info = {
        "ratio": float(ratio),
        "seed": int(seed),
        "stratified": stratified,
        "by_group": bool(by_group),
        "source_sha256": ds.sha256(),
    }
    gen = ds.subset(gen_idx, name=f"{ds.name}-generation" if ds.name else "generation")
    ev = ds.subset(ev_idx, name=f"{ds.name}-evaluation" if ds.name else "evaluation")
    gen.meta["split"] = {**info, "part": "generation"}
    ev.meta["split"] = {**info, "part": "evaluation"}
    return gen, ev


def write_split(
    ds: Dataset,
    out_dir: str | os.PathLike[str],
    ratio: float = 0.9,
    seed: int = 0,
    force: bool = False,
    *,
    by_group: bool = False,
) -> dict:
    """Write ``generation.npz``, ``evaluation.npz`` and ``split.json`` into ``out_dir``.

    Refuses (``OutputExistsError``) before writing anything if one of them exists and not
    ``force``. Each file is written atomically. Returns the ``split.json`` content.
    ``by_group`` keeps each group (trace / file) in one part (module notes).
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} is a file; give a folder for the split files")
    for name in FILES:
        check_writable(out / name, force)
    gen, ev = split_dataset(ds, ratio, seed, by_group=by_group)
    gen.save_npz(out / FILES[0], force=force)
    ev.save_npz(out / FILES[1], force=force)
    summary = split_summary(ds, gen, ev, ratio, seed)
    atomic_write_json(out / FILES[2], summary, force=force)
    return summary


def split_summary(ds: Dataset, gen: Dataset, ev: Dataset, ratio: float, seed: int) -> dict:
    """The provenance record of a split (what ``split.json`` holds)."""
    summary = {
        "version": 1,
        "ratio": float(ratio),
        "seed": int(seed),
        "task": ds.task,
        "stratified": bool(gen.meta["split"]["stratified"]),
        "sizes": {"total": ds.n, "generation": gen.n, "evaluation": ev.n},
        "source": ds.meta.get("source", ds.name),
        "source_sha256": ds.meta.get("source_sha256"),
        "dataset_sha256": ds.sha256(),
        "files": {
            "generation": {"path": FILES[0], "sha256": gen.sha256()},
            "evaluation": {"path": FILES[1], "sha256": ev.sha256()},
        },
        "features": list(ds.features),
        "by_group": bool(gen.meta["split"].get("by_group", False)),
    }
    if summary["by_group"]:
        assert gen.groups is not None and ev.groups is not None  # a group split keeps them
        summary["groups"] = {"generation": np.unique(gen.groups).tolist(),
                             "evaluation": np.unique(ev.groups).tolist()}
    if ds.meta.get("target_bins"):
        summary["target_bins"] = {"edges": list(ds.meta["target_bins"]["edges"])}
    if ds.classes is not None:
        summary["classes"] = list(ds.classes)
        summary["class_counts"] = {
            "generation": np.bincount(gen.y, minlength=len(ds.classes)).tolist(),
            "evaluation": np.bincount(ev.y, minlength=len(ds.classes)).tolist(),
        }
    return summary
