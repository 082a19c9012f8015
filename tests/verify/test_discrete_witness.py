"""Witness discreteness (verify.discrete) and the CLI round trip on data with a one-hot group:
train, specs generate, export, verify --backend bab (the slow variant); the results say
whether each witness is an input that can occur."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from autospec_cli.data.kinds import FeatureKinds
from autospec_cli.verify.discrete import check_witness, repair_witness
from autospec_cli.vnnlib.builders import classification_property

FEATURES = ["n", "r", "p=a", "p=b", "p=c"]
KINDS = FeatureKinds(["n"], {"p": ["p=a", "p=b", "p=c"]})


class Linear:
    """y = W x: output 1 grows with n and with p=b."""

    n_inputs, n_outputs = 5, 2

    def run(self, X: np.ndarray) -> np.ndarray:
        W = np.array([[0.0, 0, 0, 0, 0], [1.0, 0, 0, 3.0, 0]])
        return np.atleast_2d(X) @ W.T - 4.0 * np.array([0.0, 1.0])


def test_discrete_witness_passes_untouched() -> None:
    check = check_witness([3, 0.5, 0, 1, 0], KINDS, FEATURES)
    assert check.ok and check.to_json() == {"discrete_ok": True, "discrete_issues": []}


def test_fractional_witness_repaired_when_still_a_counterexample() -> None:
    prop = classification_property(np.zeros(5), np.array([9, 1, 1, 1, 1.0]), 0, 2)
    x = np.array([2.6, 0.5, 0.101, 0.6, 0.299])  # y1 = 2.6 + 1.8 - 4 >= 0: violates label 0
    assert (repair_witness(x, KINDS, FEATURES) == [3, 0.5, 0, 1, 0]).all()
    check = check_witness(x, KINDS, FEATURES, model=Linear(), prop=prop)
    assert not check.ok and len(check.issues) == 2 and "0.101" in check.issues[0]
    assert check.repaired is not None and check.repaired.tolist() == [3, 0.5, 0, 1, 0]
    assert check.to_json()["repaired"]["x"] == [3, 0.5, 0, 1, 0]


def test_repair_not_reported_when_it_stops_violating() -> None:
    prop = classification_property(np.zeros(5), np.array([9, 1, 1, 1, 1.0]), 0, 2)
    x = np.array([2.4, 0.5, 0.3, 0.45, 0.25])  # y1 = 2.4 + 1.35 - 4 < 0 ... not sat itself
    x[0] = 3.4  # y1 = 3.4 + 1.35 - 4 >= 0: sat; rounded: n = 3, p = b: y1 = 2 >= 0 (still)
    ok = check_witness(x, KINDS, FEATURES, model=Linear(), prop=prop)
    assert ok.repaired is not None
    x2 = np.array([2.5, 0.5, 0.5, 0.5, 0.0])  # y1 = 2.5 + 1.5 - 4 = 0: sat (ties count)
    x2[2] = 0.51  # argmax is p=a: rounded y1 = 2 + 0 - 4 < 0: no longer a counterexample
    bad = check_witness(x2, KINDS, FEATURES, model=Linear(), prop=prop)
    assert not bad.ok and bad.repaired is None and "no counterexample" in bad.repair


def _data(path: Path, n: int = 300) -> Path:
    rng = np.random.default_rng(1)
    count, rate, proto = rng.integers(0, 21, n), rng.random(n), rng.integers(0, 3, n)
    label = np.where((proto == 1) & (count > 10), "dos",
                     np.where(proto == 2, "scan", "BENIGN"))
    rows = ["count,rate,proto=tcp,proto=udp,proto=icmp,Label"]
    for c, r, p, lab in zip(count, rate, proto, label, strict=True):
        onehot = ",".join("1" if k == p else "0" for k in range(3))
        rows.append(f"{c},{r:.4f},{onehot},{lab}")
    path.write_text("\n".join(rows) + "\n")
    return path


def _round_trip(tmp_path: Path, cli_runner, train: bool, backend: str | None) -> Path:
    data = str(_data(tmp_path / "flows.csv"))
    if train:
        code, _, err = cli_runner("train", data, "--binary-labels", "--arch", "mlp:6",
                                  "--epochs", "15", "-o", str(tmp_path / "m.onnx"))
        assert code == 0, err
    else:  # an untrained network of the same shape: the pipeline, not the model, is tested
        from autospec_cli.models.arch import MLP
        from autospec_cli.models.onnx_export import export_onnx

        export_onnx(MLP(5, [6], 2), (5,), tmp_path / "m.onnx")
    code, _, err = cli_runner("specs", "generate", data, "--binary-labels", "--algo", "tree",
                              "--max-depth", "2", "-o", str(tmp_path / "s.json"))
    assert code == 0, err
    specs = json.loads((tmp_path / "s.json").read_text())
    assert specs["classes"] == ["benign", "attack"]
    assert specs["feature_kinds"] == {"integer": ["count"],
                                      "onehot": {"proto": ["proto=tcp", "proto=udp",
                                                           "proto=icmp"]}}
    bench = tmp_path / "bench"
    code, out, err = cli_runner("export", str(tmp_path / "s.json"), "-m",
                                str(tmp_path / "m.onnx"), "-o", str(bench), "--timeout", "5")
    assert code == 0, err
    assert "discrete features" in out
    manifest = json.loads((bench / "manifest.json").read_text())
    assert manifest["feature_kinds"]["onehot"]["proto"] == ["proto=tcp", "proto=udp",
                                                            "proto=icmp"]
    for entry in manifest["instances"]:
        disc = entry["meta"]["discrete"]
        assert disc["cases"] == entry["n_cases"] >= 1
        assert set(disc["onehot_enumerated"]) | set(disc["onehot_fixed"]) == {"proto"}
    if backend is None:
        return bench
    code, out, err = cli_runner("verify", str(bench), "--backend", backend, "--json",
                                "--executor", "inline", "--timeout", "1")
    assert code in (0, 1, 3), err
    doc = json.loads(out)
    summary = json.loads((bench / f"results-{backend}" / "summary.json").read_text())
    for r, rec in zip(doc["results"], summary["results"], strict=True):
        if r["result"] == "sat":  # every witness was checked for discreteness
            assert isinstance(r["discrete_ok"], bool) and "discrete_ok" in rec
        else:
            assert "discrete_ok" not in r
    sats = sum(r["result"] == "sat" for r in doc["results"])
    if sats:
        assert doc["sat_discrete_ok"] + doc["sat_not_discrete"] == sats
    return bench


def test_cli_round_trip_with_a_onehot_group(tmp_path: Path, cli_runner) -> None:
    """specs generate and export through the CLI; the run's discreteness annotation on a
    witness placed in the first property's box (fractional in the one-hot group)."""
    from autospec_cli.verify.base import Counterexample, Result, Verdict
    from autospec_cli.verify.discrete import annotate_results
    from autospec_cli.vnnlib.benchmark import read_benchmark, read_manifest
    from autospec_cli.vnnlib.reader import read_vnnlib

    bench = _round_trip(tmp_path, cli_runner, train=False, backend=None)
    inst = read_benchmark(bench)[0]
    case = read_vnnlib(inst.vnnlib, n_inputs=5, n_outputs=2).cases[0]
    x = (case.lo + case.hi) / 2  # mid-box: a one-hot column pinned to 1 stays 1, count may be .5
    x[2:5] = np.where(case.hi[2:5] == 1, 0.9, 0.05)
    results = annotate_results([inst], [Result(Verdict.SAT, 0.1, Counterexample(x, np.zeros(2)))],
                               read_manifest(bench))
    extra = results[0].extra
    assert extra["discrete_ok"] is False and "one-hot proto" in extra["discrete_issues"][0]
    assert "relaxed" in extra and "integer_relaxed" in extra
    untouched = annotate_results([inst], [Result(Verdict.UNSAT, 0.1)], read_manifest(bench))
    assert "discrete_ok" not in untouched[0].extra


