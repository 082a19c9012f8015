"""The demo's mining-and-scoring half (verification: tests/models/test_demo_verify.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from autospec_cli.data.loaders import load_dataset
from autospec_cli.demo import ALPHA_SWEEP, DEMO_PARAMS, DemoConfig, results_markdown, run_demo
from autospec_cli.specs.metrics import evaluate_specs
from autospec_cli.specs.model import SpecSet


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("demo") / "out"
    summary = run_demo(DemoConfig(out_dir=out, verify=False))
    return summary, out


def test_every_algorithm_is_scored_and_written(demo) -> None:
    summary, out = demo
    got = {(r["dataset"], r["algorithm"]) for r in summary["specs"]}
    want = {(d, a) for d, algos in DEMO_PARAMS.items() for a in algos}
    assert got == want
    for d, a in want:
        assert (out / "specs" / f"{d}-{a}.json").is_file()
    for d in DEMO_PARAMS:
        assert (out / "data" / d / "generation.npz").is_file()
        assert (out / "data" / d / "evaluation.npz").is_file()
    assert (out / "plots" / "f1-comparison.png").stat().st_size > 0
    assert (out / "plots" / "spiral-tree.png").stat().st_size > 0
    assert json.loads((out / "summary.json").read_text())["specs"] == summary["specs"]
    assert "verification" not in summary


def test_rows_are_reproducible_from_the_written_files(demo) -> None:
    """Each row's counts equal a fresh evaluation of the written spec set on the written fold."""
    summary, out = demo
    for r in summary["specs"]:
        specset = SpecSet.load(out / "specs" / f"{r['dataset']}-{r['algorithm']}.json")
        gen = load_dataset(str(out / "data" / r["dataset"] / "generation.npz"))
        ev = load_dataset(str(out / "data" / r["dataset"] / "evaluation.npz"))
        y_range = None
        if ev.task == "regression":
            y = np.concatenate([gen.y, ev.y])
            y_range = (float(y.min()), float(y.max()))
        m = evaluate_specs(specset, ev.X, ev.y, alpha=summary["alpha"], y_range=y_range)
        assert (m.tp, m.fp, m.fn, m.n_kept) == (r["tp"], r["fp"], r["fn"], r["kept"]), r
        assert m.tp + m.fp + m.fn == ev.n


def test_alpha_sweep_only_for_regression_and_consistent(demo) -> None:
    summary, _ = demo
    for r in summary["specs"]:
        if r["dataset"] != "throughput":
            assert "f1_by_alpha" not in r
            continue
        sweep = r["f1_by_alpha"]
        assert list(sweep) == [str(a) for a in ALPHA_SWEEP]
        assert sweep[str(summary["alpha"])] == pytest.approx(r["f1"])
    md = results_markdown(summary["specs"])
    assert "| throughput | tree |" in md and "α = 0.05" in md


def test_labelled_setting_beside_the_regression_one(demo) -> None:
    """Same rows in each fold, the target cut into the bins of the whole series (§5.2)."""
    summary, out = demo
    reg_ev = load_dataset(str(out / "data" / "throughput" / "evaluation.npz"))
    lab_ev = load_dataset(str(out / "data" / "throughput-labelled" / "evaluation.npz"))
    assert np.array_equal(reg_ev.X, lab_ev.X) and lab_ev.task == "classification"
    edges = np.asarray(lab_ev.meta["target_bins"]["edges"])
    assert edges.size == summary["target_bins"] + 1 and edges[0] == 0
    assert np.all((reg_ev.y >= edges[lab_ev.y]) & (reg_ev.y <= edges[lab_ev.y + 1]))
    rows = {r["algorithm"]: r for r in summary["specs"] if r["dataset"] == "throughput-labelled"}
    assert set(rows) == {"grid", "cluster", "tree", "human", "human-level-stable"}
    assert SpecSet.load(out / "specs" / "throughput-labelled-human-level-stable.json").params[
        "rules"] == "level,stable"
    gains = {g["dataset"]: g for g in summary["tree_gains"]}
    lab = gains["throughput-labelled"]
    assert lab["vs_human"] == pytest.approx(rows["tree"]["f1"] / rows["human"]["f1"] - 1)
    p = float(np.mean(lab_ev.y == 0))  # bin 0 is the majority of the synthetic series
    assert lab["majority_f1"] == pytest.approx(2 * p / (p + 1))
    assert "paper (labelled)" in (out / "results.md").read_text()


def test_existing_output_needs_force(demo, cli_runner) -> None:
    _, out = demo
    code, _, err = cli_runner("demo", "-o", str(out), "--no-verify")
    assert code == 2
    assert err.strip().count("\n") == 0 and "--force" in err
    assert (out / "summary.json").is_file()  # nothing lost
