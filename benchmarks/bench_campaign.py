"""Campaign engine benchmarks (JSON lines on stdout).

Measures, end to end through :func:`run_campaign` (job insertion, dispatch, one SQLite
transaction per finished job):

- the local executor's scheduling overhead on N trivial jobs (``probe.echo``) and on jobs that
  sleep 10 ms;
- the same on a Dask LocalCluster (loopback), in-worker and isolated (one process group per
  job, what a per-job timeout needs);
- the resume cost: re-running a finished campaign of N jobs (nothing left to do).

Per-job figures: ``ms_per_job_wall`` = wall / n; ``ms_per_job_overhead`` = (wall - ideal) / n
with ideal = (sum of the jobs' own run times) / workers, i.e. a perfect scheduler's wall time.
Target: overhead below 20 ms per job.

    python benchmarks/bench_campaign.py [--n 10000] [--jobs 2] [--dask-n 1000] [--no-dask]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from autospec_cli.campaign import JobSpec, LocalExecutor, open_campaign, run_campaign
from autospec_cli.campaign.executors import Executor

TARGET_MS = 20.0


def emit(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


def _job_time(folder: Path) -> float:
    with open_campaign(folder, create=False) as store:
        return store.stats().job_time


def measure(name: str, folder: Path, jobs: list[JobSpec], executor: Executor, workers: int,
            **extra: Any) -> None:
    """Run ``jobs`` on a fresh store with a started ``executor``; emit one JSON line."""
    t0 = time.perf_counter()
    summary = run_campaign(folder, jobs, executor)
    wall = time.perf_counter() - t0
    n = len(jobs)
    ideal = _job_time(folder) / workers
    overhead = (wall - ideal) / n * 1000
    emit(bench=name, n=n, workers=workers, wall_s=round(wall, 3), ideal_s=round(ideal, 3),
         ms_per_job_wall=round(wall / n * 1000, 4), ms_per_job_overhead=round(overhead, 4),
         jobs_per_s=round(n / wall, 1), done=summary.done, target_ms=TARGET_MS,
         ok=overhead < TARGET_MS and summary.done == n, **extra)


def bench_local(root: Path, n: int, workers: int) -> None:
    t0 = time.perf_counter()
    with LocalExecutor(jobs=workers, timeout=60) as ex:
        emit(bench="campaign.local.start", workers=workers,
             start_s=round(time.perf_counter() - t0, 4))
        trivial = [JobSpec("probe.echo", {"value": i}) for i in range(n)]
        measure("campaign.local.trivial", root / "local", trivial, ex, workers)
        sleepy = [JobSpec("probe.sleep", {"seconds": 0.01, "value": i}) for i in range(n // 10)]
        measure("campaign.local.sleep10ms", root / "local-sleep", sleepy, ex, workers)
    t0 = time.perf_counter()
    again = [JobSpec("probe.echo", {"value": i}) for i in range(n)]
    specs_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    summary = run_campaign(root / "local", again, LocalExecutor(jobs=workers))
    wall = time.perf_counter() - t0
    emit(bench="campaign.resume.finished", n=n, wall_s=round(wall, 4),
         build_specs_s=round(specs_s, 4), ran=summary.ran, skipped=summary.skipped,
         ms_per_job=round(wall / n * 1000, 5))


def bench_dask(root: Path, n: int, workers: int) -> None:
    from autospec_cli.campaign.dask_executor import DaskExecutor

    t0 = time.perf_counter()
    with DaskExecutor(None, jobs=workers) as ex:
        emit(bench="campaign.dask_local.start", workers=workers,
             start_s=round(time.perf_counter() - t0, 3))
        trivial = [JobSpec("probe.echo", {"value": i}) for i in range(n)]
        measure("campaign.dask_local.trivial", root / "dask", trivial, ex, workers,
                mode="in-worker")
        isolated = [JobSpec("probe.echo", {"value": i}, timeout=60) for i in range(n // 5)]
        measure("campaign.dask_local.trivial_isolated", root / "dask-iso", isolated, ex,
                workers, mode="process group per job (timeout enforced)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000, help="trivial jobs for the local executor")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes")
    ap.add_argument("--dask-n", type=int, default=1_000, help="trivial jobs on Dask")
    ap.add_argument("--no-dask", action="store_true", help="skip the Dask measurements")
    ap.add_argument("--workdir", type=Path, default=None, help="where to put the stores")
    args = ap.parse_args()
    root = Path(args.workdir or tempfile.mkdtemp(prefix="bench-campaign-"))
    emit(bench="campaign.machine", cpus=os.cpu_count(), n=args.n, jobs=args.jobs)
    try:
        bench_local(root, args.n, args.jobs)
        if not args.no_dask:
            bench_dask(root, args.dask_n, args.jobs)
    finally:
        if args.workdir is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
