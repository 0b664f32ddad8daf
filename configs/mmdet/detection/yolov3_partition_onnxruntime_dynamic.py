# The seed's YOLOv3 partition with dynamic batch size and image size: the
# network part (yolov3.onnx) runs at any batch and any height/width that is
# a multiple of 32. pred_maps.0/1/2 have strides 32/16/8.
_base_ = ['./detection_onnxruntime_dynamic.py']

onnx_config = dict(input_shape=[608, 608])
partition_config = dict(
    type='yolov3_partition',  # the partition policy name
    apply_marks=True,  # should always be set to True
    partition_cfg=[
        dict(
            save_file='yolov3.onnx',
            start=['detector_forward:input'],
            end=['yolo_head:input'],
            output_names=[f'pred_maps.{i}' for i in range(3)],
            dynamic_axes={
                'input': {
                    0: 'batch',
                    2: 'height',
                    3: 'width'
                },
                'pred_maps.0': {
                    0: 'batch',
                    2: 'height_s32',
                    3: 'width_s32'
                },
                'pred_maps.1': {
                    0: 'batch',
                    2: 'height_s16',
                    3: 'width_s16'
                },
                'pred_maps.2': {
                    0: 'batch',
                    2: 'height_s8',
                    3: 'width_s8'
                },
            })
    ])
