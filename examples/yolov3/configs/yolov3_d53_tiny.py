# A narrow YOLOv3 (Darknet backbone, 3-scale neck and head) for the partition
# example: the full model's layout with a quarter of the channels and one
# residual block per stage, so that export at 608x608 takes seconds on a CPU.
# Built with random weights unless a state_dict checkpoint is given.
#
# The model and its rewriters are not part of mmdeploy_mark: custom_imports
# imports them (from the directory torch2onnx runs in, here the repository
# root) before the model is built, as it would a user's own project.
custom_imports = dict(
    imports=['examples.yolov3.model', 'examples.yolov3.rewriters'],
    allow_failed_imports=False)

num_classes = 80
img_scale = (608, 608)  # (width, height) the example exports at

model = dict(
    type='examples.yolov3.model.YOLOV3',
    backbone=dict(
        type='Darknet',
        base_channels=8,
        stage_blocks=(1, 1, 1, 1, 1),
        out_indices=(3, 4, 5)),
    neck=dict(
        type='YOLOV3Neck',
        num_scales=3,
        in_channels=[256, 128, 64],
        out_channels=[128, 64, 32]),
    bbox_head=dict(
        type='YOLOV3Head',
        num_classes=num_classes,
        in_channels=[128, 64, 32],
        out_channels=[256, 128, 64],
        anchor_generator=dict(
            type='YOLOAnchorGenerator',
            base_sizes=[[(116, 90), (156, 198), (373, 326)],
                        [(30, 61), (62, 45), (59, 119)],
                        [(10, 13), (16, 30), (33, 23)]],
            strides=[32, 16, 8]),
        featmap_strides=[32, 16, 8]),
    test_cfg=dict(
        nms_pre=1000,
        min_bbox_size=0,
        score_thr=0.05,
        conf_thr=0.005,
        nms=dict(type='nms', iou_threshold=0.45),
        max_per_img=100))