@pytest.mark.slow
def test_cli_round_trip_with_training(tmp_path: Path, cli_runner) -> None:
    _round_trip(tmp_path, cli_runner, train=True, backend="bab")


@pytest.mark.parametrize("limit", [1])
def test_cli_export_onehot_limit_marks_relaxed(tmp_path: Path, cli_runner, limit: int) -> None:
    from autospec_cli.models.arch import MLP
    from autospec_cli.models.onnx_export import export_onnx
    from autospec_cli.specs.model import Spec, SpecSet

    ss = SpecSet("classification", FEATURES, "tree",
                 [Spec("s", np.array([0, 0, 0, 0, 0.0]), np.array([5, 1, 1, 1, 1.0]), label=0,
                       support=3)], feature_kinds=KINDS)
    ss.save(tmp_path / "s.json")
    export_onnx(MLP(5, [4], 2), (5,), tmp_path / "m.onnx")
    code, out, err = cli_runner("export", str(tmp_path / "s.json"), "-m",
                                str(tmp_path / "m.onnx"), "-o", str(tmp_path / "b"),
                                "--onehot-limit", str(limit))
    assert code == 0, err
    entry = json.loads((tmp_path / "b" / "manifest.json").read_text())["instances"][0]
    assert entry["meta"]["relaxed"] and entry["n_cases"] == 1
    assert "1 one-hot-relaxed" in " ".join(out.split())
