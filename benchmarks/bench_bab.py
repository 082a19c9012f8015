"""Benchmark: the ``bab`` backend on the 90 VNN-COMP 2021 ACAS Xu instances (props 1 and 2).

Prints one JSON line per instance (verdict, expected verdict, seconds, boxes) and a summary
line ``{"summary": true, "solved", "wrong", "timeouts", "median_s", "total_s", ...}``. Every
instance goes through :func:`autospec_cli.verify.runner.verify_guarded`, so each ``sat`` is
re-checked in onnxruntime like any backend's answer. ``wrong`` counts decided verdicts that
contradict ``expected.csv`` (it must be 0).

Usage: ``python benchmarks/bench_bab.py --shared ../shared/data [--timeout S] [--limit N]
[--threads T]``. The timeout defaults to each instance's own (116 s).
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any


def _expected(word: str) -> str:
    """The known verdict of an ``expected.csv`` row (``holds``/``violated``); else unknown."""
    from autospec_cli.errors import InputError
    from autospec_cli.verify.base import Verdict

    try:
        verdict = Verdict.parse(word)
    except InputError:
        return "unknown"
    return verdict.value if verdict.decided else "unknown"


def instances(shared: Path) -> list[dict[str, str]]:
    """Rows of ``vnncomp2021/acasxu/expected.csv`` (onnx, vnnlib, timeout, expected, ...)."""
    folder = shared / "vnncomp2021" / "acasxu"
    with open(folder / "expected.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def run(
    shared: Path,
    timeout: float | None = None,
    limit: int | None = None,
    threads: int = 1,
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Decide the instances, printing a JSON line each; return the summary."""
    from autospec_cli.verify.base import Instance
    from autospec_cli.verify.registry import make_backend
    from autospec_cli.verify.runner import verify_guarded

    folder = shared / "vnncomp2021" / "acasxu"
    verifier = make_backend("bab", threads=threads, **(options or {}))
    rows = instances(shared)[:limit] if limit else instances(shared)
    times, solved, wrong, timeouts, other = [], 0, 0, 0, 0
    t_all = time.perf_counter()
    for row in rows:
        limit_s = float(timeout if timeout is not None else row["timeout"])
        inst = Instance(folder / row["onnx"], folder / row["vnnlib"], limit_s, "acasxu")
        t0 = time.perf_counter()
        r = verify_guarded(verifier, inst)
        seconds = time.perf_counter() - t0
        expected = _expected(row["expected"])
        verdict = r.verdict.value
        is_wrong = (
            verdict in ("sat", "unsat") and expected in ("sat", "unsat") and verdict != expected
        )
        solved += verdict in ("sat", "unsat") and not is_wrong
        wrong += is_wrong
        timeouts += verdict == "timeout"
        other += verdict in ("unknown", "error")
        times.append(seconds)
        boxes = sum(s.get("boxes", 0) for s in r.extra.get("stats", []))
        print(
            json.dumps(
                {
                    "onnx": row["onnx"],
                    "vnnlib": row["vnnlib"],
                    "verdict": verdict,
                    "expected": expected,
                    "wrong": bool(is_wrong),
                    "seconds": round(seconds, 3),
                    "boxes": boxes,
                    "message": r.message,
                }
            ),
            flush=True,
        )
    summary = {
        "summary": True,
        "backend": "bab",
        "instances": len(rows),
        "solved": solved,
        "wrong": wrong,
        "timeouts": timeouts,
        "unknown_or_error": other,
        "median_s": round(statistics.median(times), 3) if times else None,
        "total_s": round(time.perf_counter() - t_all, 1),
        "timeout_s": timeout or "per instance",
        "threads": threads,
    }
    print(json.dumps(summary), flush=True)
    return summary


def main(shared: Path, argv: list[str] | None = None) -> None:
    """Run the benchmark on ``shared`` (the shared data folder) with options from ``argv``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=None, help="seconds per instance")
    parser.add_argument("--limit", type=int, default=None, help="only the first N instances")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args, _ = parser.parse_known_args(argv or [])
    run(shared, args.timeout, args.limit, args.threads)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shared", type=Path, required=True, help="the shared data folder")
    known, rest = p.parse_known_args()
    if not (known.shared / "vnncomp2021" / "acasxu").is_dir():
        sys.exit(f"error: {known.shared}/vnncomp2021/acasxu not found; pass --shared DIR")
    main(known.shared, rest)
