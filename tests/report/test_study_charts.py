"""The study's per-class chart counts what differs: unknown and not-robust instances."""

from __future__ import annotations

from pathlib import Path

from autospec_cli.report import study_plots
from autospec_cli.report.study import PER_CLASS_COLUMNS, per_class


def _instances() -> list[dict]:
    out = []
    for init, verdicts in (("he", ["robust", "robust", "unknown", "not_robust"]),
                           ("glorot", ["robust", "robust", "robust", "robust"])):
        for k, v in enumerate(verdicts):
            out.append({"initialiser": init, "regulariser": "l2", "seed": 0,
                        "label": k % 2, "verdict": v})
    return out


def test_per_class_counts_every_verdict() -> None:
    rows = per_class(_instances())
    he = {r["class"]: r for r in rows if r["factor"] == "initialiser" and r["level"] == "he"}
    # he: class 0 holds instances 0 (robust) and 2 (unknown); class 1: 1 robust, 3 not robust
    assert (he[0]["n"], he[0]["robust"], he[0]["unknown"], he[0]["not_robust"]) == (2, 1, 1, 0)
    assert (he[1]["robust_pct"], he[1]["not_robust"]) == (50.0, 1)
    l2 = [r for r in rows if r["factor"] == "regulariser"]
    assert [(r["class"], r["unknown"], r["not_robust"], r["n"]) for r in l2] == [
        (0, 1, 0, 4), (1, 0, 1, 4)]
    assert set(PER_CLASS_COLUMNS) <= set(rows[0])


def test_per_class_chart_is_written(tmp_path: Path) -> None:
    rows = per_class(_instances())
    p = study_plots.per_class_plot(rows, tmp_path)
    assert p.read_bytes()[:4] == b"\x89PNG" and p.stat().st_size > 10_000
    everything_robust = [{**r, "unknown": 0, "not_robust": 0} for r in rows]
    (tmp_path / "b").mkdir()
    assert study_plots.per_class_plot(everything_robust, tmp_path / "b").stat().st_size > 0
