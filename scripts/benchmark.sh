#!/usr/bin/env bash
# The partition engine's benchmark (scripts/benchmark.py), on the torch2
# platform: its onnx is the current release, and torchvision gives the
# resnet50 and vit_b_16 models. Sets up what is missing first.
#
#   bash scripts/benchmark.sh [--quick] [benchmark.py options...]
#
# The full run generates about 2.5 GB of models under build/benchmark and
# takes tens of minutes; --quick cuts only the 1k-node chain once.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh" --platform torch2
if [[ ! -x /usr/bin/time ]]; then
  sudo=(); [[ $(id -u) -ne 0 ]] && sudo=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q time
fi
"$ROOT/.venv-torch2/bin/pip" install -q --disable-pip-version-check \
  -r "$ROOT/scripts/requirements/benchmark.txt"
exec "$ROOT/.venv-torch2/bin/python" "$ROOT/scripts/benchmark.py" \
  --build-dir "$ROOT/build/torch2" "$@"
