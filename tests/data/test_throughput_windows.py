"""Throughput traces: sliding windows within files, leading idle rows, real O-RAN traces."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from autospec_cli.data.loaders import load_dataset
from autospec_cli.data.throughput import load_traces, make_windows, window_names
from autospec_cli.errors import ConfigError, InputError

HEADER = "time,nof_ue,dl_brate,ul_brate\n"


def trace(path: Path, ul: list[float], idle: int = 0) -> Path:
    rows = [f"{1000 + 250 * i},{0 if i < idle else 3},{10 * v},{v}\n" for i, v in enumerate(ul)]
    path.write_text(HEADER + "".join(rows))
    return path


@pytest.fixture()
def two_files(tmp_path: Path) -> Path:
    d = tmp_path / "traces"
    d.mkdir()
    trace(d / "a.csv", [0, 0, 1, 2, 3, 4, 5, 6, 7, 8], idle=2)  # 8 rows after idle
    trace(d / "b.csv", [101, 102, 103, 104, 105, 106, 107])  # 7 rows, none idle
    (d / "notes.csv").write_text("x,y\n1,2\n")  # not a trace: ignored
    return d


def test_windows_never_cross_files(two_files: Path) -> None:
    ds = load_dataset(str(two_files), window=3)
    assert ds.task == "regression" and ds.features == [
        "ul_brate[t-3]",
        "ul_brate[t-2]",
        "ul_brate[t-1]",
    ]
    assert ds.n == (8 - 3) + (7 - 3)
    assert ds.groups is not None and ds.groups.tolist() == [0] * 5 + [1] * 4
    rows = np.column_stack([ds.X, ds.y])
    for row in rows:  # every window is 4 consecutive values of ONE file
        assert np.all(np.diff(row) == 1), row
        assert (row < 100).all() or (row > 100).all()
    assert rows[0].tolist() == [1, 2, 3, 4] and rows[-1].tolist() == [104, 105, 106, 107]
    assert ds.meta["files"] == ["a.csv", "b.csv"] and ds.meta["leading_idle_dropped"] == [2, 0]


def test_keep_leading_idle_rows(two_files: Path) -> None:
    ds = load_dataset(str(two_files), window=3, drop_leading_idle=False)
    assert ds.n == (10 - 3) + (7 - 3)
    assert ds.X[0].tolist() == [0, 0, 1] and ds.y[0] == 2


def test_window_larger_than_a_file(two_files: Path) -> None:
    with pytest.raises(InputError, match="b.csv: 7 rows.*window 7") as info:
        load_dataset(str(two_files), window=7)
    assert info.value.param == "window"
    with pytest.raises(InputError, match="a.csv: 8 rows after dropping its leading idle rows"):
        load_traces(two_files / "a.csv", window=8)


def test_several_input_series_and_other_target(two_files: Path) -> None:
    ds = load_dataset(
        str(two_files / "b.csv"), window=2, features=["dl_brate", "ul_brate"], label="dl_brate"
    )
    assert ds.features == ["dl_brate[t-2]", "dl_brate[t-1]", "ul_brate[t-2]", "ul_brate[t-1]"]
    assert ds.X[0].tolist() == [1010, 1020, 101, 102] and ds.y[0] == 1030
    with pytest.raises(ConfigError, match="unknown trace column.*'time'"):
        load_dataset(str(two_files), features=["time"])


def test_make_windows_matches_a_loop() -> None:
    rng = np.random.default_rng(0)
    t = {"ul_brate": rng.random(20), "nof_ue": rng.random(20)}
    X, y = make_windows(t, 5, "ul_brate", ["nof_ue", "ul_brate"])
    for i in range(15):
        assert X[i].tolist() == t["nof_ue"][i : i + 5].tolist() + t["ul_brate"][i : i + 5].tolist()
        assert y[i] == t["ul_brate"][i + 5]
    assert window_names(["a"], 2) == ["a[t-2]", "a[t-1]"]


def test_malformed_trace(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_text(HEADER + "1,0,0,0\n2,3,x,5\n")
    with pytest.raises(InputError, match="'dl_brate'.*'x'.*line 3"):
        load_dataset(str(p))
    q = tmp_path / "nan.csv"
    q.write_text(HEADER + "".join(f"{i},1,0,{'nan' if i == 4 else i}\n" for i in range(10)))
    ds = load_dataset(str(q), window=2)
    assert ds.n == 8 - 3 and ds.meta["rows_dropped"] == 3  # windows touching the NaN
    with pytest.raises(InputError, match="ul_brate"):
        load_dataset(str(q), window=2, nan_policy="error")


def _rows_after_idle(path: Path) -> int:
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    first = next(i for i, r in enumerate(rows) if float(r[1]) > 0)
    return len(rows) - first


def test_real_oran_traces(shared_data: Path) -> None:
    folder = shared_data / "oran-commag"
    files = sorted(folder.glob("*.csv"))
    assert len(files) == 12
    k = 4
    ds = load_dataset(str(folder), window=k)
    kept = [_rows_after_idle(f) for f in files]
    assert ds.n == sum(m - k for m in kept)
    assert ds.meta["rows_kept"] == kept
    assert ds.groups is not None and np.bincount(ds.groups).tolist() == [m - k for m in kept]
    assert ds.y.max() == 760640  # ul_brate max of the static_close tr1 file (README)
    single = load_dataset(str(files[0]), window=k)
    np.testing.assert_array_equal(single.X, ds.X[ds.groups == 0])
    assert len(single.meta["source_sha256"]) == 64


def test_subfolders_are_searched_and_hidden_ones_skipped(tmp_path: Path) -> None:
    trace(tmp_path / "z.csv", [5, 6, 7, 8])
    (tmp_path / "bs1").mkdir()
    trace(tmp_path / "bs1" / "bs1.csv", [1, 2, 3, 4, 5])
    (tmp_path / ".cache").mkdir()
    trace(tmp_path / ".cache" / "old.csv", [9, 9, 9, 9, 9])
    ds = load_dataset(str(tmp_path), window=2)
    assert ds.meta["files"] == ["bs1/bs1.csv", "z.csv"]
    assert ds.n == 3 + 2 and ds.groups is not None and ds.groups.tolist() == [0, 0, 0, 1, 1]
