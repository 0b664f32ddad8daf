#!/usr/bin/env bash
# Installs what is missing and builds the project. Idempotent: a second run
# installs nothing and rebuilds only what changed.
#
#   bash scripts/setup.sh
#
# Afterwards .venv/bin/python imports mmdeploy_mark, and build/ holds the C++
# libraries, tools and tests.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${MMDEPLOY_MARK_BUILD_DIR:-$ROOT/build}"
VENV="$ROOT/.venv"
# onnxruntime is the one dependency Debian lacks. 1.17.3 accepts Debian's
# numpy 1.24 and protobuf 3.21 (python 4.21); the constraints below stop pip
# from replacing them, since torch and onnx were built against them.
ORT_VERSION="1.17.3"

APT_PACKAGES=(
  g++ cmake ninja-build
  libtorch-dev python3-torch
  libonnx-dev python3-onnx
  libprotobuf-dev protobuf-compiler
  pybind11-dev libgtest-dev
  python3-dev python3-venv python3-pytest python3-numpy
  graphviz
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

setup_venv() {
  if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating $VENV (from /usr/bin/python3, with system site-packages)"
    /usr/bin/python3 -m venv --system-site-packages "$VENV"
  fi
  # The package is used from the source tree (its compiled parts are built
  # into python/mmdeploy_mark by CMake): a .pth file puts python/ on the path.
  local site
  site="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  echo "$ROOT/python" > "$site/mmdeploy_mark_src.pth"
  if ! "$VENV/bin/python" -c "import onnxruntime" 2>/dev/null; then
    local constraints="$VENV/debian-constraints.txt"
    /usr/bin/python3 - > "$constraints" <<'PY'
import google.protobuf, numpy
print(f"numpy=={numpy.__version__}")
print(f"protobuf=={google.protobuf.__version__}")
PY
    log "pip: installing onnxruntime==$ORT_VERSION (constraints: $(tr '\n' ' ' < "$constraints"))"
    "$VENV/bin/pip" install -q --disable-pip-version-check \
      -c "$constraints" "onnxruntime==$ORT_VERSION"
  fi
}

build() {
  mkdir -p "$BUILD_DIR"
  log "building in $BUILD_DIR"
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release \
    -DPython3_EXECUTABLE=/usr/bin/python3 \
    -DCMAKE_INSTALL_PREFIX="$BUILD_DIR/install" > "$BUILD_DIR/configure.log" 2>&1 \
    || { cat "$BUILD_DIR/configure.log"; exit 1; }
  # Two cores; translation units that include torch headers need ~1.5 GB each.
  cmake --build "$BUILD_DIR" -j "${MMDEPLOY_MARK_JOBS:-2}"
  cmake --install "$BUILD_DIR" > /dev/null
}

install_apt_packages
setup_venv
build
log "ready: $VENV/bin/python can 'import mmdeploy_mark'"
