"""Benchmark: complete verification on the shared VNN-COMP 2021 sets, backends side by side.

Sets (``--sets``, comma-separated; default ``acasxu``):

- ``acasxu``: the 90 ACAS Xu instances of properties 1 and 2 (5 inputs);
- ``eran``: the MNIST MLPs ``mnist_relu_9_200`` and ``ffnnSIGMOID__Point_6x200`` (784 inputs),
  reported apart;
- ``verivital``: the MNIST conv nets ``Convnet_avgpool`` and ``Convnet_maxpool``;
- ``mnistfc``: MNIST MLPs 256x2, 256x4, 256x6 trained here with ``autospec train`` and 90
  L-inf robustness properties built the way VNN-COMP 2021 built ``mnist_fc`` (see
  ``benchmarks/mnist_fc.py``; models and set cached in ``--mnist-cache``).

Rows come from each set's ``expected.csv``; only rows with a known verdict count (mnistfc has
no known verdicts: every row counts). ``--every N`` keeps every N-th row per network,
``--limit`` the first N per set, ``--networks A,B`` only the networks whose file name contains
A or B, ``--timeout-scale F`` multiplies every timeout. Every backend
named with ``--backend`` (repeatable, ``NAME`` or ``NAME[k=v;k=v]`` as in a portfolio; default
``bab``) decides every row in this one run, one after the other on each instance, so their
numbers compare side by side. Each instance goes through
:func:`autospec_cli.verify.runner.verify_guarded`, so every ``sat`` is re-checked in
onnxruntime like any backend's answer. ``wrong`` (it must be 0) counts: a claimed ``sat``
whose counterexample fails that replay; a decided verdict contradicting ``expected.csv``; an
``unsat`` on an instance where another backend's ``sat`` was confirmed (a conflict).

Prints one JSON line per instance and backend, then one summary line per (set, network,
backend) -- for mnistfc also network ``all`` --: ``{"summary": true, "solved", "sat",
"unsat", "wrong", "timeouts", "median_s", "median_solved_s", "total_s", ...}``.

Usage: ``python benchmarks/bench_bab.py --shared ../shared/data [--sets acasxu,eran]
[--backend bab --backend marabou] [--timeout S] [--timeout-scale F] [--every N] [--limit N]
[--networks A,B]
[--threads T] [--mnist-cache DIR]``. The timeout defaults to each instance's own (116 s for
ACAS Xu, 300/420 s for eran/verivital, 120/300 s for mnistfc).
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

SETS = ("acasxu", "eran", "verivital", "mnistfc")


def _every(rows: list[dict[str, str]], every: int, limit: int | None,
           networks: tuple[str, ...] = ()) -> list[dict[str, str]]:
    """Every ``every``-th row per network (its ``onnx``), at most ``limit`` in all; with
    ``networks``, only rows whose network file name contains one of those strings."""
    picked: list[dict[str, str]] = []
    seen: dict[str, int] = {}
    for r in rows:
        if networks and not any(n in Path(r["onnx"]).name for n in networks):
            continue
        k = seen.get(r["onnx"], 0)
        seen[r["onnx"]] = k + 1
        if k % max(1, every) == 0:
            picked.append(r)
    return picked[:limit] if limit else picked

def fail(message: str) -> NoReturn:
    """Bad usage or input: one ``error:`` line on stderr and exit code 2."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)



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


def known_rows(shared: Path, name: str, every: int = 1, limit: int | None = None,
               networks: tuple[str, ...] = ()) -> list[dict[str, str]]:
    """The rows with a known verdict, every ``every``-th per network, at most ``limit``."""
    rows = [r for r in instances(shared, name) if _expected(r["expected"]) != "unknown"]
    return _every(rows, every, limit, networks)


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


