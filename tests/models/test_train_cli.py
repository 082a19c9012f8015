"""`autospec train` through the CLI: outputs, sidecar, overwrite refusal, JSON, errors."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest

from autospec_cli.data.dataset import Dataset
from autospec_cli.io import sha256_file
from autospec_cli.models.runtime import OnnxRunner


def test_train_throughput_model_writes_onnx_and_sidecar(cli_runner, tmp_path):
    out = tmp_path / "tp.onnx"
    code, stdout, err = cli_runner("--json", "train", "builtin:throughput", "--arch", "mlp:10,5",
                                   "-o", str(out), "--seed", "1")
    assert code == 0, err
    rec = json.loads(stdout)
    side = json.loads((tmp_path / "tp.json").read_text())
    assert rec["onnx"] == str(out) and rec["sidecar"] == str(tmp_path / "tp.json")
    assert side["arch"] == "mlp:10,5" and side["n_inputs"] == 4 and side["n_outputs"] == 1
    assert side["config"]["tol"] == 1e-3 and side["config"]["seed"] == 1
    assert side["stopped"] in ("converged", "max_epochs")
    losses = [h["train_loss"] for h in side["history"]]
    if side["stopped"] == "converged":
        assert abs(losses[-1] - losses[-2]) <= 1e-3
    assert side["onnx_sha256"] == sha256_file(out)
    assert len(side["dataset"]["sha256"]) == 64
    assert side["dataset"]["source"] == "builtin:throughput"
    assert {"val_rmse", "train_r2"} <= set(side["metrics"])
    ops = [n.op_type for n in onnx.load(str(out)).graph.node]
    assert ops == ["Gemm", "Relu", "Gemm", "Relu", "Gemm"]  # the 4-10-5-1 network
    assert OnnxRunner(out).run(np.zeros((3, 4))).shape == (3, 1)


def test_refuses_to_overwrite_without_force(cli_runner, tmp_path):
    out = tmp_path / "m.onnx"
    args = ("train", "builtin:spiral", "--arch", "mlp:4", "-o", str(out), "--epochs", "2")
    assert cli_runner(*args)[0] == 0
    before = out.read_bytes()
    code, _, err = cli_runner(*args)
    assert code == 2 and "already exists" in err and "--force" in err
    assert out.read_bytes() == before
    # an existing sidecar alone also blocks
    out.unlink()
    code, _, err = cli_runner(*args)
    assert code == 2 and "m.json" in err and not out.exists()
    code, stdout, err = cli_runner(*args, "--force")
    assert code == 0, err
    assert "Wrote" in stdout


def test_csv_classification_and_human_output(cli_runner, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    csv = tmp_path / "d.csv"
    csv.write_text("a,b,c,label\n" + "\n".join(
        f"{r[0]},{r[1]},{r[2]},{'yes' if t else 'no'}" for r, t in zip(X, y, strict=True)))
    code, stdout, err = cli_runner("train", str(csv), "--arch", "mlp:8", "-o",
                                   str(tmp_path / "c.onnx"), "--epochs", "20", "--lr", "0.01",
                                   "--tol", "0")
    assert code == 0, err
    assert "20 epochs (max_epochs)" in " ".join(stdout.split())
    side = json.loads((tmp_path / "c.json").read_text())
    assert side["n_outputs"] == 2 and side["dataset"]["classes"] == ["no", "yes"]
    assert side["metrics"]["train_accuracy"] > 0.8


def test_conv_on_npz_images(cli_runner, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, size=(60, 36))
    y = (X[:, :18].sum(axis=1) > X[:, 18:].sum(axis=1)).astype(int)
    path = Dataset(X, y, [f"p{i}" for i in range(36)], "classification",
                   classes=["a", "b"]).save_npz(tmp_path / "img.npz")
    code, stdout, err = cli_runner("--json", "train", str(path), "--arch", "conv:2/4",
                                   "--input-shape", "1,6,6", "-o", str(tmp_path / "c.onnx"),
                                   "--epochs", "2")
    assert code == 0, err
    rec = json.loads(stdout)
    assert rec["input_shape"] == [1, 6, 6] and rec["model"]["kind"] == "conv"
    assert OnnxRunner(tmp_path / "c.onnx").input_shape == (1, 6, 6)


def test_errors_are_one_line(cli_runner, tmp_path):
    cases = [
        (("train", "builtin:spiral", "--arch", "rnn:3", "-o", str(tmp_path / "a.onnx")),
         "unknown architecture"),
        (("train", "builtin:spiral", "--arch", "conv:3", "-o", str(tmp_path / "b.onnx")),
         "--input-shape"),
        (("train", "builtin:spiral", "-o", str(tmp_path / "c.txt")), ".onnx"),
        (("train", "builtin:spiral", "--optimizer", "rmsprop", "-o", str(tmp_path / "d.onnx")),
         "optimizer"),
        (("train", str(tmp_path / "missing.csv"), "-o", str(tmp_path / "e.onnx")), "missing.csv"),
        (("train", "builtin:spiral", "--input-norm", "pixel", "-o", str(tmp_path / "f.onnx")),
         "input_norm"),
    ]
    for args, needle in cases:
        code, _, err = cli_runner(*args)
        assert code == 2, (args, err)
        assert needle in err and "Traceback" not in err
        assert err.strip().startswith("error:") and err.strip().count("\n") == 0, err
    assert not list(tmp_path.glob("*.onnx"))


@pytest.mark.parametrize("norm", ["feature", "global", "none"])
def test_input_norm_choices_fold_into_the_first_layer(cli_runner, tmp_path, norm):
    """Images in [0, 1] with a near-constant pixel: per-feature standardisation multiplies that
    pixel's first-layer weights by 1/std (huge); ``global`` uses one std for every pixel and
    ``none`` none, so their weights on it stay on the scale of the others. Every choice keeps
    the ONNX model equal to the trained one on raw inputs (checked by the export)."""
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, size=(200, 16))
    X[:, 0] = 0.0
    X[0, 0] = 1e-3  # std of pixel 0 about 7e-5
    y = (X[:, 1:8].sum(axis=1) > X[:, 8:15].sum(axis=1)).astype(int)
    path = Dataset(X, y, [f"p{i}" for i in range(16)], "classification",
                   classes=["a", "b"]).save_npz(tmp_path / "img.npz")
    out = tmp_path / f"{norm}.onnx"
    code, stdout, err = cli_runner("--json", "train", str(path), "--arch", "mlp:8",
                                   "--input-norm", norm, "-o", str(out), "--epochs", "2")
    assert code == 0, err
    assert json.loads(stdout)["config"]["input_norm"] == norm
    model = onnx.load(str(out))
    gemm = next(n for n in model.graph.node if n.op_type == "Gemm")
    weights = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    w = np.abs(weights[gemm.input[1]])
    w = w if w.shape[-1] == 16 else w.T  # (hidden, inputs)
    ratio = w[:, 0].max() / w[:, 1:].max()
    if norm == "feature":
        assert ratio > 50
    else:
        assert ratio < 5


def test_help_documents_arch(cli_runner):
    code, stdout, _ = cli_runner("train", "--help")
    assert code == 0
    text = " ".join(stdout.split())
    assert "mlp:10,5" in text and "conv:" in text and "--force" in text


def test_diverged_training_is_an_error_and_writes_nothing(cli_runner, tmp_path):
    """Values near 1e308 (beyond float32, in which training runs) made the weights NaN; they
    are refused before training, and nothing is written."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2)) * 1e307
    csv = tmp_path / "huge.csv"
    rows = [f"{float(a)!r},{float(b)!r},{float(a + b)!r}" for a, b in X]
    csv.write_text("a,b,y\n" + "\n".join(rows))
    code, _, err = cli_runner("train", str(csv), "--arch", "mlp:4", "-o",
                              str(tmp_path / "m.onnx"), "--epochs", "3", "--task", "regression")
    assert code == 2, err
    assert "beyond float32's range" in err and "scale the features" in err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in err
    assert not (tmp_path / "m.onnx").exists() and not (tmp_path / "m.json").exists()


def test_out_is_required_and_nothing_lands_in_the_current_folder(cli_runner, tmp_path,
                                                                  monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = cli_runner("train", "builtin:spiral", "--arch", "mlp:4", "--epochs", "1")
    assert code == 2 and "--out" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("threads", [None, "3"])
def test_training_runs_on_the_chosen_number_of_torch_threads(cli_runner, tmp_path, monkeypatch,
                                                             threads):
    import torch

    from autospec_cli.models import train as train_mod

    seen: list[int] = []
    real = train_mod.train_model

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr(train_mod, "train_model", spy)
    before = torch.get_num_threads()
    extra = ["--threads", threads] if threads else []
    code, _, err = cli_runner("--quiet", "train", "builtin:spiral", "--arch", "mlp:4", "--epochs",
                              "1", "-o", str(tmp_path / "m.onnx"), *extra)
    assert code == 0, err
    assert seen == [int(threads or 1)]
    assert torch.get_num_threads() == before  # restored afterwards
