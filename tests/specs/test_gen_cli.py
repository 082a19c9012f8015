"""`autospec specs generate` end to end on NPZ datasets written by the tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gen_helpers import spiral, throughput_windows

from autospec_cli.specs.model import SpecSet


@pytest.fixture()
def spiral_npz(tmp_path: Path) -> Path:
    return spiral().save_npz(tmp_path / "spiral.npz")


@pytest.fixture()
def walk_npz(tmp_path: Path) -> Path:
    return throughput_windows().save_npz(tmp_path / "walk.npz")


def test_generate_writes_a_spec_set(cli_runner, spiral_npz: Path, tmp_path: Path) -> None:
    out = tmp_path / "specs" / "tree.json"
    code, stdout, err = cli_runner("specs", "generate", str(spiral_npz), "--algo", "tree",
                                   "--max-depth", "4", "-o", str(out))
    assert code == 0, err
    ss = SpecSet.load(out)
    assert ss.algorithm == "tree" and ss.params["max_depth"] == 4 and len(ss) > 1
    assert "tree specifications" in stdout and "support mean" in stdout


def test_generate_json_summary_and_seed(cli_runner, walk_npz: Path, tmp_path: Path) -> None:
    out = tmp_path / "c.json"
    code, stdout, err = cli_runner("specs", "generate", str(walk_npz), "--algo", "cluster",
                                   "--k", "5", "--seed", "3", "-o", str(out), "--json")
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["n_specs"] == len(SpecSet.load(out)) <= 5
    assert summary["params"]["random_state"] == 3 and summary["params"]["k"] == 5
    assert summary["dataset"]["n"] == 300 and summary["min_support"] >= 1


def test_root_json_and_seed_apply(cli_runner, walk_npz: Path, tmp_path: Path) -> None:
    out = tmp_path / "t.json"
    code, stdout, _ = cli_runner("--json", "--seed", "7", "specs", "generate", str(walk_npz),
                                 "--algo", "tree", "-o", str(out))
    assert code == 0 and json.loads(stdout)["params"]["random_state"] == 7


def test_generic_params_and_human(cli_runner, walk_npz: Path, tmp_path: Path) -> None:
    out = tmp_path / "h.json"
    code, _, err = cli_runner("specs", "generate", str(walk_npz), "--algo", "human", "--bins", "5",
                              "--rules", "level,stable", "-p", "tau=0.02", "-o", str(out))
    assert code == 0, err
    ss = SpecSet.load(out)
    assert ss.params == {"n_bins": 5, "tau": 0.02, "rules": "level,stable"}
    assert {s.id.split("-")[1] for s in ss.specs} <= {"level", "stable"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--algo", "grid", "--k", "3"], "--k does not apply to --algo grid; its options are"),
        (["--algo", "grid", "--beta", "0"], "beta must be between 1 and"),
        (["--algo", "forest"], "unknown generator 'forest'"),
        (["--algo", "human"], "need labels that are bins of the throughput"),
        (["--algo", "tree", "-p", "depth"], "--param expects NAME=VALUE"),
        (["--algo", "tree", "-p", "depth=3"], "no parameter depth"),
    ],
)
def test_errors_are_one_line_and_exit_2(cli_runner, spiral_npz: Path, tmp_path: Path,
                                        args: list[str], message: str) -> None:
    out = tmp_path / "x.json"
    code, _, err = cli_runner("specs", "generate", str(spiral_npz), *args, "-o", str(out))
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2 and len(errors) == 1 and message in errors[0], err
    assert not out.exists()


def test_existing_output_needs_force(cli_runner, spiral_npz: Path, tmp_path: Path) -> None:
    out = tmp_path / "g.json"
    out.write_text("keep me")
    args = ["specs", "generate", str(spiral_npz), "--algo", "grid", "--beta", "4", "-o", str(out)]
    code, _, err = cli_runner(*args)
    assert code == 2 and "--force" in err and out.read_text() == "keep me"
    code, _, err = cli_runner(*args, "--force")
    assert code == 0, err
    assert SpecSet.load(out).params == {"beta": 4}


def test_reported_time_excludes_loading_the_generator_dependencies(
        cli_runner, spiral_npz: Path, tmp_path: Path, monkeypatch) -> None:
    """scikit-learn's import (a second or more) is not mining time: dependencies are loaded
    before the clock starts."""
    import time

    from autospec_cli.specs.generators.tree import TreeGenerator

    calls: list[str] = []

    def slow_import(cls) -> None:
        calls.append(cls.name)
        time.sleep(1.0)

    monkeypatch.setattr(TreeGenerator, "load_dependencies", classmethod(slow_import))
    code, out, err = cli_runner("--json", "specs", "generate", str(spiral_npz), "--algo", "tree",
                                "--max-depth", "2", "-o", str(tmp_path / "t.json"))
    assert code == 0, err
    assert calls == ["tree"] and json.loads(out)["seconds"] < 0.9


def test_declared_dependencies_are_importable() -> None:
    import sys

    from autospec_cli.specs.generators.registry import GENERATORS

    for name in GENERATORS.names():
        cls = GENERATORS.load(name)
        cls.load_dependencies()
        assert all(m in sys.modules for m in cls.requires)
    assert GENERATORS.load("tree").requires == ("sklearn.tree",)
