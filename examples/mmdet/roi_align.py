"""RoI Align that exports to ONNX's own RoiAlign with mmcv's exact semantics.

mmdet pools with mmcv's RoIAlign (``aligned=True``: pixel centres at +0.5,
no minimum RoI size). mmcv exports it as opset-10 RoiAlign with the boxes
shifted by half a pixel, which still clamps small RoIs to one pixel, so tiny
proposals pool differently in onnxruntime than in PyTorch. Opset 16 has the
exact mode (``coordinate_transformation_mode='half_pixel'``); this function
runs mmcv's kernel in PyTorch and exports that.
"""
import torch
from torch import Tensor

_ALIGNED_OPSET = 16


def _export_opset() -> int:
    from torch.onnx import _globals

    return int(_globals.GLOBALS.export_onnx_opset_version)


class _RoiAlign(torch.autograd.Function):

    @staticmethod
    def forward(ctx, feat: Tensor, rois: Tensor, height: int, width: int,
                spatial_scale: float, sampling_ratio: int, aligned: bool) -> Tensor:
        from mmcv.ops import roi_align

        return roi_align(feat, rois, (height, width), spatial_scale, sampling_ratio, 'avg',
                         aligned)

    @staticmethod
    def symbolic(g, feat, rois, height, width, spatial_scale, sampling_ratio, aligned):
        opset = _export_opset()
        if aligned and opset < _ALIGNED_OPSET:
            raise RuntimeError(
                f"RoI Align with aligned=True (mmdet's default) exports exactly only at "
                f"opset >= {_ALIGNED_OPSET}; this export uses opset {opset}: set "
                f"onnx_config.opset_version={_ALIGNED_OPSET} in the deploy config")
        first = g.op('Constant', value_t=torch.tensor(0, dtype=torch.long))
        corners = g.op('Constant', value_t=torch.tensor([1, 2, 3, 4], dtype=torch.long))
        batch_index = g.op('Cast', g.op('Gather', rois, first, axis_i=1), to_i=7)  # int64
        boxes = g.op('Gather', rois, corners, axis_i=1)
        extra = {}
        if opset >= _ALIGNED_OPSET:
            extra['coordinate_transformation_mode_s'] = (
                'half_pixel' if aligned else 'output_half_pixel')
        return g.op('RoiAlign', feat, boxes, batch_index, mode_s='avg',
                    output_height_i=height, output_width_i=width,
                    sampling_ratio_i=max(0, sampling_ratio),
                    spatial_scale_f=spatial_scale, **extra)


def onnx_roi_align(feat: Tensor, rois: Tensor, layer) -> Tensor:
    """Pools ``rois`` [K, 5] (image index, x1, y1, x2, y2) from ``feat`` with
    the settings of an mmcv ``RoIAlign`` layer -> [K, C, H, W]."""
    if getattr(layer, 'pool_mode', 'avg') != 'avg':
        raise ValueError("only mmcv RoIAlign with pool_mode='avg' is supported")
    height, width = layer.output_size
    return _RoiAlign.apply(feat, rois, int(height), int(width), float(layer.spatial_scale),
                           int(layer.sampling_ratio), bool(layer.aligned))
