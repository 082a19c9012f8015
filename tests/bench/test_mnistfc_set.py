"""The mnist_fc-style set builder (benchmarks/mnist_fc.py) and its bench (bench_bab.py).

Fast tests use a tiny synthetic image set (8x8 pixels, 3 classes) and small MLPs trained with
the real ``autospec train`` subprocess; the test on full MNIST is slow.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from autospec_cli.vnnlib.reader import read_vnnlib

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


mnist_fc = _load("mnist_fc")
bench_bab = _load("bench_bab")


def _tiny_images(path: Path, mislabel: tuple[int, ...] = (1,)) -> Path:
    """A Keras-layout NPZ of 8x8 uint8 images: 3 classes, one bright quadrant each, plus noise.
    Test labels at ``mislabel`` are changed, so any decent model misclassifies them."""
    rng = np.random.default_rng(0)

    def part(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(0, 3, size=n)
        X = rng.integers(0, 40, size=(n, 8, 8))
        for k, c in enumerate(y):
            r, q = divmod(int(c), 2)
            X[k, 4 * r:4 * r + 4, 4 * q:4 * q + 4] += 200
        return np.clip(X, 0, 255).astype(np.uint8), y.astype(np.uint8)

    x_train, y_train = part(600)
    x_test, y_test = part(30)
    for i in mislabel:
        y_test[i] = (y_test[i] + 1) % 3
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path


TINY = mnist_fc.TrainOptions(epochs=3, lr=0.01, batch_size=32, width=8, depths=(1, 3))


def run_in_process(argv: list[str]) -> tuple[int, str]:
    """``autospec ARGV`` in this process (the same CLI the builder's subprocess runs; a fresh
    interpreter per model would cost seconds of imports per test)."""
    import contextlib
    import io

    from autospec_cli.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(argv))
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
    return code, err.getvalue() or out.getvalue()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny image NPZ and a set built from it (models cached for the other tests)."""
    root = tmp_path_factory.mktemp("mnistfc")
    data = _tiny_images(root / "tiny.npz")
    folder = mnist_fc.build_set(data, root / "cache", TINY, images=5, eps=(0.03, 0.05),
                                run_cli=run_in_process)
    return data, root / "cache", folder


def test_property_box_is_clipped_to_unit_range_and_rows_name_every_other_class(tmp_path):
    x = np.array([0.0, 0.01, 0.5, 0.98, 1.0, 0.3])
    path = mnist_fc.write_property(tmp_path / "p.vnnlib", x, label=2, eps=0.03, n_outputs=4)
    prop = read_vnnlib(path, n_inputs=6, n_outputs=4)
    (case,) = prop.cases
    np.testing.assert_allclose(case.lo, [0.0, 0.0, 0.47, 0.95, 0.97, 0.27], atol=1e-12)
    np.testing.assert_allclose(case.hi, [0.03, 0.04, 0.53, 1.0, 1.0, 0.33], atol=1e-12)
    assert len(case.disjuncts) == 3  # one per other class
    others = set()
    for poly in case.disjuncts:
        (row,), (b,) = poly.A, poly.b  # Y_2 - Y_j <= 0, i.e. Y_j >= Y_2
        assert row[2] == 1.0 and b == 0.0 and sorted(row) == [-1.0, 0.0, 0.0, 1.0]
        others.add(int(np.flatnonzero(row == -1.0)[0]))
    assert others == {0, 1, 3}
    # semantics: a tie with another class is a counterexample, a clear win is not
    def violated(y):
        return any(np.all(p.A @ np.asarray(y) <= p.b) for p in case.disjuncts)
    assert violated([0.0, 0.0, 1.0, 1.0]) and not violated([0.0, 0.9, 1.0, 0.2])
    assert "(declare-const X_5 Real)" in path.read_text()


