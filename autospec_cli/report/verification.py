"""The verification report: score every verifier run on a benchmark, tables and figures.

Input is a folder holding one ``autospec verify`` results folder (``campaign.sqlite`` with a
``campaign.json`` of kind ``verify``) or several of them one or two levels down (e.g. a
benchmark folder with ``results-attack/`` and ``results-external-marabou/``); instances are
matched across verifiers by name (``onnx::vnnlib`` relative to the benchmark).

Output (:func:`build_report`), written into ``out_dir``:

- tables as CSV and Markdown: ``scores`` (SCR rank, solved, wrong, unsolved, PAR2, VNN-COMP
  points), ``verdicts`` (counts and time per verdict), ``categories`` (when several),
  ``factors`` (per factor level, when the benchmark manifest carries factor levels),
  ``conflicts`` (sat vs unsat on one instance, never credited; settle them by hand), and
  ``records`` (one row per verifier and instance);
- figures: ``cactus.png`` (per verifier -- per tool and folder when several results folders
  are given -- how many instances it solved within each time: the times of its solved
  instances, sorted), ``time.png`` (total time per verifier, stacked by verdict, on a linear
  axis from 0), ``scr_box.png`` (per verifier, the distribution of instances solved per
  category, or per model when there is one category; drawn only with at least
  :data:`MIN_BOX_GROUPS` groups, since a box of one value says nothing), and with factor
  levels ``radar_max.png`` / ``radar_median.png`` (the largest and
  median level solved on each factor, as a fraction of the factor's levels) and
  ``factors_parallel.png`` (every instance's levels, coloured by how many verifiers solved it);
- ``report.md`` (everything in one document) and ``report.json`` (what :func:`build_report`
  returns).

Records are read with :func:`autospec_cli.verifyrun.records.load_records` and scored with
:mod:`autospec_cli.verifyrun.scoring` (no ground truth unless the manifest gives
``meta.expected``; conflicts count as unsolved); this module only renders them.
"""

from __future__ import annotations

import os
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from autospec_cli.errors import InputError
from autospec_cli.io import atomic_write_json, atomic_write_text, to_jsonable
from autospec_cli.progress import ProgressFn
from autospec_cli.report import plots
from autospec_cli.report.tables import ReportTable, markdown_document
from autospec_cli.verify.base import Verdict
from autospec_cli.verifyrun.records import VerifyRecord, find_verify_campaigns, load_records
from autospec_cli.verifyrun.scoring import CORRECT, Scoreboard, classify, level_key, score


def _unique_labels(groups: list[tuple[Path, list[VerifyRecord]]]) -> list[VerifyRecord]:
    """All records; a verifier label used by two folders gets the folder name appended."""
    seen: dict[str, int] = defaultdict(int)
    for _, recs in groups:
        for label in {r.verifier for r in recs}:
            seen[label] += 1
    out = []
    for folder, recs in groups:
        for r in recs:
            out.append(replace(r, verifier=f"{r.verifier} ({folder.name})")
                       if seen[r.verifier] > 1 else r)
    return out


