#!/usr/bin/env bash
# Installs what is missing and builds the project for one or both platforms.
# Idempotent: a second run installs nothing new and rebuilds only what changed.
#
#   bash scripts/setup.sh [--platform debian|torch2|mmdet|all]   (default: debian)
#
# Platforms (each a virtual environment with the package pip-installed into
# it, exactly as a user's `pip install .` does):
#   debian  .venv         Debian bookworm's torch 1.13 and onnx 1.12 (system
#                         site-packages) plus onnxruntime from PyPI, with
#                         Debian's numpy and protobuf pinned.
#   torch2  .venv-torch2  torch 2.x, onnx, onnxscript and onnxruntime from PyPI,
#                         versions pinned in scripts/requirements/torch2.txt.
#   mmdet   .venv-mmdet   Debian's torch (system site-packages, as debian) plus
#                         mmdetection 3.x, mmengine and mmcv (its C++ ops
#                         compiled against Debian's torch: about 8 minutes the
#                         first time, then pip's wheel cache), versions pinned
#                         in scripts/requirements/mmdet.txt; the package is
#                         installed without its C++ tests.
# Build trees: build/<platform> (the C++ tests are built there too, for ctest).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PLATFORM="debian"
while (($#)); do
  case "$1" in
    --platform) PLATFORM="${2:?--platform needs debian, torch2, mmdet or all}"; shift 2 ;;
    --platform=*) PLATFORM="${1#*=}"; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$PLATFORM" in
  debian|torch2|mmdet) PLATFORMS=("$PLATFORM") ;;
  all) PLATFORMS=(debian torch2 mmdet) ;;
  *) echo "setup.sh: --platform must be debian, torch2, mmdet or all, not '$PLATFORM'" >&2; exit 2 ;;
esac

# onnxruntime is the one runtime dependency Debian lacks. 1.17.3 accepts
# Debian's numpy 1.24 and protobuf 3.21 (python 4.21).
DEBIAN_PIP_PACKAGES=("onnxruntime==1.17.3")

APT_PACKAGES=(
  g++ cmake ninja-build
  libtorch-dev python3-torch
  libonnx-dev python3-onnx
  libprotobuf-dev protobuf-compiler
  pybind11-dev libgtest-dev libcli11-dev
  python3-dev python3-venv python3-pytest python3-numpy python3-pil
  python3-h5py  # torch2onnx --calib-file writes HDF5
  graphviz
  time  # GNU time: peak RSS of each measurement in scripts/benchmark.py
  # headless browser and SVG rasterizer: the HTML report's test looks at the page
  chromium librsvg2-bin
  # libFuzzer and its sanitizer runtimes: scripts/fuzz.sh (CI runs a short fuzz)
  clang-14 libclang-rt-14-dev
)

log() { printf '[setup] %s\n' "$*"; }

