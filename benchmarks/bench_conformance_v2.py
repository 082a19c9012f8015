"""The VNN-LIB 2.0 conformance suite (PyPI ``vnnlib-satisfactory``) run through
``autospec-solver`` in one process.

The suite's own runner (``vnnlib-satisfactory run --solver PATH --timeout 20``) starts the
solver once per test; on a loaded 2-core machine each start-up alone took 20-40 s of wall time,
so most tests hit the 20 s limit whatever the answer. This harness does what that runner does
-- generate every test's ONNX model and query, skip the tests whose operator or theory the
solver does not claim (``supports``), run ``verify QUERY --network NAME=MODEL --timeout T``,
read the verdict from stdout and compare it with the expected one -- but calls the solver's
entry point in this process, so start-up is paid once. Outcomes as the suite names them: pass,
fail (a wrong verdict), suspect (``unknown`` on a claimed operator or theory), error (crash,
no known answer), skip (not claimed).

    pip install -e '.[conformance]'      # vnnlib-satisfactory==1.0.1, an optional extra
    python benchmarks/bench_conformance_v2.py [--timeout 20] [--only CATEGORY,...] [--json OUT]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

NETWORK_THEORY = {"network_single": "SNET", "network_multiple": "MNET",
                  "network_equal": "MENET", "network_isomorphic": "MINET"}
ARITH_THEORY = {"arithmetic_bnd": "BND", "arithmetic_outc": "OUTC", "arithmetic_lin": "LIN",
                "arithmetic_poly": "POLY"}
_NETS = re.compile(r"\(declare-network\s+([A-Za-z_][A-Za-z0-9_]*)"
                   r"(?:\s*\((equal-to|isomorphic-to)\s+([A-Za-z_][A-Za-z0-9_]*)\))?")


def _solver(args: list[str]) -> tuple[int, str, str]:
    from autospec_cli.cli.solver import main

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(args)
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
    return code, out.getvalue(), err.getvalue()


def _claims() -> dict[str, set[str]]:
    from autospec_cli.verify.solver_interface import capabilities

    names = ["onnx-operators", "multiple-network-theories", "hidden-node-theories",
             "multiple-input-output-theories", "arithmetic-complexity-theories"]
    return {n: {line.split()[0] for line in capabilities(n) if line.strip()} for n in names}


def _required(category: str, primary: str | None) -> tuple[str, str] | None:
    """(capability, item) the suite gates a test on, as its ``partition_by_support`` does."""
    if category in NETWORK_THEORY:
        return "multiple-network-theories", NETWORK_THEORY[category]
    if category == "hidden":
        return "hidden-node-theories", "H"
    if category == "multi_io":
        return "multiple-input-output-theories", "MIO"
    if category in ARITH_THEORY:
        return "arithmetic-complexity-theories", ARITH_THEORY[category]
    return ("onnx-operators", primary) if primary else None


def _verdict(stdout: str) -> str:
    m = re.search(r"\b(unsat|sat|unknown)\b", stdout, re.IGNORECASE)
    return m.group(1).lower() if m else "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timeout", type=int, default=20)
    ap.add_argument("--only", default="", help="comma-separated categories (default: all)")
    ap.add_argument("--json", type=Path, default=None, help="write every outcome there")
    args = ap.parse_args()
    try:
        import onnx
        from vnntest.core.registry import get_cases
    except ImportError:
        sys.exit("error: the suite is not installed: pip install vnnlib-satisfactory==1.0.1")
    only = {c for c in args.only.split(",") if c}
    claims = _claims()
    work = Path(tempfile.mkdtemp(prefix="vnnlib-conformance-"))
    rows: list[dict[str, Any]] = []
    for case in get_cases():
        if only and case.node_type not in only:
            continue
        model = case.build_onnx_model()
        onnx_path = work / f"{case.id}.onnx"
        onnx.save(model, str(onnx_path))
        spec = case.build_vnnlib_spec()
        text = spec if isinstance(spec, str) else "".join(line + "\n" for line in spec)
        query = work / f"{case.id}.vnnlib"
        query.write_text(text)
        ops = {n.op_type for n in model.graph.node}
        primary = next((op for op in ops if op.lower() == case.node_type.lower()), None)
        expected = (case.expected_output() or "UNKNOWN").lower()
        row: dict[str, Any] = {"id": case.id, "category": case.node_type, "expected": expected}
        need = _required(case.node_type, primary)
        if need is not None and need[1] not in claims[need[0]]:
            rows.append({**row, "outcome": "skip", "missing": need[1]})
            continue
        names = [n for n, rel, _ in _NETS.findall(text) if rel != "equal-to"] or ["N"]
        argv = ["verify", str(query), "--timeout", str(args.timeout)]
        for n in names:
            argv += ["--network", f"{n}={onnx_path}"]
        t0 = time.perf_counter()
        code, out, err = _solver(argv)
        wall = time.perf_counter() - t0
        got = _verdict(out)
        if wall > args.timeout + 5 or expected == "unknown":
            outcome = "error"
        elif got == "unknown":
            outcome = "suspect"
        else:
            outcome = "pass" if got == expected else "fail"
        last = err.strip().splitlines()[-1] if err.strip() else ""
        rows.append({**row, "outcome": outcome, "verdict": got, "exit": code,
                     "seconds": round(wall, 2), "stderr": last[:300]})
        print(f"{case.id:28s} {outcome:8s} expected {expected:6s} got {got:8s} "
              f"{wall:6.1f} s {last[:100] if outcome != 'pass' else ''}", flush=True)
    counts = {k: sum(1 for r in rows if r["outcome"] == k)
              for k in ("pass", "fail", "suspect", "error", "skip")}
    print(json.dumps({"total": len(rows), **counts}))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"counts": counts, "tests": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
