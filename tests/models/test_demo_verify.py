"""The demo's throughput verification (AutoSpec §5.3) with the attack backend."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from autospec_cli.demo import DemoConfig
from autospec_cli.demo.verification import (
    check_backend,
    counterexample_markdown,
    plot_counterexamples,
    select_specs,
    verify_throughput,
)
from autospec_cli.errors import ConfigError
from autospec_cli.specs.model import Spec, SpecSet
from autospec_cli.verifyrun.results import read_results_csv


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[dict, Path]:
    from autospec_cli.data.loaders import load_dataset

    out = tmp_path_factory.mktemp("demo")
    ds = load_dataset("builtin:throughput")
    cfg = DemoConfig(out_dir=out, backend="attack", timeout=1.0, max_properties=10)
    calls: list[tuple] = []
    record = verify_throughput(cfg, ds, lambda d, c, t: calls.append((d, c, t)))
    assert any(d == "train" for d, _, _ in calls)
    return record, out


def test_every_counterexample_violates_its_spec_in_onnxruntime(run):
    record, out = run
    cexs = record["counterexamples"]
    assert cexs, "the attack should falsify some of the 10 throughput specs"
    sess = ort.InferenceSession(str(out / "models" / "throughput.onnx"),
                                providers=["CPUExecutionProvider"])
    x = np.array([c["x"] for c in cexs], dtype=np.float32)
    y = sess.run(None, {sess.get_inputs()[0].name: x})[0].reshape(-1)
    tol = 1e-4
    for c, yi in zip(cexs, y, strict=True):
        lo, hi = np.array(c["box_lo"]), np.array(c["box_hi"])
        assert np.all(lo - tol <= c["x"]) and np.all(c["x"] <= hi + tol)
        assert yi <= c["y_lo"] + tol or yi >= c["y_hi"] - tol, c  # outside [y_lo, y_hi]
        assert abs(yi - c["y"]) <= 1e-3 * max(1.0, abs(yi))
    # each one is the spec's own range from the exported spec set
    specs = {s["id"]: s for s in json.loads((out / "throughput-bench" / "manifest.json")
                                             .read_text())["instances"]}
    for c in cexs:
        meta = specs[c["spec"]]["meta"]
        assert (meta["y_lo"], meta["y_hi"]) == (c["y_lo"], c["y_hi"])


def test_counts_results_and_outputs(run):
    record, out = run
    assert record["properties"] == 10 and record["verified"] + record["not_run"] == 10
    assert sum(record["counts"].values()) == record["verified"]
    assert record["counts"]["sat"] == len(record["counterexamples"])
    assert record["counts"]["unsat"] == 0  # attack never proves
    rows = read_results_csv(record["paths"]["results_csv"])
    assert len(rows) == record["verified"]
    assert sum(r["result"] == "sat" for r in rows) == record["counts"]["sat"]
    cex_files = list((out / "throughput-results" / "counterexamples").glob("*"))
    assert len(cex_files) == record["counts"]["sat"]
    assert record["arch"] == "mlp:10,5" and record["stopped"] in ("converged", "max_epochs")
    assert set(record["times"]) >= {"train", "export", "verify", "total"}
    assert Path(record["paths"]["plot"]).is_file()
    md = record["markdown"]
    assert md.count("\n| ") - 1 == len(record["counterexamples"])  # header + one row each
    assert "ul_brate[t-1]" in md and "spec output range" in md
    json.dumps(record)  # JSON-able


def test_unknown_backend_is_config_error(tmp_path):
    with pytest.raises(ConfigError, match="no-such-backend"):
        check_backend("no-such-backend")
    from autospec_cli.data.loaders import load_dataset

    cfg = DemoConfig(out_dir=tmp_path, backend="no-such-backend")
    with pytest.raises(ConfigError):
        verify_throughput(cfg, load_dataset("builtin:throughput"))
    assert not (tmp_path / "models").exists()  # failed before training


def test_select_specs_by_support():
    specs = [Spec(f"s{i}", [0.0], [1.0], y_lo=0.0, y_hi=1.0, support=s)
             for i, s in enumerate([5, 9, 1, 9, 3])]
    chosen = select_specs(SpecSet("regression", ["a"], "tree", specs), 3)
    assert [s.id for s in chosen.specs] == ["s0", "s1", "s3"]


def test_markdown_and_plot_of_given_counterexamples(tmp_path):
    cex = {"spec": "tree-07", "x": [1.0, 2000.0, 3.5, 0.0], "y": 150000.0, "y_lo": 10.0,
           "y_hi": 90000.0, "box_lo": [0, 0, 0, 0], "box_hi": [5, 5000, 5, 5], "support": 3}
    md = counterexample_markdown([cex], ["a", "b", "c", "d"])
    assert "| 1 | tree-07 | 1 | 2,000 | 3.5 | 0 | **150,000** | [10, 90,000] |" in md
    assert "No counterexamples" in counterexample_markdown([], ["a"])
    assert plot_counterexamples([], ["a"], tmp_path / "none.png") is None
    path = plot_counterexamples([cex] * 3, ["a", "b", "c", "d"], tmp_path / "p" / "c.png")
    assert path is not None and path.read_bytes()[:4] == b"\x89PNG"
