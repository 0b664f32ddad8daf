"""A small two-partition network for the calibration tests, marked by
rewriters as a user's project would be (deploy configs import this module
through custom_imports).

Partition 0 is the backbone (net_forward:input -> backbone:output), partition 1
the head (backbone:output -> net_forward:output); the backbone's outputs are
two float maps and an int64 map, so partition 1's inputs have two dtypes. The
network is fully convolutional: any batch, any even height and width.
"""
import torch
import torch.nn.functional as F
from torch import nn

from mmdeploy_mark import FUNCTION_REWRITER, mark, mark_tensor


class Backbone(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, x):
        y = torch.relu(self.conv(x))
        feat = F.max_pool2d(y, 2)
        return feat, F.avg_pool2d(y, 2), feat.argmax(dim=1)


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.cls = nn.Conv2d(8, 2, 1)
        self.reg = nn.Conv2d(8, 4, 1)

    def forward(self, feat, low, index):
        scores = torch.sigmoid(self.cls(feat))
        return scores, self.reg(low) + index.unsqueeze(1).to(low.dtype)


@mark("refine", outputs="refined")
def refine(feat):
    return feat * 0.5


class CalibNet(nn.Module):
    """``quirk`` puts a mark where calibration cannot use it: 'branch' runs
    refine only for inputs wider than 32, 'twice' marks one key twice per run."""

    def __init__(self, quirk=None):
        super().__init__()
        self.backbone = Backbone()
        self.head = Head()
        self.quirk = quirk

    def forward(self, x):
        feat, low, index = self.backbone(x)
        if self.quirk == "branch" and x.shape[-1] > 32:
            feat = refine(feat)
        if self.quirk == "twice":
            for _ in range(2):
                feat = mark_tensor(feat, "refine", "output", "refined", func_id=0)
        return self.head(feat, low, index)


@mark("net_forward", inputs=["input"], outputs=["scores", "boxes"])
def _net_forward(self, x):
    return FUNCTION_REWRITER.get_context().origin_func(self, x)


@FUNCTION_REWRITER.register_rewriter("calib_net.CalibNet.forward")
def calib_net__forward(self, x):
    return _net_forward(self, x)


@FUNCTION_REWRITER.register_rewriter("calib_net.Backbone.forward")
@mark("backbone", outputs=["feat", "low", "index"])
def backbone__forward(self, x):
    return FUNCTION_REWRITER.get_context().origin_func(self, x)


def deploy_config_text(extra: str = "") -> str:
    """The deploy config of the two partitions, dynamic in batch, height and
    width (exported at 32x32), plus ``extra`` lines."""
    return f"""\
custom_imports = dict(imports=['calib_net'], allow_failed_imports=False)
onnx_config = dict(type='onnx', save_file='end2end.onnx', opset_version=11,
                   input_names=['input'], output_names=['scores', 'boxes'],
                   input_shape=[32, 32],
                   dynamic_axes={{name: {{0: 'batch', 2: f'{{name}}_h', 3: f'{{name}}_w'}}
                                 for name in ('input', 'scores', 'boxes')}})
codebase_config = dict(type='mmdet', task='ObjectDetection')
backend_config = dict(type='onnxruntime')
partition_config = dict(
    type='calib_net', apply_marks=True,
    partition_cfg=[
        dict(save_file='backbone.onnx', start=['net_forward:input'], end=['backbone:output'],
             dynamic_axes={{'input': [0, 2, 3], 'feat': [0, 2, 3], 'low': [0, 2, 3],
                           'index': [0, 1, 2]}}),
        dict(save_file='head.onnx', start=['backbone:output'], end=['net_forward:output'],
             start_name_map={{'feat': 'features'}},
             dynamic_axes={{'features': [0, 2, 3], 'low': [0, 2, 3], 'index': [0, 1, 2],
                           'scores': [0, 2, 3], 'boxes': [0, 2, 3]}}),
    ])
{extra}"""


MODEL_CONFIG = """\
custom_imports = dict(imports=['calib_net'], allow_failed_imports=False)
model = dict(type='calib_net.CalibNet')
"""
