"""torch2onnx: export with marks, partition as the deploy config says, verify.

One export produces the marked model (kept for re-partitioning); the
deployable full model is the marked model with its marks stripped, so both
describe exactly the same graph.
"""
from __future__ import annotations

import contextlib
import copy
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import onnx
import torch

from .config import load_config
from .deploy_config import DeployConfig
from ._partition import canonical_marker
from .partition import extract_partitions, list_marks, strip_marks
from .rewriter import RewriterContext
from .scope import observing_marks
from .staging import StagedOutputs, earlier_outputs
from .export import export
from .output_check import check_model_files
from .preprocess import MissingDependencyError, UnreadableInputError, make_input

__all__ = ["EnvironmentError_", "UnreadableInputError", "VerificationError", "make_input",
           "torch2onnx", "verify"]

LOG = logging.getLogger("mmdeploy_mark")
MARKED_SUFFIX = ".marked.onnx"


# The names torch2onnx's callers catch; the rules live in preprocess.py.
EnvironmentError_ = MissingDependencyError


class VerificationError(RuntimeError):
    """A partition or the full model does not reproduce PyTorch."""


def _with_apply_marks(deploy_cfg: Dict[str, Any], apply_marks: bool) -> Dict[str, Any]:
    cfg = copy.deepcopy(dict(deploy_cfg))
    partition = dict(cfg.get("partition_config") or {})
    partition["apply_marks"] = apply_marks
    cfg["partition_config"] = partition
    return cfg


def export_marked(model: torch.nn.Module, deploy: DeployConfig, inputs: torch.Tensor,
                  path: str, exporter: Optional[str] = None,
                  with_marks: bool = True) -> Dict[str, Any]:
    """Exports ``model`` to ``path`` as the deploy config's onnx_config says,
    inside its RewriterContext, with or without Mark nodes; returns the
    exporter and opset used."""
    onnx_cfg = deploy.onnx
    with _rewriter_context(deploy, with_marks), torch.no_grad():
        return export(
            model, inputs, path, exporter=exporter,
            export_params=onnx_cfg.export_params,
            keep_initializers_as_inputs=onnx_cfg.keep_initializers_as_inputs,
            opset_version=onnx_cfg.opset_version,
            input_names=onnx_cfg.input_names, output_names=onnx_cfg.output_names,
            dynamic_axes=onnx_cfg.dynamic_axes)


def _rewriter_context(deploy: DeployConfig, with_marks: bool) -> RewriterContext:
    """The deploy config's RewriterContext, marks applied or not."""
    return RewriterContext(cfg=_with_apply_marks(deploy.raw, with_marks),
                           backend=deploy.backend)


def capture_marked_tensors(model: torch.nn.Module, deploy: DeployConfig,
                           inputs: torch.Tensor
                           ) -> Tuple[Dict[Tuple[str, int, str, str], np.ndarray], List[np.ndarray]]:
    """Runs PyTorch once with the rewriters and records the tensor at every
    mark, keyed by (func, func_id, type, name); also returns the outputs."""
    captured: Dict[Tuple[str, int, str, str], np.ndarray] = {}

    def keep(key, x):
        # Copied when marked: an in-place op later in the model must not
        # change what the partitions are compared with.
        captured[key] = x.detach().cpu().numpy().copy()

    with observing_marks(keep), _rewriter_context(deploy, True), torch.no_grad():
        outputs = model(inputs)
    flat = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    return captured, [o.detach().cpu().numpy() for o in flat]


@dataclass
class Comparison:
    where: str
    tensor: str
    max_abs_error: float
    ok: bool


