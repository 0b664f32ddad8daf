"""Marks for mmdetection 3.x two-stage detectors (Faster R-CNN), placed where
mmdeploy's ``two_stage`` partition type cuts:

* ``detector_forward``: the image ``input``, and ``dets``/``labels``;
* ``extract_feat``: the FPN features ``feat.0..4`` (output);
* ``multiclass_nms`` (call 0): the RPN proposals' ``boxes`` and ``scores``
  before their NMS (call 1 is the final NMS);
* ``roi_extractor``: the pooled RoI features ``bbox_feats`` (output);
* ``bbox_head_forward``: ``cls_score`` and ``bbox_pred`` (output).

So partition0 is backbone + neck + RPN (image in; features and proposals
out) and partition1 is the box head (pooled features in; class scores and
box deltas out): what a runtime needs to run the two stages on different
devices, with the RoI pooling between them.

mmdet's own inference runs per image with data-dependent shapes; these
rewrites keep every shape fixed: all proposals go through the fixed-size
NMS, and every RoI is pooled from every FPN level and the right level is
selected arithmetically (the RoI Align runs four times, but the graph is
exact for any input).
"""
import math
from typing import Any, List, Sequence, Tuple

import torch
from torch import Tensor

from mmdeploy_mark import FUNCTION_REWRITER, mark

from .post_processing import multiclass_nms, nms_params
from .roi_align import onnx_roi_align


def _decode_deltas(rois: Tensor, deltas: Tensor, coder: Any, height: int,
                   width: int) -> Tensor:
    """DeltaXYWH decoding, batched and fixed-size.

    rois [B, N, 4] (x1, y1, x2, y2), deltas [B, N, C * 4] -> [B, N, C, 4],
    clipped to the image (mmdet's clip_border).
    """
    batch, count = deltas.shape[0], deltas.shape[1]
    deltas = deltas.reshape(batch, count, -1, 4)
    stds = deltas.new_tensor(coder.stds)
    means = deltas.new_tensor(coder.means)
    deltas = deltas * stds + means
    limit = abs(math.log(16 / 1000))  # mmdet's default wh_ratio_clip
    sizes = (rois[..., 2:] - rois[..., :2]).unsqueeze(2)
    centres = ((rois[..., :2] + rois[..., 2:]) * 0.5).unsqueeze(2)
    new_centres = centres + sizes * deltas[..., :2]
    half = sizes * deltas[..., 2:].clamp(min=-limit, max=limit).exp() * 0.5
    top_left = new_centres - half
    bottom_right = new_centres + half
    bound = deltas.new_tensor([width, height])
    top_left = torch.min(torch.relu(top_left), bound)
    bottom_right = torch.min(torch.relu(bottom_right), bound)
    return torch.cat([top_left, bottom_right], dim=-1)


@mark('detector_forward', inputs=['input'], outputs=['dets', 'labels'])
def __forward_impl(self, inputs: Tensor) -> Tuple[Tensor, Tensor]:
    feats = self.extract_feat(inputs)
    height, width = int(inputs.shape[2]), int(inputs.shape[3])
    proposals = _rpn_proposals(self.rpn_head, feats, self.test_cfg.rpn, height, width)
    return _rcnn_detections(self.roi_head, feats, proposals, self.test_cfg.rcnn,
                            height, width)


@FUNCTION_REWRITER.register_rewriter(
    'mmdet.models.detectors.two_stage.TwoStageDetector.forward')
def two_stage_detector__forward(self, inputs: Tensor, data_samples: Any = None,
                                mode: str = 'tensor') -> Tuple[Tensor, Tensor]:
    return __forward_impl(self, inputs)


@FUNCTION_REWRITER.register_rewriter(
    'mmdet.models.detectors.two_stage.TwoStageDetector.extract_feat')
@mark('extract_feat', inputs=['img'], outputs='feat')
def two_stage_detector__extract_feat(self, inputs: Tensor) -> List[Tensor]:
    ctx = FUNCTION_REWRITER.get_context()
    return list(ctx.origin_func(self, inputs))


