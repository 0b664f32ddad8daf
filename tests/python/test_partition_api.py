"""Tests of mmdeploy_mark.partition (the Python API over the C++ pass)."""
from __future__ import annotations

import collections
import os
import pathlib

import numpy as np
import onnx
import pytest

import partition_models as pm
import mmdeploy_mark
from mmdeploy_mark import _partition
from mmdeploy_mark import partition as P

ort = pytest.importorskip("onnxruntime")

RTOL, ATOL = 1e-5, 1e-6
YOLO_BACKBONE = dict(start_marker="detector_forward:input",
                     end_marker="yolo_head:input")
YOLO_POST = dict(start_marker="yolo_head:input",
                 end_marker="detector_forward:output")
PRED_MAPS = [f"pred_maps.{i}" for i in range(3)]


def spec_of(kwargs):
    """A partition_cfg dict from extract_partition's marker arguments."""
    return dict(start=kwargs["start_marker"], end=kwargs["end_marker"])


def run(model: onnx.ModelProto, feeds):
    """Outputs of ``model`` in onnxruntime, by name."""
    session = ort.InferenceSession(model.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, feeds)))


def node_types(model: onnx.ModelProto) -> collections.Counter:
    return collections.Counter(n.op_type for n in model.graph.node)


def without_name(graph: onnx.GraphProto) -> onnx.GraphProto:
    """The graph without its name (partitions are named after save_file)."""
    copy = onnx.GraphProto()
    copy.CopyFrom(graph)
    copy.ClearField("name")
    return copy


def check_partition(model: onnx.ModelProto) -> None:
    onnx.checker.check_model(model, full_check=True)
    assert not any(pm.is_mark(n) for n in model.graph.node)
    assert all(o.domain != pm.MARK_DOMAIN for o in model.opset_import)


def save(model: onnx.ModelProto, path: pathlib.Path) -> str:
    onnx.save(model, str(path))
    return str(path)


@pytest.fixture
def yolo():
    return pm.yolo_model()


@pytest.fixture
def two_stage():
    return pm.two_stage_model()


# --- list_marks ---------------------------------------------------------------


def test_list_marks_reports_every_mark_in_graph_order(yolo):
    marks = P.list_marks(yolo)
    assert [m.name for m in marks] == ["input", *PRED_MAPS, "dets", "labels"]
    pred = marks[1:4]
    assert {m.marker for m in pred} == {"yolo_head[0]:input"}
    assert [m.id for m in pred] == [0, 1, 2]
    assert [m.shape for m in pred] == pm.YOLO_PRED_SHAPES
    assert marks[-1] == P.MarkInfo(
        func="detector_forward", func_id=0, type="output", name="labels",
        id=1, dtype=onnx.TensorProto.INT64, shape=(1,),
        input=marks[-1].input, output="labels",
        node_name=marks[-1].node_name)
    mark_nodes = [n for n in yolo.graph.node if pm.is_mark(n)]
    assert [(m.input, m.output) for m in marks] == [
        (n.input[0], n.output[0]) for n in mark_nodes]


def test_mark_info_is_frozen(yolo):
    info = P.list_marks(yolo)[0]
    with pytest.raises(AttributeError):
        info.name = "other"  # type: ignore[misc]


def test_list_marks_path_and_proto_agree(yolo, tmp_path):
    path = save(yolo, tmp_path / "yolo.onnx")
    assert P.list_marks(path) == P.list_marks(yolo)
    assert P.list_marks(pathlib.Path(path)) == P.list_marks(yolo)


def test_list_marks_of_unmarked_model_is_empty(yolo):
    assert P.list_marks(P.strip_marks(yolo)) == []


# --- strip_marks ----------------------------------------------------------------


@pytest.mark.parametrize(
    "build", [pm.chain_model, pm.yolo_model, pm.two_stage_model])
