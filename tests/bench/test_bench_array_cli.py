"""`autospec bench array CONFIG`: table, JSON, overrides and one-line errors."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

CONFIG = """
[seed]
network = "builtin:digits-conv"
data = "builtin:digits"
[factors]
neu = [0.25, 0.5, 1.0]
fc = [0, 0.5, 1.0]
conv = [0, 1.0]
trn = [0, 1]
[array]
strength = 2
seed = 1
constraints = ["fc == 0 and conv == 0"]
"""


def config(tmp_path: Path, text: str = CONFIG) -> str:
    p = tmp_path / "gdvb.toml"
    p.write_text(text, encoding="utf-8")
    return str(p)


def test_json_rows_values_and_coverage(cli_runner, tmp_path) -> None:
    code, out, err = cli_runner("bench", "array", config(tmp_path), "--json", "--time-budget", "0")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["factors"] == ["neu", "fc", "conv", "idm", "ids", "scl", "trn"]
    assert doc["levels"] == [3, 3, 2, 1, 1, 1, 2] and doc["t"] == 2 and doc["seed"] == 1
    assert doc["coverage"] == 1.0 and doc["stats"]["uncovered"] == 0
    assert doc["constraints"] == ["fc == 0 and conv == 0"]
    assert len(doc["rows"]) == len(doc["values"]) == doc["stats"]["rows"]
    lv = doc["level_values"]
    for idx, vals in zip(doc["rows"], doc["values"], strict=True):
        assert [lv[f][i] for f, i in zip(doc["factors"], idx, strict=True)] == vals
    rows = [dict(zip(doc["factors"], v, strict=True)) for v in doc["values"]]
    assert not any(r["fc"] == 0 and r["conv"] == 0 for r in rows)
    for x, y in itertools.combinations(["neu", "fc", "conv", "trn"], 2):
        need = {(a, b) for a in lv[x] for b in lv[y]}
        need -= {(0, 0)} if {x, y} == {"fc", "conv"} else set()
        assert need <= {(r[x], r[y]) for r in rows}


def test_same_seed_same_json_and_overrides(cli_runner, tmp_path) -> None:
    path = config(tmp_path)
    runs = [json.loads(cli_runner("--json", "bench", "array", path, "--time-budget", "0")[1])
            for _ in range(2)]
    assert runs[0]["rows"] == runs[1]["rows"]
    code, out, _ = cli_runner("bench", "array", path, "--json", "-t", "3", "--seed", "5",
                              "--time-budget", "0")
    doc = json.loads(out)
    assert code == 0 and doc["t"] == 3 and doc["seed"] == 5
    # (neu, fc, trn) has 18 triples; (neu, fc, conv) only 15 allowed ones.
    assert doc["stats"]["lower_bound"] == 18 and doc["stats"]["rows"] >= 18


def test_table_output(cli_runner, tmp_path) -> None:
    code, out, err = cli_runner("-q", "bench", "array", config(tmp_path))
    assert code == 0, err
    assert "neu (3)" in out and "trn (2)" in out and "0.25" in out
    assert "allowed 2-tuples covered (100.0%)" in " ".join(out.split())
    assert "excluded: fc == 0 and conv == 0" in out
    code, out, _ = cli_runner("-q", "bench", "array", config(tmp_path), "--indices")
    assert code == 0 and "0.25" not in out


def test_errors_are_one_line_exit_2(cli_runner, tmp_path) -> None:
    code, out, err = cli_runner("bench", "array", config(tmp_path, CONFIG + "bogus = 1\n"))
    assert code == 2 and not out
    assert "array: unknown key 'bogus'" in err and len(err.strip().splitlines()) == 1
    code, _, err = cli_runner("bench", "array", str(tmp_path / "none.toml"))
    assert code == 2 and "not found" in err
    code, _, err = cli_runner("bench", "array", config(tmp_path), "-t", "9")
    assert code == 2 and "strength" in err