def mnistfc_module() -> Any:
    """``benchmarks/mnist_fc.py`` (the set builder), loaded by path like this script."""
    import importlib.util

    path = Path(__file__).with_name("mnist_fc.py")
    spec = importlib.util.spec_from_file_location("mnist_fc", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("mnist_fc", module)
    spec.loader.exec_module(module)
    return module


def mnistfc_rows(folder: Path, every: int = 1, limit: int | None = None,
                 networks: tuple[str, ...] = ()) -> list[dict[str, str]]:
    """``instances.csv`` rows of a built mnistfc folder (no verdict is known in advance),
    every ``every``-th per network, at most ``limit``."""
    with open(folder / "instances.csv", newline="") as fh:
        rows = [{"onnx": r[0], "vnnlib": r[1], "timeout": r[2], "expected": "unknown"}
                for r in csv.reader(fh) if r]
    return _every(rows, every, limit, networks)


class _Claimed:
    """A verifier wrapper remembering the verdict the backend claimed, before the runner's
    onnxruntime replay of a ``sat`` (a ``sat`` whose counterexample fails it becomes
    ``error``; the claim still counts as a wrong answer, as in VNN-COMP scoring)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.claimed = ""

    def verify_instance(self, instance: Any) -> Any:
        self.claimed = ""
        result = self.inner.verify_instance(instance)
        self.claimed = result.verdict.value
        return result


def judge(outcomes: dict[str, dict[str, Any]], expected: str) -> None:
    """Mark each backend's outcome on one instance ``wrong`` (with a ``why``) in place.

    References, strongest first: a ``sat`` confirmed by the onnxruntime replay (any backend's);
    the set's known verdict (``expected.csv``), when there is one. Wrong: a claimed ``sat``
    whose counterexample failed the replay; a decided verdict contradicting the known one; an
    ``unsat`` where another backend's ``sat`` was confirmed (a conflict).
    """
    confirmed = [b for b, o in outcomes.items() if o["verdict"] == "sat"]
    for o in outcomes.values():
        why = ""
        verdict = o["verdict"]
        if o["claimed"] == "sat" and verdict not in ("sat", "timeout"):
            why = "sat not confirmed in onnxruntime"
        elif verdict in ("sat", "unsat") and expected != "unknown" and verdict != expected:
            why = f"contradicts the known verdict {expected}"
        elif verdict == "unsat" and confirmed:
            why = f"conflict: {', '.join(confirmed)} found a confirmed counterexample"
        o["wrong"] = bool(why)
        o["why"] = why
        o["conflict"] = verdict == "unsat" and bool(confirmed)


def _summary(name: str, network: str, backend: str, outs: list[dict[str, Any]],
             timeout: float | None, scale: float, threads: int) -> dict[str, Any]:
    solved = [o for o in outs if o["verdict"] in ("sat", "unsat") and not o["wrong"]]
    times = [o["seconds"] for o in outs]
    return {
        "summary": True, "set": name, "network": network, "backend": backend,
        "instances": len(outs), "solved": len(solved),
        "sat": sum(o["verdict"] == "sat" for o in solved),
        "unsat": sum(o["verdict"] == "unsat" for o in solved),
        "wrong": sum(bool(o["wrong"]) for o in outs),
        "timeouts": sum(o["verdict"] == "timeout" for o in outs),
        "unknown_or_error": sum(o["verdict"] in ("unknown", "error") and not o["wrong"]
                                for o in outs),
        "median_s": round(statistics.median(times), 3) if times else None,
        "median_solved_s": (round(statistics.median(o["seconds"] for o in solved), 3)
                            if solved else None),
        "total_s": round(sum(times), 1),
        "timeout_s": timeout or "per instance", "timeout_scale": scale, "threads": threads,
    }


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
    timeout_scale: float = 1.0,
    mnist_cache: Path | None = None,
    mnist_source: Path | None = None,
    mnist_options: Any = None,
    mnist_run_cli: Any = None,
    networks: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    """Decide the instances, every backend on each instance in turn, printing a JSON line per
    instance and backend; return the summaries (also printed)."""
    from autospec_cli.verify.base import Instance
    from autospec_cli.verify.registry import make_backend
    from autospec_cli.verify.runner import verify_guarded

    verifiers: dict[str, _Claimed] = {}
    for spec in backends:
        try:
            verifiers[spec] = _Claimed(make_backend("bab", threads=threads, **options)
                                       if options and spec == "bab" else _backend(spec, threads))
        except Exception as e:  # an unavailable backend (e.g. no Marabou) is skipped, said so
            print(json.dumps({"skipped_backend": spec, "reason": str(e).splitlines()[0]}),
                  flush=True)
    summaries = []
    for name in sets:
        if name == "mnistfc":
            source = mnist_source or shared / "mnist"
            if not source.exists():
                print(json.dumps({"skipped": name, "reason": f"no MNIST data at {source}"}),
                      flush=True)
                continue
            folder = mnistfc_module().build_set(
                source, mnist_cache or Path("bench-out/mnistfc"), mnist_options,
                log=lambda m: print(json.dumps({"mnistfc": m}), flush=True),
                run_cli=mnist_run_cli)
            manifest = json.loads((folder / "manifest.json").read_text())
            print(json.dumps({"mnistfc_set": str(folder), "instances": manifest["instances"],
                              "networks": [{k: n[k] for k in (
                                  "name", "test_accuracy", "train_seconds",
                                  "reused_cached_model", "skipped_misclassified")}
                                  for n in manifest["networks"]]}), flush=True)
            rows = mnistfc_rows(folder, every, limit, networks)
        else:
            folder = shared / "vnncomp2021" / name
            if not (folder / "expected.csv").is_file():
                print(json.dumps({"skipped": name, "reason": "not in the shared data"}),
                      flush=True)
                continue
            rows = known_rows(shared, name, every, limit, networks)
        groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for row in rows:
            group = name if name == "acasxu" else Path(row["onnx"]).stem
            limit_s = float(timeout if timeout is not None else row["timeout"]) * timeout_scale
            inst = Instance(folder / row["onnx"], folder / row["vnnlib"], limit_s, name)
            expected = _expected(row["expected"])
            outcomes: dict[str, dict[str, Any]] = {}
            for spec, verifier in verifiers.items():
                t0 = time.perf_counter()
                r = verify_guarded(verifier, inst)  # type: ignore[arg-type]
                seconds = time.perf_counter() - t0
                boxes = sum(s.get("boxes", 0) for s in r.extra.get("stats", []))
                outcomes[spec] = {"set": name, "network": group, "backend": spec,
                                  "onnx": row["onnx"], "vnnlib": row["vnnlib"],
                                  "verdict": r.verdict.value, "claimed": verifier.claimed,
                                  "expected": expected, "seconds": round(seconds, 3),
                                  "timeout_s": round(limit_s, 3), "boxes": boxes,
                                  "member": r.extra.get("member"),
                                  "split": r.extra.get("split"), "message": r.message}
            judge(outcomes, expected)
            for spec, o in outcomes.items():
                print(json.dumps(o), flush=True)
                groups.setdefault((group, spec), []).append(o)
                if name == "mnistfc":
                    groups.setdefault(("all", spec), []).append(o)
        for (group, spec), outs in sorted(groups.items(), key=lambda kv: kv[0][0] == "all"):
            summary = _summary(name, group, spec, outs, timeout, timeout_scale, threads)
            print(json.dumps(summary), flush=True)
            summaries.append(summary)
    return summaries


def main(shared: Path, argv: list[str] | None = None) -> None:
    """Run the benchmark on ``shared`` (the shared data folder) with options from ``argv``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=None, help="seconds per instance")
    parser.add_argument("--limit", type=int, default=None, help="only the first N rows per set")
    parser.add_argument("--every", type=int, default=1, help="every N-th known row per network")
    parser.add_argument("--networks", default="",
                        help="comma-separated: only networks whose file name contains one "
                             "(e.g. 256x4 or mnist_relu)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--sets", default="acasxu", help=f"comma-separated: {', '.join(SETS)}")
    parser.add_argument("--backend", action="append", default=None,
                        help="NAME or NAME[k=v;...] (repeatable; default bab)")
    parser.add_argument("--timeout-scale", type=float, default=1.0,
                        help="multiply every instance's timeout (e.g. 0.25 for a quick run)")
    parser.add_argument("--mnist-cache", type=Path, default=Path("bench-out/mnistfc"),
                        help="mnistfc: folder caching the trained models and the set")
    args, _ = parser.parse_known_args(argv or [])
    if not args.timeout_scale > 0:
        fail("--timeout-scale must be > 0")
    sets = tuple(s.strip() for s in args.sets.split(",") if s.strip())
    bad = [s for s in sets if s not in SETS]
    if bad:
        fail(f"unknown set(s) {', '.join(bad)}; choose from {', '.join(SETS)}")
    run(shared, args.timeout, args.limit, args.threads, sets=sets,
        backends=tuple(args.backend or ["bab"]), every=args.every,
        timeout_scale=args.timeout_scale, mnist_cache=args.mnist_cache,
        networks=tuple(n.strip() for n in args.networks.split(",") if n.strip()))


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shared", type=Path, required=True, help="the shared data folder")
    known, rest = p.parse_known_args()
    if not (known.shared / "vnncomp2021").is_dir():
        fail(f"{known.shared}/vnncomp2021 not found; pass --shared DIR")
    main(known.shared, rest)