def test_strip_marks_computes_the_marked_model(build):
    model = build()
    stripped = P.strip_marks(model)
    check_partition(stripped)
    assert pm.graph_input_names(stripped) == pm.graph_input_names(model)
    assert pm.graph_output_names(stripped) == pm.graph_output_names(model)
    expected = node_types(model) - collections.Counter({"Mark": 10**6})
    assert node_types(stripped) == expected
    feeds = pm.random_inputs(model)
    reference = run(pm.marks_as_identity(model), feeds)
    actual = run(stripped, feeds)
    assert actual.keys() == reference.keys()
    for name in reference:
        np.testing.assert_allclose(actual[name], reference[name], rtol=RTOL,
                                   atol=ATOL)


def test_strip_marks_does_not_change_the_model(yolo):
    before = yolo.SerializeToString()
    P.strip_marks(yolo)
    P.extract_partition(yolo, **YOLO_BACKBONE)
    assert yolo.SerializeToString() == before


def test_strip_marks_writes_save_file(yolo, tmp_path):
    out = tmp_path / "sub" / "end2end.onnx"
    stripped = P.strip_marks(save(yolo, tmp_path / "m.onnx"), save_file=out)
    assert onnx.load(str(out)) == stripped
    assert sorted(p.name for p in tmp_path.rglob("*")) == [
        "end2end.onnx", "m.onnx", "sub"]


# --- extract_partition: mmdeploy semantics ---------------------------------------


@pytest.mark.parametrize("spec,inputs,outputs", [
    (spec_of(YOLO_BACKBONE), ["input"], PRED_MAPS),
    (spec_of(YOLO_POST), PRED_MAPS, ["dets", "labels"]),
    (dict(start="detector_forward:input", end="detector_forward:output"),
     ["input"], ["dets", "labels"]),
    (dict(start=["detector_forward:input"], end=["yolo_head[0]:input"]),
     ["input"], PRED_MAPS),
])
def test_partition_has_mmdeploy_inputs_outputs_and_nodes(yolo, spec, inputs,
                                                         outputs):
    part = P.extract_partition(yolo, spec["start"], spec["end"])
    check_partition(part)
    assert pm.graph_input_names(part) == inputs
    assert pm.graph_output_names(part) == outputs
    starts = [spec["start"]] if isinstance(spec["start"], str) else spec["start"]
    ends = [spec["end"]] if isinstance(spec["end"], str) else spec["end"]
    assert node_types(part) == pm.reference_node_types(yolo, starts, ends)
    # Only the initializers the nodes read.
    used = {i for n in part.graph.node for i in n.input}
    assert {t.name for t in part.graph.initializer} <= used


def test_partition_keeps_types_and_shapes_of_marks(yolo):
    part = P.extract_partition(yolo, **YOLO_BACKBONE)
    for value, shape in zip(part.graph.output, pm.YOLO_PRED_SHAPES):
        tensor = value.type.tensor_type
        assert tensor.elem_type == onnx.TensorProto.FLOAT
        assert tuple(d.dim_value for d in tensor.shape.dim) == shape
    post = P.extract_partition(yolo, **YOLO_POST)
    labels = post.graph.output[1].type.tensor_type
    assert labels.elem_type == onnx.TensorProto.INT64


def test_partition_keeps_opsets_and_records_its_origin(yolo, tmp_path):
    path = save(yolo, tmp_path / "yolo.onnx")
    part = P.extract_partition(path, **YOLO_BACKBONE)
    assert part.ir_version == yolo.ir_version
    assert part.producer_name == yolo.producer_name
    assert [(o.domain, o.version) for o in part.opset_import] == [("", pm.OPSET)]
    metadata = " ".join(p.value for p in part.metadata_props)
    assert "detector_forward" in metadata and "yolo_head" in metadata


def test_yolo_partitions_chained_reproduce_the_full_model(yolo):
    backbone = P.extract_partition(yolo, **YOLO_BACKBONE)
    post = P.extract_partition(yolo, **YOLO_POST)
    full = P.strip_marks(yolo)
    for seed in range(3):
        feeds = pm.random_inputs(full, seed=seed)
        expected = run(full, feeds)
        pred = run(backbone, feeds)
        actual = run(post, pred)
        np.testing.assert_allclose(actual["dets"], expected["dets"], rtol=RTOL,
                                   atol=ATOL)
        np.testing.assert_array_equal(actual["labels"], expected["labels"])


