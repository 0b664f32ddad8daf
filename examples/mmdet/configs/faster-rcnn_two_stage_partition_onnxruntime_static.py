# mmdetection's Faster R-CNN cut into its two stages with the predefined
# `two_stage` partition type (mmdeploy's): partition0.onnx is backbone + FPN +
# RPN (image in; the FPN features and the RPN's boxes and scores before NMS
# out), partition1.onnx the box head (pooled RoI features in; class scores and
# box deltas out). 320x320 keeps the export quick on a CPU; RoiAlign's
# half-pixel mode (mmdet's aligned=True) needs opset 16.
_base_ = ['./detection_onnxruntime_static.py']

onnx_config = dict(input_shape=[320, 320], opset_version=16)
partition_config = dict(type='two_stage', apply_marks=True)
