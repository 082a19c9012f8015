#!/usr/bin/env bash
# VNN-COMP tool script: install autospec into ./.venv of this repository (run once, as the
# competition's harness does: install_tool.sh v1).
set -euo pipefail
VERSION="${1:-v1}"
if [ "$VERSION" != "v1" ]; then
    echo "install_tool.sh: expected version string v1, got $VERSION" >&2
    exit 1
fi
cd "$(dirname "$0")/.."
make setup