def test_two_stage_partitions_chained_reproduce_the_full_model(two_stage):
    names = {"roi_extractor[0]:output:roi_feats": "roi_feats_0",
             "roi_extractor[1]:output:roi_feats": "roi_feats_1"}
    roi_markers = ["roi_extractor[0]:output", "roi_extractor[1]:output"]
    stage_markers = ["backbone:output", "rpn_head:output"]
    p0 = P.extract_partition(two_stage, "detector_forward:input",
                             stage_markers)
    p1 = P.extract_partition(two_stage, stage_markers, roi_markers,
                             end_name_map=names)
    p2 = P.extract_partition(two_stage, roi_markers, "detector_forward:output",
                             start_name_map=names,
                             expose_uncovered_inputs=True)
    for part in (p0, p1, p2):
        check_partition(part)
    assert pm.graph_output_names(p0) == ["feat", "rois"]
    assert pm.graph_input_names(p1) == ["feat", "rois"]
    assert pm.graph_output_names(p1) == ["roi_feats_0", "roi_feats_1"]
    assert sorted(pm.graph_input_names(p2)) == sorted(
        ["roi_feats_0", "roi_feats_1", "scale_factor"])

    full = P.strip_marks(two_stage)
    feeds = pm.random_inputs(full, seed=7)
    expected = run(full, feeds)
    stage = run(p0, {"img": feeds["img"]})
    rois = run(p1, stage)
    actual = run(p2, dict(rois, scale_factor=feeds["scale_factor"]))
    np.testing.assert_allclose(actual["dets"], expected["dets"], rtol=RTOL,
                               atol=ATOL)


def test_chain_partition_between_inner_marks(tmp_path):
    model = pm.chain_model()
    part = P.extract_partition(model, "backbone:output",
                               "detector_forward:output")
    check_partition(part)
    assert pm.graph_input_names(part) == ["feat"]
    assert pm.graph_output_names(part) == ["dets"]
    assert node_types(part) == collections.Counter(Conv=1, Sigmoid=1)


# --- names, output_names, dynamic_axes --------------------------------------------


def test_name_maps_rename_inputs_and_outputs(yolo):
    part = P.extract_partition(
        yolo, "detector_forward:input", "yolo_head:input",
        start_name_map={"input": "image"},
        end_name_map={"pred_maps.0": "p3", "yolo_head:input:pred_maps.2": "p5"})
    check_partition(part)
    assert pm.graph_input_names(part) == ["image"]
    assert pm.graph_output_names(part) == ["p3", "pred_maps.1", "p5"]


def test_output_names_rename_outputs_in_order(yolo):
    part = P.extract_partition(yolo, **YOLO_BACKBONE,
                               output_names=["a", "b", "c"])
    check_partition(part)
    assert pm.graph_output_names(part) == ["a", "b", "c"]
    feeds = pm.random_inputs(part)
    reference = run(P.extract_partition(yolo, **YOLO_BACKBONE), feeds)
    actual = run(part, feeds)
    for new, old in zip("abc", PRED_MAPS):
        np.testing.assert_array_equal(actual[new], reference[old])


def test_output_names_count_mismatch_is_an_error(yolo):
    with pytest.raises(P.PartitionError, match="output_names"):
        P.extract_partition(yolo, **YOLO_BACKBONE, output_names=["a", "b"])


def test_clashing_output_names_are_an_error(two_stage):
    with pytest.raises(P.PartitionError, match="roi_feats"):
        P.extract_partition(two_stage, ["backbone:output", "rpn_head:output"],
                            ["roi_extractor[0]:output",
                             "roi_extractor[1]:output"])


@pytest.mark.parametrize("batch", [1, 3])
def test_dynamic_axes_let_the_partition_run_at_another_batch(yolo, batch):
    axes = {"input": {0: "batch"}}
    axes.update({name: {0: "batch"} for name in PRED_MAPS})
    part = P.extract_partition(yolo, **YOLO_BACKBONE, dynamic_axes=axes)
    check_partition(part)
    assert part.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    for value in part.graph.output:
        assert value.type.tensor_type.shape.dim[0].dim_param == "batch"
    static = P.extract_partition(yolo, **YOLO_BACKBONE)
    feeds = pm.random_inputs(part, batch=batch, seed=batch)
    actual = run(part, feeds)
    for name in PRED_MAPS:
        assert actual[name].shape[0] == batch
    # Each sample through the static partition gives the same maps.
    for i in range(batch):
        single = run(static, {"input": feeds["input"][i:i + 1]})
        for name in PRED_MAPS:
            np.testing.assert_allclose(actual[name][i:i + 1], single[name],
                                       rtol=RTOL, atol=ATOL)


