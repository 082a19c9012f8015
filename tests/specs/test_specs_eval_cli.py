"""`autospec specs evaluate` (rich table, --json, --per-spec, split folders) and `specs plot`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from autospec_cli.data.dataset import Dataset
from autospec_cli.specs.model import Spec, SpecSet


@pytest.fixture()
def hand(tmp_path: Path) -> tuple[Path, Path]:
    """Two overlapping 2-D specs and 7 points whose scores are known (see test_metrics)."""
    ss = SpecSet("classification", ["a", "b"], "hand",
                 [Spec("s0", [0, 0], [2, 2], label=0, support=3),
                  Spec("s1", [1, 1], [np.inf, 3], label=1, support=2)])
    X = np.array([[0.5, 0.5], [0.5, 0.5], [1.5, 1.5], [1.5, 1.5], [2.5, 2.5], [2, 2], [5, 5]])
    y = np.array([0, 1, 0, 1, 1, 0, 1])
    ds = Dataset(X=X, y=y, features=["a", "b"], task="classification", name="hand",
                 classes=["0", "1"])
    return ss.save(tmp_path / "s.json"), ds.save_npz(tmp_path / "d.npz")


def test_evaluate_table_and_json(cli_runner, hand: tuple[Path, Path]) -> None:
    specs, data = map(str, hand)
    code, out, err = cli_runner("specs", "evaluate", specs, data)
    assert code == 0, err
    assert "TP" in out and "precision" in out and "F1" in out and "specs kept" in out
    code, out, err = cli_runner("specs", "evaluate", specs, data, "--json", "--per-spec")
    assert code == 0, err
    d = json.loads(out)
    assert (d["tp"], d["fp"], d["fn"], d["covered"]) == (2, 4, 1, 6)
    assert d["precision"] == pytest.approx(1 / 3) and d["recall"] == pytest.approx(2 / 3)
    assert d["f1"] == pytest.approx(4 / 9)
    assert [(s["id"], s["covered"], s["satisfied"]) for s in d["specs"]] == \
        [("s0", 5, 3), ("s1", 4, 2)]
    code, out, err = cli_runner("--json", "specs", "evaluate", specs, data)  # the root flag
    assert code == 0 and json.loads(out)["tp"] == 2


def test_evaluate_table_shows_the_numbers(cli_runner, hand: tuple[Path, Path]) -> None:
    code, out, err = cli_runner("specs", "evaluate", *map(str, hand), "--per-spec")
    assert code == 0, err
    assert "0.3333" in out and "0.6667" in out and "0.4444" in out and "2/2" in out
    assert "s1" in out  # the per-spec table


def test_evaluate_regression_alpha_on_a_split_folder(cli_runner, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (300, 2))
    y = 10 * X[:, 0]
    ds = Dataset(X=X, y=y, features=["a", "b"], task="regression", name="r")
    data = ds.save_npz(tmp_path / "r.npz")
    split = tmp_path / "split"
    code, _, err = cli_runner("data", "split", str(data), "-o", str(split))
    assert code == 0, err
    specs = tmp_path / "s.json"
    code, _, err = cli_runner("specs", "generate", str(split / "generation.npz"), "-a", "grid",
                              "--beta", "5", "-o", str(specs))
    assert code == 0, err
    res = {}
    for alpha in ("0", "0.1", "inf"):
        code, out, err = cli_runner("specs", "evaluate", str(specs), str(split), "--alpha",
                                    alpha, "--json")
        assert code == 0, err
        res[alpha] = json.loads(out)
    assert res["0"]["n_kept"] <= res["0.1"]["n_kept"] <= res["inf"]["n_kept"]
    assert res["inf"]["n_kept"] == res["inf"]["n_specs"]
    lo, hi = res["0.1"]["y_range"]  # the range of both parts, not of the evaluation part only
    assert lo == pytest.approx(y.min()) and hi == pytest.approx(y.max())


def test_plot_writes_a_png(cli_runner, hand: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "fig" / "p.png"
    code, stdout, err = cli_runner("specs", "plot", *map(str, hand), "-o", str(out), "--json")
    assert code == 0, err
    info = json.loads(stdout)
    assert info["specs_drawn"] == 2 and info["points_drawn"] == 7
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, _, err = cli_runner("specs", "plot", *map(str, hand), "-o", str(out), "--force",
                              "--max-specs", "1", "--features-xy", "b,a")
    assert code == 0, err
