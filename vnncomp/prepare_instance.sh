#!/usr/bin/env bash
# VNN-COMP tool script: prepare_instance.sh v1 CATEGORY ONNX VNNLIB
# Checks that the network converts (and agrees with onnxruntime) and that the property parses,
# so a broken instance fails here and not in the timed run. Exit 0: ready; 1: not runnable.
set -euo pipefail
if [ "$#" -ne 4 ] || [ "$1" != "v1" ]; then
    echo "usage: prepare_instance.sh v1 CATEGORY ONNX VNNLIB" >&2
    exit 1
fi
HERE="$(cd "$(dirname "$0")" && pwd)"
AUTOSPEC="${AUTOSPEC:-$HERE/../.venv/bin/autospec}"
PYTHON="$(dirname "$AUTOSPEC")/python"
"$PYTHON" - "$3" "$4" <<'PY'
import sys

from autospec_cli.errors import AutospecError
from autospec_cli.verify.loading import load_property, load_torch_model, onnx_runner

try:
    runner = onnx_runner(sys.argv[1], threads=1)
    load_property(sys.argv[2], n_inputs=runner.n_inputs, n_outputs=runner.n_outputs)
    load_torch_model(sys.argv[1])
except AutospecError as e:
    sys.stderr.write(f"error: {e}\n")
    sys.exit(1)
PY
