"""Cut ONNX models exported with ``mmdeploy::Mark`` nodes at their marks.

The work is done by the C++ partition pass (``mmdeploy_mark._partition``);
models cross into it as serialized bytes or file paths. A marker selects the
Mark nodes of one marked function: ``"func:type"`` or ``"func[func_id]:type"``
(func_id 0 when omitted), e.g. ``"detector_forward:input"`` or
``"yolo_head[0]:input"``.

Example::

    from mmdeploy_mark.partition import extract_partition, list_marks

    for info in list_marks("end2end_marked.onnx"):
        print(info.marker, info.name, info.shape)
    backbone = extract_partition(
        "end2end_marked.onnx", "detector_forward:input", "yolo_head:input",
        save_file="yolov3.onnx")
"""
from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import onnx

try:
    from . import _partition
except ImportError as e:  # pragma: no cover - depends on the build
    raise ImportError(
        "mmdeploy_mark.partition: the compiled module mmdeploy_mark._partition "
        f"is missing or cannot be loaded ({e}); build it with: "
        "bash scripts/setup.sh") from e

__all__ = [
    "MalformedModelError",
    "MarkInfo",
    "MarkerNotFoundError",
    "PartitionError",
    "PartitionSpecError",
    "PartitionSpecTypeError",
    "TensorNotFoundError",
    "UncoveredTensorError",
    "extract_model",
    "extract_partition",
    "extract_partitions",
    "list_marks",
    "strip_marks",
]

#: Base of the pass's errors; a subclass of ValueError.
PartitionError = _partition.PartitionError
#: A marker is malformed or selects no Mark node (the message lists the
#: model's markers).
MarkerNotFoundError = _partition.MarkerNotFoundError
#: A tensor name (``inputs``/``outputs``) names no tensor of the model's
#: main graph; a subclass of MarkerNotFoundError (exit code 4 in the tools).
TensorNotFoundError = _partition.TensorNotFoundError
#: An output needs a tensor the start marks do not cover (the message names
#: it); ``expose_uncovered_inputs=True`` makes such tensors extra inputs.
UncoveredTensorError = _partition.UncoveredTensorError
#: The model file or bytes cannot be parsed, or the graph is inconsistent.
MalformedModelError = _partition.MalformedModelError
#: A partition spec breaks a rule of its own (an unknown or missing key, an
#: invalid value), seen before any model; the message names the place, e.g.
#: ``partition_cfg[1].start[0]``. A PartitionError.
PartitionSpecError = _partition.PartitionSpecError
#: A value of a partition spec has the wrong type: a PartitionSpecError and
#: a TypeError.
PartitionSpecTypeError = _partition.PartitionSpecTypeError

# The classes are created by the binding; let them present (and pickle) as
# members of this module, where users find them.
for _error in (PartitionError, MarkerNotFoundError, TensorNotFoundError,
               UncoveredTensorError, MalformedModelError, PartitionSpecError,
               PartitionSpecTypeError):
    _error.__module__ = __name__
del _error

PathLike = Union[str, "os.PathLike[str]"]
ModelLike = Union[str, "os.PathLike[str]", onnx.ModelProto]
Markers = Union[str, Sequence[str]]
DynamicAxes = Mapping[str, Union[Mapping[int, str], Sequence[int]]]


@dataclass(frozen=True)
class MarkInfo:
    """One ``mmdeploy::Mark`` node of a model.

    Attributes:
        func: Name of the marked function, e.g. ``"detector_forward"``.
        func_id: Index of the call of ``func`` (0 for the first call).
        type: ``"input"`` or ``"output"``.
        name: Name of the marked tensor, e.g. ``"pred_maps.0"``; becomes the
            partition's input or output name.
        id: Index of the tensor among the function's inputs or outputs.
        dtype: ONNX element type (``onnx.TensorProto.DataType`` value).
        shape: Shape recorded at export.
        input: Name of the tensor entering the Mark node.
        output: Name of the tensor leaving the Mark node.
        node_name: Name of the Mark node itself (may be empty).
    """

    func: str
    func_id: int
    type: str
    name: str
    id: int
    dtype: int
    shape: Tuple[int, ...]
    input: str
    output: str
    node_name: str = ""

    @property
    def marker(self) -> str:
        """The canonical marker selecting this mark: ``"func[func_id]:type"``,
        with a backslash before each ``,:[]\\`` of func (``"a\\,b[0]:input"``
        selects function ``"a,b"``)."""
        func = "".join("\\" + c if c in "\\,:[]" else c for c in self.func)
        return f"{func}[{self.func_id}]:{self.type}"


