"""AutoSpec §5.3 end to end on intrusion detection, through the CLI as a user runs it.

For each run -- CIC-IDS2017 web attacks multi-class (BENIGN + 3 attacks, 77 features),
the same benign-vs-attack (``--binary-labels``), and NSL-KDD benign-vs-attack (122
features, three one-hot groups) -- the script runs::

    autospec train DATA [--binary-labels] --arch mlp:32,16 --epochs E --tol 0 -o MODEL.onnx
    autospec specs generate DATA [--binary-labels] --algo tree -o SPECS.json
    autospec export SPECS.json -m MODEL.onnx -o BENCH --max-specs K --timeout T
    autospec verify BENCH --backend bab --json
    autospec report counterexamples BENCH --plot CEX.png

and prints one JSON line per run (validation accuracy, specs mined and exported, input boxes,
one-hot-relaxed and integer-relaxed properties, dropped specs, verdict counts, how many sat
witnesses are inputs that can occur and how many were repaired, wall seconds per step) and
the Markdown counterexample table of each run. ``--figure PNG`` copies the first run's
counterexample figure there (the README's docs/img figure).

Usage: ``python benchmarks/bench_ids.py --shared ../shared/data -o ids-out [--max-specs 15]
[--timeout 15] [--epochs 60] [--only cicids-multi,cicids-binary,nslkdd-binary]``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

RUNS: dict[str, tuple[str, bool]] = {
    "cicids-multi": ("cicids2017/web_attacks_balanced.csv", False),
    "cicids-binary": ("cicids2017/web_attacks_balanced.csv", True),
    "nslkdd-binary": ("nsl-kdd/KDDTrain+_20Percent.txt", True),
}


def autospec(*args: str) -> tuple[int, str, float]:
    """Run the CLI of this interpreter; exit code, stdout and wall seconds."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "autospec_cli", "-q", *args],
                          capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t0
    if proc.returncode not in (0, 1, 3):
        sys.exit(f"autospec {' '.join(args)} failed ({proc.returncode}): "
                 f"{proc.stderr.strip()[-500:]}")
    return proc.returncode, proc.stdout, seconds


def run(name: str, data: Path, binary: bool, out: Path, args: argparse.Namespace) -> dict:
    d = out / name
    d.mkdir(parents=True, exist_ok=True)
    flag = ["--binary-labels"] if binary else []
    label = ["--label", "label"] if name.startswith("nslkdd") else []
    times: dict[str, float] = {}
    _, text, times["train"] = autospec(
        "train", str(data), *flag, *label, "--arch", args.arch, "--epochs", str(args.epochs),
        "--tol", "0", "-o", str(d / "model.onnx"), "--force", "--json")
    trained = json.loads(text)
    _, text, times["specs"] = autospec(
        "specs", "generate", str(data), *flag, *label, "--algo", "tree",
        "-o", str(d / "specs.json"), "--force", "--json")
    mined = json.loads(text)
    _, text, times["export"] = autospec(
        "export", str(d / "specs.json"), "-m", str(d / "model.onnx"), "-o", str(d / "bench"),
        "--max-specs", str(args.max_specs), "--timeout", str(args.timeout), "--force", "--json")
    exported = json.loads(text)
    _, text, times["verify"] = autospec("verify", str(d / "bench"), "--backend", "bab",
                                        "--force", "--json")
    verified = json.loads(text)
    row: dict[str, Any] = {
        "run": name, "features": trained["n_inputs"], "classes": trained["n_outputs"],
        "val_accuracy": trained["metrics"].get("val_accuracy"),
        "specs_mined": mined["n_specs"],
        "exported": exported["properties"], "input_boxes": exported["cases"],
        "dropped": len(exported["dropped"]), "onehot_relaxed": exported["relaxed"],
        "integer_relaxed": exported["integer_relaxed"], "timeout_s": args.timeout,
        "counts": verified["counts"],
        "sat_discrete_ok": verified.get("sat_discrete_ok", 0),
        "sat_not_discrete": verified.get("sat_not_discrete", 0),
        "sat_repaired": verified.get("sat_repaired", 0),
        "verify_solved_time_s": round(verified["solved_time"], 2),
        "wall_s": {k: round(v, 1) for k, v in times.items()},
    }
    if verified["counts"].get("sat"):
        _, table, _ = autospec("report", "counterexamples", str(d / "bench"), "--limit", "3",
                               "--features", "5", "--plot", str(d / "counterexamples.png"),
                               "--force", "--markdown")
        row["table"] = table
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=Path("../shared/data"))
    ap.add_argument("-o", "--out", type=Path, default=Path("ids-out"))
    ap.add_argument("--max-specs", type=int, default=15)
    ap.add_argument("--timeout", type=float, default=15.0)
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--arch", default="mlp:32,16")
    ap.add_argument("--only", default=",".join(RUNS))
    ap.add_argument("--figure", type=Path, default=None)
    args = ap.parse_args()
    first = None
    for name in [n.strip() for n in args.only.split(",") if n.strip()]:
        if name not in RUNS:
            sys.exit(f"unknown run {name!r}; choose from {', '.join(RUNS)}")
        rel, binary = RUNS[name]
        data = args.shared / rel
        if not data.is_file():
            print(json.dumps({"run": name, "skipped": f"{data} not found"}))
            continue
        row = run(name, data, binary, args.out, args)
        table = row.pop("table", None)
        print(json.dumps(row), flush=True)
        if table:
            print(table, flush=True)
            first = first or args.out / name / "counterexamples.png"
    if args.figure is not None and first is not None and first.is_file():
        args.figure.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(first, args.figure)
        print(f"figure: {args.figure}")


if __name__ == "__main__":
    main()
