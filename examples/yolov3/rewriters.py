"""Marks for the example detector, in the seed's style: each rewriter wraps
the original call in a function decorated with @mark.

Importing this module registers the rewriters; the example's model config
names it in ``custom_imports`` so that torch2onnx imports it before export.
The paths are strings, so this module does not import the model itself.
"""
from mmdeploy_mark import FUNCTION_REWRITER, mark


@mark('detector_forward', inputs=['input'], outputs=['dets', 'labels'])
def __forward_impl(self, img, img_metas=None, **kwargs):
    ctx = FUNCTION_REWRITER.get_context()
    return ctx.origin_func(self, img, img_metas, **kwargs)


@FUNCTION_REWRITER.register_rewriter(
    'examples.yolov3.model.BaseDetector.forward')
def base_detector__forward(self, img, img_metas=None, return_loss=False,
                           **kwargs):
    return __forward_impl(self, img, img_metas, **kwargs)


@FUNCTION_REWRITER.register_rewriter(
    'examples.yolov3.model.YOLOV3Head.get_bboxes')
def yolov3_head__get_bboxes(self, pred_maps, img_metas=None, cfg=None,
                            rescale=False, with_nms=True):
    ctx = FUNCTION_REWRITER.get_context()

    @mark('yolo_head', inputs=['pred_maps'])
    def __mark_pred_maps(pred_maps):
        return pred_maps

    pred_maps = __mark_pred_maps(list(pred_maps))
    return ctx.origin_func(self, pred_maps, img_metas, cfg, rescale, with_nms)


@FUNCTION_REWRITER.register_rewriter(
    'examples.yolov3.postprocess.multiclass_nms')
@mark('multiclass_nms', inputs=['boxes', 'scores'], outputs=['dets', 'labels'])
def multiclass_nms(boxes, scores, *args, **kwargs):
    ctx = FUNCTION_REWRITER.get_context()
    return ctx.origin_func(boxes, scores, *args, **kwargs)
