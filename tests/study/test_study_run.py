"""End to end on scikit-learn digits: a tiny study through the CLI, its invariants, the report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

TINY = """
name = "tiny"
[data]
source = "builtin:digits"
[design]
initialisers = ["he", "narrow-normal"]
regularisers = ["l2"]
seeds = [0]
[training]
epochs = 1
batch_size = 32
lr = 0.05
[verify]
images_per_class = 2
eps = 0.1
methods = ["CROWN"]
attack_restarts = 4
attack_steps = 20
[run]
executor = "inline"
"""


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    from autospec_cli.cli.main import main

    base = tmp_path_factory.mktemp("study")
    cfg, out = base / "tiny.toml", base / "out"
    cfg.write_text(TINY)
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        try:
            main(["--quiet", "study", "run", str(cfg), "-o", str(out), "--json", "--report"])
        except SystemExit as e:
            assert e.code in (0, None)
    return cfg, out, json.loads(buf.getvalue())


def test_run_summary_and_layout(study: tuple[Path, Path, dict]) -> None:
    _, out, s = study
    assert s["trained"] == s["models"] == 2 and s["images"] == 20 and s["instances"] == 40
    assert s["train"]["failed"] == 0 and s["verify"]["failed"] == 0
    assert json.loads((out / "campaign.json").read_text())["kind"] == "study"
    assert len(list((out / "vnnlib").glob("*.vnnlib"))) == 20
    rows = (out / "instances.csv").read_text().splitlines()
    assert len(rows) == 40 and rows[0].startswith("onnx/")


def test_selected_images_are_classified_correctly_by_every_model(study) -> None:
    from autospec_cli.models.runtime import OnnxRunner
    from autospec_cli.study.data import StudyData

    _, out, _ = study
    data = StudyData.load(out / "data.npz")
    sel = json.loads((out / "selection.json").read_text())
    pos = np.array(sel["positions"])
    X, y = data.inputs("pool")[pos], data.labels("pool")[pos]
    assert list(y) == sel["labels"] and sorted(np.bincount(y)) == [2] * 10
    assert all(np.all(np.diff(pos[y == c]) > 0) for c in range(10))  # file order
    for onnx in sorted((out / "onnx").glob("*.onnx")):
        pred = OnnxRunner(onnx).run(X.reshape(len(X), -1)).argmax(axis=1)
        assert np.array_equal(pred, y), onnx.name
    # and they are the *first* such images: an earlier image of a class is wrong for a model
    preds = [OnnxRunner(o).run(data.inputs("pool").reshape(len(data.labels("pool")), -1))
             .argmax(axis=1) for o in sorted((out / "onnx").glob("*.onnx"))]
    ok = np.all([p == data.labels("pool") for p in preds], axis=0)
    for c in range(10):
        first = np.flatnonzero(ok & (data.labels("pool") == c))[:2]
        assert list(first) == list(pos[y == c])


def test_not_robust_verdicts_carry_onnxruntime_confirmed_counterexamples(study) -> None:
    from autospec_cli.campaign.store import CampaignStore
    from autospec_cli.study.verify import study_verdict
    from autospec_cli.verify.cex import check_counterexample
    from autospec_cli.verifyrun.jobs import KINDS, instance_params, results_of
    from autospec_cli.verifyrun.results import read_results_csv
    from autospec_cli.vnnlib.reader import read_vnnlib

    _, out, _ = study
    with CampaignStore(out, create=False, writable=False) as store:
        records = [r for kind in KINDS for r in store.results(kind=kind, status="done")]
    pairs = [(p, r) for rec in records
             for p, r in zip(instance_params(rec), results_of(rec), strict=True)]
    assert len(pairs) == 40
    n_not_robust = 0
    for params, res in pairs:
        if study_verdict(res) != "not_robust":
            assert res.counterexample is None
            continue
        n_not_robust += 1
        onnx, prop_path = Path(params["onnx"]), Path(params["vnnlib"])
        assert onnx.parent == out / "onnx" and prop_path.parent == out / "vnnlib"
        prop = read_vnnlib(prop_path, n_inputs=64, n_outputs=10)
        assert check_counterexample(onnx, prop, res.counterexample.x).ok
    assert n_not_robust > 0  # eps = 0.1 is large enough for some
    verdicts = {study_verdict(r) for _, r in pairs}
    assert "robust" in verdicts
    # the VNN-COMP results folder holds the same verdicts and one file per counterexample
    rows = read_results_csv(out / "results" / "results.csv")
    assert sum(r["result"] == "sat" for r in rows) == n_not_robust
    assert len(list((out / "results" / "counterexamples").glob("*"))) == n_not_robust


def test_report_tables_and_plots(study) -> None:
    _, out, s = study
    rep = s["report"]
    for name in ("table.csv", "table.md", "per_class_robustness.png", "time_by_factor.png",
                 "reg_init_time.png", "unstable_vs_time.png", "verdicts.csv"):
        assert (out / "report" / name).stat().st_size > 0
    lines = (out / "report" / "table.csv").read_text().splitlines()
    assert lines[0].startswith("model,regulariser,initialiser,seed,accuracy,robust,unknown")
    assert len(lines) == 1 + 2 + 1  # header, two models, total
    total = rep["total"]
    assert total["robust"] + total["unknown"] + total["not_robust"] == 40


def test_rerun_resumes_and_changed_config_is_refused(study, cli_runner) -> None:
    cfg, out, _ = study
    code, stdout, err = cli_runner("study", "run", str(cfg), "-o", str(out), "--json")
    assert code == 0, err
    again = json.loads(stdout)
    assert again["train"]["ran"] == 0 and again["verify"]["ran"] == 0
    changed = cfg.parent / "changed.toml"
    changed.write_text(TINY.replace("eps = 0.1", "eps = 0.2"))
    code, _, err = cli_runner("study", "run", str(changed), "-o", str(out))
    assert code == 2 and "different configuration" in err


def test_study_check_command(cli_runner) -> None:
    code, out, err = cli_runner("study", "check", "configs/study-digits.toml", "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info["models"] == 45 and info["input_shape"] == [1, 8, 8] and info["scale"] == 16


def test_any_backend_verifies_the_study_benchmark(study, tmp_path: Path) -> None:
    """A batching backend gets one verify.group job per model over the study's properties."""
    from autospec_cli.campaign.engine import run_campaign
    from autospec_cli.campaign.executors import make_executor
    from autospec_cli.campaign.store import CampaignStore
    from autospec_cli.study.config import load_config
    from autospec_cli.study.run import verification_jobs
    from autospec_cli.study.verify import study_verdict
    from autospec_cli.verifyrun.jobs import GROUP_KIND, collect

    cfg_path, out, _ = study
    lirpa = tmp_path / "lirpa.toml"
    lirpa.write_text(cfg_path.read_text().replace("[verify]", '[verify]\nbackend = "lirpa"'))
    cfg = load_config(lirpa)
    trained = {o.stem: {"onnx": f"onnx/{o.name}"} for o in sorted((out / "onnx").glob("*.onnx"))}
    props = sorted(f"vnnlib/{v.name}" for v in (out / "vnnlib").glob("*.vnnlib"))
    jobs, instances = verification_jobs(out, cfg, trained, props)
    assert [j.kind for j, _ in jobs] == [GROUP_KIND] * 2 and len(instances) == 40
    assert all(p["factors"]["regulariser"] == "l2" for j, _ in jobs for p in j.params["instances"])
    run_campaign(tmp_path / "run", [j for j, _ in jobs], make_executor("inline"))
    with CampaignStore(tmp_path / "run", create=False, writable=False) as store:
        results = collect(store, jobs, len(instances))
    verdicts = [study_verdict(r) for r in results]
    assert "not_robust" not in verdicts and "robust" in verdicts  # bounds never say sat


