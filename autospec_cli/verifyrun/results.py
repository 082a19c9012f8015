"""Write verification results in the VNN-COMP layout.

A results folder holds:

* ``results.csv`` -- one row per instance, no header (as VNN-COMP's ``results_csv/*.csv``):
  ``category,onnx,vnnlib,prepare_time,result,run_time`` with ``result`` one of ``sat``,
  ``unsat``, ``unknown``, ``timeout``, ``error`` and paths as the benchmark's
  ``instances.csv`` gives them (relative to the benchmark folder when possible);
* ``counterexamples/<onnx>__<vnnlib>.counterexample`` -- one file per ``sat`` result, in the
  VNN-COMP form ``((X_0 v) ... (Y_0 v) ...)``;
* ``summary.json`` -- backend, options, counts per verdict, times and one record per instance
  (on a benchmark with discrete features, ``discrete_ok`` per ``sat`` witness and the counts
  ``sat_discrete_ok`` / ``sat_not_discrete`` / ``sat_repaired``, see
  :mod:`autospec_cli.verify.discrete`).

Every file is written atomically.
"""

from __future__ import annotations

import csv
import io
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autospec_cli.errors import InputError
from autospec_cli.io import atomic_write_json, atomic_write_text, check_writable, to_jsonable
from autospec_cli.verify.base import Instance, Result, Verdict

RESULTS_CSV = "results.csv"
SUMMARY_JSON = "summary.json"
CEX_DIR = "counterexamples"
COLUMNS = ("category", "onnx", "vnnlib", "prepare_time", "result", "run_time")


@dataclass(frozen=True)
class ResultsPaths:
    """Where :func:`write_results` put things."""

    folder: Path
    csv: Path
    summary: Path
    counterexamples: dict[str, Path]  # instance key -> file