@dataclass
class Verification:
    rows: List[Comparison] = field(default_factory=list)

    def add(self, where: str, tensor: str, got: np.ndarray, expected: np.ndarray,
            atol: float, rtol: float) -> None:
        if got.shape != expected.shape:
            self.rows.append(Comparison(where, f"{tensor} shape {got.shape} != {expected.shape}",
                                        float("inf"), False))
            return
        # Relative to the tensor's scale, not element-wise: box coordinates
        # near 0 computed from values in the thousands carry float32
        # cancellation error that element-wise rtol would flag.
        diff = np.abs(got.astype(np.float64) - expected)
        err = float(diff.max()) if got.size else 0.0
        scale = float(np.abs(expected).max()) if expected.size else 0.0
        ok = bool(np.isfinite(err) and err <= atol + rtol * scale)
        self.rows.append(Comparison(where, tensor, err, ok))

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows)

    def table(self) -> str:
        width = max([len(r.where) + len(r.tensor) + 3 for r in self.rows] + [20])
        lines = [f"{'model : tensor':<{width}} {'max abs err':>12}  result"]
        for r in self.rows:
            lines.append(f"{r.where + ' : ' + r.tensor:<{width}} {r.max_abs_error:>12.3e}  "
                         f"{'ok' if r.ok else 'FAIL'}")
        return "\n".join(lines)


def _session(path: str):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def _selected(marks, markers: Sequence[str]):
    """Marks selected by markers, in marker order then graph order (the
    order of the partition's inputs and outputs)."""
    chosen = []
    for text in markers:
        wanted = canonical_marker(text)
        chosen += [m for m in marks if m.marker == wanted]
    return chosen


def verify(marked_path: str, full_path: str, partition_files: List[str],
           partition_cfgs: List[Dict[str, Any]], inputs: torch.Tensor,
           captured: Dict, torch_outputs: List[np.ndarray],
           atol: float = 1e-4, rtol: float = 1e-3) -> Verification:
    """Compares, in onnxruntime: the full model with PyTorch; each partition
    run on the PyTorch tensors at its start marks with the PyTorch tensors at
    its end marks; and the partitions chained (each fed by the outputs of the
    ones before it where names match) with the same tensors."""
    result = Verification()
    feed = inputs.detach().cpu().numpy()
    full = _session(full_path)
    full_outputs = full.run(None, {full.get_inputs()[0].name: feed})
    for out, got, expected in zip(full.get_outputs(), full_outputs, torch_outputs):
        result.add(Path(full_path).name, out.name, got, expected, atol, rtol)

    marks = list_marks(marked_path)
    chained: Dict[str, np.ndarray] = {full.get_inputs()[0].name: feed}
    for path, cfg in zip(partition_files, partition_cfgs):
        if cfg.get("inputs") or cfg.get("outputs"):
            # PyTorch does not see the tensors of an ONNX graph by name.
            LOG.warning("%s: not verified: its boundaries include tensor names "
                        "(inputs/outputs), which have no PyTorch tensor to compare "
                        "with; cut at marks to verify it", Path(path).name)
            continue
        session = _session(path)
        starts = _selected(marks, _as_list(cfg["start"]))
        ends = _selected(marks, _as_list(cfg["end"]))
        start_values = {}
        renamed = cfg.get("start_name_map") or {}
        for mark_info in starts:
            start_values.setdefault(renamed.get(mark_info.name, mark_info.name),
                                    captured[(mark_info.func, mark_info.func_id,
                                              mark_info.type, mark_info.name)])
        names = [i.name for i in session.get_inputs()]
        boundary_feed = {n: start_values[n] for n in names if n in start_values}
        missing = [n for n in names if n not in boundary_feed]
        if missing:
            raise VerificationError(f"{Path(path).name}: no PyTorch tensor for inputs {missing}")
        boundary = session.run(None, boundary_feed)
        chain = session.run(None, {n: chained.get(n, boundary_feed[n]) for n in names})
        for out, got, got_chained, mark_info in zip(session.get_outputs(), boundary, chain, ends):
            expected = captured[(mark_info.func, mark_info.func_id, mark_info.type, mark_info.name)]
            result.add(Path(path).name, out.name, got, expected, atol, rtol)
            result.add(Path(path).name + " (chained)", out.name, got_chained, expected, atol, rtol)
            chained[out.name] = got_chained
    return result


