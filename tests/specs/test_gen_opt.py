"""`specs generate --opt NAME=VALUE` and the hyperparameter flags, parsed against the
generators' declarations (like `verify --opt`), with help generated from them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gen_helpers import spiral

from autospec_cli.specs.model import SpecSet


@pytest.fixture()
def spiral_npz(tmp_path: Path) -> Path:
    return spiral().save_npz(tmp_path / "spiral.npz")


def test_opt_sets_declared_hyperparameters(cli_runner, spiral_npz: Path, tmp_path: Path) -> None:
    out = tmp_path / "t.json"
    code, stdout, err = cli_runner("--json", "specs", "generate", str(spiral_npz), "-a", "tree",
                                   "--opt", "max_depth=3", "--opt", "max-bins=16",
                                   "--opt", "method=hist", "-o", str(out))
    assert code == 0, err
    params = json.loads(stdout)["params"]
    assert (params["max_depth"], params["max_bins"], params["method"]) == (3, 16, "hist")
    assert SpecSet.load(out).params == params


def test_opt_and_flags_give_the_same_spec_set(cli_runner, spiral_npz: Path,
                                              tmp_path: Path) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert cli_runner("specs", "generate", str(spiral_npz), "-a", "grid", "--beta", "6",
                      "-o", str(a))[0] == 0
    assert cli_runner("specs", "generate", str(spiral_npz), "-a", "grid", "--opt", "beta=6",
                      "-o", str(b))[0] == 0
    assert SpecSet.load(a).to_json() == SpecSet.load(b).to_json()
    assert SpecSet.load(a).params == {"beta": 6}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-a", "grid", "--opt", "beta=2.7"], "generator grid: parameter beta: cannot read '2.7'"),
        (["-a", "grid", "--beta", "2.7"], "parameter beta: cannot read '2.7' as an integer"),
        (["-a", "grid", "--opt", "k=3"], "generator grid: unknown option 'k'; known: beta"),
        (["-a", "grid", "--opt", "beta"], "expected key=value"),
        (["-a", "tree", "--opt", "max_depth=0"], "parameter max_depth must be >= 1, got 0"),
        (["-a", "tree", "--method", "forest"], "parameter method: 'forest' is not one of auto"),
        (["-a", "human", "--tau", "nan"], "parameter tau must be a finite number"),
        (["-a", "human", "--opt", "tau=2"], "parameter tau must be between 0.0 and 1.0, got 2.0"),
        (["-a", "cluster", "--opt", "n_init=1.5"], "parameter n_init: cannot read '1.5' as an"),
    ],
)
def test_bad_values_are_one_line_errors_naming_the_parameter(
    cli_runner, spiral_npz: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "x.json"
    code, _, err = cli_runner("specs", "generate", str(spiral_npz), *args, "-o", str(out))
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2 and len(errors) == 1 and message in errors[0], err
    assert not out.exists()


def test_flag_help_is_generated_from_the_declarations(cli_runner) -> None:
    from autospec_cli.cli.specs_generate import flag_help
    from autospec_cli.specs.generators.human import HumanGenerator

    texts = flag_help()
    assert texts["--beta"] == (
        "grid: intervals per feature, 1 to the number of generation points (default 10)", "INT")
    depth, metavar = texts["--max-depth"]  # shared: every generator's own default
    assert metavar == "INT" and depth.endswith("; tree: maximum depth (>= 1; default 10)")
    assert depth.startswith("monotonic: ") and "default 2" in depth
    assert "default 0.01" in texts["--tau"][0] and texts["--tau"][1] == "FLOAT"
    assert HumanGenerator().tau == 0.01  # the one default the help shows
    code, out, _ = cli_runner("specs", "generate", "--help")
    words = " ".join(out.replace("\u2502", " ").split())
    assert code == 0 and "human: trend slope threshold" in words and "--opt" in words
