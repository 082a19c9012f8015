"""Benchmark: verification throughput (JSON lines on stdout).

(a) ``lirpa``: CROWN over the AutoSpec throughput model (MLP 4-10-5-1 trained on the builtin
    synthetic throughput windows) and the regression properties of decision-tree specs mined
    from the same data (a few hundred). Timed side by side in this run:

    - ``batched``: :func:`bound_property_batch` on all properties (one C-matrix call per
      ``--batch-size`` boxes) against ``per_property``: one call per property, both with the
      BoundedModule already built (target speed-up >= 30x);
    - ``backend``: the ``lirpa`` backend end to end on a VNN-COMP folder written from the same
      properties (ONNX loading, VNN-LIB parsing, bounding): ``verify_many`` against one
      ``verify_instance`` per instance;
    - ``onnxruntime``: plain forward passes on the same boxes (their centres and both corners,
      3 points per box, one batched run) -- the ratio says what a sound bound costs relative
      to evaluating the network.

    Timings are the best of ``--repeat`` runs after a warm-up.
(b) When ``benchmarks/bench_bab.py`` exists, its ``main(shared, argv)`` runs next with the
    options this script does not know (e.g. ``--timeout``, ``--limit``); ``--skip-bab`` skips it.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def emit(obj: dict[str, Any]) -> None:
    print(json.dumps(obj), flush=True)


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Minimum wall time of ``repeat`` calls (after one warm-up call) and the last result."""
    out = fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def throughput_problem(seed: int, max_depth: int) -> tuple[Any, list[Any], Any]:
    """The trained 4-10-5-1 MLP, tree-spec regression properties and the dataset."""
    import torch

    from autospec_cli.data.loaders import load_dataset
    from autospec_cli.models.arch import MLP
    from autospec_cli.models.train import train_model
    from autospec_cli.specs.generators import generate_specs
    from autospec_cli.vnnlib.builders import spec_to_property

    ds = load_dataset("builtin:throughput", seed=seed)
    torch.manual_seed(seed)
    model = MLP(ds.X.shape[1], [10, 5], 1)
    train_model(model, ds, epochs=30, seed=seed)
    specs = generate_specs(ds, "tree", seed=seed, max_depth=max_depth)
    domain = (ds.X.min(axis=0), ds.X.max(axis=0))
    props = [spec_to_property(s, 1, domain)[0] for s in specs.specs]
    return model.eval(), props, ds


def bench_lirpa(args: argparse.Namespace) -> None:
    from autospec_cli.models.onnx_export import export_onnx
    from autospec_cli.models.runtime import OnnxRunner
    from autospec_cli.verify.backends.lirpa import LirpaVerifier, bound_property_batch
    from autospec_cli.verify.base import Instance
    from autospec_cli.vnnlib.writer import write_vnnlib

    t0 = time.perf_counter()
    model, props, ds = throughput_problem(args.seed, args.max_depth)
    setup = time.perf_counter() - t0
    n = len(props)
    opts = {"method": args.method, "batch_size": args.batch_size}
    t_batch, verdicts = best_of(lambda: bound_property_batch(model, props, **opts), args.repeat)
    t_single, single = best_of(
        lambda: [bound_property_batch(model, [p], **opts)[0] for p in props], args.repeat)
    lo = np.stack([p.cases[0].lo for p in props])
    hi = np.stack([p.cases[0].hi for p in props])
    with tempfile.TemporaryDirectory() as tmp:
        onnx = export_onnx(model, (ds.X.shape[1],), Path(tmp) / "throughput.onnx")
        runner = OnnxRunner(onnx)
        points = np.vstack([(lo + hi) / 2, lo, hi]).astype(np.float32)
        t_ort, _ = best_of(lambda: runner.run(points), args.repeat)
        insts = [Instance(onnx, write_vnnlib(Path(tmp) / f"p{k}.vnnlib", p), 60.0)
                 for k, p in enumerate(props)]
        backend = LirpaVerifier(**opts)
        t_many, many = best_of(lambda: backend.verify_many(insts), 1)
        t_each, each = best_of(lambda: [backend.verify_instance(i) for i in insts], 1)
    emit({"bench": "lirpa_throughput", "model": "mlp 4-10-5-1", "method": args.method,
          "threads": args.threads,
          "properties": n, "proven": int(sum(verdicts)), "setup_s": round(setup, 3),
          "batched_s": round(t_batch, 4), "per_property_s": round(t_single, 4),
          "speedup": round(t_single / t_batch, 1), "target_speedup": 30,
          "same_verdicts": verdicts == single,
          "onnxruntime_forward_s": round(t_ort, 7), "onnxruntime_points": int(len(points)),
          "crown_vs_onnxruntime_ratio": round(t_batch / t_ort, 1),
          "backend_verify_many_s": round(t_many, 4),
          "backend_one_by_one_s": round(t_each, 4),
          "backend_speedup": round(t_each / t_many, 1),
          "backend_same_verdicts": [r.verdict for r in many] == [r.verdict for r in each]})


def bench_acasxu(shared: Path) -> None:
    """The ``lirpa`` backend (CROWN) over the 90 ACAS Xu instances, one verify_many call."""
    from autospec_cli.verify.backends.lirpa import LirpaVerifier
    from autospec_cli.verify.base import Instance

    d = shared / "vnncomp2021" / "acasxu"
    if not (d / "instances.csv").is_file():
        emit({"bench": "lirpa_acasxu", "skipped": f"{d} not found"})
        return
    rows = [line.split(",") for line in (d / "instances.csv").read_text().split() if line]
    insts = [Instance(d / o, d / v, float(t)) for o, v, t in rows]
    t0 = time.perf_counter()
    results = LirpaVerifier(method="crown").verify_many(insts)
    counts: dict[str, int] = {}
    for r in results:
        counts[r.verdict.value] = counts.get(r.verdict.value, 0) + 1
    emit({"bench": "lirpa_acasxu", "method": "crown", "instances": len(insts),
          "verdicts": counts, "total_s": round(time.perf_counter() - t0, 3)})


def run_bab(shared: Path, argv: list[str]) -> None:
    path = Path(__file__).with_name("bench_bab.py")
    if not path.is_file():
        emit({"bench": "bab", "skipped": "benchmarks/bench_bab.py not found"})
        return
    spec = importlib.util.spec_from_file_location("bench_bab", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(shared, argv)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shared", type=Path, required=True, help="the shared data folder")
    p.add_argument("--method", default="crown", choices=("ibp", "crown", "alpha-crown"))
    p.add_argument("--batch-size", type=int, default=1024, help="boxes per bounding call")
    p.add_argument("--max-depth", type=int, default=12, help="tree depth (number of specs)")
    p.add_argument("--repeat", type=int, default=3, help="timed repetitions (best is kept)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads (1 is fastest for these small batches on a busy machine)")
    p.add_argument("--skip-bab", action="store_true", help="do not run benchmarks/bench_bab.py")
    args, rest = p.parse_known_args(argv)
    import torch

    torch.set_num_threads(max(1, args.threads))
    bench_lirpa(args)
    bench_acasxu(args.shared)
    if not args.skip_bab:
        run_bab(args.shared, rest)


if __name__ == "__main__":
    main(sys.argv[1:])
