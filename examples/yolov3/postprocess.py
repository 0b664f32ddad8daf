"""Detection post-processing that traces and exports to ONNX (opset 11).

``multiclass_nms`` is a module-level function on purpose: rewriters patch it
by its dotted path ``examples.yolov3.postprocess.multiclass_nms`` (the
``multiclass_nms`` mark sits on its ``boxes`` and ``scores`` inputs), so
callers look it up through this module at call time.

The NMS is built from plain tensor ops with fixed-size outputs, so the traced
graph has no data-dependent control flow and runs in onnxruntime without any
custom op. Greedy NMS is sequential; here it is computed as the fixed point

    keep[i] = valid[i] and not any(keep[j] and suppresses[j, i] for j < i)

by a fixed number of matrix iterations (the Cluster-NMS scheme). Iteration t
settles every candidate whose chain of suppressions is shorter than t, so the
result equals greedy NMS whenever no chain is longer than ``nms_iterations``.
"""
import warnings
from typing import Tuple

import torch
from torch import Tensor

__all__ = ["multiclass_nms", "box_iou_matrix", "DEFAULT_PRE_TOP_K"]

# Candidate cap used when pre_top_k <= 0: NMS works on a K x K matrix, so an
# unbounded candidate set (mmdeploy's pre_top_k=-1) needs some limit.
DEFAULT_PRE_TOP_K = 1000


