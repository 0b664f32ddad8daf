#!/usr/bin/env bash
# Fuzzes the partition pass's entry points with libFuzzer:
#
#   bash scripts/fuzz.sh [SECONDS]      (default 60, shared by the harnesses)
#
# Harnesses (tests/fuzz/partition_fuzz.cc): parse (ParseModel, ListMarks,
# validation and index), extract (a cut with two fuzzed marker strings),
# strip (StripMarks); built with clang-14, coverage, ASan and UBSan in
# build/fuzz (Debian: apt-get install clang-14 libclang-rt-14-dev). Seeds are
# the test suites' models (tests/fuzz/make_seeds.py); the corpus grows in
# build/fuzz/corpus. Every input in tests/fuzz/regressions/<harness>/ is
# replayed first; a new crash is copied there (keep it as a regression test)
# and fails the run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOTAL="${1:-60}"
[[ $TOTAL =~ ^[0-9]+$ ]] || { echo "fuzz.sh: SECONDS must be a number" >&2; exit 2; }
DIR="$ROOT/build/fuzz"
HARNESSES=(parse extract strip)
command -v clang++-14 >/dev/null || {
  echo "fuzz.sh: clang++-14 is missing: apt-get install clang-14 libclang-rt-14-dev" >&2
  exit 7
}
CC=clang-14 CXX=clang++-14 cmake -S "$ROOT" -B "$DIR" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMMDEPLOY_MARK_FUZZ=ON \
  -DMMDEPLOY_MARK_BUILD_TESTS=OFF -DMMDEPLOY_MARK_BUILD_EXAMPLES=OFF \
  -DPython3_EXECUTABLE=/usr/bin/python3 >/dev/null
ninja -C "$DIR" -j 2 "${HARNESSES[@]/#/tests/fuzz/partition_fuzz_}"
PYTHON="$ROOT/.venv/bin/python"; [[ -x $PYTHON ]] || PYTHON=python3
"$PYTHON" "$ROOT/tests/fuzz/make_seeds.py" "$DIR/seeds"

export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
per=$(( TOTAL / ${#HARNESSES[@]} )); (( per > 0 )) || per=1
status=0
for harness in "${HARNESSES[@]}"; do
  bin="$DIR/tests/fuzz/partition_fuzz_$harness"
  regressions="$ROOT/tests/fuzz/regressions/$harness"
  artifacts="$DIR/artifacts/$harness"
  mkdir -p "$DIR/corpus/$harness" "$artifacts"
  if compgen -G "$regressions/*" >/dev/null; then
    echo "[fuzz] $harness: replaying $regressions"
    "$bin" "$regressions"/* >/dev/null 2>&1 || { echo "[fuzz] $harness: a regression input fails" >&2; status=1; }
  fi
  echo "[fuzz] $harness: ${per}s"
  if ! "$bin" -max_total_time="$per" -timeout=20 -rss_limit_mb=4096 \
      -max_len=1048576 -print_final_stats=1 -artifact_prefix="$artifacts/" \
      "$DIR/corpus/$harness" "$DIR/seeds/$harness" 2>"$DIR/$harness.log"; then
    status=1
    mkdir -p "$regressions"
    for crash in "$artifacts"/*; do
      [[ -e $crash ]] && cp "$crash" "$regressions/" && echo "[fuzz] $harness: kept $regressions/$(basename "$crash")"
    done
    tail -40 "$DIR/$harness.log" >&2
  fi
done
exit $status