def _as_list(value: Any) -> List[str]:
    return [value] if isinstance(value, str) else list(value)


@contextlib.contextmanager
def _stage(name: str, timings: Dict[str, float]) -> Iterator[None]:
    """Logs a stage as it starts and how long it took."""
    LOG.info("%s ...", name)
    started = time.perf_counter()
    yield
    timings[name] = time.perf_counter() - started
    LOG.info("%s: done in %.2f s", name, timings[name])


def _check_device(device: str) -> None:
    try:
        parsed = torch.device(device)
    except RuntimeError as e:
        raise ValueError(f"--device '{device}' is not a torch device: {e}") from e
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise EnvironmentError_(
            f"--device {device}: this machine has no CUDA device (or this torch "
            f"{torch.__version__} is built without CUDA); use --device cpu")


def _wants_partitions(deploy: DeployConfig, partition: Optional[bool]) -> bool:
    """mmdeploy's rule: a deploy config with a partition_config whose
    apply_marks is True gets its partitions cut. ``partition`` True demands
    them, False turns cutting off, None follows the config."""
    if partition is False:
        return False
    if deploy.partition is None:
        if partition:
            raise ValueError(
                f"--partition: {deploy.where()} has no partition_config; add "
                f"partition_config=dict(type=..., apply_marks=True, partition_cfg=[...])")
        return False
    if not deploy.partition.apply_marks:
        LOG.warning(
            "%s: partition_config.apply_marks is not True, so the model is exported "
            "without marks and no partition is cut; set apply_marks=True to cut them",
            deploy.where())
        if partition:
            raise ValueError(
                f"--partition: {deploy.where()} sets partition_config.apply_marks=False; "
                f"set it to True to cut partitions")
        return False
    if not deploy.partition.partitions:
        raise ValueError(
            f"{deploy.where()}: partition_config has neither partition_cfg nor type; give "
            f"partition_cfg=[...] or a predefined type")
    return True


def _check_output_names(model, deploy: DeployConfig, inputs, with_marks: bool) -> None:
    """onnx_config.output_names may not name more outputs than the model has."""
    names = deploy.onnx.output_names
    if not names:
        return
    with _rewriter_context(deploy, with_marks), torch.no_grad():
        outputs = model(inputs)
    count = len(outputs) if isinstance(outputs, (list, tuple)) else 1
    if len(names) > count:
        raise ValueError(
            f"{deploy.where()}: onnx_config.output_names names {len(names)} outputs "
            f"({', '.join(names)}) but the model returns {count}; remove the extra names")


