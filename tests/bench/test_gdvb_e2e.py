"""GDVB end to end through the CLI: generate (tiny levels, 1 seed, 2 epochs), run, report."""

from __future__ import annotations

import csv
import json

import pytest

CONFIG = """
[seed]
network = "builtin:digits-conv"
data = "builtin:digits"
radius = 0.02
[factors]
neu = [0.5, 1.0]
fc = [0, 1.0]
conv = [0, 1.0]
idm = [0.25, 1.0]
scl = [0.5, 1.0]
[array]
strength = 2
constraints = ["fc == 0 and conv == 0"]
[training]
seeds = 1
epochs = 2
[verify]
timeout = 5
verifiers = ["attack"]
"""


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    root = tmp_path_factory.mktemp("gdvb")
    cfg = root / "tiny.toml"
    cfg.write_text(CONFIG, encoding="utf-8")
    return root, cfg


def test_generate_run_report(generated, cli_runner):
    root, cfg = generated
    out = root / "bench"
    code, stdout, err = cli_runner("--json", "bench", "generate", str(cfg), "-o", str(out),
                                   "--executor", "inline")
    assert code == 0, err
    desc = json.loads(stdout)
    assert desc["kind"] == "gdvb" and desc["status"] == "generated"
    # idm 0.25 makes the seed's second conv see a 2x2 input: reported and excluded
    assert any("smaller than its" in e["reason"] for e in desc["excluded"])
    rows = list(csv.reader((out / "benchmark" / "instances.csv").open()))
    table = list(csv.DictReader((out / "benchmark" / "factors.csv").open()))
    assert len(rows) == len(table) == desc["instances"] == desc["rows"] - len(desc["excluded"])
    assert {r["instance"] for r in table} == {
        i["id"] for i in json.loads((out / "benchmark" / "manifest.json").read_text())["instances"]}
    for r in table:
        assert float(r["idm"]) == 1.0 or float(r["conv"]) == 0.0
        assert (out / "benchmark" / "vnnlib" / f"{r['instance']}.vnnlib").is_file()
    assert json.loads((out / "campaign.json").read_text())["kind"] == "gdvb"

    # resuming does not train again
    code, stdout, err = cli_runner("--json", "bench", "generate", str(cfg), "-o", str(out),
                                   "--executor", "inline")
    assert code == 0, err
    again = json.loads(stdout)
    assert again["train_summary"]["ran"] == 0 and again["instances"] == desc["instances"]

    code, stdout, err = cli_runner("bench", "run", str(out), "--verifiers", "attack",
                                   "--executor", "inline", "--timeout", "5")
    assert code == 0, err
    assert "attack" in stdout and "PAR2" in stdout

    from autospec_cli.report.gdvb import build_report

    rep = build_report(out, root / "report")
    assert rep["scores"][0]["verifier"] == "attack"
    assert rep["scores"][0]["instances"] == desc["instances"]
    for key in ("scores_csv", "scores_md", "radar_max", "parallel", "by_factor"):
        assert (root / "report").joinpath(rep["files"][key].split("/")[-1]).is_file()


def test_generate_refuses_foreign_folder(generated, cli_runner):
    root, cfg = generated
    other = root / "other"
    other.mkdir()
    (other / "keep.txt").write_text("x")
    code, _, err = cli_runner("bench", "generate", str(cfg), "-o", str(other))
    assert code == 2 and "not a GDVB benchmark folder" in err


def test_run_needs_a_gdvb_folder(tmp_path, cli_runner):
    code, _, err = cli_runner("bench", "run", str(tmp_path), "--verifiers", "attack")
    assert code == 2 and "not a GDVB benchmark folder" in err
