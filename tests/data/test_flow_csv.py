"""CIC-IDS2017 flow CSVs: both layouts, header quirks, Infinity/NaN under each policy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from autospec_cli.data.dataset import Dataset
from autospec_cli.data.flows import IDENTIFIERS, clean_header
from autospec_cli.data.loaders import load_dataset
from autospec_cli.errors import InputError

FRIDAY = "Friday-WorkingHours-Afternoon-DDos.pcap_ISCX.head9998.csv"
WEB = "web_attacks_balanced.csv"
DASH = "\u2013"


@pytest.fixture(scope="module")
def friday(shared_data: Path) -> Path:
    return shared_data / "cicids2017" / FRIDAY


@pytest.fixture(scope="module")
def friday_clip(friday: Path) -> Dataset:
    return load_dataset(str(friday), nan_policy="clip")


def test_machine_learning_cve_layout(friday_clip: Dataset) -> None:
    ds = friday_clip
    assert ds.n == 9998 and ds.d == 78
    assert ds.features[0] == "Destination Port" and all(f == f.strip() for f in ds.features)
    assert ds.features.count("Fwd Header Length") == 1 and "Fwd Header Length.1" in ds.features
    a, b = ds.features.index("Fwd Header Length"), ds.features.index("Fwd Header Length.1")
    assert (a, b) == (34, 55)
    np.testing.assert_array_equal(ds.X[:, a], ds.X[:, b])  # an exact duplicate in this file
    assert ds.classes == ["BENIGN"] and ds.meta["label"] == "Label"


def test_infinity_and_nan_under_each_policy(friday: Path, friday_clip: Dataset) -> None:
    drop = load_dataset(str(friday))
    assert drop.n == 9998 - 7 and drop.meta["rows_dropped"] == 7
    assert drop.meta["nonfinite_cells"] == {"Flow Bytes/s": 7, "Flow Packets/s": 7}
    assert np.isfinite(drop.X).all()
    clip = friday_clip
    assert np.isfinite(clip.X).all() and clip.meta["cells_replaced"] == 14
    j = clip.features.index("Flow Packets/s")
    finite = drop.X[:, j]
    assert clip.X[:, j].max() == pytest.approx(finite.max())  # +inf became the finite max
    with pytest.raises(InputError, match="'Flow Bytes/s' has NaN/Infinity in 7 rows"):
        load_dataset(str(friday), nan_policy="error")


def test_web_attack_file(shared_data: Path) -> None:
    ds = load_dataset(str(shared_data / "cicids2017" / WEB))
    assert ds.n == 7267 and ds.d == 77
    assert not set(IDENTIFIERS) & set(ds.features) and "Destination Port" in ds.features
    assert ds.classes == [
        "BENIGN",
        f"Web Attack {DASH} Brute Force",
        f"Web Attack {DASH} Sql Injection",
        f"Web Attack {DASH} XSS",
    ]
    assert np.bincount(ds.y).tolist() == [5087, 1507, 21, 652]
    assert "rows_dropped" not in ds.meta


def test_header_cleaning() -> None:
    assert clean_header([" a", "b ", " a", "a", "a.1"]) == ["a", "b", "a.2", "a.3", "a.1"]


def _tiny_flows(path: Path, encoding: str = "utf-8") -> Path:
    head = (
        "Flow ID, Source IP, Source Port, Destination IP, Destination Port, Protocol, Timestamp,"
        " Flow Duration, Fwd Header Length, Fwd Header Length, Label\r\n"
    )
    rows = [
        "1-2,192.168.10.5,443,8.8.8.8,80,6,7/7/2017 9:00,10,20,20,BENIGN",
        "3-4,192.168.10.6,444,8.8.4.4,80,6,7/7/2017 9:01,11,Infinity,21,Web Attack \u2013 XSS",
        "5-6,192.168.10.7,445,8.8.4.4,22,6,7/7/2017 9:02,12,22,22, BENIGN ",
        ",,,,,,,,,,",
    ]
    path.write_bytes((head + "\r\n".join(rows) + "\r\n").encode(encoding))
    return path


def test_generated_labelled_flows_layout_and_quirks(tmp_path: Path) -> None:
    for enc in ("utf-8", "cp1252"):
        ds = load_dataset(str(_tiny_flows(tmp_path / f"{enc}.csv", enc)), nan_policy="clip")
        assert ds.features == [
            "Destination Port",
            "Flow Duration",
            "Fwd Header Length",
            "Fwd Header Length.1",
        ]
        assert ds.classes == ["BENIGN", f"Web Attack {DASH} XSS"] and ds.y.tolist() == [0, 1, 0]
        assert ds.X[1].tolist() == [80, 11, 22, 21] and ds.meta["blank_rows_skipped"] == 1


def test_flow_column_errors(tmp_path: Path) -> None:
    p = _tiny_flows(tmp_path / "f.csv")
    ds = load_dataset(str(p), features=["Flow Duration", "Destination Port"])
    assert ds.X[:, 0].tolist() == [10, 11, 12]
    with pytest.raises(InputError, match="no column.*'Bwd Bytes'"):
        load_dataset(str(p), features=["Bwd Bytes"])
    with pytest.raises(InputError, match="'Source IP'.*non-numeric"):
        load_dataset(str(p), features=["Source IP"])


def test_folder_of_flow_files(tmp_path: Path) -> None:
    _tiny_flows(tmp_path / "a.csv")
    _tiny_flows(tmp_path / "b.csv")
    ds = load_dataset(str(tmp_path), nan_policy="drop")
    assert ds.n == 4 and ds.groups is not None and ds.groups.tolist() == [0, 0, 1, 1]