def _static_size(tensor: Tensor, dim: int) -> int:
    """A size that is fixed for a given model (box width 4, class count).

    While tracing, sizes are tensors and int() warns that the value becomes a
    constant; for these sizes a constant is exactly right.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        return int(tensor.shape[dim])


def box_iou_matrix(boxes: Tensor, eps: float = 1e-6) -> Tensor:
    """Pairwise IoU of ``boxes`` [N, K, 4] (x1, y1, x2, y2) -> [N, K, K]."""
    # relu rather than clamp(min=0): clamp exports a None max that the
    # exporter's shape inference warns about.
    x1, y1, x2, y2 = boxes.unbind(-1)
    area = torch.relu(x2 - x1) * torch.relu(y2 - y1)
    inter_w = torch.relu(torch.min(x2[:, :, None], x2[:, None, :]) -
                         torch.max(x1[:, :, None], x1[:, None, :]))
    inter_h = torch.relu(torch.min(y2[:, :, None], y2[:, None, :]) -
                         torch.max(y1[:, :, None], y1[:, None, :]))
    inter = inter_w * inter_h
    union = area[:, :, None] + area[:, None, :] - inter
    return inter / (torch.relu(union - eps) + eps)


def _overlaps(boxes: Tensor, iou_threshold: float) -> Tensor:
    """Boolean [N, K, K]: IoU of the two boxes above ``iou_threshold``.

    Same test as ``box_iou_matrix(boxes) > iou_threshold``, written as
    ``inter > thr * union`` to save a division and a K x K temporary.
    """
    x1, y1, x2, y2 = boxes.unbind(-1)
    area = torch.relu(x2 - x1) * torch.relu(y2 - y1)
    inter = (torch.relu(torch.min(x2[:, :, None], x2[:, None, :]) -
                        torch.max(x1[:, :, None], x1[:, None, :])) *
             torch.relu(torch.min(y2[:, :, None], y2[:, None, :]) -
                        torch.max(y1[:, :, None], y1[:, None, :])))
    union = area[:, :, None] + area[:, None, :] - inter
    return (inter > union * iou_threshold) & (inter > 0)


def _gather_rows(data: Tensor, index: Tensor) -> Tensor:
    """``data`` [N, M, D], ``index`` [N, K] -> [N, K, D]."""
    return torch.gather(data, 1, index.unsqueeze(-1).expand(-1, -1,
                                                            data.shape[-1]))


def multiclass_nms(boxes: Tensor,
                   scores: Tensor,
                   max_output_boxes_per_class: int = 200,
                   iou_threshold: float = 0.5,
                   score_threshold: float = 0.05,
                   pre_top_k: int = -1,
                   keep_top_k: int = 100,
                   background_label_id: int = -1,
                   nms_iterations: int = 10) -> Tuple[Tensor, Tensor]:
    """Class-aware NMS over a batch, with fixed-size outputs.

    Candidates are (box, class) pairs. The ``pre_top_k`` best pairs (by
    score) enter NMS; pairs at or below ``score_threshold`` are dropped; a
    pair is suppressed by a better-scored kept pair of the same class whose
    box overlaps it with IoU above ``iou_threshold``; at most
    ``max_output_boxes_per_class`` pairs are kept per class; the
    ``keep_top_k`` best kept pairs are returned in descending score order.

    Args:
        boxes: [N, B, 4] boxes (x1, y1, x2, y2) shared by all classes, or
            [N, B, C, 4] class-specific boxes.
        scores: [N, B, C] per-class scores (higher is better).
        max_output_boxes_per_class: per-class cap; <= 0 means no cap.
        iou_threshold: overlap above which the lower-scored box is dropped.
        score_threshold: pairs with a score <= this never survive.
        pre_top_k: number of candidate pairs entering NMS; <= 0 means
            ``DEFAULT_PRE_TOP_K``. Cost grows with its square.
        keep_top_k: number of output rows K; <= 0 means the candidate count.
        background_label_id: a class index to ignore, or -1 for none.
        nms_iterations: fixed-point iterations (see the module docstring).

    Returns:
        ``dets`` [N, K, 5] (x1, y1, x2, y2, score) and ``labels`` [N, K]
        (int64). Rows past the detections found are padding: zeros in
        ``dets`` and -1 in ``labels``.

    Raises:
        ValueError: inputs of the wrong rank or mismatched sizes (checked on
            static shapes only).
    """
    if scores.dim() != 3:
        raise ValueError(f"multiclass_nms: scores must be [N, num_boxes, "
                         f"num_classes], got shape {tuple(scores.shape)}")
    if boxes.dim() not in (3, 4) or _static_size(boxes, -1) != 4:
        raise ValueError(f"multiclass_nms: boxes must be [N, num_boxes, 4] or "
                         f"[N, num_boxes, num_classes, 4], got shape "
                         f"{tuple(boxes.shape)}")
    num_classes = _static_size(scores, 2)
    cand = int(pre_top_k) if pre_top_k > 0 else DEFAULT_PRE_TOP_K
    keep_k = int(keep_top_k) if keep_top_k > 0 else cand
    cand = max(cand, keep_k)

    if 0 <= background_label_id < num_classes:
        class_ids = torch.arange(num_classes, device=scores.device)
        scores = scores * (class_ids != background_label_id).to(scores.dtype)

    # Flatten to (box, class) pairs and pad with `cand` dummy pairs, so that
    # top-k takes a constant k whatever the input size (the padding scores
    # -inf and is never valid; padded boxes are zeros).
    flat_scores = scores.flatten(1)
    pad_scores = torch.full_like(flat_scores[:, :1], float("-inf"))
    flat_scores = torch.cat([flat_scores, pad_scores.expand(-1, cand)], dim=1)
    if boxes.dim() == 4:
        flat_boxes = boxes.flatten(1, 2)
    else:
        flat_boxes = boxes
    flat_boxes = torch.cat(
        [flat_boxes, torch.zeros_like(flat_boxes[:, :1]).expand(-1, cand, -1)],
        dim=1)

    cand_scores, cand_idx = flat_scores.topk(cand, dim=1)
    labels = torch.remainder(cand_idx, num_classes)
    if boxes.dim() == 4:
        box_idx = cand_idx
    else:
        box_idx = torch.div(cand_idx, num_classes, rounding_mode="floor")
    cand_boxes = _gather_rows(flat_boxes, box_idx)

    # The K x K matrices stay boolean (1 byte per entry) until the products.
    valid = cand_scores > score_threshold
    # earlier[i, j]: j ranks above i (Trilu needs opset 14, so compare).
    positions = torch.arange(cand, device=scores.device)
    earlier = positions[None, :] < positions[:, None]
    peers = (labels[:, :, None] == labels[:, None, :]) & earlier
    suppressors = (peers & _overlaps(cand_boxes, iou_threshold)
                   & valid[:, None, :]).to(scores.dtype)

    valid_f = valid.to(scores.dtype)
    keep = valid_f
    for _ in range(max(int(nms_iterations), 1)):
        hits = torch.bmm(suppressors, keep.unsqueeze(-1)).squeeze(-1)
        keep = valid_f * (hits <= 0).to(scores.dtype)
    if max_output_boxes_per_class > 0:
        rank = torch.bmm(peers.to(scores.dtype),
                         keep.unsqueeze(-1)).squeeze(-1)
        keep = keep * (rank < max_output_boxes_per_class).to(scores.dtype)

    ranked = torch.where(keep > 0, cand_scores, torch.full_like(cand_scores,
                                                                -1.0))
    _, order = ranked.topk(keep_k, dim=1)
    out_keep = torch.gather(keep, 1, order) > 0
    out_scores = torch.gather(cand_scores, 1, order)
    out_boxes = _gather_rows(cand_boxes, order)
    out_labels = torch.gather(labels, 1, order)

    zero = torch.zeros_like(out_scores)
    out_scores = torch.where(out_keep, out_scores, zero)
    out_boxes = torch.where(out_keep.unsqueeze(-1), out_boxes,
                            torch.zeros_like(out_boxes))
    out_labels = torch.where(out_keep, out_labels,
                             torch.full_like(out_labels, -1))
    dets = torch.cat([out_boxes, out_scores.unsqueeze(-1)], dim=-1)
    return dets, out_labels