def test_report_reads_verdicts_from_the_verification_records(study) -> None:
    """verdicts.csv: the backend's own word, the study's word, who decided, unstable ReLUs."""
    import csv

    _, out, s = study
    with open(out / "report" / "verdicts.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 40
    words = {"sat": "not_robust", "unsat": "robust"}
    for r in rows:
        assert r["verdict"] == words.get(r["result"], "unknown")
        assert r["decided_by"] in (("lirpa", "attack", "bab") if r["result"] in words else ("",))
        assert int(r["unstable"]) >= 0
    assert s["verdicts"] == {v: sum(r["verdict"] == v for r in rows)
                             for v in ("robust", "unknown", "not_robust")}
    models = [r["model"] for r in rows]
    assert models == sorted(models, key=models.index)  # grouped per model, selection order


def test_workers_get_the_configured_torch_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from autospec_cli.study.run import _worker_threads

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    with _worker_threads(3):
        assert os.environ["OMP_NUM_THREADS"] == "3"
    assert "OMP_NUM_THREADS" not in os.environ
    monkeypatch.setenv("OMP_NUM_THREADS", "5")  # the user's choice wins
    with _worker_threads(1):
        assert os.environ["OMP_NUM_THREADS"] == "5"
    assert os.environ["OMP_NUM_THREADS"] == "5"