def _model_arg(model: Any) -> Union[str, bytes]:
    """A model argument as the binding takes it: a checked path or bytes.

    Raises:
        FileNotFoundError: ``model`` is a path that does not exist.
        TypeError: ``model`` is neither a path nor an onnx.ModelProto.
    """
    if isinstance(model, onnx.ModelProto):
        return model.SerializeToString()
    if isinstance(model, (str, os.PathLike)):
        path = os.fspath(model)
        if isinstance(path, str):
            if not os.path.exists(path):
                raise FileNotFoundError(errno.ENOENT,
                                        "model file does not exist", path)
            return path
    raise TypeError("model: expected a path (str or os.PathLike) or an "
                    f"onnx.ModelProto, got {type(model).__name__}")


def _check_markers(value: Any, argument: str) -> None:
    if isinstance(value, str):
        return
    if isinstance(value, (list, tuple)) and all(
            isinstance(item, str) for item in value):
        return
    raise TypeError(f"{argument}: expected a marker string 'func:type' or "
                    f"a list of them, got {value!r}")


def _load_written(path: PathLike) -> onnx.ModelProto:
    """A model the pass wrote: weights stored in a data file of its own
    (large models, and models whose input used external data) stay there;
    onnx.load_external_data_for_model(model, dirname) loads them."""
    return onnx.load(os.fspath(path), load_external_data=False)


def _load(blob: bytes) -> onnx.ModelProto:
    return onnx.ModelProto.FromString(blob)


def _check_tensors(value: Any, argument: str) -> Optional[List[str]]:
    if value is None:
        return None
    if isinstance(value, (list, tuple)) and all(
            isinstance(item, str) for item in value):
        return list(value)
    raise TypeError(f"{argument}: expected a list of tensor names, got "
                    f"{value!r}")


