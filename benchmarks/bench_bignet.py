"""Benchmark: a network of hundreds of megabytes with a property of many input boxes.

A stand-in for VNN-COMP 2021's nn4sys learned-index instances (networks of up to 336 MB
unpacked, 1 input, 1 output; properties made of many disjunctive input boxes, each with the
band of positions the index may answer). The script builds a 1-input ReLU MLP of
``--width`` neurons in each of ``--layers`` hidden layers (1 -> W -> ... -> W -> 1; 8192 x 2
is 268 MB of float32 weights), writes it as a gzip-compressed ONNX file (``.onnx.gz``, the
competition's packing), and two properties of ``--cases`` disjoint input intervals each:

* ``holds``: per interval, the unsafe region is "y above the interval's true maximum plus a
  margin, or below its minimum minus the margin" (extremes measured by dense sampling and
  padded by the margin, so the property holds unless the network wiggles more than the margin
  between samples -- the verifier then must find it: that would be a confirmed ``sat``);
* ``violated``: the same with one interval's band made too narrow to hold (a point the network
  reaches lies outside it).

Each is verified with ``autospec verify --backend bab`` in a child process; the JSON line per
run gives the verdict, wall time and the child's peak resident memory (``ru_maxrss``) beside
the size of the unpacked ONNX file, so "decided without exhausting memory" is a number.
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def emit(obj: dict) -> None:
    print(json.dumps(obj), flush=True)


def build_model(
    width: int, layers: int, seed: int
) -> tuple[bytes, list[tuple[np.ndarray, np.ndarray]]]:
    """A 1 -> width^layers -> 1 ReLU MLP as ONNX bytes (float32) and its weights."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    dims = [1] + [width] * layers + [1]
    weights = []
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:], strict=True)):
        # Gain keeping activations O(1); the first layer spreads breakpoints over [0, 1].
        w = rng.normal(0.0, np.sqrt(2.0 / a), size=(b, a)).astype(np.float32)
        bias = (-w[:, 0] * rng.uniform(0, 1, size=b)).astype(np.float32) if i == 0 else (
            rng.normal(0.0, 0.01, size=b).astype(np.float32))
        weights.append((w, bias))
    nodes, inits = [], []
    cur = "x"
    for i, (w, bias) in enumerate(weights):
        inits += [numpy_helper.from_array(w, f"W{i}"), numpy_helper.from_array(bias, f"B{i}")]
        out = f"h{i}" if i < len(weights) - 1 else "y"
        pre = out if out == "y" else out + "p"
        nodes.append(helper.make_node("Gemm", [cur, f"W{i}", f"B{i}"], [pre], transB=1))
        if out != "y":
            nodes.append(helper.make_node("Relu", [out + "p"], [out]))
        cur = out
    graph = helper.make_graph(
        nodes, "bignet",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model.SerializeToString(), weights


def forward(weights: list[tuple[np.ndarray, np.ndarray]], x: np.ndarray) -> np.ndarray:
    """The network on the points ``x`` (float32 matrix products, one batch)."""
    import torch

    with torch.no_grad():
        h = torch.as_tensor(np.asarray(x, dtype=np.float32).reshape(-1, 1))
        for i, (w, b) in enumerate(weights):
            h = h @ torch.as_tensor(w).T + torch.as_tensor(b)
            if i < len(weights) - 1:
                h = torch.relu(h)
    return h[:, 0].double().numpy()


def write_property(path: Path, intervals: list[tuple[float, float, float, float]]) -> None:
    """One top-level disjunction: per interval ``lo <= X_0 <= hi`` and ``Y_0 >= top`` or
    ``Y_0 <= bottom`` (the nn4sys layout)."""
    lines = ["(declare-const X_0 Real)", "(declare-const Y_0 Real)", "(assert (or"]
    for lo, hi, bottom, top in intervals:
        box = f"(>= X_0 {lo!r}) (<= X_0 {hi!r})"
        lines.append(f"  (and {box} (>= Y_0 {top!r}))")
        lines.append(f"  (and {box} (<= Y_0 {bottom!r}))")
    lines.append("))")
    path.write_text("\n".join(lines) + "\n")


def run_verify(bench: Path, out: Path, extra: list[str]) -> dict:
    t0 = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = subprocess.run(
        [sys.executable, "-m", "autospec_cli", "verify", "run", str(bench), "--backend", "bab",
         "-o", str(out), "--json", "--force", *extra],
        capture_output=True, text=True)
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    try:
        summary = json.loads(proc.stdout)
    except ValueError:
        summary = {"stdout": proc.stdout[-500:], "stderr": proc.stderr[-500:]}
    return {"exit": proc.returncode, "wall_s": round(wall, 2),
            "peak_rss_mb": round(max(peak, before) / 1024, 1), "summary": summary}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=8192)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--cases", type=int, default=200)
    ap.add_argument("--timeout", type=float, default=300.0)
    ap.add_argument("--margin", type=float, default=0.02,
                    help="band padding, as a fraction of the output's range over [0, 1]")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", type=Path, help="write the benchmark here instead of a temp dir")
    args = ap.parse_args(argv)

    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-bignet-"))
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    raw, weights = build_model(args.width, args.layers, args.seed)
    (work / "bignet.onnx.gz").write_bytes(gzip.compress(raw, compresslevel=1))
    edges = np.linspace(0.0, 1.0, args.cases + 1)
    keys = [(float(lo), float(lo + 0.5 * (hi - lo)))
            for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    # disjoint intervals with gaps, as the index's key ranges; extremes from 33 samples each
    pts = np.concatenate([np.linspace(lo, hi, 33) for lo, hi in keys])
    ys = forward(weights, pts).reshape(len(keys), 33)
    pad = args.margin * float(ys.max() - ys.min())
    intervals = [(lo, hi, float(y.min() - pad), float(y.max() + pad))
                 for (lo, hi), y in zip(keys, ys, strict=True)]
    write_property(work / "holds.vnnlib", intervals)
    bad = list(intervals)
    k = len(bad) // 2
    lo, hi, bottom, top = bad[k]
    mid = forward(weights, np.array([(lo + hi) / 2]))[0]
    bad[k] = (lo, hi, bottom, float(mid - pad))  # the centre's output is above the band
    write_property(work / "violated.vnnlib", bad)
    (work / "instances.csv").write_text("".join(
        f"bignet.onnx.gz,{name}.vnnlib,{args.timeout:g}\n" for name in ("holds", "violated")))
    emit({"bench": "bignet", "what": "build", "width": args.width, "layers": args.layers,
          "cases": args.cases, "onnx_unpacked_mb": round(len(raw) / 2**20, 1),
          "onnx_packed_mb": round((work / "bignet.onnx.gz").stat().st_size / 2**20, 1),
          "seconds": round(time.perf_counter() - t0, 1)})
    del raw
    try:
        res = run_verify(work, work / "out", [])
        emit({"bench": "bignet", "what": "verify", **res})
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)  # a quarter of a gigabyte


if __name__ == "__main__":
    main()