def test_dynamic_axes_post_processing_runs_at_another_batch(yolo):
    axes = {name: {0: "batch"} for name in PRED_MAPS + ["dets", "labels"]}
    post = P.extract_partition(yolo, **YOLO_POST, dynamic_axes=axes)
    check_partition(post)
    rng = np.random.default_rng(0)
    feeds = {name: rng.standard_normal((2,) + shape[1:]).astype(np.float32)
             for name, shape in zip(PRED_MAPS, pm.YOLO_PRED_SHAPES)}
    out = run(post, feeds)
    assert out["dets"].shape == (2,) and out["labels"].shape == (2,)


def test_dynamic_axes_list_form_names_dims_after_tensor(yolo):
    part = P.extract_partition(yolo, **YOLO_BACKBONE,
                               dynamic_axes={"input": [0, 2, 3]})
    dims = part.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param for d in dims] == [
        "input_dim_0", "", "input_dim_2", "input_dim_3"]
    assert dims[1].dim_value == 3


# --- extract_partitions, save_file ---------------------------------------------------


def yolo_cfg():
    return [
        dict(save_file="yolov3.onnx", start=["detector_forward:input"],
             end=["yolo_head:input"], output_names=PRED_MAPS),
        dict(save_file="post/yolov3_post.onnx", start="yolo_head:input",
             end="detector_forward:output",
             dynamic_axes={"dets": {0: "batch"}}),
    ]


@pytest.mark.parametrize("as_path", [True, False])
def test_extract_partitions_writes_every_file(yolo, tmp_path, as_path):
    model = save(yolo, tmp_path / "yolo.onnx") if as_path else yolo
    work_dir = tmp_path / "work"
    paths = P.extract_partitions(model, yolo_cfg(), work_dir)
    assert paths == [str(work_dir / "yolov3.onnx"),
                     str(work_dir / "post" / "yolov3_post.onnx")]
    for path, cfg in zip(paths, yolo_cfg()):
        written = onnx.load(path)
        check_partition(written)
        single = P.extract_partition(
            yolo, cfg["start"], cfg["end"],
            dynamic_axes=cfg.get("dynamic_axes"),
            output_names=cfg.get("output_names"))
        assert without_name(written.graph) == without_name(single.graph)
        assert written.graph.name == pathlib.Path(path).stem


def test_extract_partition_save_file(yolo, tmp_path):
    out = tmp_path / "yolov3.onnx"
    part = P.extract_partition(yolo, **YOLO_BACKBONE, save_file=out)
    assert onnx.load(str(out)) == part
    assert os.listdir(tmp_path) == ["yolov3.onnx"]


