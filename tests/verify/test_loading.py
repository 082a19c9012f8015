"""The process-wide model/property cache: one parse per file version, never a stale one."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest
from conformance import save_model, vnnlib_text

from autospec_cli.errors import ModelError, VnnlibError
from autospec_cli.verify import loading
from autospec_cli.verify.base import Instance, Verdict
from autospec_cli.verify.loading import (
    FileCache,
    clear_caches,
    derived,
    load_property,
    load_torch_model,
    onnx_runner,
)
from autospec_cli.verify.registry import make_backend
from autospec_cli.verify.runner import run_instances
from autospec_cli.vnnlib import reader


@pytest.fixture(autouse=True)
def fresh_caches():
    clear_caches()
    yield
    clear_caches()


@pytest.fixture()
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every VNN-LIB parse of the process, by file name."""
    seen: list[str] = []
    original = reader.read_vnnlib

    def counting(path_or_text, **kw):
        seen.append(Path(path_or_text).name)
        return original(path_or_text, **kw)

    monkeypatch.setattr(reader, "read_vnnlib", counting)
    return seen


def write_prop(path: Path, hi: float) -> Path:
    path.write_text(vnnlib_text(2, 2, [([-1.0, -1.0], [hi, 1.0])], [["(>= Y_1 Y_0)"]]))
    return path


def age(path: Path, seconds: float = 3600.0) -> None:
    """Pretend the file was last written ``seconds`` ago (older than the racy window)."""
    t = time.time() - seconds
    os.utime(path, (t, t))


def test_a_property_is_parsed_once(tmp_path: Path, parses: list[str]) -> None:
    p = write_prop(tmp_path / "p.vnnlib", 0.5)
    a = load_property(p, n_inputs=2, n_outputs=2)
    b = load_property(tmp_path / "." / "p.vnnlib", n_inputs=2, n_outputs=2)
    assert a is b and parses == ["p.vnnlib"]
    age(p)
    assert load_property(str(p), n_inputs=2, n_outputs=2) is not a  # new mtime: a new version
    assert load_property(p, n_inputs=2, n_outputs=2) is load_property(p, n_inputs=2, n_outputs=2)
    assert len(parses) == 2


def test_a_same_size_rewrite_is_never_served_stale(tmp_path: Path, parses: list[str]) -> None:
    """Rewritten at once (same size, maybe the same timestamp): the digest notices."""
    p = write_prop(tmp_path / "p.vnnlib", 0.5)
    st = p.stat()
    assert load_property(p).cases[0].hi[0] == 0.5
    write_prop(p, 0.7)
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))  # as if within one timestamp tick
    assert p.stat().st_size == st.st_size
    assert load_property(p).cases[0].hi[0] == 0.7
    assert len(parses) == 2


def test_an_old_file_is_trusted_by_its_stamp(tmp_path: Path, parses: list[str]) -> None:
    p = write_prop(tmp_path / "p.vnnlib", 0.5)
    age(p)
    first = load_property(p)
    for _ in range(3):
        assert load_property(p) is first
    assert len(parses) == 1


def test_errors_are_the_readers_and_not_cached(tmp_path: Path, parses: list[str]) -> None:
    with pytest.raises(VnnlibError, match="does not exist"):
        load_property(tmp_path / "missing.vnnlib")
    p = write_prop(tmp_path / "p.vnnlib", 0.5)
    for _ in range(2):
        with pytest.raises(VnnlibError, match="model has 3"):
            load_property(p, n_inputs=3)
    assert load_property(p, n_inputs=2).n_inputs == 2
    assert parses.count("p.vnnlib") == 3


def test_cache_is_bounded_and_least_recently_used_goes_first(tmp_path: Path) -> None:
    cache = FileCache(2)
    files = [tmp_path / f"{k}.txt" for k in range(3)]
    for f in files:
        f.write_text("x")
        age(f)
    value = {f: cache.get(f, (), object) for f in files[:2]}
    assert cache.get(files[0], (), object) is value[files[0]]  # 0 becomes the most recent
    cache.get(files[2], (), object)  # evicts 1
    assert cache.get(files[0], (), object) is value[files[0]]
    assert cache.get(files[1], (), object) is not value[files[1]]
    assert cache.builds == 4


def test_options_are_part_of_the_key(tmp_path: Path) -> None:
    onnx = save_model(tmp_path / "m.onnx", [(np.eye(2), np.zeros(2), True)])
    assert onnx_runner(onnx) is onnx_runner(onnx)
    assert onnx_runner(onnx, threads=1) is not onnx_runner(onnx)
    model = load_torch_model(onnx)
    assert model is load_torch_model(onnx) and not model.training
    assert not any(p.requires_grad for p in model.parameters())
    made = derived(onnx, "thing", lambda: object(), "cpu")
    assert derived(onnx, "thing", lambda: object(), "cpu") is made
    assert derived(onnx, "thing", lambda: object(), "cuda") is not made
    with pytest.raises(ModelError, match="not found"):
        onnx_runner(tmp_path / "missing.onnx")


def test_one_parse_per_property_across_a_portfolio_and_the_recheck(
    tmp_path: Path, parses: list[str]
) -> None:
    """attack, then bab, then the runner's counterexample check: each file is read once."""
    layers = [(np.array([[1.0, 0.0], [0.0, 1.0]]), np.zeros(2), False)]
    onnx = save_model(tmp_path / "id.onnx", layers)
    # y = x: y1 >= y0 is reachable in the box (sat); with x1 <= x0 - 0.5 it is not (unsat)
    sat = write_prop(tmp_path / "sat.vnnlib", 1.0)
    unsat = tmp_path / "unsat.vnnlib"
    unsat.write_text(vnnlib_text(2, 2, [([0.5, -1.0], [1.0, 0.0])], [["(>= Y_1 Y_0)"]]))
    portfolio = make_backend("portfolio", backends="attack,bab")
    insts = [Instance(onnx, sat, 30, "t"), Instance(onnx, unsat, 30, "t")]
    results = run_instances(portfolio, insts)
    assert [r.verdict for r in results] == [Verdict.SAT, Verdict.UNSAT], results
    assert results[0].extra["cex_check"] and results[1].extra["member"] == "bab"
    assert sorted(parses) == ["sat.vnnlib", "unsat.vnnlib"]
    assert loading._properties.builds == 2