install_apt_packages() {
  local missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$pkg")
    fi
  done
  if ((${#missing[@]} == 0)); then
    log "Debian packages: all present"
    return
  fi
  log "Debian packages: installing ${missing[*]}"
  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi
  "${sudo[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q \
    --no-install-recommends "${missing[@]}"
}

venv_dir() { [[ $1 == debian ]] && echo "$ROOT/.venv" || echo "$ROOT/.venv-$1"; }

pip_quiet() { "$@" -q --disable-pip-version-check; }

# Debian's venv sees the system's torch, onnx, numpy and protobuf; the
# constraints stop pip from replacing them (torch and onnx were built
# against them).
setup_debian_venv() {
  local venv="$1"
  debian_venv_with_constraints "$venv"
  if ! "$venv/bin/python" -c "import onnxruntime" 2>/dev/null; then
    log "pip: installing ${DEBIAN_PIP_PACKAGES[*]} (constraints: $(tr '\n' ' ' < "$venv/debian-constraints.txt"))"
    pip_quiet "$venv/bin/pip" install -c "$venv/debian-constraints.txt" "${DEBIAN_PIP_PACKAGES[@]}"
  fi
}

# A venv on Debian's interpreter that sees its torch, onnx, numpy and
# protobuf, with debian-constraints.txt pinning numpy and protobuf.
debian_venv_with_constraints() {
  local venv="$1"
  if [[ ! -x "$venv/bin/python" ]]; then
    log "creating $venv (from /usr/bin/python3, with system site-packages)"
    /usr/bin/python3 -m venv --system-site-packages "$venv"
  fi
  # Earlier set-ups put the source tree on the path; the package is installed now.
  rm -f "$venv"/lib/python3*/site-packages/mmdeploy_mark_src.pth
  local constraints="$venv/debian-constraints.txt"
  /usr/bin/python3 - > "$constraints" <<'PY'
import google.protobuf, numpy
print(f"numpy=={numpy.__version__}")
print(f"protobuf=={google.protobuf.__version__}")
PY
}

# mmcv is a source package: its ops compile against the venv's (Debian's)
# torch, so it is built without isolation, after the rest is in place.
setup_mmdet_venv() {
  local venv="$1" requirements="$ROOT/scripts/requirements/mmdet.txt"
  debian_venv_with_constraints "$venv"
  local stamp="$venv/.requirements-installed"
  if ! cmp -s "$requirements" "$stamp"; then
    local constraints=(-c "$venv/debian-constraints.txt")
    log "pip: installing $(grep -vE '^\s*(#|$)' "$requirements" | tr '\n' ' ')(mmcv's ops compile for about 8 minutes the first time; pip caches the wheel)"
    # mmdet requires mmcv, so mmcv goes in (built its way) before mmdet.
    pip_quiet "$venv/bin/pip" install "${constraints[@]}" \
      $(grep -vE '^\s*(#|$)|^(mmcv|mmdet)==' "$requirements")
    MMCV_WITH_OPS=1 MAX_JOBS="${MMDEPLOY_MARK_JOBS:-2}" pip_quiet "$venv/bin/pip" install \
      "${constraints[@]}" --no-build-isolation $(grep -E '^mmcv==' "$requirements")
    pip_quiet "$venv/bin/pip" install "${constraints[@]}" $(grep -E '^mmdet==' "$requirements")
    cp "$requirements" "$stamp"
  fi
}

setup_torch2_venv() {
  local venv="$1" requirements="$ROOT/scripts/requirements/torch2.txt"
  if [[ ! -x "$venv/bin/python" ]]; then
    log "creating $venv (from /usr/bin/python3, no system site-packages)"
    /usr/bin/python3 -m venv "$venv"
  fi
  # Re-installs only when the pinned versions changed.
  local stamp="$venv/.requirements-installed"
  if ! cmp -s "$requirements" "$stamp"; then
    log "pip: installing $(grep -vE '^\s*(#|$)' "$requirements" | tr '\n' ' ')(about 5.5 GB the first time)"
    pip_quiet "$venv/bin/pip" install -r "$requirements"
    cp "$requirements" "$stamp"
  fi
}

# `pip install .`, as a user runs it (build isolation, build tools from
# PyPI), plus a persistent build tree with the C++ tests for ctest.
install_package() {
  local platform="$1" venv="$2" build_dir="$ROOT/build/$1"
  # The C++ suites are the same on Debian's torch; mmdet runs Python tests only.
  local with_tests=ON
  [[ $platform == mmdet ]] && with_tests=OFF
  local log_file="$ROOT/build/pip-install-$1.log"
  mkdir -p "$ROOT/build"
  log "[$platform] pip install . (C++ build in $build_dir, a few minutes the first time; log: $log_file)"
  local started=$SECONDS
  if ! CMAKE_BUILD_PARALLEL_LEVEL="${MMDEPLOY_MARK_JOBS:-2}" \
    "$venv/bin/pip" install --disable-pip-version-check -v "$ROOT" \
    --config-settings="build-dir=$build_dir" \
    --config-settings=cmake.define.MMDEPLOY_MARK_BUILD_TESTS=$with_tests \
    --config-settings=cmake.define.MMDEPLOY_MARK_BUILD_EXAMPLES=$with_tests > "$log_file" 2>&1; then
    tail -n 60 "$log_file" >&2
    log "[$platform] pip install . failed after $((SECONDS - started)) s; the whole log is $log_file"
    exit 1
  fi
  local installed
  installed="$(cd / && "$venv/bin/python" -I -c 'import mmdeploy_mark, torch
print(f"mmdeploy_mark {mmdeploy_mark.__version__} with torch {torch.__version__}")')"
  log "[$platform] installed in $((SECONDS - started)) s: $installed"
}

install_apt_packages
for platform in "${PLATFORMS[@]}"; do
  venv="$(venv_dir "$platform")"
  "setup_${platform}_venv" "$venv"
  install_package "$platform" "$venv"
done
log "ready: ${PLATFORMS[*]}"