def test_failed_extract_partitions_writes_nothing(yolo, tmp_path):
    cfg = yolo_cfg() + [dict(save_file="bad.onnx", start="yolo_head:input",
                             end="no_such_func:output")]
    with pytest.raises(P.MarkerNotFoundError, match="bad.onnx"):
        P.extract_partitions(yolo, cfg, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_failed_extract_partition_does_not_write_save_file(yolo, tmp_path):
    with pytest.raises(P.PartitionError):
        P.extract_partition(yolo, **YOLO_BACKBONE, output_names=["x"],
                            save_file=tmp_path / "p.onnx")
    assert list(tmp_path.iterdir()) == []


def test_duplicate_save_files_are_an_error(yolo, tmp_path):
    cfg = [yolo_cfg()[0], dict(yolo_cfg()[0])]
    with pytest.raises(P.PartitionError, match="yolov3.onnx"):
        P.extract_partitions(yolo, cfg, tmp_path)
    assert list(tmp_path.iterdir()) == []


# --- errors -----------------------------------------------------------------------------


def test_error_classes_form_a_hierarchy_under_value_error():
    assert issubclass(P.PartitionError, ValueError)
    for error in (P.MarkerNotFoundError, P.UncoveredTensorError,
                  P.MalformedModelError):
        assert issubclass(error, P.PartitionError)
        assert error.__module__ == "mmdeploy_mark.partition"


def test_unknown_marker_lists_the_models_markers(yolo):
    with pytest.raises(P.MarkerNotFoundError, match="yolo_heda:input") as info:
        P.extract_partition(yolo, "detector_forward:input", "yolo_heda:input")
    message = str(info.value)
    for marker in ("detector_forward", "yolo_head"):
        assert marker in message
    with pytest.raises(ValueError, match="yolo_heda"):
        P.extract_partition(yolo, "detector_forward:input", "yolo_heda:input")


def test_unknown_func_id_is_not_found(yolo):
    with pytest.raises(P.MarkerNotFoundError, match=r"yolo_head\[1\]"):
        P.extract_partition(yolo, "detector_forward:input",
                            "yolo_head[1]:input")


@pytest.mark.parametrize("marker", ["yolo_head", "yolo_head:inputs",
                                    "yolo_head[x]:input", ""])
def test_malformed_marker_is_an_error(yolo, marker):
    with pytest.raises(P.MarkerNotFoundError):
        P.extract_partition(yolo, "detector_forward:input", marker)


def test_uncovered_graph_input_is_named(two_stage):
    with pytest.raises(P.UncoveredTensorError, match="scale_factor"):
        P.extract_partition(two_stage, "roi_extractor[0]:output",
                            "detector_forward:output")
    with pytest.raises(ValueError):
        P.extract_partition(two_stage, "roi_extractor[0]:output",
                            "detector_forward:output")


def test_expose_uncovered_inputs_makes_them_inputs(two_stage):
    part = P.extract_partition(
        two_stage, ["roi_extractor[0]:output", "roi_extractor[1]:output"],
        "detector_forward:output",
        start_name_map={"roi_extractor[0]:output:roi_feats": "a",
                        "roi_extractor[1]:output:roi_feats": "b"},
        expose_uncovered_inputs=True)
    check_partition(part)
    assert "scale_factor" in pm.graph_input_names(part)


def test_missing_model_file_raises_file_not_found(tmp_path):
    missing = tmp_path / "missing.onnx"
    with pytest.raises(FileNotFoundError, match="missing.onnx"):
        P.extract_partition(missing, "a:input", "b:output")
    with pytest.raises(FileNotFoundError):
        P.list_marks(str(missing))
    with pytest.raises(FileNotFoundError):
        P.strip_marks(missing)


@pytest.mark.parametrize("content", [b"not an onnx model at all",
                                     b"\x08\x07\x12\x05hello\x3a\xff\xff"])
def test_garbage_model_file_is_malformed(tmp_path, content):
    path = tmp_path / "garbage.onnx"
    path.write_bytes(content)
    with pytest.raises(P.MalformedModelError, match="garbage.onnx"):
        P.list_marks(path)
    with pytest.raises(P.MalformedModelError):
        P.extract_partition(path, "a:input", "b:output")


def test_truncated_model_file_is_malformed(yolo, tmp_path):
    path = tmp_path / "truncated.onnx"
    path.write_bytes(yolo.SerializeToString()[:-50])
    with pytest.raises(P.MalformedModelError, match="truncated.onnx"):
        P.extract_partition(path, **YOLO_BACKBONE)


@pytest.mark.parametrize("model", [123, None, b"bytes", ["model.onnx"]])
def test_model_of_wrong_type_is_a_type_error(model):
    with pytest.raises(TypeError, match="model"):
        P.extract_partition(model, "a:input", "b:output")
    with pytest.raises(TypeError, match="model"):
        P.list_marks(model)


@pytest.mark.parametrize("argument", ["start_marker", "end_marker"])
def test_marker_of_wrong_type_is_a_type_error(yolo, argument):
    kwargs = dict(start_marker="detector_forward:input",
                  end_marker="yolo_head:input")
    kwargs[argument] = 3
    with pytest.raises(TypeError, match=argument):
        P.extract_partition(yolo, **kwargs)


def test_unknown_spec_key_is_a_value_error_naming_it(yolo, tmp_path):
    cfg = [dict(yolo_cfg()[0], strat="x")]
    with pytest.raises(ValueError, match=r"'strat'.*allowed keys: save_file"):
        P.extract_partitions(yolo, cfg, tmp_path)


@pytest.mark.parametrize("key,value", [
    ("start", 1), ("end", [1]), ("output_names", "pred_maps.0"),
    ("save_file", 1), ("start_name_map", ["a"]), ("end_name_map", {"a": 1}),
    ("dynamic_axes", {"input": {"0": "batch"}}),
    ("dynamic_axes", {"input": "batch"}),
])
def test_wrong_spec_value_type_is_a_type_error_naming_the_key(
        yolo, tmp_path, key, value):
    cfg = [dict(yolo_cfg()[0], **{key: value})]
    with pytest.raises(TypeError, match=rf"partition_cfg\[0\]\.{key}\b"):
        P.extract_partitions(yolo, cfg, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_missing_spec_keys_are_value_errors(yolo, tmp_path):
    with pytest.raises(ValueError, match="'end'"):
        P.extract_partitions(yolo, [dict(save_file="a.onnx", start="x:input")],
                             tmp_path)
    with pytest.raises(ValueError, match="'save_file'"):
        P.extract_partitions(yolo, [dict(start="detector_forward:input",
                                         end="yolo_head:input")], tmp_path)
    with pytest.raises(TypeError, match="partition_cfg"):
        P.extract_partitions(yolo, yolo_cfg()[0], tmp_path)


# --- the binding: bytes and path forms -----------------------------------------------


def test_binding_bytes_and_path_forms_agree(yolo, tmp_path):
    path = save(yolo, tmp_path / "yolo.onnx")
    specs = [spec_of(YOLO_BACKBONE), spec_of(YOLO_POST)]
    from_bytes = _partition.extract(yolo.SerializeToString(), specs)
    from_path = _partition.extract(path, specs)
    assert len(from_bytes) == len(from_path) == 2
    for a, b in zip(from_bytes, from_path):
        assert isinstance(a, bytes)
        assert without_name(onnx.load_from_string(a).graph) == without_name(
            onnx.load_from_string(b).graph)
    assert _partition.list_marks(yolo.SerializeToString()) == \
        _partition.list_marks_file(path)
    assert _partition.strip_marks(path) == _partition.strip_marks(
        yolo.SerializeToString())

    out = tmp_path / "out"
    written = _partition.extract_files(
        path, [dict(spec, save_file=f"p{i}.onnx") for i, spec in
               enumerate(specs)], str(out))
    assert written == [str(out / "p0.onnx"), str(out / "p1.onnx")]
    for file, blob in zip(written, from_path):
        assert without_name(onnx.load(file).graph) == without_name(
            onnx.load_from_string(blob).graph)

    _partition.strip_marks_file(path, str(out / "stripped.onnx"))
    assert (out / "stripped.onnx").read_bytes() == _partition.strip_marks(path)


def test_binding_rejects_non_bytes_models():
    with pytest.raises(TypeError):
        _partition.extract(123, [spec_of(YOLO_BACKBONE)])
    with pytest.raises(TypeError):
        _partition.list_marks(bytearray(b"abc"))


def test_binding_errors_keep_the_message(yolo):
    with pytest.raises(_partition.MarkerNotFoundError) as info:
        _partition.extract(yolo.SerializeToString(),
                           [dict(start="nope:input", end="yolo_head:input")])
    assert "nope" in str(info.value)
    assert isinstance(info.value, _partition.PartitionError)
    assert isinstance(info.value, ValueError)


def test_dynamic_axes_accept_numpy_integers_but_not_bool(yolo):
    part = P.extract_partition(yolo, **YOLO_BACKBONE,
                               dynamic_axes={"input": {np.int64(0): "n"}})
    assert part.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "n"
    with pytest.raises(TypeError, match=r"\.dynamic_axes\['input'\]"):
        P.extract_partition(yolo, **YOLO_BACKBONE,
                            dynamic_axes={"input": {True: "n"}})


def test_empty_marker_list_means_the_graph_boundary(yolo):
    part = P.extract_partition(yolo, [], "yolo_head:input")
    assert pm.graph_input_names(part) == ["input"]
    part = P.extract_partition(yolo, "yolo_head:input", [])
    assert pm.graph_output_names(part) == ["dets", "labels"]


def test_binding_runs_partitions_from_several_threads(yolo):
    # The binding releases the GIL around the C++ work; threads must neither
    # deadlock nor disturb each other's results.
    from concurrent.futures import ThreadPoolExecutor

    blob = yolo.SerializeToString()
    specs = [spec_of(YOLO_BACKBONE), spec_of(YOLO_POST)]
    expected = _partition.extract(blob, specs)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: _partition.extract(blob, specs),
                                range(8)))
    assert all(result == expected for result in results)