def extract_partition(model: ModelLike,
                      start_marker: Markers = (),
                      end_marker: Markers = (),
                      start_name_map: Optional[Mapping[str, str]] = None,
                      end_name_map: Optional[Mapping[str, str]] = None,
                      dynamic_axes: Optional[DynamicAxes] = None,
                      save_file: Optional[PathLike] = None,
                      *,
                      output_names: Optional[Sequence[str]] = None,
                      inputs: Optional[Sequence[str]] = None,
                      outputs: Optional[Sequence[str]] = None,
                      expose_uncovered_inputs: bool = False,
                      infer_shapes: bool = True) -> onnx.ModelProto:
    """Extracts the part of a model between start and end markers, or
    between tensors given by name (any ONNX model, marks or not), or both.

    Same signature and behaviour as mmdeploy's ``extract_partition``: the
    tensor entering each Mark selected by ``start_marker`` becomes an input
    named by the mark's ``name``; the tensor leaving each Mark selected by
    ``end_marker`` becomes an output named likewise. The partition holds
    exactly the nodes needed between them (original order), the initializers
    they use, and no Mark node.

    Args:
        model: Path of a marked ONNX file, or an ``onnx.ModelProto`` (not
            modified).
        start_marker: Marker ``"func:type"`` / ``"func[id]:type"``, or a list
            of markers, whose marks become the inputs. An empty list stands
            for the graph's own inputs.
        end_marker: Marker or list of markers whose marks become the outputs;
            an empty list stands for the graph's own outputs.
        start_name_map: Renames inputs; keys are mark names or
            ``"<marker>:<name>"``.
        end_name_map: Renames outputs, keyed likewise.
        dynamic_axes: ``{tensor: {axis: dim_name}}`` (or ``{tensor: [axis,
            ...]}``, naming each dim ``"<tensor>_dim_<axis>"``) for inputs
            and outputs, by their final names.
        save_file: If given, the partition is written there instead of
            being returned with its weights (through a temporary file;
            nothing is written on failure). Weights are copied file to file
            and never enter Python; they go to ``<save_file>.data`` when the
            input stored them externally or they exceed 2 GiB.
        output_names: Renames the outputs in order; must match their count.
        inputs: Tensor names (node outputs or graph inputs of the main
            graph) that become inputs under their own names, after the
            start markers' inputs; as ``onnx.utils.extract_model``'s
            ``input_names``. ``"name:shape:dtype"`` (Polygraphy style, e.g.
            ``"x:1x3x224x224:float32"``, ``"x:[1,3,h,w]:auto"``) overrides
            an input's shape and element type. Given without start markers,
            the graph's own inputs are not inputs. An input no output
            depends on is a ``PartitionError``.
        outputs: Tensor names that become outputs, after the end markers'
            outputs; given without end markers, the graph's own outputs are
            not outputs.
        expose_uncovered_inputs: Make tensors the outputs need but the starts
            do not cover (e.g. a second graph input) extra inputs instead of
            raising ``UncoveredTensorError``.
        infer_shapes: Re-run ONNX shape inference on the partition so that
            its shapes agree with ``dynamic_axes``.

    Returns:
        The partition as a new ``onnx.ModelProto`` (with ``save_file``: as
        written, external data not loaded).

    Raises:
        FileNotFoundError: ``model`` is a path that does not exist.
        TypeError: ``model`` or a marker argument has the wrong type.
        MarkerNotFoundError: a marker is malformed or selects no Mark node.
        TensorNotFoundError: a name in ``inputs``/``outputs`` is no tensor.
        UncoveredTensorError: an output cannot be computed from the inputs
            (the message names the tensors missing).
        MalformedModelError: the model cannot be parsed or is inconsistent.
        PartitionError: any other reason the partition cannot be cut (no
            nodes, an input no output depends on, clashing names,
            output_names count mismatch, write failure). All of these are
            ``ValueError`` subclasses.
    """
    source = _model_arg(model)
    _check_markers(start_marker, "start_marker")
    _check_markers(end_marker, "end_marker")
    spec: Dict[str, Any] = {
        "start": start_marker,
        "end": end_marker,
        "inputs": _check_tensors(inputs, "inputs"),
        "outputs": _check_tensors(outputs, "outputs"),
        "output_names": output_names,
        "start_name_map": start_name_map,
        "end_name_map": end_name_map,
        "dynamic_axes": dynamic_axes,
    }
    options = dict(expose_uncovered_inputs=expose_uncovered_inputs,
                   infer_shapes=infer_shapes)
    if save_file is not None:
        # Written by the pass itself, weights copied file to file: they never
        # pass through Python.
        spec["save_file"] = os.fspath(save_file)
        _partition.extract_files(source, [spec], "", **options)
        return _load_written(save_file)
    (blob,) = _partition.extract(source, [spec], **options)
    return _load(blob)


def extract_model(input_path: PathLike,
                  output_path: PathLike,
                  input_names: Sequence[str],
                  output_names: Sequence[str],
                  check_model: bool = True) -> None:
    """``onnx.utils.extract_model`` with the partition pass: writes to
    ``output_path`` the part of the model at ``input_path`` that computes
    the tensors ``output_names`` from the tensors ``input_names``, i.e. the
    nodes needed, the initializers they read, inputs and outputs in the
    given order under their own names. The model is not parsed into Python
    and its weights are copied file to file.

    Unlike onnx's, it refuses a cut that would not be a valid model: a name
    that is no tensor (``TensorNotFoundError``), an output that needs a
    tensor the inputs do not provide (``UncoveredTensorError``, naming it)
    and an input no output depends on (``PartitionError``).

    Args:
        input_path: The ONNX file to cut (marks are not needed).
        output_path: Where to write the partition (through a temporary
            file; nothing is written on failure).
        input_names: Tensors that become the partition's inputs; each may be
            ``"name:shape:dtype"`` (see ``extract_partition``).
        output_names: Tensors that become the partition's outputs.
        check_model: Run ``onnx.checker.check_model`` on the result.
    """
    if isinstance(input_names, str) or isinstance(output_names, str):
        raise TypeError("input_names and output_names: expected lists of "
                        "tensor names, got a str")
    extract_partition(input_path, save_file=output_path,
                      inputs=list(input_names), outputs=list(output_names))
    if check_model:
        onnx.checker.check_model(os.fspath(output_path))


