"""Issue 3 item 8: every bad input to `autospec specs ...` is one line on stderr and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest


def _csv(path: Path, header: str, rows: list[list[object]]) -> Path:
    path.write_text(header + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Good and broken inputs, and spec sets mined from the good ones."""
    from typer.testing import CliRunner

    from autospec_cli.cli.main import app

    d = tmp_path_factory.mktemp("bad")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3)).round(4)
    y = (X[:, 0] > 0).astype(int)
    rows3 = [[*x, c] for x, c in zip(X.tolist(), y.tolist(), strict=True)]
    f = {
        "ok3": _csv(d / "ok3.csv", "a,b,c,label", rows3),
        "ok2": _csv(d / "ok2.csv", "a,b,label", [[r[0], r[1], r[3]] for r in rows3]),
        "renamed": _csv(d / "renamed.csv", "a,b,z,label", rows3),
        "empty": _csv(d / "empty.csv", "", []),
        "header": _csv(d / "header.csv", "a,b,c,label", []),
        "nan": _csv(d / "nan.csv", "a,b,c,label", [["nan", *r[1:]] if i == 3 else
                                                    (["inf", *r[1:]] if i == 5 else r)
                                                    for i, r in enumerate(rows3)]),
        "text": _csv(d / "text.csv", "a,b,c,label", [[r[0], "hello", *r[2:]] for r in rows3]),
        "regr": _csv(d / "regr.csv", "a,b,c,y", [[*r[:3], float(r[0]) * 2] for r in rows3]),
        "notjson": d / "notjson.json",
        "empty_json": d / "empty.json",
    }
    f["empty"].write_text("")
    f["blank"] = d / "blank.csv"
    f["blank"].write_text("\n\n")
    f["notjson"].write_text("{ not json")
    f["empty_json"].write_text("")
    runner = CliRunner()
    for name, data in (("specs3", "ok3"), ("specs2", "ok2")):
        res = runner.invoke(app, ["specs", "generate", str(f[data]), "-a", "grid", "--beta", "4",
                                  "-o", str(d / f"{name}.json")])
        assert res.exit_code == 0, res.output
        f[name] = d / f"{name}.json"
    spec = json.loads(f["specs3"].read_text())
    spec["specs"][0]["lo"][0], spec["specs"][0]["hi"][0] = 5.0, -5.0
    (d / "empty_box.json").write_text(json.dumps(spec))
    f["empty_box"] = d / "empty_box.json"
    spec["specs"] = 3
    (d / "no_list.json").write_text(json.dumps(spec))
    f["no_list"] = d / "no_list.json"
    f["dir"] = d
    return f


GENERATE = [  # (what, data key or path, extra options, expected words in the message)
    ("missing file", "missing.csv", [], "no such file"),
    ("empty file", "empty", [], "is empty"),
    ("blank lines only", "blank", [], "no header row"),
    ("header only", "header", [], "no data rows"),
    ("NaN/inf with policy error", "nan", ["--nan-policy", "error"], "NaN/Infinity"),
    ("non-numeric column", "text", [], "non-numeric"),
    ("wrong feature column", "ok3", ["--features", "a,zz"], "no column(s) 'zz'"),
    ("missing label column", "ok3", ["--label", "zz"], "no label column 'zz'"),
    ("unknown algorithm", "ok3", ["-a", "magic"], "unknown generator 'magic'"),
    ("beta too large", "ok3", ["--beta", "100000"], "beta must be between 1 and"),
    ("beta zero", "ok3", ["--beta", "0"], "beta must be between 1 and"),
    ("k larger than the data", "ok3", ["-a", "cluster", "--k", "100000"], "k must be between"),
    ("option of another algorithm", "ok3", ["--k", "3"], "--k does not apply to --algo grid"),
    ("malformed --param", "ok3", ["--param", "beta"], "NAME=VALUE"),
]


