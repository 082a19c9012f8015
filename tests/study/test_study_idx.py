"""MNIST-format sources for the study: IDX (gzip or not), NPZ, and the real MNIST files."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from autospec_cli.data.idx import load_image_arrays, read_idx
from autospec_cli.errors import InputError
from autospec_cli.study.data import prepare_data


def _idx_bytes(arr: np.ndarray) -> bytes:
    head = bytes([0, 0, 0x08, arr.ndim]) + b"".join(struct.pack(">I", d) for d in arr.shape)
    return head + arr.astype(np.uint8).tobytes()


def _write_set(folder: Path, n: int, gz: bool, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, (n, 6, 6)).astype(np.uint8)
    y = np.arange(n) % 3
    for part in ("train", "t10k"):
        for kind, arr in (("images-idx3", X), ("labels-idx1", y)):
            data = _idx_bytes(arr)
            name = f"{part}-{kind}-ubyte" + (".gz" if gz else "")
            (folder / name).write_bytes(gzip.compress(data) if gz else data)
    return X, y


@pytest.mark.parametrize("gz", [False, True])
def test_idx_folder_roundtrip(tmp_path: Path, gz: bool) -> None:
    X, y = _write_set(tmp_path, 30, gz)
    arrays = load_image_arrays(tmp_path)
    assert set(arrays.parts) == {"train", "test"} and arrays.input_shape == (1, 6, 6)
    assert np.array_equal(arrays.parts["train"][0], X)
    assert np.array_equal(arrays.parts["test"][1], y)


def test_truncated_idx_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "x-images-idx3-ubyte"
    p.write_bytes(_idx_bytes(np.zeros((4, 2, 2)))[:-3])
    with pytest.raises(InputError, match="cut short"):
        read_idx(p)


def test_npz_source_and_per_class_split(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    X = rng.integers(0, 256, (90, 6, 6)).astype(np.uint8)
    y = np.arange(90) % 3
    np.savez(tmp_path / "m.npz", x_train=X, y_train=y, x_test=X[:12], y_test=y[:12])
    d = prepare_data(str(tmp_path / "m.npz"), train=10, val=5, test=5)
    assert d.counts() == {"train": 30, "val": 15, "test": 15, "pool": 12}
    assert d.pool_source == "test-file" and d.scale == float(X.max())
    assert np.all(np.bincount(d.labels("train")) == 10)
    inp = d.inputs("pool")
    assert inp.dtype == np.float32 and inp.min() >= 0 and inp.max() <= 1


def test_real_mnist_files(shared_data: Path) -> None:
    folder = shared_data / "mnist"
    if not folder.is_dir():
        pytest.skip("no MNIST in the shared data")
    d = prepare_data(str(folder), train=2500, val=500, test=500, verify_from="test-file")
    assert d.input_shape == (1, 28, 28) and d.n_classes == 10 and d.scale == 255.0
    assert d.counts() == {"train": 25000, "val": 5000, "test": 5000, "pool": 10000}
    assert list(d.labels("pool")[:5]) == [7, 2, 1, 0, 4]  # the famous first t10k labels
