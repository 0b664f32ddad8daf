"""A narrow YOLOv3-style detector with mark rewriters: the seed's partition
example, brought in through ``custom_imports`` like a user's own model.

``model`` holds the detector, ``postprocess`` its NMS, ``rewriters`` the
marks; ``configs/`` the model config. Nothing is imported here, so importing
``examples.yolov3.rewriters`` registers the rewriters and nothing else.
"""
