#!/usr/bin/env bash
# Sets everything up (see setup.sh), then runs every test: GoogleTest through
# ctest, and pytest.
#
#   bash scripts/test.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export MMDEPLOY_MARK_BUILD_DIR="${MMDEPLOY_MARK_BUILD_DIR:-$ROOT/build}"

bash "$ROOT/scripts/setup.sh"

echo "[test] C++ tests (ctest)"
ctest --test-dir "$MMDEPLOY_MARK_BUILD_DIR" --output-on-failure -j 2

echo "[test] Python tests (pytest)"
cd "$ROOT"
"$ROOT/.venv/bin/python" -m pytest -q