def _tables(records: Sequence[VerifyRecord], sb: Scoreboard) -> list[ReportTable]:
    scores = ReportTable("scores", "Scores per verifier (SCR order)",
                         ["rank", "verifier", "solved", "wrong", "unsolved", "missing",
                          "instances", "solved time (s)", "PAR2 mean (s)", "points"])
    for v in sb.verifiers:
        scores.add(v.rank, v.verifier, v.solved, v.wrong, v.unsolved, v.missing, v.instances,
                   v.solved_time, v.par2_mean, v.points)
    verdicts = ReportTable("verdicts", "Verdicts per verifier",
                           ["verifier", *(v.value for v in Verdict), "total time (s)"])
    for name in sb.ranking():
        mine = [r for r in records if r.verifier == name]
        verdicts.add(name, *(sum(r.verdict == v.value for r in mine) for v in Verdict),
                     sum(r.time for r in mine))
    tables = [scores, verdicts]
    categories = sorted({r.category for r in records})
    if len(categories) > 1:
        cat = ReportTable("categories", "Per category", ["category", "verifier", "solved",
                                                         "instances", "PAR2 mean (s)"])
        for c in categories:
            for v in score([r for r in records if r.category == c]).verifiers:
                cat.add(c, v.verifier, v.solved, v.instances, v.par2_mean)
        tables.append(cat)
    if sb.by_factor:
        fac = ReportTable("factors", "Per factor level", ["factor", "level", "verifier",
                                                          "solved", "instances",
                                                          "PAR2 mean (s)"])
        for s in sb.by_factor:
            fac.add(s.factor, s.level, s.verifier, s.solved, s.instances, s.par2_mean)
        tables.append(fac)
    if sb.conflicts:
        con = ReportTable("conflicts", "Conflicts (sat vs unsat; not credited)",
                          ["instance", "sat", "unsat", "expected"])
        for conflict in sb.conflicts:
            con.add(conflict.instance, ", ".join(conflict.sat), ", ".join(conflict.unsat),
                    conflict.expected)
        tables.append(con)
    return tables


def _records_table(records: Sequence[VerifyRecord]) -> ReportTable:
    t = ReportTable("records", "All results", ["verifier", "instance", "category", "verdict",
                                               "time", "timeout", "message"])
    for r in records:
        t.add(r.verifier, r.instance, r.category, r.verdict, r.time, r.timeout, r.message)
    return t


#: ``scr_box.png`` needs at least this many groups (categories or models).
MIN_BOX_GROUPS = 2


def solved_records(records: Sequence[VerifyRecord],
                   sb: Scoreboard) -> dict[str, list[VerifyRecord]]:
    """Per verifier (SCR order), the records of the instances it solved correctly (as the
    scoreboard classified them: conflicts and wrong answers are not solved)."""
    conflicted = {c.instance for c in sb.conflicts}
    out: dict[str, list[VerifyRecord]] = {v: [] for v in sb.ranking()}
    for r in records:
        rec = replace(r, expected=r.expected if r.expected in ("sat", "unsat") else None)
        if classify(rec, r.instance in conflicted) == CORRECT:
            out[r.verifier].append(r)
    return out


def cactus_series(records: Sequence[VerifyRecord], sb: Scoreboard) -> dict[str, list[float]]:
    """Per verifier (SCR order), the sorted times of its correctly solved instances: the
    steps of its line in ``cactus.png``."""
    return {v: sorted(r.time for r in recs) for v, recs in solved_records(records, sb).items()}


def _solved_sets(records: Sequence[VerifyRecord], sb: Scoreboard) -> dict[str, set[str]]:
    """Instances each verifier solved correctly (as the scoreboard classified them)."""
    return {v: {r.instance for r in recs} for v, recs in solved_records(records, sb).items()}


def _scr_groups(records: Sequence[VerifyRecord],
                solved: dict[str, set[str]]) -> dict[str, list[float]]:
    """Per verifier, instances solved in each category (or each model, with one category)."""
    categories = {r.category for r in records}

    def group(r: VerifyRecord) -> str:
        return r.category if len(categories) > 1 else r.instance.split("::", 1)[0]

    groups: dict[str, set[str]] = defaultdict(set)
    for r in records:
        groups[group(r)].add(r.instance)
    return {v: [float(len(solved[v] & members)) for _, members in sorted(groups.items())]
            for v in solved}


def _level_orders(records: Sequence[VerifyRecord]) -> dict[str, list[Any]]:
    levels: dict[str, dict[str, Any]] = defaultdict(dict)
    for r in records:
        for f, lv in (r.factors or {}).items():
            levels[f][repr(lv)] = lv
    return {f: sorted(v.values(), key=level_key) for f, v in levels.items()}


