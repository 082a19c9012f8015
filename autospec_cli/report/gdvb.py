"""The GDVB report: SCR/PAR2 per verifier, scores per factor level, radar and parallel plots.

:func:`build_report` reads a GDVB campaign folder (``bench generate`` + ``bench run``) and
writes into ``out_dir``:

- ``scores.csv`` / ``scores.md``: per verifier SCR rank, solved / wrong / unsolved counts,
  PAR2 (sum and mean) and VNN-COMP points;
- ``by_factor.csv``: the same counts per factor level and verifier;
- ``verdicts.csv``: every instance with its factor levels and each verifier's verdict and time;
- ``cactus.png``: per verifier, how many instances it solved within each time;
- ``radar_max.png`` / ``radar_median.png``: per verifier, the largest / median level of each
  factor among the instances it solved, normalised by the factor's largest level (GDVB Fig. 4;
  one panel per verifier when two verifiers' polygons would share an edge);
- ``parallel.png``: the factor levels of every instance (GDVB Fig. 6), coloured by how many
  verifiers solved it;
- ``report.json``: everything above as data.

Records are the verification records ``bench run`` left in the campaign store
(:func:`autospec_cli.bench.run.gdvb_records`); this module only renders them.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from autospec_cli.bench.run import gdvb_records, instance_levels, read_gdvb
from autospec_cli.bench.transform import ALL_FACTORS
from autospec_cli.io import atomic_write_json, atomic_write_text, csv_text, to_jsonable
from autospec_cli.progress import ProgressFn
from autospec_cli.report.plots import cactus_plot, parallel_coordinates, radar_chart
from autospec_cli.report.verification import cactus_series
from autospec_cli.verifyrun.records import VerifyRecord
from autospec_cli.verifyrun.scoring import Scoreboard, classify, score


def score_rows(board: Scoreboard) -> list[dict[str, Any]]:
    """One row per verifier in SCR order."""
    return [{"rank": v.rank, "verifier": v.verifier, "solved": v.solved, "wrong": v.wrong,
             "unsolved": v.unsolved, "instances": v.instances,
             "solved_time": round(v.solved_time, 3), "par2": round(v.par2_sum, 3),
             "par2_mean": round(v.par2_mean, 3), "points": v.points} for v in board.verifiers]


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """A GitHub-flavoured Markdown table of ``rows`` (keys of the first row as header)."""
    if not rows:
        return "(no results)\n"
    head = list(rows[0])
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(f"{r[h]:g}" if isinstance(r[h], float) else str(r[h])
                                for h in head) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def solved_levels(records: list[VerifyRecord], board: Scoreboard,
                  how: str) -> dict[str, dict[str, float]]:
    """verifier -> factor -> max or median level solved, divided by the factor's largest level."""
    conflicted = {c.instance for c in board.conflicts}
    top: dict[str, float] = defaultdict(float)
    solved: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        for f, v in (r.factors or {}).items():
            top[f] = max(top[f], float(v))
    for r in records:
        solved.setdefault(r.verifier, defaultdict(list))
        if classify(r, r.instance in conflicted) == "correct":
            for f, v in (r.factors or {}).items():
                solved[r.verifier][f].append(float(v))
    agg = max if how == "max" else statistics.median
    return {ver: {f: (agg(per[f]) / top[f] if per.get(f) and top[f] > 0 else 0.0)
                  for f in ALL_FACTORS if f in top}
            for ver, per in solved.items()}


def verdict_rows(records: list[VerifyRecord],
                 levels: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per instance: its factor levels, then each verifier's verdict and time."""
    by_inst: dict[str, dict[str, Any]] = {i: {"instance": i, **lv} for i, lv in levels.items()}
    verifiers = sorted({r.verifier for r in records})
    for row in by_inst.values():
        for v in verifiers:
            row[f"{v}_verdict"], row[f"{v}_time"] = "", ""
    for r in records:
        by_inst[r.instance][f"{r.verifier}_verdict"] = r.verdict
        by_inst[r.instance][f"{r.verifier}_time"] = round(r.time, 3)
    return [by_inst[i] for i in sorted(by_inst)]


def _plots(out: Path, records: list[VerifyRecord], board: Scoreboard,
           levels: dict[str, dict[str, Any]]) -> dict[str, str]:
    files: dict[str, str] = {}
    present = [f for f in ALL_FACTORS if any(f in lv for lv in levels.values())]
    # a factor held at one level (e.g. conv for an MLP seed) says nothing about any verifier;
    # drawn only when fewer than three factors vary (a radar needs three axes)
    varied = [f for f in present if len({lv.get(f) for lv in levels.values()}) > 1]
    factors = varied if len(varied) >= 3 else present
    if records:
        files["cactus"] = str(cactus_plot(cactus_series(records, board), out / "cactus.png",
                                          instances=len(levels)))
        for how in ("max", "median"):
            vals = solved_levels(records, board, how)
            files[f"radar_{how}"] = str(radar_chart(
                vals, out / f"radar_{how}.png", factors=factors, rmax=1.0,
                title=f"{how.capitalize()} factor level solved (fraction of the largest level)"))
    conflicted = {c.instance for c in board.conflicts} if board else set()
    count: dict[str, int] = defaultdict(int)
    for r in records:
        count[r.instance] += classify(r, r.instance in conflicted) == "correct"
    rows = [{**lv, "solved by": count[i]} for i, lv in levels.items()]
    if rows and factors:
        files["parallel"] = str(parallel_coordinates(
            rows, factors, out / "parallel.png", color_by="solved by" if records else None,
            title="Factor levels covered by the benchmark"))
    return files


def build_report(campaign_dir: Path, out_dir: Path, *,
                 progress: ProgressFn | None = None) -> dict[str, Any]:
    """Write the GDVB report of ``campaign_dir`` into ``out_dir`` (module doc); returns its
    content as a dict (``files``: what was written)."""
    desc, _ = read_gdvb(campaign_dir)
    levels = instance_levels(campaign_dir)
    records = gdvb_records(campaign_dir)
    board = score(records)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = score_rows(board)
    by_factor = [{"factor": s.factor, "level": s.level, "verifier": s.verifier,
                  "solved": s.solved, "instances": s.instances,
                  "par2_mean": round(s.par2_mean, 3)} for s in board.by_factor]
    files = {"scores_csv": out / "scores.csv", "scores_md": out / "scores.md",
             "by_factor": out / "by_factor.csv", "verdicts": out / "verdicts.csv"}
    title = f"# GDVB results: {Path(campaign_dir).name}\n\n"
    atomic_write_text(files["scores_csv"], csv_text(rows), force=True)
    atomic_write_text(files["scores_md"], title + markdown_table(rows), force=True)
    atomic_write_text(files["by_factor"], csv_text(by_factor), force=True)
    atomic_write_text(files["verdicts"], csv_text(verdict_rows(records, levels)), force=True)
    if progress:
        progress("report", 1, 2)
    plots = _plots(out, records, board, levels)
    doc: dict[str, Any] = {"kind": "gdvb", "campaign": str(campaign_dir), "instances": len(levels),
           "excluded": len(desc.get("excluded", [])), "scores": rows, "by_factor": by_factor,
           "conflicts": [c.instance for c in board.conflicts],
           "files": {**{k: str(v) for k, v in files.items()}, **plots}}
    doc["files"]["report"] = str(out / "report.json")
    atomic_write_json(out / "report.json", to_jsonable(doc), force=True)
    if progress:
        progress("report", 2, 2)
    return doc
