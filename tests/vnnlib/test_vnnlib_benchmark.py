"""instances.csv reading: VNN-COMP 2021 folders, named networks (VNN-LIB 2.0), .gz, headers."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from autospec_cli.errors import InputError, OutputExistsError
from autospec_cli.vnnlib.benchmark import (
    find_instances_csv,
    read_benchmark,
    read_instances,
    read_manifest,
    write_benchmark,
)
from autospec_cli.vnnlib.builders import classification_property
from autospec_cli.vnnlib.reader import read_vnnlib


def test_acasxu_instances(shared_data: Path) -> None:
    folder = shared_data / "vnncomp2021" / "acasxu"
    inst = read_benchmark(folder)
    assert len(inst) == 90 and {i.timeout for i in inst} == {116.0}
    assert inst[0].category == "acasxu" and inst[0].onnx.name.startswith("ACASXU_run2a_1_1")
    assert {i.vnnlib.name for i in inst} == {"prop_1.vnnlib", "prop_2.vnnlib"}


def test_competition_test_instances_csv_by_glob(shared_data: Path) -> None:
    folder = shared_data / "vnncomp2021" / "test"
    csv_path = find_instances_csv(folder)
    assert csv_path.name == "test_instances.csv"
    rows = read_instances(csv_path)
    assert rows and all(r.onnx.is_file() and r.vnnlib.is_file() for r in rows)
    for r in rows:  # every property of the folder reads with the model's sizes
        assert read_vnnlib(r.vnnlib).cases


def _files(tmp: Path) -> None:
    (tmp / "onnx").mkdir()
    (tmp / "vnnlib").mkdir()
    for name in ("a.onnx", "b.onnx"):
        (tmp / "onnx" / name).write_bytes(b"x")
    (tmp / "vnnlib" / "p.vnnlib.gz").write_bytes(gzip.compress(b"; x\n"))


@pytest.mark.parametrize("field", [
    "N=onnx/a.onnx;M=onnx/b.onnx",
    "[('N', 'onnx/a.onnx'), ('M', 'onnx/b.onnx')]",
    '"[(\'N\',\'onnx/a.onnx\'),(\'M\',\'onnx/b.onnx\')]"',
])
def test_named_networks_of_vnnlib2_rows(tmp_path: Path, field: str) -> None:
    _files(tmp_path)
    (tmp_path / "instances.csv").write_text(f"{field},vnnlib/p.vnnlib,30\n")
    (row,) = read_instances(tmp_path / "instances.csv")
    assert list(row.networks) == ["N", "M"]
    assert row.networks["M"] == tmp_path / "onnx" / "b.onnx"
    assert row.vnnlib.name == "p.vnnlib.gz" and row.timeout == 30.0  # .gz found for .vnnlib


def test_header_comments_and_missing_files(tmp_path: Path) -> None:
    _files(tmp_path)
    csv_path = tmp_path / "instances.csv"
    csv_path.write_text("onnx,vnnlib,timeout\n# note\n\nonnx/a.onnx,vnnlib/p.vnnlib,1.5\n"
                        "onnx/gone.onnx,vnnlib/p.vnnlib,2\n")
    with pytest.raises(InputError, match="gone.onnx does not exist"):
        read_instances(csv_path)
    rows = read_instances(csv_path, missing="skip")
    assert [r.timeout for r in rows] == [1.5]
    csv_path.write_text("onnx/a.onnx,vnnlib/p.vnnlib,1\nonnx/a.onnx,vnnlib/p.vnnlib\n")
    with pytest.raises(InputError, match=r"instances.csv:2: expected 'onnx,vnnlib,timeout'"):
        read_instances(csv_path)


def test_write_benchmark_layout_and_force(tmp_path: Path, make_onnx) -> None:
    model = make_onnx(np.eye(3, 2))
    props = [(f"s{k}", classification_property([0.0, k], [1.0, k + 1.0], k % 3, 3))
             for k in range(3)]
    out = write_benchmark(tmp_path / "b", model, props, version="2.0", timeout=7)
    lines = (out / "instances.csv").read_text().splitlines()
    assert lines == [f"onnx/net.onnx,vnnlib/s{k}.vnnlib,7" for k in range(3)]
    manifest = read_manifest(out)
    assert manifest and [e["id"] for e in manifest["instances"]] == ["s0", "s1", "s2"]
    got = read_vnnlib(out / "vnnlib" / "s1.vnnlib", n_inputs=2, n_outputs=3)
    assert got.cases[0].lo.tolist() == [0.0, 1.0] and got.meta["vnnlib_version"] == "2.0"
    with pytest.raises(OutputExistsError):
        write_benchmark(out, model, props)
    write_benchmark(out, model, props[:1], force=True)
    assert len(read_benchmark(out)) == 1
    other = tmp_path / "notes"
    other.mkdir()
    (other / "x.txt").write_text("mine")
    with pytest.raises(OutputExistsError, match="not a benchmark folder"):
        write_benchmark(other, model, props, force=True)