def _factor_figures(records: Sequence[VerifyRecord], solved: dict[str, set[str]],
                    out: Path) -> list[Path]:
    orders = _level_orders(records)
    if not orders:
        return []
    factors_of = {r.instance: r.factors or {} for r in records}
    files = []
    for stat, fn in (("max", max), ("median", statistics.median_low)):
        values: dict[str, dict[str, float]] = {}
        for v, insts in solved.items():
            values[v] = {}
            for f, order in orders.items():
                idx = [order.index(factors_of[i][f]) + 1 for i in insts if f in factors_of[i]]
                values[v][f] = fn(idx) / len(order) if idx else 0.0
        files.append(plots.radar_chart(values, out / f"radar_{stat}.png", rmax=1.0,
                                       title=f"{stat.capitalize()} factor level solved "
                                             "(fraction of the factor's levels)"))
    rows = [{**{f: (lv if isinstance(lv, (int, float)) else str(lv)) for f, lv in fs.items()},
             "solved by": sum(i in s for s in solved.values())} for i, fs in factors_of.items()]
    files.append(plots.parallel_coordinates(rows, list(orders), out / "factors_parallel.png",
                                            color_by="solved by"))
    return files


def _figures(records: Sequence[VerifyRecord], sb: Scoreboard, out: Path) -> list[Path]:
    solved = _solved_sets(records, sb)
    files = [plots.cactus_plot(cactus_series(records, sb), out / "cactus.png",
                               instances=len({r.instance for r in records}))]
    groups = _scr_groups(records, solved)
    n = min((len(g) for g in groups.values()), default=0)
    if n >= MIN_BOX_GROUPS:
        per, many = (("category", "categories") if len({r.category for r in records}) > 1
                     else ("model", "models"))
        files.append(plots.scr_boxplot(groups, out / "scr_box.png",
                                       ylabel=f"instances solved per {per} ({n} {many})"))
    times: dict[str, dict[str, float]] = {}
    for v in sb.ranking():
        mine = [r for r in records if r.verifier == v]
        times[v] = {d.value: sum(r.time for r in mine if r.verdict == d.value) for d in Verdict
                    if any(r.verdict == d.value for r in records)}
    if any(t > 0 for per in times.values() for t in per.values()):
        files.append(plots.time_bars(times, out / "time.png", stacked=True,
                                     ylabel="total time (s)",
                                     title="Time per verifier, by verdict"))
    return files + _factor_figures(records, solved, out)


def build_report(campaign_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str],
                 progress: ProgressFn | None = None) -> dict[str, Any]:
    """Score the verification results under ``campaign_dir``; write tables and figures."""
    folders = find_verify_campaigns(campaign_dir)
    if not folders:
        raise InputError(f"{campaign_dir}: no verification results found (a folder written by "
                         "`autospec verify`, holding campaign.sqlite, or one above such folders)")
    groups = []
    for k, f in enumerate(folders):
        groups.append((f, load_records(f)))
        if progress:
            progress("reading results", k + 1, len(folders))
    records = _unique_labels(groups)
    if not records:
        raise InputError(f"{campaign_dir}: the results folders hold no finished instances yet; "
                         "run (or resume) `autospec verify` first")
    sb = score(records)
    out = Path(out_dir)
    tables = _tables(records, sb)
    files: list[Path] = []
    for t in [*tables, _records_table(records)]:
        files += t.write(out)
    figures = _figures(records, sb, out)
    if progress:
        progress("figures", 1, 1)
    notes = [f"Results from {len(folders)} folder(s) under `{campaign_dir}`: "
             f"{len({r.instance for r in records})} instance(s), "
             f"{len(sb.verifiers)} verifier(s)."]
    files.append(atomic_write_text(out / "report.md", markdown_document(
        "Verification report", tables, figures, notes), force=True))
    doc = {"kind": "verify", "source": str(campaign_dir), "out_dir": str(out),
           "campaigns": [str(f) for f in folders], "instances": len({r.instance for r in records}),
           "verifiers": sb.ranking(), "scoreboard": sb.to_dict(),
           "tables": [t.to_dict() for t in tables],
           "files": sorted(str(p) for p in [*files, *figures, out / "report.json"])}
    atomic_write_json(out / "report.json", to_jsonable(doc), force=True)
    return doc

