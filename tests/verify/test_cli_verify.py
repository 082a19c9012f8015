"""`autospec verify`: results files and documented exit codes, through the real CLI."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest
from conformance import build_problems, write_benchmark_folder

FAST = ["--opt", "samples=64", "--opt", "restarts=2", "--opt", "steps=10"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict:
    return {p.name: p for p in build_problems(tmp_path_factory.mktemp("tiny"))}


@pytest.fixture()
def bench(tmp_path, tiny):
    def make(*names: str) -> Path:
        return write_benchmark_folder(tmp_path / "bench", [tiny[n] for n in names], timeout=10)
    return make


def unsat_tool(tmp_path: Path) -> str:
    tool = tmp_path / "always_unsat.py"
    tool.write_text("import sys\nopen(sys.argv[5], 'w').write('unsat\\n')\n")
    return f"command={sys.executable} {tool} v1 {{category}} {{onnx}} {{vnnlib}} {{results}} {{timeout}}"


def test_violation_found_exits_1_and_writes_results(cli_runner, bench) -> None:
    b = bench("lin_sat", "lin_unsat")
    code, out, err = cli_runner("--quiet", "verify", str(b), "--backend", "attack", *FAST)
    assert code == 1, err
    rows = list(csv.reader(open(b / "results-attack" / "results.csv")))
    assert [r[4] for r in rows] == ["sat", "unknown"]
    assert [r[1] for r in rows] == ["onnx/lin_sat.onnx", "onnx/lin_unsat.onnx"]
    assert rows[0][0] == "bench"
    assert (b / "results-attack" / "counterexamples" / "lin_sat__lin_sat.counterexample").is_file()
    assert json.loads((b / "results-attack" / "summary.json").read_text())["counts"]["sat"] == 1
    assert "sat" in out


def test_all_holds_exits_0(cli_runner, bench, tmp_path) -> None:
    b = bench("lin_unsat", "abs_unsat")
    code, out, err = cli_runner("--quiet", "verify", "run", str(b), "--backend", "external",
                                "--opt", unsat_tool(tmp_path), "-o", str(tmp_path / "res"))
    assert code == 0, err
    assert [r[4] for r in csv.reader(open(tmp_path / "res" / "results.csv"))] == ["unsat", "unsat"]


def test_undecided_exits_3_and_json(cli_runner, bench) -> None:
    b = bench("lin_unsat")
    code, out, err = cli_runner("verify", str(b), "--backend", "attack", *FAST, "--json",
                                "--timeout", "5", "--category", "mycat")
    assert code == 3, err
    doc = json.loads(out)
    assert doc["counts"]["unknown"] == 1 and doc["exit_code"] == 3
    assert doc["backend"] == "attack"
    assert next(csv.reader(open(b / "results-attack" / "results.csv")))[0] == "mycat"


def test_existing_results_need_force(cli_runner, bench) -> None:
    b = bench("lin_unsat")
    assert cli_runner("-q", "verify", str(b), "--backend", "attack", *FAST)[0] == 3
    code, _, err = cli_runner("-q", "verify", str(b), "--backend", "attack", *FAST)
    assert code == 2 and "--force" in err
    assert cli_runner("-q", "verify", str(b), "--backend", "attack", *FAST, "--force")[0] == 3


@pytest.mark.parametrize("args, fragment", [
    (["--backend", "nope"], "unknown verifier backend"),
    (["--backend", "attack", "--opt", "bogus=1"], "unknown option"),
    (["--backend", "attack", "--opt", "samples=lots"], "cannot read"),
    (["--backend", "external:nothere", "--tools", "/nonexistent/tools.toml"], "not found"),
])
def test_bad_usage_exits_2(cli_runner, bench, args, fragment) -> None:
    code, _, err = cli_runner("-q", "verify", str(bench("lin_sat")), *args)
    assert code == 2 and fragment in err, err


def test_missing_benchmark_exits_2(cli_runner, tmp_path) -> None:
    code, _, err = cli_runner("verify", str(tmp_path / "nothing"))
    assert code == 2 and "not a benchmark folder" in err


def test_named_external_tool_from_tools_file(cli_runner, bench, tmp_path) -> None:
    tools = tmp_path / "tools.toml"
    cmd = unsat_tool(tmp_path).removeprefix("command=").split()
    tools.write_text("[tools.fake]\ncommand = " + json.dumps(cmd) + "\n")
    b = bench("lin_unsat")
    code, out, err = cli_runner("-q", "verify", str(b), "--backend", "external:fake", "--tools", str(tools))
    assert code == 0, err
    assert (b / "results-external-fake" / "results.csv").is_file()


def test_verify_instance_prints_verdict_and_counterexample(cli_runner, tiny) -> None:
    p = tiny["lin_sat"]
    code, out, err = cli_runner("-q", "verify", "instance", str(p.onnx), str(p.vnnlib),
                                "--backend", "attack", *FAST)
    assert code == 1, err
    assert out.startswith("sat") and "(X_0 " in out
    code, out, _ = cli_runner("verify", "instance", str(p.onnx), str(p.vnnlib), "--backend", "attack",
                              *FAST, "--json")
    assert json.loads(out)["results"][0]["result"] == "sat"


def test_backends_lists_parameters(cli_runner) -> None:
    code, out, _ = cli_runner("verify", "backends", "--json")
    assert code == 0
    rows = {r["name"]: r for r in json.loads(out)["backends"]}
    assert rows["attack"]["available"] and "restarts" in rows["attack"]["parameters"]
    code, out, _ = cli_runner("verify", "backends")
    assert code == 0 and "attack" in out