@pytest.mark.parametrize("what,data,extra,needle", GENERATE, ids=[g[0] for g in GENERATE])
def test_generate_bad_input(cli_runner, files: dict[str, Path], tmp_path: Path, what: str,
                            data: str, extra: list[str], needle: str) -> None:
    src = str(files[data]) if data in files else str(files["dir"] / data)
    algo = [] if "-a" in extra else ["-a", "grid"]
    out = tmp_path / "out.json"
    code, stdout, err = cli_runner("specs", "generate", src, *algo, *extra, "-o", str(out))
    _one_line_exit_2(code, stdout, err, needle)
    assert not out.exists()


EVALUATE = [  # (what, specs key, data key, extra options, expected words)
    ("missing spec file", "nope.json", "ok3", [], "does not exist"),
    ("empty spec file", "empty_json", "ok3", [], "not valid JSON"),
    ("spec file not JSON", "notjson", "ok3", [], "not valid JSON"),
    ("spec file without a list", "no_list", "ok3", [], "not a list"),
    ("empty box in spec file", "empty_box", "ok3", [], "empty or NaN box at feature 0"),
    ("feature-count mismatch", "specs3", "ok2", [], "3 features but"),
    ("feature-name mismatch", "specs3", "renamed", [], "feature names differ"),
    ("task mismatch", "specs3", "regr", [], "are for classification but"),
    ("missing data file", "specs3", "missing.csv", [], "no such file"),
    ("empty data file", "specs3", "empty", [], "is empty"),
    ("NaN in data", "specs3", "nan", ["--nan-policy", "error"], "NaN/Infinity"),
    ("negative alpha", "specs3", "ok3", ["--alpha", "-1"], "alpha must be a number >= 0"),
    ("NaN alpha", "specs3", "ok3", ["--alpha", "nan"], "alpha must be a number >= 0"),
    ("bad y-range", "specs3", "ok3", ["--y-range", "3,1"], "--y-range must be finite"),
]


@pytest.mark.parametrize("what,specs,data,extra,needle", EVALUATE, ids=[e[0] for e in EVALUATE])
def test_evaluate_bad_input(cli_runner, files: dict[str, Path], what: str, specs: str,
                            data: str, extra: list[str], needle: str) -> None:
    s = str(files[specs]) if specs in files else str(files["dir"] / specs)
    x = str(files[data]) if data in files else str(files["dir"] / data)
    code, stdout, err = cli_runner("specs", "evaluate", s, x, *extra)
    _one_line_exit_2(code, stdout, err, needle)


PLOT = [
    ("log scale of values <= 0", "specs3", "ok3", ["--features-xy", "a,b", "--scale", "log"],
     "use symlog"),
    ("unknown --scale", "specs3", "ok3", ["--scale", "cubic"], "--scale must be one of"),
    ("unknown --features-xy name", "specs3", "ok3", ["--features-xy", "a,zz"], "neither"),
    ("one --features-xy", "specs3", "ok3", ["--features-xy", "a"], "two features"),
    ("feature-count mismatch", "specs2", "ok3", [], "2 features but"),
]


@pytest.mark.parametrize("what,specs,data,extra,needle", PLOT, ids=[p[0] for p in PLOT])
def test_plot_bad_input(cli_runner, files: dict[str, Path], tmp_path: Path, what: str,
                        specs: str, data: str, extra: list[str], needle: str) -> None:
    out = tmp_path / "p.png"
    code, stdout, err = cli_runner("specs", "plot", str(files[specs]), str(files[data]),
                                   "-o", str(out), *extra)
    _one_line_exit_2(code, stdout, err, needle)
    assert not out.exists()


def test_plot_refuses_to_overwrite(cli_runner, files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "p.png"
    out.write_bytes(b"mine")
    code, stdout, err = cli_runner("specs", "plot", str(files["specs2"]), str(files["ok2"]),
                                   "-o", str(out))
    _one_line_exit_2(code, stdout, err, "--force")
    assert out.read_bytes() == b"mine"


def _one_line_exit_2(code: int, stdout: str, err: str, needle: str) -> None:
    assert code == 2, (stdout, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert needle in lines[0], err
