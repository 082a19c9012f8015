"""`autospec data info|split` through the CLI, including error exits."""

from __future__ import annotations

import json
from pathlib import Path

from autospec_cli.cli.dataopts import parse_features


def test_info_json_builtin(cli_runner) -> None:
    code, out, err = cli_runner("data", "info", "builtin:spiral", "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info["rows"] == 900 and info["task"] == "classification"
    assert [c["count"] for c in info["classes"]] == [300, 300, 300] and len(info["sha256"]) == 64
    code, out2, _ = cli_runner("--seed", "7", "--json", "data", "info", "builtin:spiral")
    assert code == 0 and json.loads(out2)["sha256"] != info["sha256"]


def test_info_human_and_target_stats(cli_runner) -> None:
    code, out, _ = cli_runner("data", "info", "builtin:throughput", "--window", "3")
    assert code == 0
    assert "ul_brate[t-3]" in out and "regression" in out and "median" in out
    code, out, _ = cli_runner("data", "info", "builtin:throughput", "--json")
    assert json.loads(out)["target"]["min"] >= 0


def test_info_real_flows(cli_runner, shared_data: Path) -> None:
    f = shared_data / "cicids2017" / "Friday-WorkingHours-Afternoon-DDos.pcap_ISCX.head9998.csv"
    code, out, _ = cli_runner(
        "data",
        "info",
        str(f),
        "--nan-policy",
        "clip",
        "--json",
        "--features",
        "Flow Bytes/s, Flow Packets/s",
    )
    assert code == 0
    info = json.loads(out)
    assert info["rows"] == 9998 and info["features"] == ["Flow Bytes/s", "Flow Packets/s"]
    assert info["meta"]["cells_replaced"] == 14


def test_split_command(cli_runner, tmp_path: Path) -> None:
    out_dir = tmp_path / "split"
    code, out, err = cli_runner(
        "data",
        "split",
        "builtin:spiral",
        "--ratio",
        "0.8",
        "--seed",
        "4",
        "-o",
        str(out_dir),
        "--json",
    )
    assert code == 0, err
    summary = json.loads(out)
    assert summary["sizes"]["evaluation"] == 180 and summary["seed"] == 4
    assert (out_dir / "generation.npz").exists() and (out_dir / "split.json").exists()
    code, _, err = cli_runner("data", "split", "builtin:spiral", "-o", str(out_dir))
    assert code == 2 and "--force" in err and "Traceback" not in err
    code, out, _ = cli_runner("data", "split", "builtin:spiral", "-o", str(out_dir), "--force")
    assert code == 0 and "810 rows" in out


def _one_line_error(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in err, err
    return lines[0]


def test_errors_exit_2_with_one_line(cli_runner, tmp_path: Path) -> None:
    code, _, err = cli_runner("data", "info", str(tmp_path / "missing.csv"))
    assert code == 2 and "no such file" in _one_line_error(err)
    p = tmp_path / "t.csv"
    p.write_text("a,b,y\n1,2,0\n3,4,1\n")
    code, _, err = cli_runner("data", "info", str(p), "--features", "a,zz")
    assert code == 2 and "'zz'" in _one_line_error(err)
    code, _, err = cli_runner("data", "info", str(p), "--label", "nope")
    assert code == 2 and "'nope'" in _one_line_error(err)
    code, _, err = cli_runner("data", "info", "builtin:mnist")
    assert code == 2 and "builtin:spiral" in _one_line_error(err)
    code, _, err = cli_runner("data", "split", str(p), "-o", str(tmp_path / "o"), "--ratio", "1")
    assert code == 2 and "ratio" in _one_line_error(err)
    code, _, err = cli_runner("data", "info", str(p), "--nan-policy", "skip")
    assert code == 2 and "drop, clip, error" in _one_line_error(err)


def test_parse_features() -> None:
    assert parse_features(None) is None
    assert parse_features(" a, b ,,c") == ["a", "b", "c"]
