#!/usr/bin/env bash
# VNN-COMP tool script: run_instance.sh v1 CATEGORY ONNX VNNLIB RESULTS_FILE TIMEOUT
# Writes RESULTS_FILE: one line sat|unsat|unknown|timeout|error, and after sat the
# counterexample ((X_0 v) ... (Y_0 v) ...) confirmed in onnxruntime. The verifier is the
# complete `bab` backend; CATEGORY picks its settings (see SETTINGS below). AUTOSPEC_BACKEND
# and AUTOSPEC_OPTS override them.
set -uo pipefail
if [ "$#" -ne 6 ] || [ "$1" != "v1" ]; then
    echo "usage: run_instance.sh v1 CATEGORY ONNX VNNLIB RESULTS_FILE TIMEOUT" >&2
    exit 1
fi
CATEGORY="$2"; ONNX="$3"; VNNLIB="$4"; RESULTS="$5"; TIMEOUT="$6"
HERE="$(cd "$(dirname "$0")" && pwd)"
AUTOSPEC="${AUTOSPEC:-$HERE/../.venv/bin/autospec}"
PYTHON="$(dirname "$AUTOSPEC")/python"

# SETTINGS per category: input splitting for few inputs (ACAS Xu), activation splitting for
# the MNIST-sized ReLU networks; anything else lets bab choose (split=auto).
case "$CATEGORY" in
    acasxu*|test*) OPTS="split=input" ;;
    mnist_fc*|eran*|verivital*) OPTS="split=relu" ;;
    *) OPTS="split=auto" ;;
esac
BACKEND="${AUTOSPEC_BACKEND:-bab}"
OPTS="${AUTOSPEC_OPTS:-$OPTS}"
OPT_ARGS=()
if [ -n "$OPTS" ]; then
    for o in $OPTS; do OPT_ARGS+=(--opt "$o"); done
fi

OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
# keep 1 s of the budget for start-up and writing the results
BUDGET="$("$PYTHON" -c "import sys; print(max(1.0, float(sys.argv[1]) - 1.0))" "$TIMEOUT")"
"$AUTOSPEC" --quiet verify instance "$ONNX" "$VNNLIB" --backend "$BACKEND" "${OPT_ARGS[@]}" \
    --timeout "$BUDGET" --category "$CATEGORY" -o "$OUT/r" --force >"$OUT/log" 2>&1
"$PYTHON" - "$OUT/r" "$RESULTS" <<'PY'
import json, os, sys
from pathlib import Path

folder, results = Path(sys.argv[1]), Path(sys.argv[2])
try:
    rec = json.loads((folder / "summary.json").read_text())["results"][0]
    verdict = rec["result"]
except (OSError, ValueError, KeyError, IndexError):
    verdict, rec = "error", {}
if verdict not in ("sat", "unsat", "unknown", "timeout", "error"):
    verdict = "unknown"
text = verdict + "\n"
if verdict == "sat":
    cex = rec.get("counterexample")
    if cex and (folder / cex).is_file():
        text += (folder / cex).read_text()
    else:
        text = "error\n"  # a sat without its counterexample scores as wrong
tmp = results.with_name(results.name + ".tmp")
tmp.write_text(text)
os.replace(tmp, results)
PY
exit 0
