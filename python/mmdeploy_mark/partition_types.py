"""Predefined partition types, selected by ``partition_config.type``.

When a deploy config gives ``partition_config = dict(type=..., apply_marks=True)``
without ``partition_cfg``, the partition list comes from here. The values are
the ones mmdeploy uses for mmdet detectors, so the marks those models carry
(``detector_forward``, ``multiclass_nms``, ``extract_feat``, ``roi_extractor``,
``bbox_head_forward``) resolve the same way.

``single_stage``: the network without post-processing; ends at the inputs of
NMS (``boxes``, ``scores``). Its ``output_names`` entry is ours: mmdeploy
leaves it out and gets the same names from the ``multiclass_nms`` marks. ``two_stage``: partition0 is the backbone and RPN
up to the features and the RPN's NMS inputs; partition1 is the box head, from
the ROI extractor's output to the head's output.
"""
import copy
from typing import Any, Dict, List

__all__ = ["PREDEFINED_PARTITION_CFG", "get_predefined_partition_cfg",
           "list_partition_types"]

_IMAGE_AXES = {0: "batch", 2: "height", 3: "width"}
_BOX_AXES = {0: "batch", 1: "num_boxes"}

# Treat as read-only; get_predefined_partition_cfg hands out copies.
PREDEFINED_PARTITION_CFG: Dict[str, List[Dict[str, Any]]] = {
    "single_stage": [
        dict(
            save_file="partition0.onnx",
            start="detector_forward:input",
            end="multiclass_nms:input",
            output_names=["boxes", "scores"],
            dynamic_axes={
                "input": dict(_IMAGE_AXES),
                "scores": dict(_BOX_AXES),
                "boxes": dict(_BOX_AXES),
            },
        ),
    ],
    "two_stage": [
        dict(
            save_file="partition0.onnx",
            start="detector_forward:input",
            end=["extract_feat:output", "multiclass_nms[0]:input"],
            dynamic_axes={
                "input": dict(_IMAGE_AXES),
                "scores": dict(_BOX_AXES),
                "boxes": dict(_BOX_AXES),
            },
        ),
        dict(
            save_file="partition1.onnx",
            start="roi_extractor:output",
            end="bbox_head_forward:output",
            dynamic_axes={
                "bbox_feats": {0: "batch"},
                "cls_score": {0: "batch"},
                "bbox_pred": {0: "batch"},
            },
        ),
    ],
}


def list_partition_types() -> List[str]:
    """Names of the predefined partition types, sorted."""
    return sorted(PREDEFINED_PARTITION_CFG)


def get_predefined_partition_cfg(partition_type: str) -> List[Dict[str, Any]]:
    """Returns a deep copy of the partition list of a predefined type.

    Args:
        partition_type: ``'single_stage'`` or ``'two_stage'``.

    Returns:
        A new list of new dicts (safe to modify).

    Raises:
        ValueError: the type is not predefined; the known types are listed.
    """
    try:
        entries = PREDEFINED_PARTITION_CFG[partition_type]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown partition type {partition_type!r}; predefined types: "
            f"{', '.join(list_partition_types())}") from None
    return copy.deepcopy(entries)
