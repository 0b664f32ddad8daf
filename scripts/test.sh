#!/usr/bin/env bash
# Sets everything up (see setup.sh), then runs every test on every platform:
# GoogleTest through ctest, and pytest, against the package pip-installed in
# each platform's virtual environment.
#
#   bash scripts/test.sh [--platform debian|torch2|all]   (default: all)
#
# Extra arguments after -- go to pytest (e.g. -- -k partition -x).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PLATFORM="all"
PYTEST_ARGS=()
while (($#)); do
  case "$1" in
    --platform) PLATFORM="${2:?--platform needs debian, torch2 or all}"; shift 2 ;;
    --platform=*) PLATFORM="${1#*=}"; shift ;;
    --) shift; PYTEST_ARGS=("$@"); break ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "test.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$PLATFORM" in
  all) PLATFORMS=(debian torch2) ;;
  debian|torch2) PLATFORMS=("$PLATFORM") ;;
  *) echo "test.sh: --platform must be debian, torch2 or all" >&2; exit 2 ;;
esac

bash "$ROOT/scripts/setup.sh" --platform "$PLATFORM"

status=0
for platform in "${PLATFORMS[@]}"; do
  venv="$ROOT/.venv"; [[ $platform == debian ]] || venv="$ROOT/.venv-$platform"
  export MMDEPLOY_MARK_BUILD_DIR="$ROOT/build/$platform"
  echo "[test] [$platform] C++ tests (ctest)"
  ctest --test-dir "$MMDEPLOY_MARK_BUILD_DIR" --output-on-failure -j 2 || status=1
  echo "[test] [$platform] Python tests (pytest, $("$venv/bin/python" -c 'import torch; print("torch", torch.__version__)'))"
  (cd "$ROOT" && "$venv/bin/python" -m pytest -q -p no:cacheprovider "${PYTEST_ARGS[@]}") || status=1
done
exit $status
