"""Benchmark: activation-splitting branch and bound beside input splitting on ReLU MLPs.

Prints JSON lines:

* ``{"throughput": true, ...}``: subdomains bounded per second by the activation-splitting
  search on one hard instance (the search runs to its time limit; ``--throughput-seconds``);
* one line per instance and search (``"search": "relu"`` or ``"input"``): verdict, expected
  verdict, seconds, subdomains;
* a summary line per search: ``solved``, ``wrong`` (decided verdicts contradicting
  ``expected.csv``; must be 0), ``median_s`` (over decided instances), ``total_s``.

Instances: the ReLU network of VNN-COMP 2021 ``eran`` (``mnist_relu_9_200``, 784 inputs) with
a known verdict, the first ``--limit`` rows. ``relu`` is
:func:`autospec_cli.verify.backends.bab.relu_split.relu_split_search` with every candidate
replayed in onnxruntime; ``input`` is the ``bab`` backend (input splitting) through
:func:`autospec_cli.verify.runner.verify_guarded`.

``--mnist N`` adds an MNIST MLP of the mnist_fc kind (``--mnist-shape 2x256``, trained here
for one epoch) with L-inf robustness properties (``--eps``) around the first N test images,
decided by both searches in-process with the same float64 replay of candidates (input
splitting with ``branching="coef"``: its default trial branching exhausts memory on 784
inputs); no expected
verdicts exist there, so its summary reports ``disagree`` (decided differently; must be 0).

Usage: ``python benchmarks/bench_relu_split.py --shared ../shared/data [--timeout 30]
[--limit 10] [--threads 1] [--only relu|input] [--mnist 10 --eps 0.02]``.
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

import numpy as np
import torch

EXPECTED = {"holds": "unsat", "violated": "sat"}
NET = "mnist_relu_9_200"


def rows(shared: Path) -> list[dict[str, str]]:
    """``eran/expected.csv`` rows of the ReLU network with a known verdict."""
    with open(shared / "vnncomp2021" / "eran" / "expected.csv", newline="") as fh:
        return [r for r in csv.DictReader(fh) if NET in r["onnx"] and r["expected"] in EXPECTED]


def relu_verify(onnx: Path, vnnlib: Path, timeout: float, config: Any = None) -> dict[str, Any]:
    """Decide one instance with the activation-splitting search (every case)."""
    from autospec_cli.models.onnx_to_torch import load_onnx_as_torch
    from autospec_cli.models.runtime import OnnxRunner
    from autospec_cli.verify.backends.bab.backend import confirm_in_onnxruntime
    from autospec_cli.verify.backends.bab.relu_split import relu_chain, relu_split_search
    from autospec_cli.vnnlib.reader import read_vnnlib

    start = time.monotonic()
    deadline = start + timeout
    runner = OnnxRunner(onnx, threads=1)
    model = load_onnx_as_torch(onnx, check=True).eval()
    layers = relu_chain(model, runner.n_inputs)
    if layers is None:
        return {"verdict": "error", "message": "not an affine/ReLU chain", "subdomains": 0}
    prop = read_vnnlib(vnnlib, n_inputs=runner.n_inputs, n_outputs=runner.n_outputs)
    subdomains, verdict, message = 0, "unsat", ""
    for case in prop.cases:

        def confirm(x: np.ndarray, case: Any = case) -> np.ndarray | None:
            hit = confirm_in_onnxruntime(runner, case, x)
            return None if hit is None else hit[1]

        out = relu_split_search(layers, case, deadline=deadline, confirm=confirm, config=config)
        subdomains += int(out.stats.get("subdomains", 0))
        if out.verdict != "unsat":
            verdict, message = out.verdict, out.phase
            break
    return {"verdict": verdict, "message": message, "subdomains": subdomains}


def input_verify(onnx: Path, vnnlib: Path, timeout: float) -> dict[str, Any]:
    """Decide one instance with the ``bab`` backend (input splitting)."""
    from autospec_cli.verify.base import Instance
    from autospec_cli.verify.registry import make_backend
    from autospec_cli.verify.runner import verify_guarded

    r = verify_guarded(make_backend("bab", threads=1), Instance(onnx, vnnlib, timeout, "eran"))
    boxes = sum(s.get("boxes", 0) for s in r.extra.get("stats", []))
    return {"verdict": r.verdict.value, "message": r.message, "subdomains": boxes}


def throughput(shared: Path, seconds: float) -> dict[str, Any]:
    """Subdomains per second on the hardest-looking instance (the search runs out of time)."""
    from autospec_cli.models.onnx_to_torch import load_onnx_as_torch
    from autospec_cli.verify.backends.bab.relu_split import (
        ReluSplitConfig,
        relu_chain,
        relu_split_search,
    )
    from autospec_cli.vnnlib.reader import read_vnnlib

    folder = shared / "vnncomp2021" / "eran"
    row = next(r for r in rows(shared) if float(r["abcrown_2021_seconds"]) > 100)
    model = load_onnx_as_torch(folder / row["onnx"], check=True).eval()
    layers = relu_chain(model, 784)
    assert layers is not None
    case = read_vnnlib(folder / row["vnnlib"], n_inputs=784, n_outputs=10).cases[0]
    cfg = ReluSplitConfig(attack_restarts=0)
    t0 = time.monotonic()
    out = relu_split_search(layers, case, deadline=t0 + seconds, confirm=lambda x: None, config=cfg)
    spent = float(out.stats["bound_seconds"])
    n = int(out.stats["subdomains"])
    return {
        "throughput": True,
        "vnnlib": row["vnnlib"],
        "verdict": out.verdict,
        "subdomains": n,
        "seconds": round(time.monotonic() - t0, 2),
        "bound_seconds": round(spent, 2),
        "subdomains_per_s": round(n / max(time.monotonic() - t0, 1e-9), 1),
        "batch": cfg.batch,
        "iters": cfg.iters,
        "threads": torch.get_num_threads(),
    }


def run(shared: Path, timeout: float, limit: int, only: str | None) -> None:
    folder = shared / "vnncomp2021" / "eran"
    chosen = rows(shared)[:limit]
    for search in ("relu", "input"):
        if only and search != only:
            continue
        times, solved, wrong, t_all = [], 0, 0, time.perf_counter()
        for row in chosen:
            t0 = time.perf_counter()
            onnx, vnnlib = folder / row["onnx"], folder / row["vnnlib"]
            if search == "relu":
                r = relu_verify(onnx, vnnlib, timeout)
            else:
                r = input_verify(onnx, vnnlib, timeout)
            seconds = time.perf_counter() - t0
            expected = EXPECTED[row["expected"]]
            decided = r["verdict"] in ("sat", "unsat")
            is_wrong = decided and r["verdict"] != expected
            solved += decided and not is_wrong
            wrong += is_wrong
            if decided:
                times.append(seconds)
            print(
                json.dumps(
                    {
                        "search": search,
                        "vnnlib": row["vnnlib"],
                        "expected": expected,
                        **r,
                        "seconds": round(seconds, 2),
                        "wrong": bool(is_wrong),
                    }
                ),
                flush=True,
            )
        print(
            json.dumps(
                {
                    "summary": True,
                    "search": search,
                    "instances": len(chosen),
                    "solved": solved,
                    "wrong": wrong,
                    "median_s": round(statistics.median(times), 2) if times else None,
                    "total_s": round(time.perf_counter() - t_all, 1),
                    "timeout_s": timeout,
                    "threads": torch.get_num_threads(),
                }
            ),
            flush=True,
        )


def mnist_mlp(shared: Path, hidden: int, depth: int, epochs: int, seed: int = 0) -> Any:
    """A ``784-hidden*depth-10`` ReLU MLP trained on MNIST here (the mnist_fc kind), and the
    first test images with their labels."""
    from autospec_cli.data.idx import read_idx

    folder = shared / "mnist"
    X = read_idx(folder / "train-images.idx3-ubyte.gz").reshape(-1, 784) / 255.0
    y = read_idx(folder / "train-labels.idx1-ubyte.gz").astype(np.int64)
    Xt = read_idx(folder / "t10k-images.idx3-ubyte.gz").reshape(-1, 784) / 255.0
    yt = read_idx(folder / "t10k-labels.idx1-ubyte.gz").astype(np.int64)
    torch.manual_seed(seed)
    mods: list[torch.nn.Module] = []
    width = 784
    for _ in range(depth):
        mods += [torch.nn.Linear(width, hidden), torch.nn.ReLU()]
        width = hidden
    model = torch.nn.Sequential(*mods, torch.nn.Linear(width, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    Xs, ys = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y)
    for _ in range(epochs):
        perm = torch.randperm(len(ys))
        for i in range(0, len(ys), 128):
            idx = perm[i : i + 128]
            loss = torch.nn.functional.cross_entropy(model(Xs[idx]), ys[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval(), Xt, yt


def run_mnist(
    shared: Path, timeout: float, limit: int, eps: float, hidden: int, depth: int
) -> None:
    """relu vs input splitting on L-inf robustness of a freshly trained MNIST MLP; every sat is
    replayed in float64 (both searches get the same ``confirm``). No expected verdicts exist:
    ``disagree`` counts instances the two searches decided differently (must be 0)."""
    from autospec_cli.verify.backends.bab.relu_split import relu_chain, relu_split_search
    from autospec_cli.verify.backends.bab.search import Bounder, CaseSearch, OutOfTime, SearchConfig
    from autospec_cli.vnnlib.property import Case, Polytope

    t_train = time.perf_counter()
    model, Xt, yt = mnist_mlp(shared, hidden, depth, epochs=1)
    layers = relu_chain(model, 784)
    assert layers is not None
    bounder = Bounder(model, 784)
    train_s = time.perf_counter() - t_train
    results: dict[str, list[tuple[str, float]]] = {"relu": [], "input": []}
    for i in range(limit):
        x0, c = Xt[i], int(yt[i])
        polys = []
        for j in range(10):
            if j != c:
                A = np.zeros((1, 10))
                A[0, c], A[0, j] = 1.0, -1.0
                polys.append(Polytope(A, [0.0]))
        case = Case(np.clip(x0 - eps, 0, 1), np.clip(x0 + eps, 0, 1), polys)

        def confirm(x: np.ndarray, case: Any = case) -> np.ndarray | None:
            yy = model(torch.as_tensor(x, dtype=torch.float32)[None]).double().detach().numpy()
            ok = case.contains(x[None])[0] and case.unsafe(yy)[0]
            return yy[0] if ok else None

        for search in ("relu", "input"):
            t0 = time.perf_counter()
            if search == "relu":
                out = relu_split_search(
                    layers, case, deadline=time.monotonic() + timeout, confirm=confirm
                )
                verdict, n = out.verdict, int(out.stats.get("subdomains", 0))
            else:
                # "coef" branching: the default trial branching bounds 2 d = 1568 children per
                # box in one call on 784 inputs (it passed 14 GB here and overran its deadline)
                cfg = SearchConfig(branching="coef", batch=256)
                cs = CaseSearch(bounder, case, cfg, time.monotonic() + timeout, confirm)
                try:
                    out = cs.run()
                    verdict = out.verdict
                except OutOfTime:
                    verdict = "timeout"
                n = int(cs.stats["boxes"])
            seconds = time.perf_counter() - t0
            results[search].append((verdict, seconds))
            print(
                json.dumps(
                    {
                        "mnist_mlp": f"{depth}x{hidden}",
                        "search": search,
                        "image": i,
                        "eps": eps,
                        "verdict": verdict,
                        "subdomains": n,
                        "seconds": round(seconds, 2),
                    }
                ),
                flush=True,
            )
    decided = {"sat", "unsat"}
    disagree = sum(
        a[0] in decided and b[0] in decided and a[0] != b[0]
        for a, b in zip(results["relu"], results["input"], strict=True)
    )
    for search, rs in results.items():
        times = [t for v, t in rs if v in decided]
        print(
            json.dumps(
                {
                    "summary": True,
                    "mnist_mlp": f"{depth}x{hidden}",
                    "search": search,
                    "instances": len(rs),
                    "sat": sum(v == "sat" for v, _ in rs),
                    "unsat": sum(v == "unsat" for v, _ in rs),
                    "disagree": disagree,
                    "median_s": round(statistics.median(times), 2) if times else None,
                    "timeout_s": timeout,
                    "eps": eps,
                    "train_s": round(train_s, 1),
                }
            ),
            flush=True,
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shared", type=Path, required=True, help="the shared data folder")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per instance")
    p.add_argument("--limit", type=int, default=10, help="only the first N instances")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--only", choices=("relu", "input"), default=None, help="one search only")
    p.add_argument(
        "--mnist", type=int, default=0, help="also N images on a freshly trained MNIST MLP"
    )
    p.add_argument("--eps", type=float, default=0.02, help="L-inf radius for --mnist")
    p.add_argument("--mnist-shape", default="2x256", help="DEPTHxWIDTH of the --mnist MLP")
    p.add_argument(
        "--throughput-seconds",
        type=float,
        default=15.0,
        help="length of the throughput run (0: skip)",
    )
    a = p.parse_args()
    if not (a.shared / "vnncomp2021" / "eran").is_dir():
        sys.exit(f"error: {a.shared}/vnncomp2021/eran not found; pass --shared DIR")
    torch.set_num_threads(a.threads)
    if a.throughput_seconds > 0:
        print(json.dumps(throughput(a.shared, a.throughput_seconds)), flush=True)
    if a.limit > 0:
        run(a.shared, a.timeout, a.limit, a.only)
    if a.mnist > 0:
        depth, width = (int(v) for v in a.mnist_shape.split("x"))
        run_mnist(a.shared, a.timeout, a.mnist, a.eps, width, depth)


if __name__ == "__main__":
    main()
