"""Benchmark: complete verification on the shared VNN-COMP 2021 sets, backends side by side.

Sets (``--sets``, comma-separated; default ``acasxu``):

- ``acasxu``: the 90 ACAS Xu instances of properties 1 and 2 (5 inputs);
- ``eran``: the MNIST MLPs ``mnist_relu_9_200`` and ``ffnnSIGMOID__Point_6x200`` (784 inputs),
  reported apart;
- ``verivital``: the MNIST conv nets ``Convnet_avgpool`` and ``Convnet_maxpool``.

Rows come from each set's ``expected.csv``; only rows with a known verdict count
(``--every N`` keeps every N-th of them, ``--limit`` the first N). Every backend named with
``--backend`` (repeatable, ``NAME`` or ``NAME[k=v;k=v]`` as in a portfolio; default ``bab``)
decides every row in this one run, so their numbers compare side by side. Each instance goes
through :func:`autospec_cli.verify.runner.verify_guarded`, so every ``sat`` is re-checked in
onnxruntime like any backend's answer; ``wrong`` counts decided verdicts that contradict
``expected.csv`` (it must be 0).

Prints one JSON line per instance and backend, then one summary line per (set, network,
backend): ``{"summary": true, "solved", "wrong", "timeouts", "median_s", "total_s", ...}``.

Usage: ``python benchmarks/bench_bab.py --shared ../shared/data [--sets acasxu,eran]
[--backend bab --backend marabou] [--timeout S] [--every N] [--limit N] [--threads T]``.
The timeout defaults to each instance's own (116 s for ACAS Xu, 300/420 s for the others).
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

SETS = ("acasxu", "eran", "verivital")


def _expected(word: str) -> str:
    """The known verdict of an ``expected.csv`` row (``holds``/``violated``); else unknown."""
    from autospec_cli.errors import InputError
    from autospec_cli.verify.base import Verdict

    try:
        verdict = Verdict.parse(word)
    except InputError:
        return "unknown"
    return verdict.value if verdict.decided else "unknown"


def instances(shared: Path, name: str = "acasxu") -> list[dict[str, str]]:
    """Rows of ``vnncomp2021/<name>/expected.csv`` (onnx, vnnlib, timeout, expected, ...)."""
    folder = shared / "vnncomp2021" / name
    with open(folder / "expected.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def known_rows(shared: Path, name: str, every: int = 1, limit: int | None = None
               ) -> list[dict[str, str]]:
    """The rows with a known verdict, every ``every``-th per network, at most ``limit``."""
    rows = [r for r in instances(shared, name) if _expected(r["expected"]) != "unknown"]
    picked: list[dict[str, str]] = []
    seen: dict[str, int] = {}
    for r in rows:
        k = seen.get(r["onnx"], 0)
        seen[r["onnx"]] = k + 1
        if k % max(1, every) == 0:
            picked.append(r)
    return picked[:limit] if limit else picked


def _backend(spec: str, threads: int) -> Any:
    """A backend from ``NAME`` or ``NAME[k=v;k=v]`` (the portfolio member syntax)."""
    from autospec_cli.verify.portfolio import parse_members
    from autospec_cli.verify.registry import get_backend_class, make_backend, parse_option_pairs

    if spec.startswith("portfolio["):  # the portfolio's own options hold member lists
        pairs = [p.strip() for p in spec[len("portfolio["):-1].split(";") if p.strip()]
        name = "portfolio"
    else:
        ((name, pairs),) = parse_members(spec)
    cls = get_backend_class(name)
    options = parse_option_pairs(cls, pairs)
    if "threads" in cls.parameters:
        options.setdefault("threads", threads)
    return make_backend(name, **options)


def run(
    shared: Path,
    timeout: float | None = None,
    limit: int | None = None,
    threads: int = 1,
    options: dict[str, Any] | None = None,
    *,
    sets: tuple[str, ...] = ("acasxu",),
    backends: tuple[str, ...] = ("bab",),
    every: int = 1,
) -> list[dict[str, Any]]:
    """Decide the instances, printing a JSON line each; return the summaries."""
    from autospec_cli.verify.base import Instance
    from autospec_cli.verify.registry import make_backend
    from autospec_cli.verify.runner import verify_guarded

    summaries = []
    for spec in backends:
        verifier = (make_backend("bab", threads=threads, **options) if options and spec == "bab"
                    else _backend(spec, threads))
        for name in sets:
            folder = shared / "vnncomp2021" / name
            if not (folder / "expected.csv").is_file():
                print(json.dumps({"skipped": name, "reason": "not in the shared data"}),
                      flush=True)
                continue
            groups: dict[str, dict[str, Any]] = {}
            for row in known_rows(shared, name, every, limit):
                group = name if name == "acasxu" else Path(row["onnx"]).stem
                g = groups.setdefault(group, {"times": [], "solved": 0, "wrong": 0,
                                              "timeouts": 0, "other": 0, "n": 0,
                                              "t0": time.perf_counter()})
                limit_s = float(timeout if timeout is not None else row["timeout"])
                inst = Instance(folder / row["onnx"], folder / row["vnnlib"], limit_s, name)
                t0 = time.perf_counter()
                r = verify_guarded(verifier, inst)
                seconds = time.perf_counter() - t0
                expected = _expected(row["expected"])
                verdict = r.verdict.value
                is_wrong = verdict in ("sat", "unsat") and verdict != expected
                g["n"] += 1
                g["solved"] += verdict in ("sat", "unsat") and not is_wrong
                g["wrong"] += is_wrong
                g["timeouts"] += verdict == "timeout"
                g["other"] += verdict in ("unknown", "error")
                g["times"].append(seconds)
                boxes = sum(s.get("boxes", 0) for s in r.extra.get("stats", []))
                print(json.dumps({"set": name, "network": group, "backend": spec,
                                  "onnx": row["onnx"], "vnnlib": row["vnnlib"],
                                  "verdict": verdict, "expected": expected,
                                  "wrong": bool(is_wrong), "seconds": round(seconds, 3),
                                  "boxes": boxes, "member": r.extra.get("member"),
                                  "split": r.extra.get("split"), "message": r.message}),
                      flush=True)
            for group, g in groups.items():
                summary = {
                    "summary": True, "set": name, "network": group, "backend": spec,
                    "instances": g["n"], "solved": g["solved"], "wrong": g["wrong"],
                    "timeouts": g["timeouts"], "unknown_or_error": g["other"],
                    "median_s": round(statistics.median(g["times"]), 3),
                    "total_s": round(time.perf_counter() - g["t0"], 1),
                    "timeout_s": timeout or "per instance", "threads": threads,
                }
                print(json.dumps(summary), flush=True)
                summaries.append(summary)
    return summaries


def main(shared: Path, argv: list[str] | None = None) -> None:
    """Run the benchmark on ``shared`` (the shared data folder) with options from ``argv``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=None, help="seconds per instance")
    parser.add_argument("--limit", type=int, default=None, help="only the first N rows per set")
    parser.add_argument("--every", type=int, default=1, help="every N-th known row per network")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--sets", default="acasxu", help=f"comma-separated: {', '.join(SETS)}")
    parser.add_argument("--backend", action="append", default=None,
                        help="NAME or NAME[k=v;...] (repeatable; default bab)")
    args, _ = parser.parse_known_args(argv or [])
    sets = tuple(s.strip() for s in args.sets.split(",") if s.strip())
    bad = [s for s in sets if s not in SETS]
    if bad:
        sys.exit(f"error: unknown set(s) {', '.join(bad)}; choose from {', '.join(SETS)}")
    run(shared, args.timeout, args.limit, args.threads, sets=sets,
        backends=tuple(args.backend or ["bab"]), every=args.every)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shared", type=Path, required=True, help="the shared data folder")
    known, rest = p.parse_known_args()
    if not (known.shared / "vnncomp2021").is_dir():
        sys.exit(f"error: {known.shared}/vnncomp2021 not found; pass --shared DIR")
    main(known.shared, rest)