def _rel(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return os.path.relpath(Path(path).resolve(), Path(root).resolve())
        except ValueError:  # other drive (Windows)
            pass
    return str(path)


def results_csv_text(
    instances: Sequence[Instance], results: Sequence[Result], *, root: Path | None = None
) -> str:
    """The ``results.csv`` content (no header)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for inst, res in zip(instances, results, strict=True):
        w.writerow(
            [
                inst.category,
                _rel(inst.onnx, root),
                _rel(inst.vnnlib, root),
                f"{res.prepare_time:.6f}",
                res.verdict.value,
                f"{res.time:.6f}",
            ]
        )
    return buf.getvalue()


def read_results_csv(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read a VNN-COMP results CSV (ours or a competition one; a header row is skipped).

    Result words are read with :meth:`Verdict.parse` (so the 2021 words ``holds``/``violated``
    are read as ``unsat``/``sat``).
    """
    rows = []
    with open(path, newline="", encoding="utf-8") as fh:
        for n, row in enumerate(csv.reader(fh), 1):
            if not row or (n == 1 and row[0].strip().lower() == "category"):
                continue
            if len(row) != 6:
                raise InputError(
                    f"{path}:{n}: expected 6 columns ({','.join(COLUMNS)}), got {len(row)}"
                )
            try:
                result = Verdict.parse(row[4]).value
            except InputError as e:
                raise InputError(f"{path}:{n}: unknown result {row[4]!r} ({e})") from None
            try:
                prep, run = float(row[3] or 0), float(row[5] or 0)
            except ValueError:
                raise InputError(f"{path}:{n}: times must be numbers") from None
            rows.append(
                dict(
                    category=row[0],
                    onnx=row[1],
                    vnnlib=row[2],
                    prepare_time=prep,
                    result=result,
                    run_time=run,
                )
            )
    return rows


def counterexample_names(instances: Sequence[Instance]) -> list[str]:
    """Unique file names ``<onnx stem>__<vnnlib stem>.counterexample`` (numbered on clashes)."""
    names: list[str] = []
    seen: Counter[str] = Counter()
    for inst in instances:
        onnx = Path(inst.onnx).name.removesuffix(".gz").removesuffix(".onnx")
        prop = Path(inst.vnnlib).name.removesuffix(".gz").removesuffix(".vnnlib")
        base = f"{onnx}__{prop}"
        seen[base] += 1
        names.append(base if seen[base] == 1 else f"{base}.{seen[base]}")
    return [n + ".counterexample" for n in names]


def summarize(results: Sequence[Result]) -> dict[str, Any]:
    """Counts per verdict and time totals."""
    counts = {v.value: 0 for v in Verdict}
    for r in results:
        counts[r.verdict.value] += 1
    times = [r.time for r in results]
    solved = [r.time for r in results if r.verdict.decided]
    return {
        "instances": len(results),
        "counts": counts,
        "total_time": float(sum(times)),
        "solved_time": float(sum(solved)),
        "max_time": float(max(times)) if times else 0.0,
        # an external tool said sat but no counterexample was given or found (scored error)
        "claimed_sat_no_witness": sum(bool(r.extra.get("claimed_sat_no_witness"))
                                      for r in results),
        "witness_recovered": sum(bool(r.extra.get("witness_recovered")) for r in results),
        **_discrete_counts(results),
    }


def _discrete_counts(results: Sequence[Result]) -> dict[str, int]:
    """Of the ``sat`` witnesses checked against discrete features (benchmarks with feature
    kinds): how many respect them, how many not, and how many of those were repaired."""
    checked = [r for r in results if "discrete_ok" in r.extra]
    if not checked:
        return {}
    ok = sum(bool(r.extra["discrete_ok"]) for r in checked)
    repaired = sum(r.extra.get("repaired") is not None for r in checked)
    return {"sat_discrete_ok": ok, "sat_not_discrete": len(checked) - ok,
            "sat_repaired": repaired}


def write_results(
    folder: str | os.PathLike[str],
    instances: Sequence[Instance],
    results: Sequence[Result],
    *,
    backend: str,
    options: Mapping[str, Any] | None = None,
    root: str | os.PathLike[str] | None = None,
    force: bool = False,
) -> ResultsPaths:
    """Write ``results.csv``, ``counterexamples/`` and ``summary.json`` under ``folder``.

    Refuses to overwrite an existing ``results.csv`` unless ``force``; with ``force`` stale
    counterexample files from an earlier run are removed.
    """
    out = Path(folder)
    csv_path = check_writable(out / RESULTS_CSV, force)
    rootp = Path(root) if root is not None else None
    cex_dir = out / CEX_DIR
    if cex_dir.is_dir():
        for old in cex_dir.glob("*.counterexample"):
            old.unlink()
    written: dict[str, Path] = {}
    records = []
    for inst, res, name in zip(instances, results, counterexample_names(instances), strict=True):
        rec = {
            "category": inst.category,
            "onnx": _rel(inst.onnx, rootp),
            "vnnlib": _rel(inst.vnnlib, rootp),
            "result": res.verdict.value,
            "time": res.time,
            "prepare_time": res.prepare_time,
            "message": res.message,
            "counterexample": None,
            "extra": res.extra,
        }
        if "discrete_ok" in res.extra:  # benchmarks with integer / one-hot features
            rec["discrete_ok"] = bool(res.extra["discrete_ok"])
        if res.verdict is Verdict.SAT and res.counterexample is not None:
            path = atomic_write_text(
                cex_dir / name, res.counterexample.to_vnncomp() + "\n", force=True
            )
            written[inst.key] = path
            rec["counterexample"] = f"{CEX_DIR}/{name}"
        records.append(rec)
    atomic_write_text(csv_path, results_csv_text(instances, results, root=rootp), force=True)
    summary = {
        "backend": backend,
        "options": dict(options or {}),
        **summarize(results),
        "results": records,
    }
    summary_path = atomic_write_json(out / SUMMARY_JSON, to_jsonable(summary), force=True)
    return ResultsPaths(out, csv_path, summary_path, written)

