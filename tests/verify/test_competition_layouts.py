"""Competition layouts read directly: gzip-compressed networks and properties, competition-
named instance lists and the 1.0/ and 2.0/ subfolders of a benchmark."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from autospec_cli.errors import ModelError
from autospec_cli.models.runtime import OnnxRunner, unpacked_onnx
from autospec_cli.vnnlib.benchmark import read_benchmark


@pytest.fixture
def smoke(shared_data) -> Path:
    folder = shared_data / "vnncomp2021" / "test"
    if not (folder / "test_sat.onnx").is_file():
        pytest.skip("smoke instances not in the shared data")
    return folder


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOSPEC_CACHE", str(tmp_path / "cache"))


def _gz(src: Path, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(src, "rb") as f, gzip.open(dest, "wb") as g:
        shutil.copyfileobj(f, g)
    return dest


def test_gzip_network_is_unpacked_once_into_the_cache(tmp_path, smoke):
    packed = _gz(smoke / "test_sat.onnx", tmp_path / "net.onnx.gz")
    out = unpacked_onnx(packed)
    assert out.parent == tmp_path / "cache" / "onnx" and out.name.endswith("net.onnx")
    assert out.read_bytes() == (smoke / "test_sat.onnx").read_bytes()
    mtime = out.stat().st_mtime_ns
    assert unpacked_onnx(packed) == out and out.stat().st_mtime_ns == mtime  # reused
    assert unpacked_onnx(smoke / "test_sat.onnx") == smoke / "test_sat.onnx"  # not packed
    assert OnnxRunner(packed).n_inputs == OnnxRunner(smoke / "test_sat.onnx").n_inputs


def test_corrupt_gzip_network_is_a_model_error(tmp_path):
    bad = tmp_path / "bad.onnx.gz"
    bad.write_bytes(gzip.compress(bytes(range(256)) * 40)[:60])  # truncated stream
    with pytest.raises(ModelError, match="gzip"):
        unpacked_onnx(bad)


def test_verify_reads_a_packed_competition_benchmark(tmp_path, smoke, cli_runner):
    bench = tmp_path / "mybench"
    _gz(smoke / "test_sat.onnx", bench / "onnx" / "test_sat.onnx.gz")
    _gz(smoke / "test_prop.vnnlib", bench / "vnnlib" / "test_prop.vnnlib.gz")
    # the list names the unpacked files, as the competition's do before its setup unpacks them
    (bench / "mybench_instances.csv").write_text("onnx/test_sat.onnx,vnnlib/test_prop.vnnlib,30\n")
    code, out, err = cli_runner("--quiet", "verify", str(bench), "--backend", "bab",
                                "--executor", "inline", "-o", str(tmp_path / "res"))
    assert code == 1, err  # a confirmed violation
    assert "sat" in (tmp_path / "res" / "results.csv").read_text()


def test_version_subfolders_prefer_1_0_and_keep_the_benchmark_name(tmp_path, smoke):
    bench = tmp_path / "acasxu"
    for version in ("1.0", "2.0"):
        d = bench / version
        d.mkdir(parents=True)
        shutil.copy(smoke / "test_sat.onnx", d / "n.onnx")
        shutil.copy(smoke / "test_prop.vnnlib", d / "p.vnnlib")
        (d / "instances.csv").write_text("n.onnx,p.vnnlib,7\n")
    (inst,) = read_benchmark(bench)
    assert inst.category == "acasxu" and inst.onnx.parent.name == "1.0" and inst.timeout == 7
    shutil.rmtree(bench / "1.0")
    (inst,) = read_benchmark(bench)
    assert inst.onnx.parent.name == "2.0"