# --- a model exported from PyTorch with the mark op --------------------------------


def export_tiny_yolo(tmp_path):
    """A YOLO-like nn.Module marked as in the seed document, exported."""
    torch = pytest.importorskip("torch")
    from mmdeploy_mark import mark

    class TinyYolo(torch.nn.Module):

        def __init__(self):
            super().__init__()
            self.stem = torch.nn.Conv2d(3, 4, 3, padding=1)
            self.heads = torch.nn.ModuleList(
                torch.nn.Conv2d(4, 3, 1, stride=s) for s in (1, 2, 4))

        def forward(self, img):

            @mark("detector_forward", inputs=["input"],
                  outputs=["dets", "labels"])
            def forward_impl(img):
                feat = torch.relu(self.stem(img))
                pred_maps = [head(feat) for head in self.heads]

                @mark("yolo_head", inputs=["pred_maps"])
                def mark_pred_maps(pred_maps):
                    return pred_maps

                pred_maps = mark_pred_maps(pred_maps)
                scores = torch.cat([p.flatten(1) for p in pred_maps],
                                   1).sigmoid()
                return scores.max(1)

            return forward_impl(img)

    torch.manual_seed(0)
    module = TinyYolo().eval()
    img = torch.randn(2, 3, 8, 8)
    path = tmp_path / "tiny_yolo.onnx"
    mmdeploy_mark.export(module, img, str(path), exporter="torchscript", opset_version=13,
                         input_names=["input"], output_names=["dets", "labels"])
    with torch.no_grad():
        dets, labels = module(img)
    return path, img.numpy(), dets.numpy(), labels.numpy()


