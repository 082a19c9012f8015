"""Benchmark: spec generation and spec evaluation at scale (JSON lines on stdout).

(a) ``generate``: tree and grid generation (the generators registry) on synthetic flow-like
    data, ``--points`` x ``--features`` (default 1,000,000 x 78; target < 60 s each).
(b) ``evaluate``: :func:`evaluate_specs` (sorted index) against the naive per-spec mask loop
    :func:`evaluate_specs_naive`, side by side in this run, on ``--points`` fresh points
    and ``--specs`` specs (default 10,000; target speed-up >= 50x). The naive loop costs the
    same for every spec (one full pass over X), so when it would take long it is timed on a
    random subset of ``--naive-specs`` specs and extrapolated linearly; the JSON then says
    ``"naive_extrapolated_from": k``. The fast result on that subset must equal the naive one
    (``subset_equal``). Wall and CPU (``process_time``) speed-ups are both reported: on a
    shared machine the CPU ratio is the fairer one. Memory: ``tracemalloc`` peak of the fast
    evaluation step and the process's ``ru_maxrss`` at the end.

Data: every feature is non-negative and heavy-tailed like CIC-IDS2017 flow statistics:
log-normal magnitudes (byte counts, durations, rates), integer packet counts, 0/1 flags, and
features that are zero for about half of the flows; 4 classes with shares 70/15/10/5 %,
each class shifting a random 30 % of the features. Generation and evaluation points are two
independent draws from it (seeds ``seed`` and ``seed + 1``).

Specs for (b), ``--spec-source``: ``grid`` (a random sample of the grid generator's cells:
every feature bounded), ``boxes`` (random boxes around random evaluation-distribution points:
2-6 features bounded to a rank window of 1-10 % of the data around the point, every other
side +-inf, labelled with the point's class), or ``mixed`` (default): all tree leaves, then
half of the rest grid cells (all of them if fewer) and random boxes for the remainder.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import tracemalloc
from typing import Any

import numpy as np

from autospec_cli.data.dataset import Dataset
from autospec_cli.specs.generators import generate_specs
from autospec_cli.specs.metrics import SpecMetrics, evaluate_specs, evaluate_specs_naive
from autospec_cli.specs.model import Spec, SpecSet

CLASS_SHARES = (0.70, 0.15, 0.10, 0.05)


def flow_like(n: int, d: int, seed: int, params_seed: int = 0) -> Dataset:
    """Synthetic flow statistics (see the module notes); ``params_seed`` fixes the law."""
    law = np.random.default_rng(params_seed)
    kinds = law.choice(4, size=d, p=[0.45, 0.25, 0.1, 0.2])  # lognormal, count, flag, sparse
    sigma = law.uniform(0.5, 2.5, d)
    scale = law.normal(2.0, 3.0, d)
    c = len(CLASS_SHARES)
    shift = law.normal(0.0, 1.5, (c, d)) * (law.random((c, d)) < 0.3)
    rng = np.random.default_rng(seed)
    y = rng.choice(c, size=n, p=CLASS_SHARES)
    X = np.empty((n, d))
    for j in range(d):
        z = rng.standard_normal(n) * sigma[j] + scale[j] + shift[y, j]
        if kinds[j] == 2:
            X[:, j] = (z > scale[j] + 0.5).astype(np.float64)
            continue
        col = np.exp(z)
        if kinds[j] == 1:
            col = np.floor(col)
        elif kinds[j] == 3:
            col[rng.random(n) < 0.5] = 0.0
        X[:, j] = col
    return Dataset(X=X, y=y, features=[f"f{j}" for j in range(d)], task="classification",
                   name=f"flow-like-{seed}", classes=["BENIGN", "DoS", "PortScan", "WebAttack"])


def random_boxes(ds: Dataset, count: int, rng: np.random.Generator) -> list[Spec]:
    """Boxes around random points: 2-6 features bounded by a rank window, others open."""
    n, d = ds.X.shape
    sample = np.sort(ds.X[rng.choice(n, size=min(n, 100_000), replace=False)], axis=0)
    m = sample.shape[0]
    specs = []
    for i in range(count):
        p = int(rng.integers(n))
        lo, hi = np.full(d, -np.inf), np.full(d, np.inf)
        for j in rng.choice(d, size=int(rng.integers(2, 7)), replace=False):
            r = np.searchsorted(sample[:, j], ds.X[p, j])
            w = int(m * rng.uniform(0.005, 0.05))
            lo[j] = min(sample[max(r - w, 0), j], ds.X[p, j])
            hi[j] = max(sample[min(r + w, m - 1), j], ds.X[p, j])
        specs.append(Spec(id=f"box-{i}", lo=lo, hi=hi, label=int(ds.y[p]), support=1))
    return specs


def build_specs(gen: Dataset, source: str, count: int, seed: int,
                mined: dict[str, SpecSet]) -> SpecSet:
    """``count`` specs from ``source`` (see the module notes)."""
    rng = np.random.default_rng(seed)
    specs: list[Spec] = []
    if source == "mixed":
        specs += mined["tree"].specs[:count]
    n_grid = {"grid": count, "boxes": 0, "mixed": (count - len(specs)) // 2}[source]
    cells = mined["grid"].specs
    if source == "mixed":
        n_grid = min(n_grid, len(cells))
    if n_grid > len(cells):
        raise SystemExit(
            f"only {len(cells)} grid cells; ask for fewer --specs or use --spec-source boxes"
        )
    specs += [cells[i] for i in rng.choice(len(cells), size=n_grid, replace=False)]
    specs += random_boxes(gen, count - len(specs), rng)
    return SpecSet(task="classification", features=list(gen.features), algorithm=source,
                   specs=specs, classes=gen.classes)


def bench_generate(gen: Dataset, algo: str, seed: int) -> tuple[SpecSet, dict[str, Any]]:
    t = time.perf_counter()
    ss = generate_specs(gen, algo, seed=seed)
    wall = time.perf_counter() - t
    return ss, {"bench": "generate", "algo": algo, "params": ss.params, "points": gen.n,
                "features": gen.d, "specs": len(ss), "wall_s": round(wall, 3),
                "target_s": 60, "ok": wall < 60}


def bench_evaluate(specset: SpecSet, ev: Dataset, naive_specs: int, seed: int) -> dict[str, Any]:
    tracemalloc.start()
    t, c = time.perf_counter(), time.process_time()
    fast = evaluate_specs(specset, ev.X, ev.y)
    fast_s, fast_cpu = time.perf_counter() - t, time.process_time() - c
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    m = len(specset)
    k = min(naive_specs, m)
    pick = np.sort(np.random.default_rng(seed).choice(m, size=k, replace=False))
    subset = SpecSet(task=specset.task, features=specset.features, algorithm=specset.algorithm,
                     specs=[specset.specs[i] for i in pick])
    t, c = time.perf_counter(), time.process_time()
    naive = evaluate_specs_naive(subset, ev.X, ev.y)
    naive_measured = time.perf_counter() - t
    naive_s = naive_measured * m / k
    naive_cpu = (time.process_time() - c) * m / k
    row: dict[str, Any] = {
        "bench": "evaluate", "points": ev.n, "specs": m, "features": ev.d,
        "spec_source": specset.algorithm, "fast_s": round(fast_s, 3),
        "naive_s": round(naive_s, 3), "naive_measured_s": round(naive_measured, 3),
        "naive_extrapolated_from": k if k < m else None,
        "speedup": round(naive_s / fast_s, 1), "target_speedup": 50,
        "fast_cpu_s": round(fast_cpu, 3), "naive_cpu_s": round(naive_cpu, 3),
        "speedup_cpu": round(naive_cpu / fast_cpu, 1),
        "ok": naive_s / fast_s >= 50,
        "subset_equal": _same(evaluate_specs(subset, ev.X, ev.y), naive),
        "tracemalloc_peak_mb": round(peak / 2**20, 1),
        "metrics": fast.to_json(),
    }
    if k == m:
        row["full_equal"] = _same(fast, naive)
    return row


def _same(a: SpecMetrics, b: SpecMetrics) -> bool:
    return (a.tp, a.fp, a.fn, a.n_kept) == (b.tp, b.fp, b.fn, b.n_kept) and bool(
        np.array_equal(a.spec_covered, b.spec_covered)
        and np.array_equal(a.spec_satisfied, b.spec_satisfied)
    )


def emit(row: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(row) + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--points", type=int, default=1_000_000, help="points per fold")
    ap.add_argument("--features", type=int, default=78, help="features per point")
    ap.add_argument("--specs", type=int, default=10_000, help="specs to evaluate")
    ap.add_argument("--spec-source", choices=("mixed", "grid", "boxes"), default="mixed")
    ap.add_argument("--naive-specs", type=int, default=100,
                    help="naive loop on this many random specs, extrapolated (all if fewer)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    t = time.perf_counter()
    gen = flow_like(args.points, args.features, args.seed)
    ev = flow_like(args.points, args.features, args.seed + 1)
    emit({"bench": "data", "points": gen.n, "features": gen.d, "folds": 2,
          "wall_s": round(time.perf_counter() - t, 3)})
    mined = {}
    for algo in ("tree", "grid"):
        mined[algo], row = bench_generate(gen, algo, args.seed)
        emit(row)
    specset = build_specs(gen, args.spec_source, args.specs, args.seed, mined)
    emit(bench_evaluate(specset, ev, args.naive_specs, args.seed))
    emit({"bench": "memory", "ru_maxrss_mb": round(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)})


if __name__ == "__main__":
    main()
