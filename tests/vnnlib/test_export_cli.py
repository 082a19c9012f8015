"""`autospec export SPECS --model M.onnx -o BENCH/` through the CLI, as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from autospec_cli.specs.model import SpecSet
from autospec_cli.vnnlib.benchmark import read_benchmark
from autospec_cli.vnnlib.reader import read_vnnlib


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Spec set mined from the builtin spiral (2 features, 3 classes) and two MLPs."""
    from typer.testing import CliRunner

    from autospec_cli.cli.main import app
    from autospec_cli.models.arch import MLP
    from autospec_cli.models.onnx_export import export_onnx

    d = tmp_path_factory.mktemp("export")
    res = CliRunner().invoke(app, ["specs", "generate", "builtin:spiral", "-a", "tree",
                                   "--max-depth", "3", "-o", str(d / "specs.json")])
    assert res.exit_code == 0, res.output
    export_onnx(MLP(2, [8], 3), (2,), d / "net.onnx")
    export_onnx(MLP(3, [8], 3), (3,), d / "net3.onnx")
    return d


def test_export_vnnlib1_layout(work: Path, cli_runner, tmp_path: Path) -> None:
    out = tmp_path / "bench"
    code, stdout, err = cli_runner("export", str(work / "specs.json"), "--model",
                                   str(work / "net.onnx"), "-o", str(out), "--timeout", "30")
    assert code == 0, err
    specs = SpecSet.load(work / "specs.json")
    assert f"wrote {len(specs.specs)} VNN-LIB 1.0 properties" in stdout
    assert sorted(p.name for p in out.iterdir()) == ["instances.csv", "manifest.json", "onnx",
                                                     "vnnlib"]
    rows = (out / "instances.csv").read_text().splitlines()
    assert rows[0] == f"onnx/net.onnx,vnnlib/{specs.specs[0].id}.vnnlib,30"
    inst = read_benchmark(out)
    assert len(inst) == len(specs.specs) and inst[0].category == "bench"
    manifest = json.loads((out / "manifest.json").read_text())
    assert [e["id"] for e in manifest["instances"]] == [s.id for s in specs.specs]
    lo, hi = np.array(manifest["domain"]["lo"]), np.array(manifest["domain"]["hi"])
    for spec, entry in zip(specs.specs, manifest["instances"], strict=True):
        prop = read_vnnlib(out / entry["vnnlib"], n_inputs=2, n_outputs=3)
        (case,) = prop.cases  # box = the spec's box closed with the domain
        assert np.array_equal(case.lo, np.where(np.isfinite(spec.lo), spec.lo, lo))
        assert np.array_equal(case.hi, np.where(np.isfinite(spec.hi), spec.hi, hi))
        assert entry["closed"] == bool(~np.all(np.isfinite(spec.lo) & np.isfinite(spec.hi)))
        assert len(case.disjuncts) == 2 and entry["property"]["label"] == spec.label
        text = (out / entry["vnnlib"]).read_text()
        assert "(declare-const X_1 Real)" in text and "vnnlib-version" not in text


def test_export_vnnlib2_json_and_force(work: Path, cli_runner, tmp_path: Path) -> None:
    out = tmp_path / "b2"
    args = ["export", str(work / "specs.json"), "-m", str(work / "net.onnx"), "-o", str(out),
            "--vnnlib-version", "2", "--json"]
    code, stdout, err = cli_runner(*args)
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["vnnlib_version"] == "2.0" and summary["n_inputs"] == 2
    first = sorted((out / "vnnlib").iterdir())[0]
    assert "(vnnlib-version <2.0>)" in first.read_text()
    assert read_vnnlib(first).meta["input_shape"] == [1, 2]  # read by the official parser
    code, _, err = cli_runner(*args)  # the folder exists now
    assert code == 2 and err.strip().count("\n") == 0 and "--force" in err
    code, stdout, err = cli_runner(*args, "--force", "--timeout", "5")
    assert code == 0, err
    assert (out / "instances.csv").read_text().splitlines()[0].endswith(",5")


@pytest.mark.parametrize("case", ["features", "version", "specs", "model", "timeout"])
def test_export_bad_input_is_one_line_exit_2(work: Path, cli_runner, tmp_path: Path,
                                             case: str) -> None:
    specs, model = str(work / "specs.json"), str(work / "net.onnx")
    extra: list[str] = []
    needle = {"features": "2 features but net3.onnx takes 3 inputs",
              "version": "unknown --vnnlib-version", "specs": "does not exist",
              "model": "nope.onnx", "timeout": "timeout"}[case]
    if case == "features":
        model = str(work / "net3.onnx")
    elif case == "version":
        extra = ["--vnnlib-version", "3"]
    elif case == "specs":
        specs = str(tmp_path / "missing.json")
    elif case == "model":
        model = str(tmp_path / "nope.onnx")
    else:
        extra = ["--timeout", "0"]
    code, stdout, err = cli_runner("export", specs, "-m", model, "-o", str(tmp_path / "o"),
                                   *extra)
    assert code == 2 and stdout == ""
    assert len(err.strip().splitlines()) == 1 and needle in err, err
    assert not (tmp_path / "o").exists()