def test_exported_model_partitions_reproduce_pytorch(tmp_path):
    path, img, dets, labels = export_tiny_yolo(tmp_path)
    markers = {m.marker for m in P.list_marks(path)}
    assert {"detector_forward[0]:input", "yolo_head[0]:input",
            "detector_forward[0]:output"} <= markers
    marked = onnx.load(str(path))
    paths = P.extract_partitions(path, [
        dict(save_file="backbone.onnx", start="detector_forward:input",
             end="yolo_head:input"),
        dict(save_file="post.onnx", start="yolo_head:input",
             end="detector_forward:output"),
    ], tmp_path / "work")
    backbone, post = (onnx.load(p) for p in paths)
    for part in (backbone, post):
        check_partition(part)
    assert pm.graph_input_names(backbone) == ["input"]
    assert pm.graph_output_names(backbone) == PRED_MAPS
    assert pm.graph_input_names(post) == PRED_MAPS
    assert pm.graph_output_names(post) == ["dets", "labels"]
    assert node_types(backbone) == pm.reference_node_types(
        marked, ["detector_forward:input"], ["yolo_head:input"])
    assert node_types(post) == pm.reference_node_types(
        marked, ["yolo_head:input"], ["detector_forward:output"])

    actual = run(post, run(backbone, {"input": img}))
    np.testing.assert_allclose(actual["dets"], dets, rtol=RTOL, atol=ATOL)
    np.testing.assert_array_equal(actual["labels"], labels)
    full = run(P.strip_marks(path), {"input": img})
    np.testing.assert_allclose(full["dets"], dets, rtol=RTOL, atol=ATOL)
