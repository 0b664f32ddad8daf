"""The seed tutorial's Step 1 for mmdetection 3.x single-stage detectors.

``detector_forward`` marks the input of ``SingleStageDetector.forward`` and
its outputs ``dets``/``labels``; ``yolo_head`` marks the ``pred_maps`` that
enter ``YOLOV3Head.predict_by_feat``, whose rewrite decodes the boxes and
ends in the fixed-size NMS (``post_processing.multiclass_nms``) instead of
mmdet's per-image, data-dependent loop.
"""
from typing import Any, List, Optional, Sequence, Tuple

import torch
from torch import Tensor

from mmdeploy_mark import FUNCTION_REWRITER, mark

from .post_processing import confidence_threshold, multiclass_nms, nms_params


@mark('detector_forward', inputs=['input'], outputs=['dets', 'labels'])
def __forward_impl(self, inputs: Tensor) -> Tuple[Tensor, Tensor]:
    feats = self.extract_feat(inputs)
    return self.bbox_head.predict_by_feat(*self.bbox_head(feats), batch_img_metas=None,
                                          rescale=False)


@FUNCTION_REWRITER.register_rewriter(
    'mmdet.models.detectors.single_stage.SingleStageDetector.forward')
def single_stage_detector__forward(self, inputs: Tensor, data_samples: Any = None,
                                   mode: str = 'tensor') -> Tuple[Tensor, Tensor]:
    # Deployment has one mode: image in, detections out (mmdet's 'predict'
    # without its per-image Python post-processing).
    return __forward_impl(self, inputs)


@FUNCTION_REWRITER.register_rewriter(
    'mmdet.models.dense_heads.yolo_head.YOLOV3Head.predict_by_feat')
def yolov3_head__predict_by_feat(self, pred_maps: Sequence[Tensor],
                                 batch_img_metas: Optional[List[dict]] = None,
                                 cfg: Any = None, rescale: bool = False,
                                 with_nms: bool = True) -> Tuple[Tensor, Tensor]:

    @mark('yolo_head', inputs=['pred_maps'])
    def __mark_pred_maps(pred_maps):
        return pred_maps

    pred_maps = __mark_pred_maps(list(pred_maps))
    cfg = self.test_cfg if cfg is None else cfg
    batch = pred_maps[0].shape[0]
    anchors = self.prior_generator.grid_priors([p.shape[-2:] for p in pred_maps],
                                               device=pred_maps[0].device)
    flat, strides = [], []
    for pred, level_anchors, stride in zip(pred_maps, anchors, self.featmap_strides):
        pred = pred.permute(0, 2, 3, 1).reshape(batch, -1, self.num_attrib)
        flat.append(pred)
        strides.append(torch.full_like(level_anchors[:, :1], float(stride)))
    flat = torch.cat(flat, dim=1)
    box_deltas = torch.cat([flat[..., :2].sigmoid(), flat[..., 2:4]], dim=-1)
    boxes = self.bbox_coder.decode(torch.cat(anchors), box_deltas, torch.cat(strides))
    objectness = flat[..., 4].sigmoid()
    scores = flat[..., 5:].sigmoid() * objectness.unsqueeze(-1)
    conf_thr = confidence_threshold(cfg)
    if conf_thr > 0:
        # mmdet drops boxes below conf_thr; a fixed-size graph zeroes them.
        scores = scores * (objectness >= conf_thr).unsqueeze(-1).to(scores.dtype)
    if not with_nms:
        return boxes, scores
    return multiclass_nms(boxes, scores, **nms_params(cfg))
