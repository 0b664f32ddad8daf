"""torch2onnx: export with marks, partition as the deploy config says, verify.

One export produces the marked model (kept for re-partitioning); the
deployable full model is the marked model with its marks stripped, so both
describe exactly the same graph.
"""
from __future__ import annotations

import copy
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import onnx
import torch

from . import marker
from .config import (get_dynamic_axes, get_onnx_config, get_partition_config,
                     load_config, resolve_partition_cfg)
from .partition import extract_partitions, list_marks, strip_marks
from .rewriter import RewriterContext
from .export import export

LOG = logging.getLogger("mmdeploy_mark")
MARKED_SUFFIX = ".marked.onnx"


class VerificationError(RuntimeError):
    """A partition or the full model does not reproduce PyTorch."""


def make_input(img: str, shape_hw: Tuple[int, int], device: str) -> torch.Tensor:
    """The export input: ``'random'`` (seeded) or an image file (RGB, resized).

    Raises:
        FileNotFoundError: the image does not exist.
        ValueError: the image cannot be read.
    """
    height, width = shape_hw
    if img == "random":
        generator = torch.Generator().manual_seed(0)
        return torch.rand(1, 3, height, width, generator=generator).to(device)
    path = Path(img)
    if not path.is_file():
        raise FileNotFoundError(f"image '{img}' does not exist (or pass 'random')")
    try:
        from PIL import Image
    except ImportError as e:
        raise ValueError("reading images needs Pillow (apt-get install python3-pil); "
                         "or pass 'random'") from e
    try:
        image = Image.open(path).convert("RGB").resize((width, height))
    except OSError as e:
        raise ValueError(f"cannot read image '{img}': {e}") from e
    array = np.asarray(image, dtype=np.float32).transpose(2, 0, 1)[None] / 255.0
    return torch.from_numpy(array).to(device)


def _with_marks(deploy_cfg: Dict[str, Any]) -> Dict[str, Any]:
    cfg = copy.deepcopy(dict(deploy_cfg))
    partition = dict(cfg.get("partition_config") or {})
    partition["apply_marks"] = True
    cfg["partition_config"] = partition
    return cfg


def export_marked(model: torch.nn.Module, deploy_cfg: Dict[str, Any],
                  inputs: torch.Tensor, path: str, backend: str,
                  exporter: Optional[str] = None) -> Dict[str, Any]:
    """Exports ``model`` to ``path`` with Mark nodes, as onnx_config says;
    returns the exporter and opset used."""
    onnx_cfg = get_onnx_config(deploy_cfg)
    with RewriterContext(cfg=_with_marks(deploy_cfg), backend=backend), torch.no_grad():
        return export(
            model, inputs, path, exporter=exporter,
            export_params=onnx_cfg.get("export_params", True),
            keep_initializers_as_inputs=onnx_cfg.get("keep_initializers_as_inputs", False),
            opset_version=onnx_cfg.get("opset_version", 11),
            input_names=list(onnx_cfg.get("input_names") or ["input"]),
            output_names=list(onnx_cfg.get("output_names") or []),
            dynamic_axes=get_dynamic_axes(deploy_cfg))


def capture_marked_tensors(model: torch.nn.Module, deploy_cfg: Dict[str, Any],
                           inputs: torch.Tensor, backend: str
                           ) -> Tuple[Dict[Tuple[str, int, str, str], np.ndarray], List[np.ndarray]]:
    """Runs PyTorch once with the rewriters and records the tensor at every
    mark, keyed by (func, func_id, type, name); also returns the outputs."""
    captured: Dict[Tuple[str, int, str, str], np.ndarray] = {}
    original = marker.mark_tensor

    def recording(x, func, type, name, func_id=0, id=0, attrs="{}"):
        captured[(func, func_id, type, name)] = x.detach().cpu().numpy()
        return original(x, func, type, name, func_id, id, attrs)

    marker.mark_tensor = recording
    try:
        with RewriterContext(cfg=_with_marks(deploy_cfg), backend=backend), torch.no_grad():
            outputs = model(inputs)
    finally:
        marker.mark_tensor = original
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


def _canonical(marker_text: str) -> str:
    """'f:input' -> 'f[0]:input' (MarkInfo.marker's form)."""
    name, _, io_type = marker_text.rpartition(":")
    return marker_text if name.endswith("]") else f"{name}[0]:{io_type}"


