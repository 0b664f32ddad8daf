#!/usr/bin/env bash
# Runs the partition pass's tests under AddressSanitizer + UndefinedBehavior-
# Sanitizer (bash scripts/test.sh --sanitize calls it; CI runs it):
#
#   bash scripts/sanitize.sh [--platform debian|torch2|all] [-- pytest args]
#
# Builds in build/sanitize (-DMMDEPLOY_MARK_SANITIZE=ON) the partition
# GoogleTest suites, the mmdeploy-partition CLI and the Python binding
# (mmdeploy_mark._partition), then runs
#   - the GoogleTest suites;
#   - the Python suites of the partition pass (PYTHON_SUITES below) in each
#     platform's venv, with the sanitized binding in place of the installed
#     one (an overlay package of symlinks, build/sanitize/overlay, first on
#     PYTHONPATH), the ASan runtime preloaded into the interpreter, and the
#     sanitized CLI for the tests that run it (MMDEPLOY_MARK_PARTITION_EXE).
# Any sanitizer report fails the run. Leak detection is on for the C++
# programs and off in Python (CPython keeps objects until exit by design).
# The packages must be installed first (scripts/setup.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PLATFORM="debian"
PYTEST_ARGS=()
while (($#)); do
  case "$1" in
    --platform) PLATFORM="${2:?--platform needs debian, torch2 or all}"; shift 2 ;;
    --platform=*) PLATFORM="${1#*=}"; shift ;;
    --) shift; PYTEST_ARGS=("$@"); break ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "sanitize.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$PLATFORM" in
  all) PLATFORMS=(debian torch2) ;;
  debian|torch2) PLATFORMS=("$PLATFORM") ;;
  *) echo "sanitize.sh: --platform must be debian, torch2 or all" >&2; exit 2 ;;
esac
# The partition pass's Python suites: they exercise the binding and the CLI.
PYTHON_SUITES=(tests/python/test_hostile.py tests/python/test_partition_api.py
               tests/python/test_tensor_names.py tests/python/test_tensor_data.py)

dir="$ROOT/build/sanitize"
# The binding is built for /usr/bin/python3, the interpreter both venvs run.
cmake -S "$ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DMMDEPLOY_MARK_SANITIZE=ON -DMMDEPLOY_MARK_BUILD_EXAMPLES=OFF \
  -DMMDEPLOY_MARK_BUILD_PYTHON=ON -DPython3_EXECUTABLE=/usr/bin/python3 >/dev/null
mapfile -t tests < <(ninja -C "$dir" -t targets all |
  sed -n 's/^\(tests\/cpp\/partition_[a-z_]*_test\): .*/\1/p')
ninja -C "$dir" -j 2 "${tests[@]}" partition/tools/mmdeploy-partition \
  mmdeploy_mark_partition_py
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
status=0
for test in "${tests[@]}"; do
  echo "[sanitize] $test"
  ASAN_OPTIONS="detect_leaks=1:halt_on_error=1" "$dir/$test" --gtest_brief=1 || status=1
done

# The runtimes the sanitized binding needs, loaded before the interpreter:
# ASan must come first, and libstdc++ must be there when ASan starts or its
# __cxa_throw interceptor finds nothing (the interpreter does not link it).
preload="$(c++ -print-file-name=libasan.so) $(c++ -print-file-name=libstdc++.so)"
binding=$(find "$dir/python" -maxdepth 1 -name '_partition*.so' -print -quit)
for platform in "${PLATFORMS[@]}"; do
  venv="$ROOT/.venv"; [[ $platform == debian ]] || venv="$ROOT/.venv-$platform"
  installed=$("$venv/bin/python" -c \
    'import importlib.util as u, os; print(os.path.dirname(u.find_spec("mmdeploy_mark").origin))')
  overlay="$dir/overlay/$platform/mmdeploy_mark"
  rm -rf "$overlay" && mkdir -p "$overlay"
  for entry in "$installed"/*; do
    case "$(basename "$entry")" in _partition*.so|__pycache__) continue ;; esac
    ln -s "$entry" "$overlay/"
  done
  ln -s "$binding" "$overlay/"
  used=$(cd "$ROOT" && PYTHONPATH="$(dirname "$overlay")" LD_PRELOAD="$preload" \
    ASAN_OPTIONS=detect_leaks=0 "$venv/bin/python" -c \
    'import mmdeploy_mark._partition as p; print(p.__file__)')
  [[ $used == "$overlay/"* ]] || {
    echo "sanitize.sh: [$platform] imports $used, not the sanitized binding" >&2; exit 1; }
  echo "[sanitize] [$platform] ${PYTHON_SUITES[*]} with the sanitized binding and CLI"
  (cd "$ROOT" && PYTHONPATH="$(dirname "$overlay")${PYTHONPATH:+:$PYTHONPATH}" \
    LD_PRELOAD="$preload" ASAN_OPTIONS="detect_leaks=0:halt_on_error=1" \
    MMDEPLOY_MARK_PARTITION_EXE="$dir/partition/tools/mmdeploy-partition" \
    "$venv/bin/python" -m pytest -q -p no:cacheprovider "${PYTHON_SUITES[@]}" \
    "${PYTEST_ARGS[@]}") || status=1
done
exit $status
