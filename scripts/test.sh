#!/usr/bin/env bash
# Sets everything up (see setup.sh), then runs every test on every platform:
# GoogleTest through ctest, and pytest, against the package pip-installed in
# each platform's virtual environment.
#
#   bash scripts/test.sh [--platform debian|torch2|mmdet|all]   (default: all)
#   bash scripts/test.sh --sanitize
#
# --sanitize builds the partition pass's GoogleTest suites and the
# mmdeploy-partition CLI with AddressSanitizer + UndefinedBehaviorSanitizer
# (build/sanitize, -DMMDEPLOY_MARK_SANITIZE=ON), runs the suites, then the
# hostile-input tests (tests/python/test_hostile.py) with that CLI; any
# sanitizer report fails the run.
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
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "test.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$PLATFORM" in
  all) PLATFORMS=(debian torch2 mmdet) ;;
  debian|torch2|mmdet) PLATFORMS=("$PLATFORM") ;;
  *) echo "test.sh: --platform must be debian, torch2, mmdet or all" >&2; exit 2 ;;
esac

if ((SANITIZE)); then
  dir="$ROOT/build/sanitize"
  cmake -S "$ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DMMDEPLOY_MARK_SANITIZE=ON -DMMDEPLOY_MARK_BUILD_EXAMPLES=OFF \
    -DPython3_EXECUTABLE=/usr/bin/python3 >/dev/null
  mapfile -t tests < <(ninja -C "$dir" -t targets all |
    sed -n 's/^\(tests\/cpp\/partition_[a-z_]*_test\): .*/\1/p')
  ninja -C "$dir" -j 2 "${tests[@]}" partition/tools/mmdeploy-partition
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  status=0
  for test in "${tests[@]}"; do
    echo "[test] [sanitize] $test"
    "$dir/$test" --gtest_brief=1 || status=1
  done
  echo "[test] [sanitize] tests/python/test_hostile.py with the sanitized CLI"
  (cd "$ROOT" && MMDEPLOY_MARK_PARTITION_EXE="$dir/partition/tools/mmdeploy-partition" \
    "$ROOT/.venv/bin/python" -m pytest -q -p no:cacheprovider \
    tests/python/test_hostile.py "${PYTEST_ARGS[@]}") || status=1
  exit $status
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
exit $status
