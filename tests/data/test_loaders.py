"""Generic readers: builtins, CSV, NPZ, format detection, option checks, NaN policies."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autospec_cli.data.dataset import Dataset
from autospec_cli.data.loaders import detect_format, infer_task, load_dataset, load_npz
from autospec_cli.data.nonfinite import apply_nan_policy, clip_nonfinite
from autospec_cli.errors import ConfigError, InputError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- builtins


def test_spiral_is_the_classic_generator() -> None:
    ds = load_dataset("builtin:spiral", seed=0)
    assert ds.X.shape == (900, 2) and ds.task == "classification"
    assert np.bincount(ds.y).tolist() == [300, 300, 300]
    assert ds.classes == ["0", "1", "2"]
    radius = np.linalg.norm(ds.X, axis=1)
    for j in range(3):  # r = linspace(0, 1, N) inside every arm, whatever the angle noise
        np.testing.assert_allclose(radius[ds.y == j], np.linspace(0, 1, 300), atol=1e-12)


def test_builtins_are_deterministic_per_seed() -> None:
    for name in ("spiral", "throughput"):
        a, b = load_dataset(f"builtin:{name}", seed=5), load_dataset(f"builtin:{name}", seed=5)
        c = load_dataset(f"builtin:{name}", seed=6)
        assert a.sha256() == b.sha256()
        assert a.sha256() != c.sha256()


def test_builtin_throughput_looks_like_traces() -> None:
    ds = load_dataset("builtin:throughput", seed=1, window=6)
    assert ds.task == "regression" and ds.d == 6
    assert ds.features == [f"ul_brate[t-{i}]" for i in range(6, 0, -1)]
    assert ds.groups is not None and len(np.unique(ds.groups)) >= 3
    assert (ds.y >= 0).all() and (ds.y == 0).mean() > 0.02  # zero reports and idle stretches
    assert ds.y.max() > 5 * np.median(ds.y)  # bursts
    # consecutive windows of one group shift by one sample
    same = ds.groups[1:] == ds.groups[:-1]
    np.testing.assert_array_equal(ds.X[1:, :-1][same], ds.X[:-1, 1:][same])
    np.testing.assert_array_equal(ds.X[1:, -1][same], ds.y[:-1][same])


def test_builtin_digits() -> None:
    ds = load_dataset("builtin:digits")
    assert ds.X.shape == (1797, 64)
    assert ds.X.min() == 0 and ds.X.max() == 16
    assert ds.classes == [str(i) for i in range(10)]


def test_unknown_builtin_lists_known_names() -> None:
    with pytest.raises(InputError, match="builtin:spiral, builtin:throughput, builtin:digits"):
        load_dataset("builtin:nope")


def test_option_misuse_is_reported() -> None:
    with pytest.raises(ConfigError, match="label does not apply") as e:
        load_dataset("builtin:spiral", label="y")
    assert e.value.param == "label" and "--" not in str(e.value)  # the CLI adds the flag
    with pytest.raises(ConfigError, match="classification dataset") as e:
        load_dataset("builtin:spiral", task="regression")
    assert e.value.param == "task"
    with pytest.raises(ConfigError, match="features is empty") as e:
        load_dataset("builtin:spiral", features=[])
    assert e.value.param == "features"
    with pytest.raises(ConfigError, match="NaN policy"):
        load_dataset("builtin:spiral", nan_policy="ignore")
    with pytest.raises(ConfigError, match="window"):
        load_dataset("builtin:throughput", window=0)


def test_builtin_feature_selection() -> None:
    ds = load_dataset("builtin:spiral", features=["x1"])
    assert ds.features == ["x1"] and ds.d == 1
    with pytest.raises(InputError, match="'x9'"):
        load_dataset("builtin:spiral", features=["x9"])


# --------------------------------------------------------------------------- CSV


def test_csv_classification_with_text_labels(tmp_path: Path) -> None:
    p = write(tmp_path / "t.csv", "a,b,kind\n1,2,cat\n3,4,dog\n5,6,cat\n")
    ds = load_dataset(str(p))
    assert ds.task == "classification" and ds.classes == ["cat", "dog"]
    assert ds.y.tolist() == [0, 1, 0] and ds.features == ["a", "b"]
    np.testing.assert_array_equal(ds.X, [[1, 2], [3, 4], [5, 6]])


def test_csv_task_inference_and_override(tmp_path: Path) -> None:
    p = write(tmp_path / "r.csv", "x,y\n" + "".join(f"{i},{i * 0.37}\n" for i in range(30)))
    assert load_dataset(str(p)).task == "regression"
    q = write(tmp_path / "c.csv", "x,y\n" + "".join(f"{i},{i % 3}\n" for i in range(30)))
    ds = load_dataset(str(q))
    assert ds.task == "classification" and ds.classes == ["0", "1", "2"]
    assert load_dataset(str(q), task="regression").y[:4].tolist() == [0.0, 1.0, 2.0, 0.0]
    assert infer_task([str(i) for i in range(25)]) == "regression"  # too many distinct integers
    assert infer_task(["1", "1.0", "2"]) == "classification"


def test_csv_features_and_label_options(tmp_path: Path) -> None:
    p = write(tmp_path / "t.csv", "a,target,b,c\n1,0.5,2,3\n4,1.5,5,6\n")
    ds = load_dataset(str(p), features=["c", "a"], label="target", task="regression")
    assert ds.features == ["c", "a"]
    np.testing.assert_array_equal(ds.X, [[3, 1], [6, 4]])
    np.testing.assert_array_equal(ds.y, [0.5, 1.5])
    with pytest.raises(InputError, match="no column.*'zz'"):
        load_dataset(str(p), features=["a", "zz"], label="target")
    with pytest.raises(InputError, match="no label column 'nope'"):
        load_dataset(str(p), label="nope")
    with pytest.raises(InputError, match="cannot also be a feature"):
        load_dataset(str(p), features=["a", "target"], label="target")


def test_csv_bad_input_messages(tmp_path: Path) -> None:
    cases = {
        "missing": (tmp_path / "absent.csv", "no such file"),
        "empty": (write(tmp_path / "empty.csv", ""), "is empty"),
        "header only": (write(tmp_path / "h.csv", "a,b,y\n"), "no data rows"),
        "ragged": (write(tmp_path / "g.csv", "a,b,y\n1,2,3\n1,2\n"), "line 3 has 2 fields"),
        "text cell": (
            write(tmp_path / "n.csv", "a,b,y\n1,2,0\n1,oops,1\n"),
            "column 'b'.*'oops'.*line 3",
        ),
    }
    for what, (path, message) in cases.items():
        with pytest.raises(InputError, match=message):
            load_dataset(str(path))
        assert what


def test_csv_nan_policies(tmp_path: Path) -> None:
    p = write(tmp_path / "n.csv", "a,b,y\n1,inf,0\n2,,1\n3,5,0\n4,7,1\n5,-Infinity,0\n6,9,1\n")
    drop = load_dataset(str(p))
    assert drop.n == 3 and drop.meta["rows_dropped"] == 3
    assert drop.meta["nonfinite_cells"] == {"b": 3}
    clip = load_dataset(str(p), nan_policy="clip")
    np.testing.assert_array_equal(
        clip.X[:, 1], [9, 7, 5, 7, 5, 9]
    )  # +inf->max, NaN->median, -inf->min
    with pytest.raises(InputError, match="column 'b' has NaN/Infinity in 3 rows"):
        load_dataset(str(p), nan_policy="error")


def test_csv_nan_in_regression_target(tmp_path: Path) -> None:
    p = write(tmp_path / "t.csv", "a,y\n1,0.5\n2,nan\n3,1.5\n4,2.25\n")
    ds = load_dataset(str(p), task="regression")
    np.testing.assert_array_equal(ds.y, [0.5, 1.5, 2.25])


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.lists(
            st.floats(allow_nan=False, allow_infinity=False, width=64), min_size=3, max_size=3
        ),
        min_size=2,
        max_size=15,
    )
)
def test_csv_round_trips_floats(tmp_path: Path, rows: list[list[float]]) -> None:
    p = tmp_path / "h.csv"
    p.write_text("a,b,y\n" + "".join(",".join(repr(v) for v in r) + "\n" for r in rows))
    ds = load_dataset(str(p), task="regression")
    np.testing.assert_array_equal(ds.X, np.array(rows)[:, :2])
    np.testing.assert_array_equal(ds.y, np.array(rows)[:, 2])


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.sampled_from([0.0, 1.5, -2.0, 7.0, math.inf, -math.inf, math.nan]),
        min_size=2,
        max_size=12,
    )
)
def test_clip_gives_finite_values_within_the_finite_range(col: list[float]) -> None:
    M = np.array(col)[:, None]
    finite = M[np.isfinite(M)]
    if finite.size == 0:
        with pytest.raises(InputError, match="no finite value"):
            clip_nonfinite(M, ["c"], source="s")
        return
    out = clip_nonfinite(M, ["c"], source="s")
    assert np.isfinite(out).all()
    assert out.min() >= finite.min() and out.max() <= finite.max()
    np.testing.assert_array_equal(out[np.isfinite(M)], finite)


def test_drop_policy_mask_matches_rows() -> None:
    X = np.array([[1.0, np.nan], [2.0, 3.0], [np.inf, 1.0]])
    X2, y2, keep, meta = apply_nan_policy(X, np.array([0, 1, 2]), ["a", "b"], "drop", source="s")
    assert (
        keep.tolist() == [False, True, False] and y2.tolist() == [1] and meta["rows_dropped"] == 2
    )
    assert X2.tolist() == [[2.0, 3.0]]


# --------------------------------------------------------------------------- NPZ


def test_npz_round_trip_of_our_format(tmp_path: Path) -> None:
    ds = Dataset(
        X=np.arange(12.0).reshape(4, 3),
        y=np.array([1, 0, 1, 2]),
        features=["p", "q", "r"],
        task="classification",
        name="mine",
        classes=["a", "b", "c"],
        groups=np.array([0, 0, 1, 1]),
    )
    ds.save_npz(tmp_path / "d.npz")
    back = load_dataset(str(tmp_path / "d.npz"))
    assert back.sha256() == ds.sha256()
    assert (back.features, back.task, back.name, back.classes) == (
        ds.features,
        ds.task,
        ds.name,
        ds.classes,
    )
    assert back.groups is not None and back.groups.tolist() == [0, 0, 1, 1]
    assert back.meta["format"] == "npz" and len(back.meta["source_sha256"]) == 64


def test_generic_npz(tmp_path: Path) -> None:
    np.savez(tmp_path / "img.npz", X=np.zeros((5, 2, 3)), y=np.array([3, 1, 3, 1, 1]))
    ds = load_npz(tmp_path / "img.npz")
    assert ds.X.shape == (5, 6) and ds.meta["input_shape"] == [2, 3]
    assert ds.features[0] == "x0" and ds.classes == ["1", "3"] and ds.y.tolist() == [1, 0, 1, 0, 0]
    np.savez(tmp_path / "r.npz", X=np.ones((4, 2)), y=np.array([0.1, 0.2, 0.3, 0.4]))
    assert load_dataset(str(tmp_path / "r.npz")).task == "regression"


def test_bad_npz(tmp_path: Path) -> None:
    np.savez(tmp_path / "noy.npz", X=np.ones((3, 2)))
    with pytest.raises(InputError, match="without array.*y"):
        load_dataset(str(tmp_path / "noy.npz"))
    (tmp_path / "junk.npz").write_bytes(b"not a zip at all")
    with pytest.raises(InputError, match="not a readable NPZ"):
        load_dataset(str(tmp_path / "junk.npz"))


def test_detect_format(tmp_path: Path) -> None:
    assert detect_format("builtin:x") == "builtin"
    assert (
        detect_format(str(write(tmp_path / "t.csv", "time,nof_ue,dl_brate,ul_brate\n1,0,0,0\n")))
        == "throughput"
    )
    assert detect_format(str(write(tmp_path / "f.csv", "a, Label\n1,BENIGN\n"))) == "flows"
    kdd = "0,tcp,http,SF" + ",0" * 37 + ",normal,21\n"
    assert detect_format(str(write(tmp_path / "k.txt", kdd))) == "nsl-kdd"
    assert detect_format(str(write(tmp_path / "g.csv", "a,b\n1,2\n"))) == "csv"
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(InputError, match="no throughput-trace or flow CSV"):
        detect_format(str(tmp_path / "empty_dir"))


def test_chunked_reading_gives_the_same_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from autospec_cli.data import table

    rows = "".join(f"{i},{i * 2},{'a' if i % 3 else 'b'}\n" for i in range(11))
    p = write(tmp_path / "c.csv", "x,z,k\n" + rows.replace("5,10,a\n", "5,10,a\n,,\n"))
    whole = load_dataset(str(p))
    monkeypatch.setattr(table, "CHUNK_ROWS", 3)
    chunked = load_dataset(str(p))
    assert chunked.sha256() == whole.sha256() and chunked.n == 11 and chunked.classes == ["a", "b"]
    bad = write(tmp_path / "bad.csv", "x,z,k\n" + rows + "1,oops,a\n")
    with pytest.raises(InputError, match="'oops' on line 13"):
        load_dataset(str(bad))