def extract_partitions(model: ModelLike,
                       partition_cfg: Sequence[Mapping[str, Any]],
                       work_dir: PathLike,
                       *,
                       expose_uncovered_inputs: bool = False,
                       infer_shapes: bool = True) -> List[str]:
    """Cuts every partition of a deploy config's ``partition_cfg`` and writes
    each to ``work_dir/save_file``.

    The model is parsed and indexed once. Writing is all or nothing: every
    file goes to a temporary name first and is renamed into place only after
    all partitions were cut and written.

    Args:
        model: Path of a marked ONNX file, or an ``onnx.ModelProto``.
        partition_cfg: List of dicts with keys ``save_file``, ``start``
            and/or ``inputs`` (tensor names), ``end`` and/or ``outputs``
            (required), ``output_names``, ``start_name_map``,
            ``end_name_map``, ``dynamic_axes`` (optional; see
            ``extract_partition``).
        work_dir: Directory the files are written to (created if missing).
        expose_uncovered_inputs: See ``extract_partition``.
        infer_shapes: See ``extract_partition``.

    Returns:
        The paths written, in the order of ``partition_cfg``.

    Raises:
        FileNotFoundError: ``model`` is a path that does not exist.
        TypeError: a wrong type in ``model`` or ``partition_cfg`` (the
            message names the place, e.g. ``partition_cfg[1].start[0]``).
        ValueError: an unknown or missing key, or an invalid value, in
            ``partition_cfg`` (as in a deploy config: save_file a relative
            ``.onnx`` file name, each once; well-formed markers).
        PartitionError: (and its subclasses) as in ``extract_partition``;
            the message names the failing partition and its save_file.
    """
    source = _model_arg(model)
    # The partition library checks the list (spec.h).
    return list(
        _partition.extract_files(
            source, partition_cfg, os.fspath(work_dir),
            expose_uncovered_inputs=expose_uncovered_inputs,
            infer_shapes=infer_shapes))


def strip_marks(model: ModelLike,
                save_file: Optional[PathLike] = None) -> onnx.ModelProto:
    """Returns the whole model without its Mark nodes (the deployable model).

    Each mark's consumers read the mark's input instead; graph output names
    are kept; the ``mmdeploy`` opset import is dropped when unused.

    Args:
        model: Path of a marked ONNX file, or an ``onnx.ModelProto`` (not
            modified).
        save_file: If given, the stripped model is also written there
            (through a temporary file).

    Returns:
        The stripped model as a new ``onnx.ModelProto``.

    Raises:
        FileNotFoundError: ``model`` is a path that does not exist.
        TypeError: ``model`` has the wrong type.
        MalformedModelError: the model cannot be parsed or is inconsistent.
        PartitionError: the file cannot be written.
    """
    if save_file is not None:
        _partition.strip_marks_file(_model_arg(model), os.fspath(save_file))
        return _load_written(save_file)
    return _load(_partition.strip_marks(_model_arg(model)))


def list_marks(model: ModelLike) -> List[MarkInfo]:
    """Lists the Mark nodes of a model's main graph, in graph order.

    Args:
        model: Path of an ONNX file, or an ``onnx.ModelProto``.

    Returns:
        One ``MarkInfo`` per Mark node; ``{m.marker for m in marks}`` are the
        markers the model offers.

    Raises:
        FileNotFoundError: ``model`` is a path that does not exist.
        TypeError: ``model`` has the wrong type.
        MalformedModelError: the model cannot be parsed.
    """
    return [
        MarkInfo(func=r["func"], func_id=r["func_id"], type=r["type"],
                 name=r["name"], id=r["id"], dtype=r["dtype"],
                 shape=tuple(r["shape"]), input=r["input"],
                 output=r["output"], node_name=r["node_name"])
        for r in _partition.list_marks(_model_arg(model))
    ]