def torch2onnx(deploy_cfg_path: str, model_cfg_path: str, checkpoint: Optional[str],
               img: str, work_dir: str, *, device: str = "cpu",
               partition: Optional[bool] = None,
               verify_outputs: bool = False, visualize: Union[bool, str] = False,
               atol: float = 1e-4, rtol: float = 1e-3,
               exporter: Optional[str] = None, clean: bool = False,
               command: Optional[str] = None, calib_file: Optional[str] = None,
               calib_images: Optional[str] = None,
               calib_samples: Optional[int] = None) -> Dict[str, Any]:
    """Runs the whole job; returns the summary that is also written as JSON.

    Every output is written to a staging directory and published into
    ``work_dir`` together at the end: a failed or interrupted run leaves the
    work dir as it was. A verification failure still publishes (the files
    are what the table describes) and then raises.

    Args:
        partition: True demands the deploy config's partitions, False skips
            them, None cuts them when the config has a partition_config with
            apply_marks=True (mmdeploy's behaviour).
        visualize: also write partitions.svg: True or "map" the partition
            map (also inline in report.html, which is always written),
            "full" every node (needs Graphviz's dot).
        clean: remove files of an earlier run that this run does not rewrite
            (otherwise they are reported in the summary and the log).
        command: the command line, recorded in the summary.
        calib_file: write calibration data (HDF5, mmdeploy's layout) for every
            partition's inputs and the full model's, from every image of
            ``calib_images`` or ``calib_samples`` seeded random inputs; see
            :mod:`mmdeploy_mark.calibration`. Published with the other outputs.

    Raises:
        FileNotFoundError, ValueError, TypeError: bad configs or arguments.
        NotADirectoryError: work_dir is a file.
        mmdeploy_mark.PartitionError: a partition cannot be cut.
        VerificationError: ``verify_outputs`` and a comparison failed.
        CalibrationError: a partition input gets no tensor, or not one per sample.
    """
    from .calibration.request import CalibrationRequest
    from .custom_imports import import_custom_modules
    from .checkpoints import resolve_checkpoint
    from .models.builder import build_model
    from .models.openmmlab import image_preprocess, openmmlab_scope, settle_batchnorm

    timings: Dict[str, float] = {}
    _check_device(device)
    calib = CalibrationRequest.from_args(calib_file, calib_images, calib_samples)
    with _stage("load", timings):
        deploy = DeployConfig.load(deploy_cfg_path)
        model_cfg = load_config(model_cfg_path)
        # The configs' custom_imports register the rewriters (and define the
        # models) they need; the library registers none of its own.
        import_custom_modules(deploy.raw)
        import_custom_modules(model_cfg)
        cut = _wants_partitions(deploy, partition)
        # Marks as the config says; without a partition_config they are on, so
        # that the marked model can be cut later.
        with_marks = deploy.partition is None or deploy.partition.apply_marks
        partition_cfgs = deploy.partition.partitions if cut else []
        shape = deploy.onnx.input_shape or model_cfg.get("img_scale") or (608, 608)
        width, height = int(shape[0]), int(shape[1])
        local_checkpoint = resolve_checkpoint(checkpoint)
        model = build_model(model_cfg, checkpoint=local_checkpoint, device=device)
        preprocess = image_preprocess(model_cfg)
        inputs = make_input(img, (height, width), device, preprocess)
        if local_checkpoint is None and openmmlab_scope(model_cfg) is not None:
            with _rewriter_context(deploy, False):
                count = settle_batchnorm(model, lambda: model(inputs))
            LOG.info("random weights: the statistics of %d BatchNorm layers are measured "
                     "on the export input (a checkpoint brings its own)", count)
        _check_output_names(model, deploy, inputs, with_marks)

    save_file = deploy.onnx.save_file
    marked_name = Path(save_file).stem + MARKED_SUFFIX
    if calib is not None:
        calib.check_before_run(work_dir, [save_file, marked_name, "summary.json",
                                          "partitions.svg", "report.html",
                                          *(c["save_file"] for c in partition_cfgs)],
                               partition_cfgs)
    with StagedOutputs(work_dir) as staged:
        full_path = staged.path(save_file)
        marked_path = staged.path(marked_name) if with_marks else full_path
        with _stage("export", timings):
            used = export_marked(model, deploy, inputs, marked_path, exporter, with_marks)
        if with_marks:
            with _stage("strip", timings):
                onnx.save(strip_marks(marked_path), full_path)
        files: List[str] = []
        if partition_cfgs:
            with _stage("cut", timings):
                files = extract_partitions(marked_path, partition_cfgs, str(staged.dir))
            LOG.info("partitions: %s", ", ".join(os.path.relpath(f, staged.dir) for f in files))
        # Nothing is published that the ONNX checker rejects (full check).
        with _stage("check", timings):
            models = list(dict.fromkeys([marked_path, full_path, *files]))
            check_model_files(models, [os.path.relpath(m, staged.dir) for m in models])
        summary: Dict[str, Any] = {
            "command": command, "deploy_cfg": str(deploy_cfg_path),
            "model_cfg": str(model_cfg_path), "checkpoint": checkpoint,
            "checkpoint_file": local_checkpoint,
            "input_shape": list(inputs.shape), "torch_version": torch.__version__,
            "exporter": used["exporter"], "opset_version": used["opset_version"],
            "full_model": _describe(full_path, save_file),
            "marked_model": marked_name if with_marks else None,
            "markers": sorted({m.marker for m in list_marks(marked_path)}) if with_marks else [],
            "partitions": [dict(_describe(f, os.path.relpath(f, staged.dir)),
                                start=_as_list(c["start"]),
                                end=_as_list(c["end"]))
                           for f, c in zip(files, partition_cfgs)],
        }
        calibration = None
        if calib is not None:
            with _stage("calibrate", timings):
                calibration = calib.run(model, deploy, inputs.shape, device, preprocess,
                                        staged, work_dir,
                                        partition_cfgs, files, keep_references=verify_outputs)
            summary["calibration"] = dict(calibration.summary(), file=calib.file,
                                          source=calib.describe_source())
        if visualize:
            from .visualize import draw

            with _stage("visualize", timings):
                draw(visualize, marked_path, files, staged.path("partitions.svg"),
                     names=[p["file"] for p in summary["partitions"]])
            summary["visualization"] = "partitions.svg"
        if verify_outputs:
            with _stage("verify", timings):
                captured, torch_outputs = capture_marked_tensors(model, deploy, inputs)
                report = verify(marked_path, full_path, files, partition_cfgs, inputs,
                                captured, torch_outputs, atol=atol, rtol=rtol)
                if calibration is not None:
                    from .calibration import verify_calibration

                    verify_calibration(calibration.path, marked_path, files, partition_cfgs,
                                       calibration.references, full_model=full_path,
                                       atol=atol, rtol=rtol, into=report)
            summary["verification"] = {"ok": report.ok, "atol": atol, "rtol": rtol,
                                       "rows": [r.__dict__ for r in report.rows]}
            summary["verification_table"] = report.table()
        with _stage("report", timings):
            from .report import write_run_report

            summary["report"] = write_run_report(staged, summary, marked_path, files)
        summary["timings_s"] = {k: round(v, 3) for k, v in timings.items()}
        written = staged.staged_files() + ["summary.json"]
        earlier = earlier_outputs(work_dir, written)
        summary["files"] = {name: os.path.getsize(staged.path(name))
                            for name in staged.staged_files()}
        summary["earlier_files"] = [] if clean else earlier
        Path(staged.path("summary.json")).write_text(json.dumps(
            {k: v for k, v in summary.items() if k != "verification_table"}, indent=2))
        staged.publish()
    if earlier and clean:
        for name in earlier:
            (Path(work_dir) / name).unlink()
        LOG.info("removed %d file(s) of an earlier run: %s", len(earlier), ", ".join(earlier))
    elif earlier:
        LOG.warning("%s also holds %d file(s) this run did not write (an earlier run's?): "
                    "%s; --clean removes them", work_dir, len(earlier), ", ".join(earlier))
    summary["work_dir"] = str(work_dir)
    if verify_outputs and not summary["verification"]["ok"]:
        raise VerificationError("verification failed:\n" + summary["verification_table"])
    return summary


def _describe(path: str, name: str) -> Dict[str, Any]:
    model = onnx.load(path, load_external_data=False)

    def io(values):
        return [{"name": v.name, "shape": [d.dim_value if d.HasField("dim_value") else d.dim_param
                                           for d in v.type.tensor_type.shape.dim]} for v in values]

    inits = {i.name for i in model.graph.initializer}
    return {"file": name, "inputs": io([i for i in model.graph.input if i.name not in inits]),
            "outputs": io(model.graph.output), "nodes": len(model.graph.node)}
