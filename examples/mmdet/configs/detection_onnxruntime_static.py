# The project's static ONNX Runtime detection config, plus the rewriters
# that mark mmdetection 3.x models. The seed's partition configs beside this
# file inherit it through their `_base_`, so they stay as the tutorial
# writes them. custom_imports resolves from the directory torch2onnx runs
# in: run it from the repository root.
_base_ = ['../../../configs/mmdet/detection/detection_onnxruntime_static.py']

custom_imports = dict(imports=['examples.mmdet.rewriters'], allow_failed_imports=False)
