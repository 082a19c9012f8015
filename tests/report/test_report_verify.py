"""The verification report and `autospec report`: scores, tables, figures, dispatch by kind."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import pytest

from autospec_cli.campaign.engine import write_description
from autospec_cli.campaign.jobs import JobSpec
from autospec_cli.campaign.runner import Outcome, encode_result
from autospec_cli.campaign.store import CampaignStore
from autospec_cli.report.tables import ReportTable
from autospec_cli.report.verification import build_report
from autospec_cli.verifyrun.jobs import INSTANCE_KIND
from autospec_cli.verifyrun.records import find_verify_campaigns, load_records

# (instance, category, factors, {verifier: (verdict, time)})
CASES = [
    ("onnx/a.onnx::vnnlib/p0.vnnlib", "acas", {"neu": 10, "eps": 0.1},
     {"alpha": ("unsat", 1.0), "beta": ("unsat", 3.0)}),
    ("onnx/a.onnx::vnnlib/p1.vnnlib", "acas", {"neu": 10, "eps": 0.5},
     {"alpha": ("sat", 2.0), "beta": ("timeout", 10.0)}),
    ("onnx/b.onnx::vnnlib/p0.vnnlib", "acas", {"neu": 50, "eps": 0.1},
     {"alpha": ("unsat", 4.0), "beta": ("sat", 5.0)}),  # a conflict
    ("onnx/b.onnx::vnnlib/p1.vnnlib", "mnist", {"neu": 50, "eps": 0.5},
     {"alpha": ("error", 0.5), "beta": ("unsat", 6.0)}),
]


def _results_folder(folder: Path, verifier: str, *, hard_timeout: str | None = None,
                    cases: list = CASES) -> None:
    """A results folder as `autospec verify` leaves it (store + description), without running."""
    write_description(folder, {"kind": "verify", "backend": verifier})
    with CampaignStore(folder) as store:
        for name, category, factors, by in cases:
            verdict, t = by[verifier]
            onnx, prop = name.split("::")
            spec = JobSpec(INSTANCE_KIND, {"backend": verifier, "options": {}, "onnx": onnx,
                                           "vnnlib": prop, "timeout": 10.0, "name": name,
                                           "category": category, "factors": factors})
            store.add_jobs([spec])
            status = "done"
            result = encode_result({"verdict": verdict, "time": t, "message": "",
                                    "counterexample": None, "prepare_time": 0.0, "extra": {}})
            if hard_timeout == name:
                status, result = "timeout", None
            store.record(Outcome(spec.id, status, result, "killed after the 22.5 s hard timeout"
                                 if result is None else None, time.time(), time.time(), t))


@pytest.fixture()
def bench(tmp_path: Path) -> Path:
    _results_folder(tmp_path / "bench" / "results-alpha", "alpha")
    _results_folder(tmp_path / "bench" / "results-beta", "beta",
                    hard_timeout="onnx/a.onnx::vnnlib/p0.vnnlib")
    return tmp_path / "bench"


def test_records_are_read_back_with_hard_timeouts_as_timeout(bench: Path) -> None:
    assert find_verify_campaigns(bench) == [bench / "results-alpha", bench / "results-beta"]
    beta = {r.instance: r for r in load_records(bench / "results-beta")}
    assert beta["onnx/a.onnx::vnnlib/p0.vnnlib"].verdict == "timeout"
    assert "hard timeout" in beta["onnx/a.onnx::vnnlib/p0.vnnlib"].message
    assert beta["onnx/b.onnx::vnnlib/p1.vnnlib"].factors == {"neu": 50, "eps": 0.5}


def test_report_scores_tables_and_figures(bench: Path, tmp_path: Path) -> None:
    out = tmp_path / "rep"
    doc = build_report(bench, out)
    # alpha: p0 unsat, a/p1 sat (correct); b/p0 conflicts (unsolved), b/p1 error -> 2 solved
    # beta: a/p0 killed (timeout), a/p1 timeout, b/p0 conflict, b/p1 unsat -> 1 solved
    assert doc["verifiers"] == ["alpha", "beta"]
    scores = {v["verifier"]: v for v in doc["scoreboard"]["verifiers"]}
    assert (scores["alpha"]["solved"], scores["beta"]["solved"]) == (2, 1)
    assert scores["alpha"]["par2_mean"] == pytest.approx((1 + 2 + 20 + 20) / 4)
    assert scores["alpha"]["points"] == 20 and scores["beta"]["points"] == 10
    assert [c["instance"] for c in doc["scoreboard"]["conflicts"]] == [
        "onnx/b.onnx::vnnlib/p0.vnnlib"]
    names = [t["name"] for t in doc["tables"]]
    assert names == ["scores", "verdicts", "categories", "factors", "conflicts"]
    for name in [*names, "records"]:
        assert (out / f"{name}.csv").is_file() and (out / f"{name}.md").is_file()
    rows = list(csv.DictReader(open(out / "scores.csv")))
    assert [r["verifier"] for r in rows] == ["alpha", "beta"] and rows[0]["solved"] == "2"
    for png in ("cactus", "scr_box", "time", "radar_max", "radar_median", "factors_parallel"):
        assert (out / f"{png}.png").read_bytes()[:4] == b"\x89PNG"
    md = (out / "report.md").read_text()
    assert "| rank | verifier |" in md and "![radar_max](radar_max.png)" in md
    assert json.loads((out / "report.json").read_text())["verifiers"] == ["alpha", "beta"]


def test_cactus_series_are_the_sorted_times_of_correct_answers(bench: Path) -> None:
    from autospec_cli.report.verification import cactus_series
    from autospec_cli.verifyrun.scoring import score

    records = load_records(bench / "results-alpha") + load_records(bench / "results-beta")
    # the conflict on b/p0 and errors, timeouts count for nobody; times sorted per verifier
    assert cactus_series(records, score(records)) == {"alpha": [1.0, 2.0], "beta": [6.0]}


def test_no_box_plot_of_one_group(tmp_path: Path) -> None:
    one_model = [c for c in CASES if c[0].startswith("onnx/a.onnx")]  # one category too
    _results_folder(tmp_path / "one" / "results-alpha", "alpha", cases=one_model)
    _results_folder(tmp_path / "one" / "results-beta", "beta", cases=one_model)
    doc = build_report(tmp_path / "one", tmp_path / "rep")
    names = {Path(f).name for f in doc["files"]}
    assert "cactus.png" in names and "time.png" in names and "scr_box.png" not in names
    assert not (tmp_path / "rep" / "scr_box.png").exists()
    assert "scr_box" not in (tmp_path / "rep" / "report.md").read_text()


def test_cli_report_renders_and_refuses_to_clobber(cli_runner, bench: Path) -> None:
    code, out, err = cli_runner("report", str(bench))
    assert code == 0, err
    assert "Scores per verifier" in out and "alpha" in out and (bench / "report").is_dir()
    code, _, err = cli_runner("report", str(bench))
    assert code == 2 and "--force" in err
    code, out, err = cli_runner("report", str(bench), "--force", "--json")
    assert code == 0 and json.loads(out)["kind"] == "verify"


def test_cli_report_errors_are_one_line(cli_runner, tmp_path: Path) -> None:
    code, _, err = cli_runner("report", str(tmp_path / "missing"))
    assert code == 2 and "not a folder" in err
    (tmp_path / "empty").mkdir()
    code, _, err = cli_runner("report", str(tmp_path / "empty"))
    assert code == 2 and "no verification results" in err
    assert len(err.strip().splitlines()) == 1


def test_dispatch_by_campaign_kind(cli_runner, tmp_path: Path, monkeypatch) -> None:
    from autospec_cli.report.builders import REPORTS

    seen = []

    def fake(campaign_dir, out_dir, progress=None):
        seen.append((Path(campaign_dir), Path(out_dir)))
        return {"kind": "gdvb", "tables": [{"name": "t", "title": "GDVBTBL",
                                            "columns": ["gdvb-column"], "rows": [[1]]}]}

    monkeypatch.setattr(REPORTS, "_local", {})
    monkeypatch.setattr(REPORTS, "_loaded", {})
    REPORTS.register("gdvb", "tests_fake_builder:fake")
    import sys
    import types

    monkeypatch.setitem(sys.modules, "tests_fake_builder", types.SimpleNamespace(fake=fake))
    write_description(tmp_path / "g", {"kind": "gdvb"})
    code, out, err = cli_runner("report", str(tmp_path / "g"), "-o", str(tmp_path / "o"))
    assert code == 0 and "gdvb-column" in out and seen == [(tmp_path / "g", tmp_path / "o")]
    REPORTS.register("gdvb", "no_such_module_xyz:build_report")
    code, _, err = cli_runner("report", str(tmp_path / "g"), "-o", str(tmp_path / "o2"))
    assert code == 2 and "not available" in err


def test_table_renderings_agree() -> None:
    t = ReportTable("x", "A | B", ["name", "value"])
    t.add("a|b", 1.23456)
    t.add("c", None)
    assert t.to_csv() == "name,value\na|b,1.23456\nc,\n"
    md = t.to_markdown()
    assert "| a\\|b | 1.23 |" in md and "|---|---:|" in md and "| c | - |" in md
    assert ReportTable.from_dict(t.to_dict()).rows == t.rows
    with pytest.raises(ValueError):
        t.add("only one")