def test_first_correct_images_are_chosen_and_misclassified_ones_skipped():
    y = np.array([3, 1, 4, 1, 5, 9, 2, 6])
    pred = np.array([3, 7, 4, 0, 5, 9, 2, 6])
    chosen, skipped = mnist_fc.choose_images(pred, y, 4)
    assert chosen == [0, 2, 4, 5] and skipped == [1, 3]
    chosen, skipped = mnist_fc.choose_images(pred, y, 100)
    assert chosen == [0, 2, 4, 5, 6, 7] and skipped == [1, 3]


def test_timeouts_are_the_competitions():
    assert [mnist_fc.timeout_for(d) for d in (2, 4, 6)] == [120.0, 300.0, 300.0]


def test_build_set_trains_with_autospec_train_writes_the_layout_and_reuses_models(tiny):
    data, cache, folder = tiny
    manifest = json.loads((folder / "manifest.json").read_text())
    rows = list(csv.reader((folder / "instances.csv").open()))
    assert manifest["instances"] == len(rows) == 2 * 5 * 2
    assert {r[0] for r in rows} == {"onnx/mnist-net_8x1.onnx", "onnx/mnist-net_8x3.onnx"}
    assert {r[2] for r in rows} == {"120", "300"}
    for net in manifest["networks"]:
        assert net["test_accuracy"] > 0.8  # the tiny task is easy; 1 of 30 labels is wrong
        assert 1 in net["skipped_misclassified"] and 1 not in net["images"]
        assert len(net["images"]) == 5 and net["command"][:3] == ["autospec", "--json", "train"]
        assert "--input-norm" in net["command"] and not net["reused_cached_model"]
        side = json.loads((cache / "models" / f"{net['name']}.json").read_text())
        assert side["config"]["input_norm"] == "global" and side["n_inputs"] == 64
    # every property is centred on a correctly classified test image, box in [0, 1]
    from autospec_cli.data.idx import load_image_arrays
    from autospec_cli.models.runtime import OnnxRunner

    X, y = load_image_arrays(data).parts["test"]
    X = X.reshape(len(X), -1) / 255.0
    for onnx, vnnlib, _ in rows:
        i = int(Path(vnnlib).stem.split("_")[1])
        prop = read_vnnlib(folder / vnnlib, n_inputs=64, n_outputs=3)
        (case,) = prop.cases
        assert case.lo.min() >= 0.0 and case.hi.max() <= 1.0
        assert np.all(case.lo <= X[i]) and np.all(X[i] <= case.hi)
        out = OnnxRunner(folder / onnx).run(X[i:i + 1].astype(np.float32))[0]
        assert int(out.argmax()) == int(y[i])
        assert not any(np.all(p.A @ out <= p.b) for p in case.disjuncts)  # centre is safe
    before = (cache / "models" / "mnist-net_8x1.onnx").read_bytes()
    again = json.loads((mnist_fc.build_set(data, cache, TINY, images=5, eps=(0.03, 0.05),
                                           run_cli=run_in_process)
                        / "manifest.json").read_text())
    assert all(n["reused_cached_model"] for n in again["networks"])
    assert (cache / "models" / "mnist-net_8x1.onnx").read_bytes() == before
    changed = mnist_fc.TrainOptions(epochs=2, lr=0.01, batch_size=32, width=8, depths=(1,))
    third = json.loads((mnist_fc.build_set(data, cache / "other", changed, images=5,
                                           run_cli=run_in_process)
                        / "manifest.json").read_text())
    assert not third["networks"][0]["reused_cached_model"]
    (cache / "other" / "models" / "mnist-net_8x1.json").rename(
        cache / "models" / "mnist-net_8x1.json")  # a sidecar of other options: retrained
    fourth = json.loads((mnist_fc.build_set(data, cache, TINY, images=5, eps=(0.03, 0.05),
                                            run_cli=run_in_process)
                         / "manifest.json").read_text())
    assert [n["reused_cached_model"] for n in fourth["networks"]] == [False, True]


