"""A YOLOv3-style detector in plain PyTorch, laid out like mmdet's.

The classes carry mmdet's names and structure (``Darknet``, ``YOLOV3Neck``,
``YOLOV3Head``, ``BaseDetector``, ``SingleStageDetector``, ``YOLOV3``) so that
rewriters written against mmdet's dotted paths can be pointed at this module:
``examples.yolov3.model.BaseDetector.forward``,
``examples.yolov3.model.YOLOV3Head.get_bboxes`` and
``examples.yolov3.postprocess.multiclass_nms`` (see ``rewriters.py``). The
model code itself holds no marks; every call that a rewriter may patch goes
through an attribute lookup at call time (``self.bbox_head.get_bboxes``,
``postprocess.multiclass_nms``).

Everything traces with ``torch.jit.trace`` and exports with
``torch.onnx.export`` at opset 11, with dynamic batch and image size (height
and width multiples of the largest stride, 32): anchors are computed from
the feature maps' shapes, and the NMS has fixed-size outputs.
"""
from typing import (Any, Dict, Mapping, Optional, Sequence, Tuple,
                    Union)

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import postprocess

__all__ = [
    "ConvModule", "ResBlock", "Darknet", "DetectionBlock", "YOLOV3Neck",
    "YOLOV3Head", "BaseDetector", "SingleStageDetector", "YOLOV3",
]

# mmdet's YOLOv3 anchors (width, height) per level, from stride 32 down to 8.
DEFAULT_ANCHOR_SIZES = (
    ((116, 90), (156, 198), (373, 326)),
    ((30, 61), (62, 45), (59, 119)),
    ((10, 13), (16, 30), (33, 23)),
)
DEFAULT_STRIDES = (32, 16, 8)
# mmdet's YOLOv3 test_cfg.
DEFAULT_TEST_CFG = dict(
    nms_pre=1000,
    min_bbox_size=0,
    score_thr=0.05,
    conf_thr=0.005,
    nms=dict(type="nms", iou_threshold=0.45),
    max_per_img=100)