def _rpn_proposals(rpn_head: Any, feats: Sequence[Tensor], cfg: Any, height: int,
                   width: int) -> Tensor:
    """[B, max_per_img, 4] proposals (zero rows past those kept).

    Every anchor's box and score enter the marked NMS, which takes the best
    ``nms_pre`` per level's worth itself: a top-k before the mark would make
    the partition's outputs depend on how near-equal scores are ordered.
    """
    cls_scores, bbox_preds = rpn_head(feats)
    batch = cls_scores[0].shape[0]
    anchors = rpn_head.prior_generator.grid_priors([s.shape[-2:] for s in cls_scores],
                                                   device=cls_scores[0].device)
    level_boxes, level_scores = [], []
    candidates = 0
    for score, delta, level_anchors in zip(cls_scores, bbox_preds, anchors):
        score = score.permute(0, 2, 3, 1).reshape(batch, -1).sigmoid()
        delta = delta.permute(0, 2, 3, 1).reshape(batch, -1, 4)
        priors = level_anchors.unsqueeze(0).expand(batch, -1, -1)
        level_boxes.append(_decode_deltas(priors, delta, rpn_head.bbox_coder, height,
                                          width)[:, :, 0])
        level_scores.append(score)
        candidates += min(int(cfg.nms_pre), int(level_anchors.shape[0]))
    boxes = torch.cat(level_boxes, dim=1)
    scores = torch.cat(level_scores, dim=1).unsqueeze(-1)
    dets, _ = multiclass_nms(boxes, scores, iou_threshold=float(cfg.nms.iou_threshold),
                             score_threshold=0.0, max_output_boxes_per_class=-1,
                             pre_top_k=candidates, keep_top_k=int(cfg.max_per_img))
    return dets[..., :4]


@mark('roi_extractor', inputs=['feats', 'rois'], outputs=['bbox_feats'])
def _extract_rois(extractor: Any, feats: List[Tensor], rois: Tensor) -> Tensor:
    levels = extractor.map_roi_levels(rois, len(feats))
    pooled = None
    for level, (feat, layer) in enumerate(zip(feats, extractor.roi_layers)):
        part = onnx_roi_align(feat, rois, layer)
        part = part * (levels == level).to(part.dtype).view(-1, 1, 1, 1)
        pooled = part if pooled is None else pooled + part
    return pooled


@mark('bbox_head_forward', inputs=['bbox_feats'], outputs=['cls_score', 'bbox_pred'])
def _bbox_head_forward(bbox_head: Any, bbox_feats: Tensor) -> Tuple[Tensor, Tensor]:
    return bbox_head(bbox_feats)


def _rcnn_detections(roi_head: Any, feats: Sequence[Tensor], proposals: Tensor,
                     cfg: Any, height: int, width: int) -> Tuple[Tensor, Tensor]:
    batch, count = proposals.shape[0], proposals.shape[1]
    image_ids = torch.arange(batch, device=proposals.device, dtype=proposals.dtype)
    image_ids = image_ids.view(-1, 1, 1).expand(-1, count, 1)
    rois = torch.cat([image_ids, proposals], dim=-1).reshape(-1, 5)
    extractor = roi_head.bbox_roi_extractor
    bbox_feats = _extract_rois(extractor, list(feats[:extractor.num_inputs]), rois)
    cls_score, bbox_pred = _bbox_head_forward(roi_head.bbox_head, bbox_feats)
    num_classes = roi_head.bbox_head.num_classes
    scores = cls_score.softmax(-1)[:, :num_classes].reshape(batch, count, num_classes)
    boxes = _decode_deltas(proposals, bbox_pred.reshape(batch, count, -1),
                           roi_head.bbox_head.bbox_coder, height, width)
    return multiclass_nms(boxes, scores, **nms_params(cfg))
