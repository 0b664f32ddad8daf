# Cut a single-stage detector before its post-processing with the predefined
# 'single_stage' partition: partition0.onnx runs from detector_forward:input
# to multiclass_nms:input and outputs boxes and scores (NMS left out).
_base_ = ['./detection_onnxruntime_static.py']

onnx_config = dict(input_shape=[608, 608])
partition_config = dict(type='single_stage', apply_marks=True)
