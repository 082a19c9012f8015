"""A benchmark names only files inside its folder, and untrusted text is printed as text.

Rows of ``instances.csv`` naming ``../..`` paths, absolute paths or links leading out of the
folder are refused (exit 2, one line naming the row, no quote of the file they point to)
unless ``--allow-outside``; file names with rich markup or emoji codes print literally.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
from conformance import build_problems, write_benchmark_folder

from autospec_cli.errors import InputError
from autospec_cli.inert import excerpt, inert
from autospec_cli.vnnlib.benchmark import read_instances

FAST = ["--opt", "samples=64", "--opt", "restarts=2", "--opt", "steps=10", "-e", "inline"]
SECRET = "TOP-SECRET-CONTENT do not echo me"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict:
    return {p.name: p for p in build_problems(tmp_path_factory.mktemp("tiny"))}


@pytest.fixture()
def outside(tmp_path) -> Path:
    """A file outside the benchmark whose content must never appear in any output."""
    secret = tmp_path / "secret" / "passwd.vnnlib"
    secret.parent.mkdir()
    secret.write_text(SECRET + "\n")
    return secret


def _bench_with_row(tmp_path: Path, tiny, vnnlib_field: str) -> Path:
    bench = write_benchmark_folder(tmp_path / "bench", [tiny["lin_sat"]], timeout=5)
    rows = list(csv.reader(open(bench / "instances.csv")))
    rows.append([rows[0][0], vnnlib_field, "5"])
    with open(bench / "instances.csv", "w", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    return bench


def _escaping_rows(tmp_path: Path, outside: Path) -> dict[str, str]:
    link = tmp_path / "bench" / "vnnlib" / "link.vnnlib"
    link.symlink_to(outside)
    return {"dotdot": "../secret/passwd.vnnlib", "absolute": str(outside),
            "symlink": "vnnlib/link.vnnlib"}


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink"])
def test_rows_leading_out_of_the_folder_are_refused(cli_runner, tmp_path, tiny, outside,
                                                    kind) -> None:
    bench = write_benchmark_folder(tmp_path / "bench", [tiny["lin_sat"]], timeout=5)
    field = _escaping_rows(tmp_path, outside)[kind]
    bench = _bench_with_row(tmp_path, tiny, field)
    before = sorted(p.name for p in bench.iterdir())
    code, out, err = cli_runner("verify", str(bench), "--backend", "attack", *FAST)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    assert "instances.csv:2" in lines[0] and "outside the benchmark folder" in lines[0]
    assert "--allow-outside" in lines[0]
    assert SECRET not in out + err
    assert sorted(p.name for p in bench.iterdir()) == before  # nothing written


def test_allow_outside_reads_them(tmp_path, tiny, outside) -> None:
    bench = write_benchmark_folder(tmp_path / "bench", [tiny["lin_sat"]], timeout=5)
    _escaping_rows(tmp_path, outside)
    with pytest.raises(InputError, match="outside"):
        read_instances(_bench_with_row(tmp_path, tiny, "vnnlib/link.vnnlib") / "instances.csv")
    rows = read_instances(bench / "instances.csv", allow_outside=True)
    assert rows[-1].vnnlib.resolve() == outside.resolve()


def test_a_file_that_fails_to_parse_is_not_quoted(cli_runner, tmp_path, tiny, outside) -> None:
    """Even when allowed, a non-VNN-LIB file's content is never copied into messages,
    results.csv or summary.json beyond a short escaped excerpt."""
    outside.write_text("(" + "x" * 200 + " " + SECRET + ")\n")
    bench = _bench_with_row(tmp_path, tiny, str(outside))
    code, out, err = cli_runner("--quiet", "verify", str(bench), "--backend", "attack", *FAST,
                                "--allow-outside", "-o", str(tmp_path / "res"))
    assert code == 1, err  # lin_sat is violated; the other row is an error
    written = "".join(p.read_text() for p in (tmp_path / "res").rglob("*")
                      if p.is_file() and p.suffix in (".csv", ".json"))
    assert SECRET not in out + err + written
    assert "x" * 41 not in out + err + written


def test_markup_and_emoji_in_names_print_literally(cli_runner, tmp_path, tiny) -> None:
    """A results folder named ``b9[/]`` used to crash a finished run (MarkupError, exit 4)
    and ``:x:`` became an emoji."""
    bench = write_benchmark_folder(tmp_path / "bench [bold]", [tiny["lin_sat"]], timeout=5)
    res = tmp_path / ":x: b9[" / "]"
    code, out, err = cli_runner("verify", str(bench), "--backend", "attack", *FAST,
                                "-o", str(res))
    assert code == 1, err
    assert "Traceback" not in err and "error" not in err
    assert f"results written to {res}" in out.replace("\n", "")
    assert "\u274c" not in out  # the emoji of :x:
    assert json.loads((res / "summary.json").read_text())["counts"]["sat"] == 1
    rep = tmp_path / ":x: rep[/]"
    code, out, err = cli_runner("report", str(res), "-o", str(rep))
    assert code == 0, err
    assert f"report written to {rep}" in out.replace("\n", "")
    assert "\u274c" not in out


def test_inert_and_excerpt() -> None:
    assert inert("b9[/]") == "b9\\[/]"
    assert inert(":x:") == ":x:"
    assert excerpt("a" * 100) == repr("a" * 40) + "..."
    assert excerpt(b"\xff\x00ok") == "'\\\\xff\\x00ok'"
    assert len(excerpt("\x1b[31m" * 50)) < 200
    assert os.linesep not in excerpt("a\nb")


def test_gdvb_manifest_entries_are_confined(tmp_path, outside) -> None:
    from autospec_cli.bench.generate import BENCH_DIR
    from autospec_cli.bench.run import verify_jobs

    (tmp_path / BENCH_DIR).mkdir()
    manifest = {"instances": [{"id": "i0", "onnx": "../secret/passwd.vnnlib",
                               "vnnlib": "../secret/passwd.vnnlib", "timeout": 5}]}
    with pytest.raises(InputError, match="outside the benchmark folder") as e:
        verify_jobs(tmp_path, manifest, ["attack"])
    assert "'i0'" in str(e.value) and SECRET not in str(e.value)