def test_judge_confirmed_sat_beats_unsat_and_unconfirmed_sat_is_wrong():
    def o(verdict, claimed=None):
        return {"verdict": verdict, "claimed": claimed or verdict}

    outs = {"bab": o("unsat"), "marabou": o("sat")}
    bench_bab.judge(outs, "unknown")
    assert outs["bab"]["wrong"] and outs["bab"]["conflict"] and not outs["marabou"]["wrong"]
    outs = {"bab": o("unsat"), "marabou": o("error", claimed="sat")}  # cex failed the replay
    bench_bab.judge(outs, "unknown")
    assert not outs["bab"]["wrong"] and outs["marabou"]["wrong"]
    assert "not confirmed" in outs["marabou"]["why"]
    outs = {"bab": o("timeout", claimed="sat"), "marabou": o("unsat")}  # late answer: no claim
    bench_bab.judge(outs, "unknown")
    assert not outs["bab"]["wrong"] and not outs["marabou"]["wrong"]
    outs = {"bab": o("sat"), "marabou": o("unknown")}
    bench_bab.judge(outs, "unsat")
    assert outs["bab"]["wrong"] and not outs["marabou"]["wrong"]


def test_bench_runs_backends_side_by_side_on_the_built_set(tiny, tmp_path, capsys):
    data, cache, _ = tiny
    summaries = bench_bab.run(tmp_path, sets=("mnistfc",), backends=("bab", "attack"),
                              every=10, timeout_scale=0.05, mnist_cache=cache,
                              mnist_source=data, mnist_options=TINY,
                              mnist_run_cli=run_in_process)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    per = [d for d in lines if "verdict" in d]
    # 2 nets x 15 images x 2 radii = 60 rows, every 10th per net kept = 6, both backends
    assert len(per) == 12 and {d["backend"] for d in per} == {"bab", "attack"}
    assert {d["timeout_s"] for d in per} == {6.0, 15.0}  # 120 s and 300 s x 0.05
    assert all(not d["wrong"] for d in per)
    by = {(s["network"], s["backend"]): s for s in summaries}
    assert set(by) == {(n, b) for n in ("mnist-net_8x1", "mnist-net_8x3", "all")
                       for b in ("bab", "attack")}
    s = by[("all", "bab")]
    assert s["instances"] == 6 and s["wrong"] == 0
    assert s["solved"] == s["sat"] + s["unsat"] and s["timeout_scale"] == 0.05
    assert s["solved"] >= 1  # a tiny 64-input, 8-ReLU net: bab decides most of these


@pytest.mark.slow
def test_real_mnist_network_trains_to_competition_accuracy(shared_data, tmp_path):
    """One epoch of the 256x2 network on the real MNIST files: > 95 % test accuracy, 30
    instances at the competition's radii and timeout."""
    opts = mnist_fc.TrainOptions(epochs=1, depths=(2,))
    folder = mnist_fc.build_set(shared_data / "mnist", tmp_path, opts)
    manifest = json.loads((folder / "manifest.json").read_text())
    (net,) = manifest["networks"]
    assert net["test_accuracy"] > 0.95 and manifest["instances"] == 30
    assert all(i < 15 + len(net["skipped_misclassified"]) for i in net["images"])
    prop = read_vnnlib(folder / "vnnlib" / f"prop_{net['images'][0]}_0.05.vnnlib",
                       n_inputs=784, n_outputs=10)
    assert len(prop.cases[0].disjuncts) == 9


def test_rows_are_filtered_by_network_name_before_every_and_limit():
    rows = [{"onnx": f"onnx/mnist-net_256x{d}.onnx", "vnnlib": f"p{i}", "timeout": "1",
             "expected": "unknown"} for d in (2, 4, 6) for i in range(4)]
    picked = bench_bab._every(rows, 2, None, ("256x4",))
    assert [r["vnnlib"] for r in picked] == ["p0", "p2"]
    assert all("256x4" in r["onnx"] for r in picked)
    both = bench_bab._every(rows, 1, 5, ("256x2", "256x6"))
    assert [Path(r["onnx"]).stem[-5:] for r in both] == ["256x2"] * 4 + ["256x6"]
    assert len(bench_bab._every(rows, 1, None)) == 12
