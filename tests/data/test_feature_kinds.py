"""Discrete feature kinds (integer, one-hot) and benign-vs-attack labels at load time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from autospec_cli.data.binary import binary_labels
from autospec_cli.data.dataset import Dataset
from autospec_cli.data.kinds import (
    FeatureKinds,
    detect_kinds,
    discrete_issues,
    kinds_of,
)
from autospec_cli.data.loaders import load_dataset, select_features
from autospec_cli.data.npzfile import load_npz
from autospec_cli.errors import ConfigError

FEATURES = ["count", "rate", "proto=tcp", "proto=udp", "proto=icmp", "flag=x"]


def _table(n: int = 60, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    proto = rng.integers(0, 3, n)
    onehot = np.eye(3)[proto]
    return np.column_stack([rng.integers(0, 9, n), rng.random(n), onehot,
                            rng.integers(0, 2, n)])


def test_detect_integer_and_onehot_groups() -> None:
    kinds = detect_kinds(_table(), FEATURES)
    assert kinds.onehot == {"proto": ["proto=tcp", "proto=udp", "proto=icmp"]}
    # flag=x is alone in its group: an integer 0/1 column, not one-hot; rate is real
    assert kinds.integer == ["count", "flag=x"]


def test_detection_rejects_near_misses() -> None:
    X = _table()
    X[3, 0] = 2.5  # one fractional count
    X[4, 2:5] = [1, 1, 0]  # a row with two categories
    kinds = detect_kinds(X, FEATURES)
    assert "count" not in kinds.integer and not kinds.onehot
    assert {"proto=tcp", "proto=udp", "proto=icmp"} <= set(kinds.integer)


def test_discrete_issues() -> None:
    kinds = detect_kinds(_table(), FEATURES)
    assert discrete_issues(np.array([3, 0.4, 0, 1, 0, 1]), kinds, FEATURES) == []
    issues = discrete_issues(np.array([3.5, 0.4, 0.101, 0.899, 0, 1]), kinds, FEATURES)
    assert len(issues) == 2
    assert "one-hot proto" in issues[0] and "0.101" in issues[0]
    assert "count=3.5" in issues[1]
    assert discrete_issues(np.array([3, 0.4, 0, 0, 0, 1]), kinds, FEATURES)  # no category


def test_restricted_to_a_partial_group() -> None:
    kinds = detect_kinds(_table(), FEATURES)
    part = kinds.restricted(["proto=udp", "count", "proto=tcp"])
    assert not part.onehot and part.integer == ["proto=udp", "count", "proto=tcp"]


def _csv(path: Path) -> Path:
    X = _table(80)
    labels = np.array(["BENIGN", "dos", "scan", "BENIGN"])[np.arange(80) % 4]
    lines = [",".join(FEATURES) + ",Label"]
    lines += [",".join(f"{v:g}" for v in row) + f",{lab}" for row, lab in zip(X, labels,
                                                                                strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_loader_binary_labels_and_kinds_roundtrip_npz(tmp_path: Path) -> None:
    src = str(_csv(tmp_path / "flows.csv"))
    multi = load_dataset(src)
    assert multi.classes == ["BENIGN", "dos", "scan"]
    ds = load_dataset(src, binary_labels=True)
    assert ds.classes == ["benign", "attack"]
    assert np.array_equal(ds.y, (multi.y != 0).astype(int))
    assert ds.meta["binary_labels"] == {"benign": "BENIGN", "attack": ["dos", "scan"]}
    kinds = kinds_of(ds.meta)
    assert kinds.onehot == {"proto": ["proto=tcp", "proto=udp", "proto=icmp"]}
    ds.save_npz(tmp_path / "d.npz")
    back = load_npz(tmp_path / "d.npz")
    assert kinds_of(back.meta).to_json() == kinds.to_json()
    sub = select_features(ds, ["rate", "count"])
    assert kinds_of(sub.meta).integer == ["count"] and not kinds_of(sub.meta).onehot


def test_binary_labels_need_a_benign_class() -> None:
    ds = Dataset(X=np.zeros((4, 1)), y=np.array([0, 1, 1, 0]), features=["a"],
                 task="classification", classes=["dos", "scan"])
    with pytest.raises(ConfigError, match="benign class"):
        binary_labels(ds)
    normal = Dataset(X=np.zeros((4, 1)), y=np.array([0, 1, 2, 0]), features=["a"],
                     task="classification", classes=["normal", "dos", "scan"])
    assert binary_labels(normal).y.tolist() == [0, 1, 1, 0]


def test_nslkdd_declares_groups_and_counts(shared_data: Path) -> None:
    ds = load_dataset(str(shared_data / "nsl-kdd" / "KDDTest+.txt"), label="label",
                      binary_labels=True)
    kinds = kinds_of(ds.meta)
    assert {g: len(c) for g, c in kinds.onehot.items()} == {"protocol_type": 3, "service": 70,
                                                           "flag": 11}
    assert "src_bytes" in kinds.integer and "serror_rate" not in kinds.integer
    assert ds.classes == ["benign", "attack"]
    for i in range(0, ds.n, 997):  # every real row is a possible input
        assert discrete_issues(ds.X[i], kinds, ds.features) == []


def test_cicids_integer_features_detected(shared_data: Path) -> None:
    ds = load_dataset(str(shared_data / "cicids2017" / "web_attacks_balanced.csv"),
                      binary_labels=True)
    kinds = kinds_of(ds.meta)
    assert ds.d == 77 and ds.classes == ["benign", "attack"]
    assert {"Destination Port", "Flow Duration", "Total Fwd Packets"} <= set(kinds.integer)
    assert "Flow Bytes/s" not in kinds.integer and "Fwd Packet Length Mean" not in kinds.integer
    assert FeatureKinds.from_json(kinds.to_json()) == kinds
