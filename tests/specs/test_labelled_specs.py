"""Labelled specifications: human rules' labelled form, spec-set edges, evaluate and export."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from gen_helpers import throughput_windows

from autospec_cli.data.bins import bin_dataset
from autospec_cli.errors import ConfigError, SpecError
from autospec_cli.specs.generators.human import HumanGenerator
from autospec_cli.specs.generators.registry import generate_specs
from autospec_cli.specs.model import SpecSet

EDGES = np.array([0.0, 10.0, 20.0, 30.0, 40.0])


def _fit(X: list[list[float]], rules: str) -> dict[str, int]:
    gen = HumanGenerator(rules=rules, tau=0.01)
    gen.fit(np.array(X, float), np.zeros(len(X), dtype=np.int64), task="classification",
            target_bins=EDGES)
    return {s.id: s.label for s in gen.specs_}


def test_increase_names_the_bin_of_the_extrapolation() -> None:
    # slope 3 per step, last value 17 (bin 1): the line at the next step is 20 -> bin 2
    got = _fit([[8.0, 11.0, 14.0, 17.0]], "increase")
    assert got == {"human-increase-1-to-2": 2}


def test_decrease_and_stable_labels() -> None:
    got = _fit([[38.0, 30.0, 22.0, 14.0], [25.0, 25.0, 25.1, 25.0]], "decrease,stable")
    # decrease: line at step 4 is 6 -> bin 0; stable: last value 25 -> bin 2
    assert got == {"human-decrease-1-to-0": 0, "human-stable-2": 2}


def test_level_rule_labelled() -> None:
    assert _fit([[31.0, 32.0, 35.0, 39.0]], "level") == {"human-level-3": 3}


def test_labelled_human_needs_bins() -> None:
    with pytest.raises(ConfigError, match="bins of the throughput"):
        HumanGenerator().fit(np.ones((3, 4)), np.zeros(3, int), task="classification")


def test_spec_set_carries_edges_and_round_trips(tmp_path: Path) -> None:
    ds = bin_dataset(throughput_windows(), 10)
    for algo in ("tree", "grid", "cluster", "human"):
        ss = generate_specs(ds, algo, seed=0)
        assert ss.task == "classification" and ss.classes == ds.classes
        assert ss.target_bins is not None and ss.target_bins.size == 11
        back = SpecSet.load(ss.save(tmp_path / f"{algo}.json"))
        assert np.array_equal(back.target_bins, ss.target_bins)
        assert [s.label for s in back.specs] == [s.label for s in ss.specs]


def test_spec_set_rejects_bad_edges(tmp_path: Path) -> None:
    ss = generate_specs(bin_dataset(throughput_windows(), 4), "tree", seed=0)
    d = ss.to_json()
    d["target_bins"] = {"edges": [0, 1]}
    with pytest.raises(SpecError, match="target_bins"):
        SpecSet.from_json(d)
    d["target_bins"] = {"edges": [0, 1, 2]}  # 2 bins, but labels up to 3
    if max(s.label for s in ss.specs) >= 2:
        with pytest.raises(SpecError, match="names bin"):
            SpecSet.from_json(d)


@pytest.fixture()
def walk_npz(tmp_path: Path) -> Path:
    return throughput_windows().save_npz(tmp_path / "walk.npz")


def test_cli_generate_and_evaluate_labelled(cli_runner, walk_npz: Path, tmp_path: Path) -> None:
    split = tmp_path / "split"
    code, _, err = cli_runner("data", "split", str(walk_npz), "--target-bins", "5", "-o",
                              str(split))
    assert code == 0, err
    specs = tmp_path / "tree.json"
    code, stdout, err = cli_runner("specs", "generate", str(split / "generation.npz"), "-a",
                                   "tree", "-o", str(specs), "--json")
    assert code == 0, err
    assert len(json.loads(stdout)["target_bins"]) == 6
    code, stdout, err = cli_runner("specs", "evaluate", str(specs), str(split), "--json")
    assert code == 0, err
    on_split = json.loads(stdout)
    assert on_split["task"] == "classification" and on_split["y_range"] is None
    # raw regression data is cut into the spec set's own bins (same result on the same rows)
    code, stdout, err = cli_runner("specs", "evaluate", str(specs), str(split /
                                   "evaluation.npz"), "--json")
    assert code == 0 and json.loads(stdout)["f1"] == on_split["f1"]
    code, _, err = cli_runner("specs", "evaluate", str(specs), str(walk_npz), "--target-bins",
                              "4")
    assert code == 2 and "5 bins" in err and err.count("\n") == 1
    code, stdout, err = cli_runner("specs", "evaluate", str(specs), str(walk_npz), "--json")
    assert code == 0, err
    assert json.loads(stdout)["n_points"] == 300


def test_cli_evaluate_refuses_other_bins(cli_runner, walk_npz: Path, tmp_path: Path) -> None:
    specs = tmp_path / "t.json"
    other = bin_dataset(throughput_windows(seed=1), 5).save_npz(tmp_path / "other.npz")
    assert cli_runner("specs", "generate", str(walk_npz), "--target-bins", "5", "-a", "tree",
                      "-o", str(specs))[0] == 0
    code, _, err = cli_runner("specs", "evaluate", str(specs), str(other))
    assert code == 2 and "bins differ" in err


def test_export_writes_the_bin_interval_for_a_regressor(walk_npz: Path, tmp_path: Path) -> None:
    from autospec_cli.models.arch import MLP
    from autospec_cli.models.onnx_export import export_onnx
    from autospec_cli.vnnlib.benchmark_export import export_specset
    from autospec_cli.vnnlib.reader import read_vnnlib

    ss = generate_specs(bin_dataset(throughput_windows(), 5), "tree", seed=0, max_depth=2)
    model = tmp_path / "reg.onnx"
    export_onnx(MLP(4, [8], 1), (4,), model)
    export_specset(ss, model, tmp_path / "bench")
    manifest = json.loads((tmp_path / "bench" / "manifest.json").read_text())
    for spec, entry in zip(ss.specs, manifest["instances"], strict=True):
        lo, hi = ss.target_bins[spec.label], ss.target_bins[spec.label + 1]
        assert entry["meta"]["bin"] == spec.label
        assert entry["meta"]["class"] == ss.classes[spec.label]
        assert (entry["property"]["y_lo"], entry["property"]["y_hi"]) == (lo, hi)
        (case,) = read_vnnlib(tmp_path / "bench" / entry["vnnlib"], n_inputs=4,
                              n_outputs=1).cases
        bounds = sorted(float(p.b[0]) * float(np.sign(p.A[0, 0])) for p in case.disjuncts)
        assert bounds == [lo, hi]  # unsafe: Y <= lo or Y >= hi


@pytest.mark.slow
def test_labelled_throughput_on_the_real_traces(shared_data: Path) -> None:
    """The demo's labelled setting on the O-RAN traces: tree first, >= 15 % over the rules."""
    from autospec_cli.data.bins import dataset_edges
    from autospec_cli.data.loaders import load_dataset
    from autospec_cli.data.split import split_dataset
    from autospec_cli.specs.metrics import evaluate_specs

    raw = load_dataset(str(shared_data / "oran-commag"))
    edges = dataset_edges(bin_dataset(raw, 10))
    gen, ev = (bin_dataset(p, edges=edges) for p in split_dataset(raw, 0.9, 0))
    params = {"grid": {"beta": 10}, "cluster": {"k": 30},
              "tree": {"max_depth": 6, "min_samples_leaf": 20}, "human": {}}
    f1 = {a: evaluate_specs(generate_specs(gen, a, seed=0, **p), ev.X, ev.y).f1
          for a, p in params.items()}
    assert f1["tree"] == max(f1.values())
    assert f1["tree"] >= 1.15 * f1["human"]
