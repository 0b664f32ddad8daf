import torch
from torch import nn


class YOLOV3Head(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(channels, 6, 1) for _ in range(3))

    def forward(self, feat):
        return [conv(feat[..., ::2 ** i, ::2 ** i]) for i, conv in enumerate(self.convs)]

    def get_bboxes(self, pred_maps, img_metas, cfg=None, rescale=False, with_nms=True):
        flat = [m.flatten(2).transpose(1, 2) for m in pred_maps]
        preds = torch.cat(flat, dim=1)
        return preds[..., :5].sigmoid(), preds[..., 5].round()
