"""Benchmark: GDVB covering arrays against the greedy tools' sizes (JSON lines on stdout).

Cases (the reference sizes were measured with the greedy tools, all under 0.5 s):

- ``5^5 6^2 t=2``: PICT 43 (42-47 over seeds), jenny 45, allpairspy 46-48, lower bound 36,
  best known <= 42; target <= 44 rows.
- ``5^5 6^2 t=3``: PICT 291, jenny 288, lower bound 180, best known <= 290; target <= 304.
- ``gdvb-mnist t=2``: GDVB's MNIST config, 5^6 3 with its constraints ``fc=0 => conv!=0`` and
  ``fc=2 & conv=0 & idm=0 => neu<4`` (as exclusions, over level indices); PICT 37.

One line per case and seed: rows, seconds (wall clock of the whole construction, its own
verification included; cpu_seconds too, as the wall clock suffers on a loaded machine),
coverage (fraction of allowed t-tuples covered, computed here independently of the library by
enumerating every full row with numpy and the constraints written as numpy predicates),
violating rows, the reference sizes, and whether rows <= target and seconds < 2. Then one
summary line per case (min / median / max rows, max seconds).

``--e2e`` appends the end-to-end run of the built-in seed config (``--e2e-config``); its body,
:func:`e2e_records`, is a hook for the GDVB generation/run code.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from autospec_cli.bench.covering import covering_array

Pred = Callable[[np.ndarray], np.ndarray]  # (n, k) level indices -> (n,) excluded

MNIST_FACTORS = {"neu": 5, "fc": 3, "conv": 5, "idm": 5, "ids": 5, "eps": 5, "prop": 5}
MNIST_CONSTRAINTS = [
    "fc == 0 and conv == 0",
    "fc == 2 and conv == 0 and idm == 0 and not (neu < 4)",
]


def _mnist_excluded(rows: np.ndarray) -> np.ndarray:
    neu, fc, conv, idm = rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3]
    return ((fc == 0) & (conv == 0)) | ((fc == 2) & (conv == 0) & (idm == 0) & (neu >= 4))


CASES: list[dict[str, Any]] = [
    {"case": "5^5 6^2 t=2", "levels": [5] * 5 + [6] * 2, "t": 2, "constraints": [],
     "excluded": None, "target": 44,
     "reference": {"pict": 43, "pict_range": [42, 47], "jenny": 45, "allpairspy": [46, 48],
                   "lower_bound": 36, "best_known": 42}},
    {"case": "5^5 6^2 t=3", "levels": [5] * 5 + [6] * 2, "t": 3, "constraints": [],
     "excluded": None, "target": 304,
     "reference": {"pict": 291, "jenny": 288, "lower_bound": 180, "best_known": 290}},
    {"case": "gdvb-mnist 5^6 3 t=2", "levels": MNIST_FACTORS, "t": 2,
     "constraints": MNIST_CONSTRAINTS, "excluded": _mnist_excluded, "target": 37,
     "reference": {"pict": 37}},
]


def independent_coverage(
    rows: np.ndarray, levels: list[int], t: int, excluded: Pred | None
) -> tuple[float, int]:
    """(fraction of allowed t-tuples covered by valid rows, number of invalid rows), by brute
    force: allowed tuples are the projections of every valid full row."""
    k = len(levels)
    full = np.indices(levels).reshape(k, -1).T
    valid = full if excluded is None else full[~excluded(full)]
    rows = np.asarray(rows)
    in_range = ((rows >= 0) & (rows < np.asarray(levels))).all(axis=1)
    bad = ~in_range
    if excluded is not None:
        bad |= in_range & excluded(np.where(in_range[:, None], rows, 0))
    good = rows[~bad]
    n_allowed = n_covered = 0
    for cols in itertools.combinations(range(k), t):
        radix = np.cumprod([1] + [levels[c] for c in cols[:-1]])
        allowed = np.unique(valid[:, cols] @ radix)
        covered = np.unique(good[:, cols] @ radix)
        n_allowed += allowed.size
        n_covered += np.intersect1d(allowed, covered, assume_unique=True).size
    return n_covered / n_allowed, int(bad.sum())


def run_case(case: dict[str, Any], seed: int, time_budget: float | None) -> dict[str, Any]:
    """Build, time and independently check one array."""
    start, cpu = time.perf_counter(), time.process_time()
    ca = covering_array(case["levels"], case["t"], case["constraints"], seed=seed,
                        time_budget=time_budget)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    levels = list(ca.levels)
    coverage, bad = independent_coverage(ca.rows, levels, case["t"], case["excluded"])
    return {
        "case": case["case"], "t": case["t"], "levels": levels, "seed": seed,
        "rows": len(ca), "seconds": round(seconds, 3), "cpu_seconds": round(cpu, 3),
        "coverage": coverage,
        "violating_rows": bad, "greedy_rows": ca.stats["greedy_rows"],
        "greedy_seconds": ca.stats["greedy_time_s"], "lower_bound": ca.stats["lower_bound"],
        "iterations": ca.stats["iterations"], "time_capped": ca.stats["time_capped"],
        "target": case["target"], "reference": case["reference"],
        "ok": coverage == 1.0 and bad == 0 and len(ca) <= case["target"] and seconds < 2.0,
    }


def summary(case: dict[str, Any], recs: list[dict[str, Any]]) -> dict[str, Any]:
    rows = [r["rows"] for r in recs]
    return {
        "case": case["case"], "summary": True, "seeds": len(recs),
        "rows_min": min(rows), "rows_median": statistics.median(rows), "rows_max": max(rows),
        "seconds_max": max(r["seconds"] for r in recs),
        "coverage_min": min(r["coverage"] for r in recs),
        "all_ok": all(r["ok"] for r in recs), "target": case["target"],
        "reference": case["reference"],
    }


def e2e_records(config: Path, out: Path | None = None, jobs: int = 2) -> Iterator[dict[str, Any]]:
    """JSON records of the end-to-end GDVB run of ``config``: generate (distillation jobs),
    run every configured verifier, build the report; wall time of each phase and the scores."""
    import shutil
    import tempfile

    from autospec_cli.bench.config import load_gdvb_config
    from autospec_cli.bench.generate import generate
    from autospec_cli.bench.run import run
    from autospec_cli.campaign.executors import make_executor
    from autospec_cli.report.gdvb import build_report

    cfg = load_gdvb_config(config)
    tmp = Path(tempfile.mkdtemp(prefix="bench-gdvb-")) if out is None else out
    t0 = time.perf_counter()
    gen = generate(cfg, tmp, executor=make_executor("local", jobs=jobs), force=True)
    t1 = time.perf_counter()
    res = run(tmp, list(cfg.verify.verifiers), executor=make_executor("local", jobs=jobs))
    t2 = time.perf_counter()
    build_report(tmp, tmp / "report")
    t3 = time.perf_counter()
    rows = gen.get("rows")
    yield {"case": "e2e", "config": str(config), "array_rows": rows,
           "generate_s": round(t1 - t0, 1), "run_s": round(t2 - t1, 1),
           "report_s": round(t3 - t2, 1), "total_s": round(t3 - t0, 1)}
    scores = res.get("scores", {})
    for sc in scores.get("verifiers") or []:
        keep = {k: sc.get(k) for k in ("verifier", "rank", "solved", "wrong", "unsolved",
                                        "par2_sum", "par2_mean", "points")}
        yield {"case": "e2e-score", **keep}
    if out is None:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5, help="array seeds per case (0..N-1)")
    ap.add_argument("--time-budget", type=float, default=2.0,
                    help="post-optimisation wall-clock cap in seconds; 0 = none")
    ap.add_argument("--cases", default="all", help="comma-separated case indices (0,1,2) or all")
    ap.add_argument("--e2e", action="store_true", help="also run the built-in seed end to end")
    ap.add_argument("--e2e-config", type=Path, default=Path("configs/gdvb-digits.toml"),
                    help="GDVB config for --e2e")
    ap.add_argument("--e2e-out", type=Path, default=None,
                    help="keep the end-to-end benchmark in this folder (default: a temporary one)")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes for --e2e")
    args = ap.parse_args(argv)
    picked = CASES if args.cases == "all" else [CASES[int(i)] for i in args.cases.split(",")]
    budget = args.time_budget if args.time_budget > 0 else None
    ok = True
    for case in picked:
        recs = []
        for seed in range(args.seeds):
            recs.append(run_case(case, seed, budget))
            print(json.dumps(recs[-1]), flush=True)
        s = summary(case, recs)
        ok &= s["all_ok"]
        print(json.dumps(s), flush=True)
    if args.e2e:
        for rec in e2e_records(args.e2e_config, args.e2e_out, args.jobs):
            print(json.dumps(rec), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
