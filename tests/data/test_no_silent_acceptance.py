"""Inputs that used to be accepted silently and gave meaningless results are refused with
their reason: one-class classification, a flow file without its label column, evaluation
labels outside the spec set's classes, data beyond float32, a diverging training run."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from torch import nn

from autospec_cli.data.dataset import Dataset
from autospec_cli.data.loaders import detect_format, load_dataset
from autospec_cli.errors import InputError, ModelError, SpecError
from autospec_cli.models.train import train_model
from autospec_cli.specs.generators.registry import generate_specs
from autospec_cli.specs.metrics import evaluate_specs

WEB = "web_attacks_balanced.csv"


def _table(path: Path, rows: list[list[object]], header: list[str]) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def _one_class(tmp_path: Path) -> Path:
    return _table(tmp_path / "one.csv", [[i, 2 * i, "x"] for i in range(40)], ["a", "b", "label"])


def test_one_class_dataset_is_refused_for_training_and_mining(tmp_path: Path) -> None:
    ds = load_dataset(str(_one_class(tmp_path)))
    with pytest.raises(InputError, match=r"one class only \('x' in all 40 rows\)"):
        ds.require_classes("training a classifier")
    with pytest.raises(InputError, match="mining classification specifications needs at least"):
        generate_specs(ds, "grid")
    two = Dataset(X=ds.X, y=np.arange(ds.n) % 2, features=ds.features, task="classification")
    two.require_classes("training")  # two classes pass
    reg = Dataset(X=ds.X, y=np.zeros(ds.n), features=ds.features, task="regression")
    reg.require_classes("training")  # a constant regression target is not a class question


def test_cli_train_refuses_one_class_and_writes_nothing(tmp_path: Path, cli_runner) -> None:
    data = _one_class(tmp_path)
    code, out, err = cli_runner("--quiet", "train", str(data), "-o", str(tmp_path / "m.onnx"),
                                "--epochs", "2")
    assert code == 2, err
    assert err.startswith("error: ") and "one class only" in err and err.count("\n") == 1
    assert not (tmp_path / "m.onnx").exists() and not (tmp_path / "m.json").exists()


def test_flow_file_without_label_column_is_refused(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / "cicids2017" / WEB
    with src.open(encoding="cp1252", newline="") as fh:
        rows = list(csv.reader(fh))[:50]
    keep = [j for j, name in enumerate(rows[0]) if name.strip() != "Label"]
    cut = _table(tmp_path / "cut.csv", [[r[j] for j in keep] for r in rows[1:]],
                 [rows[0][j] for j in keep])
    assert detect_format(str(cut)) == "flows"
    with pytest.raises(InputError, match="CIC-IDS2017 flow columns .* but no 'Label' column"):
        load_dataset(str(cut))
    # Naming another label column reads it (as the flow layout, identifiers dropped).
    ds = load_dataset(str(cut), label="Destination Port")
    assert ds.task == "classification" and "Idle Min" in ds.features
    # A CSV that merely shares one or two names is still a generic table.
    plain = _table(tmp_path / "plain.csv", [[1, 2, 0], [3, 4, 1]],
                   ["Flow Duration", "Idle Min", "y"])
    assert detect_format(str(plain)) == "csv"


def test_evaluation_labels_outside_the_classes_are_refused(tmp_path: Path, cli_runner) -> None:
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (60, 2))
    train = Dataset(X=X, y=(X[:, 0] > 0.5).astype(int), features=["a", "b"],
                    task="classification", classes=["lo", "hi"])
    specset = generate_specs(train, "grid", beta=3)
    y = train.y.copy()
    y[5] = 7
    with pytest.raises(SpecError, match=r"label 7 is not a class .* expected 0\.\.1 "
                                        r"\(2 classes: lo, hi\)"):
        evaluate_specs(specset, X, y)
    y[5] = -1
    with pytest.raises(SpecError, match="label -1"):
        evaluate_specs(specset, X, y)
    specs = tmp_path / "s.json"
    specset.save(specs)
    bad = tmp_path / "bad.npz"
    Dataset(X=X, y=np.where(np.arange(60) == 3, 7, train.y), features=["a", "b"],
            task="classification").save_npz(bad)
    code, out, err = cli_runner("specs", "evaluate", str(specs), str(bad))
    assert code == 2 and err.startswith("error: evaluation label 7") and out == ""


def test_training_data_beyond_float32_is_refused(tmp_path: Path, cli_runner) -> None:
    rows = [[1e308 * (i % 3) / 3, i, i % 2] for i in range(40)]
    data = _table(tmp_path / "huge.csv", rows, ["a", "b", "label"])
    code, out, err = cli_runner("--quiet", "train", str(data), "-o", str(tmp_path / "h.onnx"),
                                "--epochs", "2")
    assert code == 2 and "beyond float32's range" in err and "Warning" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["huge.csv"]


def test_non_finite_loss_stops_training_at_once() -> None:
    X = np.full((32, 2), 1e30)  # fits float32, but the squared error overflows it
    y = np.full(32, 1e30)
    model = nn.Linear(2, 1)
    with pytest.raises(ModelError, match="training diverged at epoch 1: the loss is"):
        train_model(model, (X, y), task="regression", epochs=5, val_fraction=0.0)
