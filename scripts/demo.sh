#!/usr/bin/env bash
# Sets everything up (see setup.sh), then runs the seed's YOLOv3 example end
# to end on the example detector in examples/yolov3 (random weights, no
# downloads; its model config imports it through custom_imports, from the
# repository root): export with marks, cut yolov3.onnx (outputs
# pred_maps.0..2) as the seed's deploy config says, and verify every model in
# onnxruntime against PyTorch.
#
#   bash scripts/demo.sh [WORK_DIR]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK_DIR="${1:-$ROOT/work-dirs/mmdet/yolov3/ort/partition}"

bash "$ROOT/scripts/setup.sh"

cd "$ROOT"
"$ROOT/.venv/bin/python" tools/torch2onnx.py \
  configs/mmdet/detection/yolov3_partition_onnxruntime_static.py \
  examples/yolov3/configs/yolov3_d53_tiny.py \
  none random \
  --work-dir "$WORK_DIR" --verify

echo
echo "Marks in the exported model:"
"$ROOT/.venv/bin/python" - "$WORK_DIR/end2end.marked.onnx" <<'PY'
import sys
import mmdeploy_mark
for m in mmdeploy_mark.list_marks(sys.argv[1]):
    print(f"  {m.marker:<28} name={m.name:<14} shape={list(m.shape)}")
PY
echo
echo "Files written to $WORK_DIR:"
ls -l "$WORK_DIR"
