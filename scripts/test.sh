#!/usr/bin/env bash
# Sets everything up (see setup.sh), then runs every test on every platform:
# GoogleTest through ctest, and pytest, against the package pip-installed in
# each platform's virtual environment.
#
#   bash scripts/test.sh [--platform debian|torch2|mmdet|all]   (default: all)
#   bash scripts/test.sh --sanitize [--platform debian|torch2|all]
#
# --sanitize runs only scripts/sanitize.sh: the partition pass's GoogleTest
# suites, and its Python suites through the sanitized binding and CLI, under
# AddressSanitizer + UndefinedBehaviorSanitizer (build/sanitize).
# With CI=true (CI sets it) the tests are followed by scripts/sanitize.sh and
# a short fuzz of every harness (scripts/fuzz.sh, 20 s each, after replaying
# the crashes kept in tests/fuzz/regressions).
#
# Extra arguments after -- go to pytest (e.g. -- -k partition -x).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PLATFORM="all"
PYTEST_ARGS=()
SANITIZE=0
while (($#)); do
  case "$1" in
    --platform) PLATFORM="${2:?--platform needs debian, torch2 or all}"; shift 2 ;;
    --platform=*) PLATFORM="${1#*=}"; shift ;;
    --sanitize) SANITIZE=1; shift ;;
    --) shift; PYTEST_ARGS=("$@"); break ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "test.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$PLATFORM" in
  all) PLATFORMS=(debian torch2 mmdet) ;;
  debian|torch2|mmdet) PLATFORMS=("$PLATFORM") ;;
  *) echo "test.sh: --platform must be debian, torch2, mmdet or all" >&2; exit 2 ;;
esac

# The sanitized suites run on the platforms with the partition pass's tests.
case "$PLATFORM" in
  all) SANITIZE_PLATFORM=all ;;
  debian|torch2) SANITIZE_PLATFORM="$PLATFORM" ;;
  *) SANITIZE_PLATFORM="" ;;
esac
if ((SANITIZE)); then
  [[ -n $SANITIZE_PLATFORM ]] || { echo "test.sh: --sanitize runs on debian or torch2" >&2; exit 2; }
  exec bash "$ROOT/scripts/sanitize.sh" --platform "$SANITIZE_PLATFORM" -- "${PYTEST_ARGS[@]}"
fi

bash "$ROOT/scripts/setup.sh" --platform "$PLATFORM"

status=0
for platform in "${PLATFORMS[@]}"; do
  venv="$ROOT/.venv"; [[ $platform == debian ]] || venv="$ROOT/.venv-$platform"
  export MMDEPLOY_MARK_BUILD_DIR="$ROOT/build/$platform"
  # mmdet's platform is Debian's plus OpenMMLab: only what needs mmdet runs there.
  tests=()
  if [[ $platform == mmdet ]]; then
    tests=(tests/python/test_mmdet.py)
  else
    echo "[test] [$platform] C++ tests (ctest)"
    ctest --test-dir "$MMDEPLOY_MARK_BUILD_DIR" --output-on-failure -j 2 || status=1
  fi
  echo "[test] [$platform] Python tests (pytest, $("$venv/bin/python" -c 'import torch; print("torch", torch.__version__)'))"
  (cd "$ROOT" && "$venv/bin/python" -m pytest -q -p no:cacheprovider "${tests[@]}" \
    "${PYTEST_ARGS[@]}") || status=1
done
# CI's sanitized Python suites run on Debian's platform only: the binding is
# the same on both, and the time is the sanitized build's and the suites'.
if [[ ${CI:-} == true && -n $SANITIZE_PLATFORM ]]; then
  [[ $SANITIZE_PLATFORM == all ]] && SANITIZE_PLATFORM=debian
  echo "[test] [ci] sanitizers (scripts/sanitize.sh --platform $SANITIZE_PLATFORM)"
  bash "$ROOT/scripts/sanitize.sh" --platform "$SANITIZE_PLATFORM" || status=1
  echo "[test] [ci] fuzzing (scripts/fuzz.sh 60: 20 s per harness)"
  bash "$ROOT/scripts/fuzz.sh" 60 || status=1
fi
exit $status
