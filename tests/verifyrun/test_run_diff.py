"""The regression gate: instances matched by model name and property content, not by path."""

from __future__ import annotations

from pathlib import Path

import pytest

from autospec_cli.errors import InputError
from autospec_cli.verifyrun.diff import diff_runs
from autospec_cli.verifyrun.runs import Run, RunEntry, load_run


def entry(model: str, prop: str, verdict: str, time: float = 1.0, *, mhash: str = "m",
          phash: str | None = None) -> RunEntry:
    return RunEntry("bab", "bench", model, prop, mhash, phash if phash is not None else
                    f"h-{prop}", verdict, time)


def run(*entries: RunEntry) -> Run:
    return Run("r", None, list(entries))


def test_each_change_is_classified() -> None:
    base = run(entry("a.onnx", "p1", "unsat"), entry("a.onnx", "p2", "unsat"),
               entry("a.onnx", "p3", "sat"), entry("a.onnx", "p4", "sat"),
               entry("a.onnx", "p5", "unknown"), entry("a.onnx", "p6", "timeout"),
               entry("a.onnx", "p7", "unsat"), entry("a.onnx", "p8", "error"))
    new = run(entry("a.onnx", "p1", "sat"), entry("a.onnx", "p2", "timeout"),
              entry("a.onnx", "p3", "unsat"), entry("a.onnx", "p4", "unknown"),
              entry("a.onnx", "p5", "unsat"), entry("a.onnx", "p6", "sat"),
              entry("a.onnx", "p7", "unsat"), entry("a.onnx", "p8", "unknown"))
    d = diff_runs(base, new)
    got = {c.prop: c.change for c in d.matched}
    assert got == {"p1": "held -> violated", "p2": "held -> undecided",
                   "p3": "violated -> held", "p4": "violated -> undecided",
                   "p5": "undecided -> held", "p6": "undecided -> violated",
                   "p7": "same", "p8": "same"}
    assert [c.prop for c in d.regressions] == ["p1", "p2"]
    assert d.counts()["same"] == 2


def test_matching_ignores_paths_and_names_of_properties() -> None:
    """A property renamed but unchanged is the same instance; one edited under its old name
    is a different one (removed + added), and the diff says its content changed."""
    base = run(entry("a.onnx", "old_name.vnnlib", "unsat", phash="H1"),
               entry("a.onnx", "edited.vnnlib", "unsat", phash="H2"))
    new = run(entry("a.onnx", "new_name.vnnlib", "unsat", phash="H1"),
              entry("a.onnx", "edited.vnnlib", "sat", phash="H3"))
    d = diff_runs(base, new)
    assert [(c.prop, c.change) for c in d.matched] == [("new_name.vnnlib", "same")]
    assert [e.prop for e in d.added] == ["edited.vnnlib"]
    assert [e.prop for e in d.removed] == ["edited.vnnlib"]
    assert not d.regressions
    assert [(c.kind, c.name) for c in d.content_changes] == [("property", "edited.vnnlib")]


def test_model_content_change_under_the_same_name_is_reported() -> None:
    d = diff_runs(run(entry("a.onnx", "p", "unsat", mhash="A1"), entry("b.onnx", "p", "unsat")),
                  run(entry("a.onnx", "p", "unsat", mhash="A2"), entry("b.onnx", "p", "unsat")))
    assert [(c.kind, c.name, c.base_sha256, c.new_sha256) for c in d.content_changes] == [
        ("model", "a.onnx", ["A1"], ["A2"])]
    assert len(d.matched) == 2 and not d.regressions


def test_time_ratios_and_slowdowns() -> None:
    d = diff_runs(run(entry("a.onnx", "p1", "unsat", 2.0), entry("a.onnx", "p2", "unsat", 1.0),
                      entry("a.onnx", "p3", "unsat", 0.001)),
                  run(entry("a.onnx", "p1", "unsat", 8.0), entry("a.onnx", "p2", "unsat", 0.5),
                      entry("a.onnx", "p3", "unsat", 5.0)))
    ratios = {c.prop: c.time_ratio for c in d.matched}
    assert ratios == {"p1": 4.0, "p2": 0.5, "p3": None}  # p3: too fast to compare
    assert [c.prop for c in d.slowdowns()] == ["p1"]
    assert d.to_dict()["time_ratio"] == {"min": 0.5, "max": 4.0, "geomean": pytest.approx(1.414,
                                                                                      abs=1e-3)}


def test_a_run_diffed_with_itself_has_no_change() -> None:
    r = run(entry("a.onnx", "p1", "unsat"), entry("a.onnx", "p2", "sat"),
            entry("b.onnx", "p1", "timeout"))
    d = diff_runs(r, r)
    assert len(d.matched) == 3 and not d.changed and not d.added and not d.removed
    assert not d.content_changes


def _bench(folder: Path, props: dict[str, str]) -> None:
    folder.mkdir(parents=True)
    (folder / "net.onnx").write_bytes(b"not a real model, hashed only")
    for name, text in props.items():
        (folder / name).write_text(text)


def test_results_csv_is_matched_by_content_wherever_the_files_are(tmp_path: Path) -> None:
    """Two checkouts in different places with differently laid out results.csv files."""
    _bench(tmp_path / "one" / "bench", {"p.vnnlib": "(assert (>= Y_0 1))\n",
                                        "q.vnnlib": "(assert (<= Y_0 0))\n"})
    (tmp_path / "one" / "bench" / "results").mkdir()
    (tmp_path / "one" / "bench" / "results" / "results.csv").write_text(
        "bench,net.onnx,p.vnnlib,0,unsat,1.0\nbench,net.onnx,q.vnnlib,0,unsat,1.0\n")
    # The other checkout renamed q.vnnlib to r.vnnlib (same text) and moved the results.
    _bench(tmp_path / "two", {"p.vnnlib": "(assert (>= Y_0 1))\n",
                              "r.vnnlib": "(assert (<= Y_0 0))\n"})
    (tmp_path / "two" / "out.csv").write_text(
        "category,onnx,vnnlib,prepare_time,result,run_time\n"
        f"bench,{tmp_path / 'two' / 'net.onnx'},{tmp_path / 'two' / 'p.vnnlib'},0,unsat,2\n"
        f"bench,{tmp_path / 'two' / 'net.onnx'},{tmp_path / 'two' / 'r.vnnlib'},0,sat,2\n")
    a = load_run(tmp_path / "one" / "bench" / "results")
    b = load_run(tmp_path / "two" / "out.csv")
    assert all(e.property_sha256 and e.model_sha256 for e in a.entries + b.entries)
    d = diff_runs(a, b)
    assert d.matched_by == "model name and property content"
    assert [(c.prop, c.change) for c in d.regressions] == [("r.vnnlib", "held -> violated")]


def test_missing_property_files_fall_back_to_file_names(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("b,net.onnx,p.vnnlib,0,unsat,1\n")
    (tmp_path / "b.csv").write_text("b,net.onnx,p.vnnlib,0,timeout,9\n")
    d = diff_runs(load_run(tmp_path / "a.csv"), load_run(tmp_path / "b.csv"))
    assert d.matched_by.startswith("file names")
    assert [c.change for c in d.regressions] == ["held -> undecided"]


def test_load_run_refuses_what_is_not_a_run(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such"):
        load_run(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no verification results"):
        load_run(tmp_path / "empty")
    (tmp_path / "x.txt").write_text("")
    with pytest.raises(InputError, match="not a results folder"):
        load_run(tmp_path / "x.txt")
