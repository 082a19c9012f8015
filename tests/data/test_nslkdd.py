"""NSL-KDD: auto-detection, fixed one-hot vocabularies, binary and named labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from autospec_cli.data.loaders import load_dataset
from autospec_cli.data.nslkdd import CATEGORICAL, FLAGS, NUMERIC, SERVICES, feature_names
from autospec_cli.errors import ConfigError, InputError


def test_vocabularies() -> None:
    assert len(SERVICES) == len(set(SERVICES)) == 70 and len(FLAGS) == 11 and len(NUMERIC) == 38
    assert len(feature_names()) == 38 + 3 + 70 + 11


def test_real_files(shared_data: Path) -> None:
    test = load_dataset(str(shared_data / "nsl-kdd" / "KDDTest+.txt"))
    assert test.X.shape == (22544, 122) and test.classes == ["normal", "attack"]
    assert np.bincount(test.y).tolist() == [9711, 12833]
    start = len(NUMERIC)
    for vocab in CATEGORICAL.values():  # exactly one hot per block
        block = test.X[:, start : start + len(vocab)]
        assert (block.sum(axis=1) == 1).all()
        start += len(vocab)
    named = load_dataset(str(shared_data / "nsl-kdd" / "KDDTrain+_20Percent.txt"), label="label")
    assert named.features == test.features
    assert named.classes is not None and len(named.classes) == 22 and named.classes[0] == "normal"
    assert np.bincount(named.y)[0] == 13449


def _record(service: str = "http", label: str = "normal") -> str:
    return f"0,tcp,{service},SF,181,5450" + ",0" * 35 + f",{label},21\n"


def test_tiny_file_options_and_errors(tmp_path: Path) -> None:
    p = tmp_path / "k.txt"
    p.write_text(_record() + _record("ftp", "neptune"))
    ds = load_dataset(str(p), features=["src_bytes", "service=ftp"])
    assert ds.X.tolist() == [[181, 0], [181, 1]] and ds.y.tolist() == [0, 1]
    with pytest.raises(ConfigError, match="label must be") as info:
        load_dataset(str(p), label="kind")
    assert info.value.param == "label"
    q = tmp_path / "bad.txt"
    q.write_text(_record() + _record("gopherz"))
    with pytest.raises(InputError, match="unknown service value 'gopherz' on line 2"):
        load_dataset(str(q))
