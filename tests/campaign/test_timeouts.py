"""Every place a time limit is accepted -- options, study and GDVB configs, instances.csv --
refuses nan, inf, zero and negative values with one plain sentence."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from autospec_cli.bench.config import load_gdvb_config
from autospec_cli.campaign.executors import make_executor
from autospec_cli.errors import ConfigError, InputError
from autospec_cli.params import check_seconds
from autospec_cli.study.config import config_from_dict
from autospec_cli.testing.verifiers import build_problems
from autospec_cli.vnnlib.benchmark import read_benchmark, write_benchmark
from autospec_cli.vnnlib.reader import read_vnnlib

BAD = [math.nan, math.inf, -math.inf, 0, -1.5, "soon", True, None]


@pytest.mark.parametrize("value", BAD)
def test_check_seconds_refuses(value: object) -> None:
    with pytest.raises(ConfigError, match=r"^--timeout must be a positive number of seconds, "):
        check_seconds("--timeout", value)


def test_check_seconds_accepts_numbers_and_numeric_text() -> None:
    assert check_seconds("t", 2) == 2.0 and check_seconds("t", "0.5") == 0.5


@pytest.mark.parametrize("value", [math.nan, math.inf, 0.0])
def test_executor_timeout(value: float) -> None:
    with pytest.raises(ConfigError, match="the job timeout must be a positive number"):
        make_executor("local", jobs=1, timeout=value)


@pytest.mark.parametrize("key", ["verify", "run"])
@pytest.mark.parametrize("value", [math.nan, math.inf, -1])
def test_study_config_timeouts(key: str, value: float) -> None:
    raw = {"data": {"source": "builtin:digits"}, key: {"timeout": value}}
    with pytest.raises(ConfigError, match=rf"^{key}\.timeout must be a positive number of "):
        config_from_dict(raw)


@pytest.mark.parametrize("value", ["nan", "inf", "0"])
def test_gdvb_config_timeout(tmp_path: Path, value: str) -> None:
    p = tmp_path / "gdvb.toml"
    p.write_text('[seed]\nnetwork = "builtin:digits-conv"\ndata = "builtin:digits"\n'
                 f"[verify]\ntimeout = {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="verify.timeout"):
        load_gdvb_config(p)


def test_benchmark_timeouts_written_and_read(tmp_path: Path, cli_runner) -> None:
    prob = build_problems(tmp_path / "p")[0]
    prop = read_vnnlib(prob.vnnlib)
    for value in (math.inf, math.nan):
        with pytest.raises(ConfigError, match="timeout must be a positive number"):
            write_benchmark(tmp_path / "b", prob.onnx, [("p0", prop)], timeout=value)
    bench = write_benchmark(tmp_path / "b", prob.onnx, [("p0", prop)], timeout=5)
    csv = bench / "instances.csv"
    csv.write_text(csv.read_text().replace(",5\n", ",inf\n"))
    with pytest.raises(InputError, match=r"instances.csv:1: the timeout 'inf' is not a positive"):
        read_benchmark(bench)
    code, _, err = cli_runner("verify", str(bench), "--backend", "attack")
    assert code == 2 and err.startswith("error: ") and "'inf'" in err and err.count("\n") == 1


@pytest.mark.parametrize("value", ["nan", "inf", "0"])
def test_solver_timeout(tmp_path: Path, capsys, value: str) -> None:
    from autospec_cli.cli.solver import main

    prob = build_problems(tmp_path / "p")[0]
    with pytest.raises(SystemExit) as exc:
        main(["verify", str(prob.vnnlib), "--network", f"N={prob.onnx}", "--timeout", value])
    err = capsys.readouterr().err
    assert exc.value.code == 2
    assert err == f"error: --timeout must be a positive number of seconds, got {float(value)!r}\n"