def _selected(marks, markers: Sequence[str]):
    """Marks selected by markers, in marker order then graph order (the
    order of the partition's inputs and outputs)."""
    chosen = []
    for text in markers:
        wanted = _canonical(text)
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
        session = _session(path)
        starts = _selected(marks, _as_list(cfg["start"]))
        ends = _selected(marks, _as_list(cfg["end"]))
        start_values = {}
        for mark_info in starts:
            start_values.setdefault(mark_info.name, captured[(mark_info.func, mark_info.func_id,
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


def torch2onnx(deploy_cfg_path: str, model_cfg_path: str, checkpoint: Optional[str],
               img: str, work_dir: str, *, device: str = "cpu", partition: bool = False,
               verify_outputs: bool = False, visualize: bool = False,
               atol: float = 1e-4, rtol: float = 1e-3,
               exporter: Optional[str] = None) -> Dict[str, Any]:
    """Runs the whole job; returns the summary that is also written as JSON.

    Raises:
        FileNotFoundError, ValueError, TypeError: bad configs or arguments.
        mmdeploy_mark.PartitionError: a partition cannot be cut.
        VerificationError: ``verify_outputs`` and a comparison failed.
    """
    from .custom_imports import import_custom_modules
    from .models.builder import build_model

    timings: Dict[str, float] = {}
    started = time.perf_counter()
    deploy_cfg = load_config(deploy_cfg_path)
    model_cfg = load_config(model_cfg_path)
    # The configs' custom_imports register the rewriters (and define the
    # models) they need; the library registers none of its own.
    import_custom_modules(deploy_cfg)
    import_custom_modules(model_cfg)
    partition_cfgs: List[Dict[str, Any]] = []
    if partition:
        if get_partition_config(deploy_cfg) is None:
            raise ValueError(
                f"--partition: deploy config {deploy_cfg_path} has no partition_config; add "
                f"partition_config=dict(type=..., apply_marks=True, partition_cfg=[...])")
        partition_cfgs = resolve_partition_cfg(deploy_cfg)
    backend = (deploy_cfg.get("backend_config") or {}).get("type", "default")
    onnx_cfg = get_onnx_config(deploy_cfg)
    shape = onnx_cfg.get("input_shape") or model_cfg.get("img_scale") or (608, 608)
    width, height = int(shape[0]), int(shape[1])

    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    save_file = onnx_cfg.get("save_file", "end2end.onnx")
    full_path = str(work / save_file)
    marked_path = str(work / (Path(save_file).stem + MARKED_SUFFIX))

    model = build_model(model_cfg, checkpoint=checkpoint, device=device)
    inputs = make_input(img, (height, width), device)
    timings["build"] = time.perf_counter() - started

    t0 = time.perf_counter()
    tmp_marked = marked_path + f".tmp-{os.getpid()}"
    try:
        used = export_marked(model, deploy_cfg, inputs, tmp_marked, backend, exporter)
        stripped = strip_marks(tmp_marked)
        onnx.save(stripped, full_path + f".tmp-{os.getpid()}")
        os.replace(tmp_marked, marked_path)
        os.replace(full_path + f".tmp-{os.getpid()}", full_path)
    finally:
        for leftover in (tmp_marked, full_path + f".tmp-{os.getpid()}"):
            if os.path.exists(leftover):
                os.remove(leftover)
    timings["export"] = time.perf_counter() - t0
    LOG.info("exported %s and %s", marked_path, full_path)

    files: List[str] = []
    if partition_cfgs:
        t0 = time.perf_counter()
        files = extract_partitions(marked_path, partition_cfgs, str(work))
        timings["partition"] = time.perf_counter() - t0
        LOG.info("wrote partitions: %s", ", ".join(files))

    summary: Dict[str, Any] = {
        "deploy_cfg": str(deploy_cfg_path), "model_cfg": str(model_cfg_path),
        "checkpoint": checkpoint, "input_shape": list(inputs.shape),
        "torch_version": torch.__version__, "exporter": used["exporter"],
        "opset_version": used["opset_version"],
        "full_model": _describe(full_path), "marked_model": marked_path,
        "markers": sorted({m.marker for m in list_marks(marked_path)}),
        "partitions": [dict(_describe(f), start=_as_list(c["start"]), end=_as_list(c["end"]))
                       for f, c in zip(files, partition_cfgs)],
    }
    if visualize:
        from .visualize import render_partitions

        t0 = time.perf_counter()
        summary["visualization"] = render_partitions(marked_path, files,
                                                     str(work / "partitions.svg"))
        timings["visualize"] = time.perf_counter() - t0
    if verify_outputs:
        t0 = time.perf_counter()
        captured, torch_outputs = capture_marked_tensors(model, deploy_cfg, inputs, backend)
        report = verify(marked_path, full_path, files, partition_cfgs, inputs, captured,
                        torch_outputs, atol=atol, rtol=rtol)
        timings["verify"] = time.perf_counter() - t0
        summary["verification"] = {"ok": report.ok, "atol": atol, "rtol": rtol,
                                   "rows": [r.__dict__ for r in report.rows]}
        summary["verification_table"] = report.table()
    summary["timings_s"] = {k: round(v, 3) for k, v in timings.items()}
    (work / "summary.json").write_text(json.dumps(
        {k: v for k, v in summary.items() if k != "verification_table"}, indent=2))
    if verify_outputs and not summary["verification"]["ok"]:
        raise VerificationError("verification failed:\n" + summary["verification_table"])
    return summary


def _describe(path: str) -> Dict[str, Any]:
    model = onnx.load(path, load_external_data=False)

    def io(values):
        return [{"name": v.name, "shape": [d.dim_value if d.HasField("dim_value") else d.dim_param
                                           for d in v.type.tensor_type.shape.dim]} for v in values]

    inits = {i.name for i in model.graph.initializer}
    return {"file": path, "inputs": io([i for i in model.graph.input if i.name not in inits]),
            "outputs": io(model.graph.output), "nodes": len(model.graph.node)}
