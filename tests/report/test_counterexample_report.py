"""`autospec report counterexamples`: AutoSpec's Figure 6 table and plot from a benchmark and
its results folder (a sat result written the way `autospec verify` writes one)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from autospec_cli.data.kinds import FeatureKinds
from autospec_cli.specs.model import Spec, SpecSet
from autospec_cli.verify.base import Counterexample, Result, Verdict
from autospec_cli.verify.discrete import annotate_results
from autospec_cli.verifyrun.results import write_results
from autospec_cli.vnnlib.benchmark import read_benchmark, read_manifest
from autospec_cli.vnnlib.benchmark_export import export_specset

FEATURES = ["n", "r", "const", "p=a", "p=b"]


def _bench(tmp_path: Path) -> Path:
    from autospec_cli.models.arch import MLP
    from autospec_cli.models.onnx_export import export_onnx

    export_onnx(MLP(5, [4], 2), (5,), tmp_path / "m.onnx")
    spec = Spec("s0", np.array([2.0, 0, 0, 0, 0]), np.array([5.0, 0.5, 0, 1, 1]), label=1,
                support=4)
    ss = SpecSet("classification", FEATURES, "tree", [spec], classes=["benign", "attack"],
                 domain=(np.zeros(5), np.array([10.0, 1, 0, 1, 1])),
                 feature_kinds=FeatureKinds(["n"], {"p": ["p=a", "p=b"]}))
    bench = tmp_path / "bench"
    export_specset(ss, tmp_path / "m.onnx", bench, onehot_limit=1)  # p relaxed: [0, 1] box
    inst = read_benchmark(bench)
    x = np.array([3.5, 0.25, 0.0, 0.4, 0.6])
    res = annotate_results(inst, [Result(Verdict.SAT, 0.1, Counterexample(x, np.zeros(2)))],
                           read_manifest(bench))
    write_results(bench / "results-bab", inst, res, backend="bab", root=bench)
    return bench


def test_report_counterexamples_table_json_and_plot(tmp_path: Path, cli_runner) -> None:
    bench = _bench(tmp_path)
    png = tmp_path / "cex.png"
    code, out, err = cli_runner("report", "counterexamples", str(bench), "--plot", str(png),
                                "--json")
    assert code == 0, err
    doc = json.loads(out)
    (row,) = doc["counterexamples"]
    assert row["id"] == "s0" and row["label_name"] == "attack"
    assert row["predicted_name"] in ("benign", "attack") and row["discrete_ok"] is False
    shown = [f["feature"] for f in row["features"]]
    assert "const" not in shown and shown[0] == "n"  # narrowest box first, constants left out
    n = row["features"][0]
    assert (n["lo"], n["hi"], n["witness"]) == (2.0, 5.0, 3.5)
    assert png.is_file() and png.stat().st_size > 1000
    code, out, err = cli_runner("report", "counterexamples", str(bench), "--markdown")
    assert code == 0, err
    assert "| s0 | attack |" in out and "| n |" in out


def test_report_counterexamples_needs_a_results_folder(tmp_path: Path, cli_runner) -> None:
    bench = _bench(tmp_path)
    code, _, err = cli_runner("report", "counterexamples", str(bench), "--results",
                              str(tmp_path))
    assert code == 2 and "no summary.json" in err and "Traceback" not in err


def test_job_summary_has_a_discrete_column(tmp_path: Path, cli_runner) -> None:
    bench = _bench(tmp_path)
    code, out, err = cli_runner("report", str(bench / "results-bab"), "--format", "markdown")
    assert code == 0, err
    assert "| counterexample | discrete |" in out and "| no |" in out
