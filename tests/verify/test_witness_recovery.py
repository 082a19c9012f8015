"""An external tool that answers sat without a counterexample (as nnenum's public version does
on violated ACAS Xu instances): the witness is searched for, and a sat is reported only with
one that replays; otherwise the answer is an error counted as "claimed sat, no witness"."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from autospec_cli.verify.backends.external import ExternalVerifier
from autospec_cli.verify.base import Instance, Verdict
from autospec_cli.verify.cex import check_counterexample
from autospec_cli.verify.runner import run_instances
from autospec_cli.verifyrun.results import summarize

RUN_ARGS = ["v1", "{category}", "{onnx}", "{vnnlib}", "{results}", "{timeout}"]


def _sat_without_witness(tmp_path: Path) -> Path:
    tool = tmp_path / "nnenum_like.py"
    tool.write_text(f"#!{sys.executable}\nimport sys\nopen(sys.argv[5], 'w').write('sat\\n')\n")
    tool.chmod(0o755)
    return tool


def test_witness_recovered_on_a_violated_acasxu_instance(tmp_path, shared_data):
    acas = shared_data / "vnncomp2021" / "acasxu"
    onnx = acas / "ACASXU_run2a_1_2_batch_2000.onnx"  # prop_2: violated (6 of 6 votes)
    if not onnx.is_file():
        pytest.skip("ACAS Xu networks not in the shared data")
    tool = _sat_without_witness(tmp_path)
    inst = Instance(onnx, acas / "prop_2.vnnlib", 60, "acasxu")
    (r,) = run_instances(ExternalVerifier(command=[str(tool), *RUN_ARGS]), [inst])
    assert r.verdict is Verdict.SAT and r.extra.get("witness_recovered"), r.message
    assert check_counterexample(onnx, inst.vnnlib, r.counterexample.x).ok
    assert summarize([r])["witness_recovered"] == 1


def test_no_witness_is_an_error_counted_separately(tmp_path, shared_data):
    folder = shared_data / "vnncomp2021" / "test"
    if not (folder / "test_unsat.onnx").is_file():
        pytest.skip("smoke instances not in the shared data")
    tool = _sat_without_witness(tmp_path)
    inst = Instance(folder / "test_unsat.onnx", folder / "test_prop.vnnlib", 2, "test")
    (r,) = run_instances(ExternalVerifier(command=[str(tool), *RUN_ARGS]), [inst])
    assert r.verdict is Verdict.ERROR and r.extra.get("claimed_sat_no_witness")
    assert "claimed sat, no witness" in r.message
    assert summarize([r])["claimed_sat_no_witness"] == 1
    off = ExternalVerifier(command=[str(tool), *RUN_ARGS], recover=False)
    (r,) = run_instances(off, [inst])
    assert r.verdict is Verdict.ERROR and not r.extra.get("claimed_sat_no_witness")