class ConvModule(nn.Module):
    """Conv2d (no bias) + BatchNorm2d + LeakyReLU(0.1), "same" padding."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 stride: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size,
                              stride=stride, padding=kernel_size // 2,
                              bias=False)
        self.bn = nn.BatchNorm2d(out_channels)
        self.activate = nn.LeakyReLU(0.1)

    def forward(self, x: Tensor) -> Tensor:
        return self.activate(self.bn(self.conv(x)))


class ResBlock(nn.Module):
    """Darknet residual block: 1x1 conv to half width, 3x3 conv back, add."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        if channels % 2:
            raise ValueError(f"ResBlock: channels must be even, got "
                             f"{channels}")
        self.conv1 = ConvModule(channels, channels // 2, 1)
        self.conv2 = ConvModule(channels // 2, channels, 3)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv2(self.conv1(x))


class Darknet(nn.Module):
    """Darknet backbone: a stem conv and five stride-2 residual stages.

    Stage ``i`` (1..5) outputs ``base_channels * 2**i`` channels at stride
    ``2**i``. The defaults are Darknet-53; a "tiny" variant takes e.g.
    ``base_channels=8, stage_blocks=(1, 1, 1, 1, 1)``.

    Args:
        base_channels: width of the stem conv.
        stage_blocks: residual blocks per stage (five entries).
        out_indices: which layers to return; 0 is the stem, 1..5 the stages.
        in_channels: image channels.
    """

    def __init__(self, base_channels: int = 32,
                 stage_blocks: Sequence[int] = (1, 2, 8, 8, 4),
                 out_indices: Sequence[int] = (3, 4, 5),
                 in_channels: int = 3) -> None:
        super().__init__()
        if len(stage_blocks) != 5:
            raise ValueError(f"Darknet: stage_blocks needs 5 entries, got "
                             f"{list(stage_blocks)}")
        if not out_indices or any(not 0 <= i <= 5 for i in out_indices):
            raise ValueError(f"Darknet: out_indices must be in 0..5, got "
                             f"{list(out_indices)}")
        self.out_indices = tuple(out_indices)
        self.conv1 = ConvModule(in_channels, base_channels, 3)
        self.layer_names = ["conv1"]
        channels = base_channels
        for i, num_blocks in enumerate(stage_blocks):
            stage = nn.Sequential()
            stage.add_module("conv", ConvModule(channels, channels * 2, 3,
                                                stride=2))
            channels *= 2
            for j in range(num_blocks):
                stage.add_module(f"res{j}", ResBlock(channels))
            name = f"conv_res_block{i + 1}"
            self.add_module(name, stage)
            self.layer_names.append(name)
        self.out_channels = [base_channels * 2**i for i in self.out_indices]

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        outs = []
        for i, name in enumerate(self.layer_names):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)


class DetectionBlock(nn.Module):
    """Five alternating 1x1/3x3 convs: out, 2*out, out, 2*out, out."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        double = out_channels * 2
        self.conv1 = ConvModule(in_channels, out_channels, 1)
        self.conv2 = ConvModule(out_channels, double, 3)
        self.conv3 = ConvModule(double, out_channels, 1)
        self.conv4 = ConvModule(out_channels, double, 3)
        self.conv5 = ConvModule(double, out_channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        for conv in (self.conv1, self.conv2, self.conv3, self.conv4,
                     self.conv5):
            x = conv(x)
        return x


class YOLOV3Neck(nn.Module):
    """YOLOv3 neck: from the deepest feature up, detect, upsample, concat.

    Args:
        num_scales: number of feature levels.
        in_channels: backbone channels, deepest first (e.g. 1024, 512, 256).
        out_channels: neck channels per level, deepest first.

    Takes the backbone's features shallowest first (as Darknet returns them)
    and returns the levels deepest first (strides 32, 16, 8).
    """

    def __init__(self, num_scales: int = 3,
                 in_channels: Sequence[int] = (1024, 512, 256),
                 out_channels: Sequence[int] = (512, 256, 128)) -> None:
        super().__init__()
        if not len(in_channels) == len(out_channels) == num_scales:
            raise ValueError(
                f"YOLOV3Neck: in_channels {list(in_channels)} and "
                f"out_channels {list(out_channels)} need {num_scales} entries")
        self.num_scales = num_scales
        self.detect1 = DetectionBlock(in_channels[0], out_channels[0])
        for i in range(1, num_scales):
            self.add_module(f"conv{i}", ConvModule(out_channels[i - 1],
                                                   out_channels[i], 1))
            self.add_module(f"detect{i + 1}",
                            DetectionBlock(in_channels[i] + out_channels[i],
                                           out_channels[i]))

    def forward(self, feats: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        if len(feats) != self.num_scales:
            raise ValueError(f"YOLOV3Neck expects {self.num_scales} feature "
                             f"maps, got {len(feats)}")
        out = self.detect1(feats[-1])
        outs = [out]
        for i, feat in enumerate(reversed(feats[:-1])):
            up = getattr(self, f"conv{i + 1}")(out)
            up = F.interpolate(up, scale_factor=2.0, mode="nearest")
            out = getattr(self, f"detect{i + 2}")(torch.cat([up, feat], 1))
            outs.append(out)
        return tuple(outs)


class YOLOV3Head(nn.Module):
    """YOLOv3 head: per level a 3x3 bridge conv and a 1x1 prediction conv.

    Each prediction map has ``num_anchors * (5 + num_classes)`` channels,
    anchor-major; per anchor: tx, ty, tw, th, objectness, class logits.

    Args:
        num_classes: number of object classes.
        in_channels: neck channels per level, deepest first.
        out_channels: bridge conv channels per level.
        anchor_generator: ``dict(base_sizes=[[(w, h), ...] per level],
            strides=[...])``, as in mmdet's YOLOAnchorGenerator; anchors are
            centred on each cell.
        featmap_strides: stride of each level (default: the anchor strides).
        test_cfg: post-processing settings, mmdet's keys: ``nms_pre``,
            ``min_bbox_size``, ``score_thr``, ``conf_thr``,
            ``nms.iou_threshold``, ``max_per_img``.
    """

    def __init__(self, num_classes: int = 80,
                 in_channels: Sequence[int] = (512, 256, 128),
                 out_channels: Sequence[int] = (1024, 512, 256),
                 anchor_generator: Optional[Mapping[str, Any]] = None,
                 featmap_strides: Optional[Sequence[int]] = None,
                 test_cfg: Optional[Mapping[str, Any]] = None) -> None:
        super().__init__()
        anchor_generator = dict(anchor_generator or {})
        anchor_type = anchor_generator.pop("type", "YOLOAnchorGenerator")
        if anchor_type != "YOLOAnchorGenerator":
            raise ValueError(f"YOLOV3Head: anchor_generator type "
                             f"{anchor_type!r} is not supported; use "
                             f"'YOLOAnchorGenerator'")
        base_sizes = anchor_generator.pop("base_sizes", DEFAULT_ANCHOR_SIZES)
        strides = anchor_generator.pop("strides", DEFAULT_STRIDES)
        if anchor_generator:
            raise ValueError(f"YOLOV3Head: unknown anchor_generator keys "
                             f"{sorted(anchor_generator)}")
        featmap_strides = list(featmap_strides or strides)
        num_levels = len(in_channels)
        if not (len(out_channels) == len(base_sizes) == len(featmap_strides)
                == num_levels):
            raise ValueError(
                f"YOLOV3Head: in_channels, out_channels, anchor base_sizes and "
                f"strides need one entry per level ({num_levels})")
        num_anchors = {len(sizes) for sizes in base_sizes}
        if len(num_anchors) != 1:
            raise ValueError(f"YOLOV3Head: every level needs the same number "
                             f"of anchors, got {[len(s) for s in base_sizes]}")
        self.num_classes = num_classes
        self.num_anchors = num_anchors.pop()
        self.num_attrib = 5 + num_classes
        self.featmap_strides = [int(s) for s in featmap_strides]
        self.test_cfg = _merge_cfg(DEFAULT_TEST_CFG, test_cfg)
        for i, sizes in enumerate(base_sizes):
            self.register_buffer(
                f"anchor_sizes{i}",
                torch.tensor(sizes, dtype=torch.float32).reshape(-1, 2),
                persistent=False)
        self.convs_bridge = nn.ModuleList(
            ConvModule(c_in, c_out, 3)
            for c_in, c_out in zip(in_channels, out_channels))
        self.convs_pred = nn.ModuleList(
            nn.Conv2d(c_out, self.num_anchors * self.num_attrib, 1)
            for c_out in out_channels)

    @property
    def num_levels(self) -> int:
        return len(self.featmap_strides)

    def forward(self, feats: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        """Returns one prediction map per level, [N, A*(5+C), H_l, W_l]."""
        if len(feats) != self.num_levels:
            raise ValueError(f"YOLOV3Head expects {self.num_levels} feature "
                             f"maps, got {len(feats)}")
        return tuple(pred(bridge(x)) for x, bridge, pred in zip(
            feats, self.convs_bridge, self.convs_pred))

    def decode_level(self, pred_map: Tensor, level: int
                     ) -> Tuple[Tensor, Tensor, Tensor]:
        """Decodes one prediction map.

        Returns:
            boxes [N, H*W*A, 4] (x1, y1, x2, y2 in input pixels),
            objectness [N, H*W*A] and class probabilities
            [N, H*W*A, num_classes], ordered by row, column, anchor.
        """
        stride = float(self.featmap_strides[level])
        anchor_wh = getattr(self, f"anchor_sizes{level}").to(pred_map.dtype)
        # [N, A*(5+C), H, W] -> [N, H, W, A, 5+C]
        pred = pred_map.permute(0, 2, 3, 1)
        pred = pred.reshape(pred.shape[0], pred.shape[1], pred.shape[2],
                            self.num_anchors, self.num_attrib)
        # Cell offsets from the map itself: a cumulative sum of ones gives
        # 0..W-1 and 0..H-1 without reading sizes into Python.
        ones = torch.ones_like(pred[:1, :, :, :1, :1])
        grid_x = torch.cumsum(ones, dim=2) - 1
        grid_y = torch.cumsum(ones, dim=1) - 1
        grid = torch.cat([grid_x, grid_y], dim=-1)  # [1, H, W, 1, 2]
        centers = (grid + torch.sigmoid(pred[..., :2])) * stride
        wh = torch.exp(pred[..., 2:4]) * anchor_wh
        boxes = torch.cat([centers - wh / 2, centers + wh / 2], dim=-1)
        objectness = torch.sigmoid(pred[..., 4])
        cls_prob = torch.sigmoid(pred[..., 5:])
        return (boxes.flatten(1, 3), objectness.flatten(1, 3),
                cls_prob.flatten(1, 3))

    def get_bboxes(self, pred_maps: Sequence[Tensor],
                   img_metas: Optional[Sequence[Mapping[str, Any]]] = None,
                   cfg: Optional[Mapping[str, Any]] = None,
                   rescale: bool = False,
                   with_nms: bool = True) -> Tuple[Tensor, Tensor]:
        """Decodes the prediction maps into detections.

        Args:
            pred_maps: the output of :meth:`forward`, deepest level first.
            img_metas: per-image meta dicts; only read when ``rescale`` (for
                ``scale_factor``).
            cfg: post-processing settings overriding ``self.test_cfg``.
            rescale: divide the boxes by ``img_metas[0]['scale_factor']``.
            with_nms: apply NMS; when False, return the candidates instead.

        Returns:
            With NMS: ``dets`` [N, K, 5] and ``labels`` [N, K] from
            :func:`postprocess.multiclass_nms` (K = ``max_per_img``).
            Without: ``boxes`` [N, num_boxes, 4] and ``scores``
            [N, num_boxes, num_classes] (objectness times class
            probability, zero where the objectness is below ``conf_thr``).
        """
        if len(pred_maps) != self.num_levels:
            raise ValueError(f"YOLOV3Head.get_bboxes expects {self.num_levels}"
                             f" prediction maps, got {len(pred_maps)}")
        cfg = _merge_cfg(self.test_cfg, cfg)
        decoded = [self.decode_level(p, i) for i, p in enumerate(pred_maps)]
        boxes = torch.cat([d[0] for d in decoded], dim=1)
        objectness = torch.cat([d[1] for d in decoded], dim=1)
        cls_prob = torch.cat([d[2] for d in decoded], dim=1)

        confident = objectness >= float(cfg.get("conf_thr", 0.0))
        min_size = float(cfg.get("min_bbox_size", 0) or 0)
        if min_size > 0:
            w = boxes[..., 2] - boxes[..., 0]
            h = boxes[..., 3] - boxes[..., 1]
            confident = confident & (w > min_size) & (h > min_size)
        scores = cls_prob * (objectness * confident.to(objectness.dtype)
                             ).unsqueeze(-1)

        if rescale and img_metas:
            scale = img_metas[0].get("scale_factor")
            if scale is not None:
                scale = boxes.new_tensor(scale).reshape(-1)
                boxes = boxes / scale
        if not with_nms:
            return boxes, scores
        nms_cfg = cfg.get("nms") or {}
        return postprocess.multiclass_nms(
            boxes,
            scores,
            max_output_boxes_per_class=int(
                cfg.get("max_output_boxes_per_class", 200)),
            iou_threshold=float(nms_cfg.get("iou_threshold", 0.45)),
            score_threshold=float(cfg.get("score_thr", 0.05)),
            pre_top_k=int(cfg.get("nms_pre", -1)),
            keep_top_k=int(cfg.get("max_per_img", 100)))


def _merge_cfg(base: Mapping[str, Any],
               override: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """One-level-deep merge of plain settings dicts (for test_cfg)."""
    merged = {k: (dict(v) if isinstance(v, Mapping) else v)
              for k, v in base.items()}
    for key, value in (override or {}).items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key].update(value)
        else:
            merged[key] = value
    return merged


class BaseDetector(nn.Module):
    """Base of the detectors: ``forward`` runs inference only.

    ``forward`` is the method rewriters patch (mark ``detector_forward``); it
    calls ``self.simple_test``, which subclasses implement.
    """

    def extract_feat(self, img: Tensor) -> Tuple[Tensor, ...]:
        raise NotImplementedError

    def simple_test(self, img: Tensor,
                    img_metas: Optional[Sequence[Mapping[str, Any]]] = None,
                    **kwargs: Any) -> Tuple[Tensor, Tensor]:
        raise NotImplementedError

    def forward(self, img: Tensor,
                img_metas: Optional[Sequence[Mapping[str, Any]]] = None,
                return_loss: bool = False,
                **kwargs: Any) -> Tuple[Tensor, Tensor]:
        """Runs detection on a batch of images.

        Args:
            img: [N, 3, H, W] images, H and W multiples of the largest stride.
            img_metas: per-image meta dicts (optional; see ``get_bboxes``).
            return_loss: must be False; training is not supported.
            **kwargs: passed to :meth:`simple_test` (e.g. ``rescale``).

        Returns:
            ``dets`` [N, K, 5] and ``labels`` [N, K].

        Raises:
            NotImplementedError: ``return_loss=True``.
        """
        if isinstance(return_loss, Tensor):
            # torch.onnx.export passes omitted defaults as traced tensors.
            return_loss = False
        if return_loss:
            raise NotImplementedError(
                f"{type(self).__name__}: training (return_loss=True) is not "
                f"supported; this model is for export and inference")
        return self.simple_test(img, img_metas, **kwargs)


def _build_part(cfg: Union[Mapping[str, Any], nn.Module, None],
                default_type: type, role: str) -> nn.Module:
    """Builds a sub-module from ``dict(type=..., **kwargs)`` or passes an
    ``nn.Module`` through. ``type`` names a class of this module or a dotted
    path; it defaults to ``default_type``."""
    if isinstance(cfg, nn.Module):
        return cfg
    kwargs = dict(cfg or {})
    type_name = kwargs.pop("type", default_type.__name__)
    if isinstance(type_name, str):
        factory = globals().get(type_name) if "." not in type_name else None
        if factory is None:
            # deferred: only dotted sub-module types need the library's builder
            from mmdeploy_mark.models.builder import import_object
            factory = import_object(type_name, what=f"{role} type")
    else:
        factory = type_name
    module = factory(**kwargs)
    if not isinstance(module, nn.Module):
        raise TypeError(f"{role} type {type_name!r} built a "
                        f"{type(module).__name__}, not an nn.Module")
    return module


class SingleStageDetector(BaseDetector):
    """Backbone, optional neck and a dense head.

    Args:
        backbone, neck, bbox_head: ``dict(type=..., **kwargs)`` (a class of
            this module or a dotted path) or a built ``nn.Module``.
        test_cfg: post-processing settings, handed to the head.
        train_cfg, pretrained, init_cfg: accepted for mmdet-style configs;
            ignored.
    """

    default_backbone: type = Darknet
    default_neck: Optional[type] = YOLOV3Neck
    default_head: type = YOLOV3Head

    def __init__(self, backbone: Any = None, neck: Any = None,
                 bbox_head: Any = None,
                 train_cfg: Optional[Mapping[str, Any]] = None,
                 test_cfg: Optional[Mapping[str, Any]] = None,
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[Mapping[str, Any]] = None) -> None:
        super().__init__()
        del train_cfg, pretrained, init_cfg
        self.backbone = _build_part(backbone, self.default_backbone,
                                    "backbone")
        if neck is not None or self.default_neck is not None:
            self.neck = _build_part(neck, self.default_neck, "neck")
        else:
            self.neck = None
        if test_cfg is not None and not isinstance(bbox_head, nn.Module):
            bbox_head = dict(bbox_head or {}, test_cfg=test_cfg)
        self.bbox_head = _build_part(bbox_head, self.default_head,
                                     "bbox_head")

    def extract_feat(self, img: Tensor) -> Tuple[Tensor, ...]:
        feats = self.backbone(img)
        if self.neck is not None:
            feats = self.neck(feats)
        return feats

    def simple_test(self, img: Tensor,
                    img_metas: Optional[Sequence[Mapping[str, Any]]] = None,
                    rescale: bool = False,
                    **kwargs: Any) -> Tuple[Tensor, Tensor]:
        feats = self.extract_feat(img)
        pred_maps = self.bbox_head(feats)
        return self.bbox_head.get_bboxes(pred_maps, img_metas,
                                         rescale=rescale)


class YOLOV3(SingleStageDetector):
    """YOLOv3: Darknet backbone, YOLOV3Neck, YOLOV3Head.

    The defaults build the full Darknet-53 YOLOv3 for 80 classes; the model
    config ``configs/yolov3_d53_tiny.py`` builds a narrow variant.
    Weights are initialised so that random models give spread-out scores.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.init_weights()

    def init_weights(self) -> None:
        """He-normal convs, unit batch norms, low-prior prediction biases."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, a=0.1, mode="fan_in",
                                        nonlinearity="leaky_relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        head = self.bbox_head
        if isinstance(head, YOLOV3Head):
            # Halved weights and objectness/class biases of -1 (prior 0.27
            # each): a random model's scores then straddle the default score
            # threshold (0.05) with some spread, so its detections exercise
            # the whole post-processing instead of all scoring 0.25 or 0.
            for conv in head.convs_pred:
                conv.weight.data.mul_(0.5)
                bias = conv.bias.detach().view(head.num_anchors,
                                               head.num_attrib)
                bias[:, 4:] = -1.0
