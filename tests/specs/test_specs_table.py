"""`autospec specs table`: Table 1 from a config, on tiny built-in data (the full run is
`make bench-table`)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from autospec_cli.errors import ConfigError, PluginError
from autospec_cli.specs.table import BUILTIN_CONFIG, load_config, parse_config, run_table

TINY = """\
[table]
seed = 0
alpha = 0.1

[[dataset]]
name = "spiral"
source = "builtin:spiral"
[dataset.generators]
grid = { beta = 4 }
tree = { max_depth = 3 }

[[dataset]]
name = "walk-labelled"
source = "builtin:throughput"
target_bins = 5
max_rows = 400
[dataset.generators]
tree = { max_depth = 3, min_samples_leaf = 5 }
human = { rules = "level,stable" }

[[dataset]]
name = "absent"
source = "{shared}/no-such-folder"
[dataset.generators]
tree = {}
"""


@pytest.fixture()
def tiny(tmp_path: Path) -> Path:
    p = tmp_path / "tiny.toml"
    p.write_text(TINY)
    return p


def test_builtin_config_is_the_paper_setting() -> None:
    cfg = load_config(None)
    assert cfg.alpha == 0.1 and cfg.ratio == 0.9
    k = {d.name: d.generators["cluster"]["k"] for d in cfg.datasets}
    assert k == {"spiral": 30, "throughput": 100, "throughput-labelled": 100,
                 "cicids2017": 1000, "nsl-kdd": 1000, "mnist": 1000}
    assert all(d.generators["grid"] == {"beta": 10} for d in cfg.datasets)
    assert {d.name for d in cfg.datasets if "human" in d.generators} == {
        "throughput", "throughput-labelled"}


def test_run_rows_skips_and_ranks(tiny: Path, tmp_path: Path) -> None:
    res = run_table(load_config(tiny), tmp_path / "shared")
    assert [(r["dataset"], r["algorithm"]) for r in res.rows] == [
        ("spiral", "grid"), ("spiral", "tree"), ("walk-labelled", "tree"),
        ("walk-labelled", "human")]
    assert res.skipped == [{"dataset": "absent",
                            "reason": f"{tmp_path / 'shared' / 'no-such-folder'} not found"}]
    lab = res.rows[2]
    assert lab["task"] == "classification" and lab["target_bins"] == 5 and lab["n_rows"] == 400
    for r in res.rows:
        assert r["tp"] + r["fp"] + r["fn"] > 0 and 0 <= r["f1"] <= 1
        assert r["confident"]["min_confidence"] == 0.5
        assert r["confident"]["specs"] <= r["specs"]
        assert r["generate_cpu_seconds"] >= 0 and r["specs"] >= r["kept"]
    ranks = res.to_json()["tree_ranks"]
    assert ranks["spiral"] == (1 if res.rows[1]["f1"] >= res.rows[0]["f1"] else 2)


def test_cli_writes_every_format(cli_runner, tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, stdout, err = cli_runner("specs", "table", str(tiny), "-o", str(out), "--shared",
                                   str(tmp_path))
    assert code == 0, err
    assert "skipped absent" in stdout and "tree's place by F1" in stdout
    data = json.loads((out / "table.json").read_text())
    rows = list(csv.DictReader(io.StringIO((out / "table.csv").read_text())))
    assert [r["algorithm"] for r in rows] == [r["algorithm"] for r in data["rows"]]
    assert float(rows[0]["f1"]) == data["rows"][0]["f1"]
    assert int(rows[0]["confident_specs"]) == data["rows"][0]["confident"]["specs"]
    md = (out / "table.md").read_text()
    assert md.count("\n| spiral |") == 2 and "skipped absent" in md
    assert (out / "f1.png").read_bytes()[:4] == b"\x89PNG"
    code, _, err = cli_runner("specs", "table", str(tiny), "-o", str(out), "--shared",
                              str(tmp_path))
    assert code == 2 and "--force" in err  # nothing overwritten silently
    code, stdout, err = cli_runner("--json", "specs", "table", str(tiny), "-o", str(out),
                                   "--force", "--datasets", "spiral")
    assert code == 0, err
    assert {r["dataset"] for r in json.loads(stdout)["rows"]} == {"spiral"}


def test_print_config(cli_runner) -> None:
    code, stdout, _ = cli_runner("specs", "table", "--print-config")
    assert code == 0 and stdout == BUILTIN_CONFIG


@pytest.mark.parametrize(("text", "match"), [
    ("[[dataset]]\nname='a'\nsource='builtin:spiral'\n[dataset.generators]\n"
     "cluster={n_init=0}\n", "n_init"),
    ("[[dataset]]\nname='a'\nsource='builtin:spiral'\n[dataset.generators]\ngrid={k=3}\n",
     "no parameter k"),
    ("[[dataset]]\nname='a'\nsource='builtin:spiral'\n", "at least one generator"),
    ("[table]\nalpha=-1\n[[dataset]]\nname='a'\nsource='x'\ngenerators={tree={}}\n", "alpha"),
    ("[[dataset]]\nname='a'\nsource='x'\nwindows=3\ngenerators={tree={}}\n", "unknown key"),
    ("", "no \\[\\[dataset\\]\\]"),
    ("[[dataset", "not valid TOML"),
])
def test_bad_configs(text: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_config(text)


def test_unknown_generator_and_cli_error_line(cli_runner, tmp_path: Path) -> None:
    with pytest.raises(PluginError):
        parse_config("[[dataset]]\nname='a'\nsource='x'\ngenerators={forest={}}\n")
    code, _, err = cli_runner("specs", "table", str(tmp_path / "missing.toml"))
    assert code == 2 and err.count("\n") == 1 and "not found" in err
