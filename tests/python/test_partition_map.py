"""The partition map: the blocks and boundary tensors it shows for a cut
model, the SVG that draws them (every boundary label, sizes that depend on
partitions and boundaries, never on nodes), extract --visualize, and the
full op-level drawing kept as an option."""
import onnx
import pytest
from onnx import numpy_helper

from mmdeploy_mark import extract_partitions
from mmdeploy_mark.exit_codes import EXIT_USAGE
from mmdeploy_mark.map_svg import FONT, render_svg
from mmdeploy_mark.partition_map import load_map
from mmdeploy_mark.tools import extract
from mmdeploy_mark.visualize import draw

from map_checks import MAX_MAP_HEIGHT, MAX_MAP_WIDTH, SVG, svg_lines
from map_models import (HOSTILE_FILE, HOSTILE_INPUT, HOSTILE_MARK, chain_model,
                        chain_partitions, hostile_model, hostile_partitions)
from partition_models import YOLO_PRED_SHAPES, is_mark, two_stage_model, yolo_model

YOLO_CFG = [dict(save_file="backbone.onnx", start="detector_forward:input",
                 end="yolo_head:input")]


def cut(tmp_path, model, cfgs, **kwargs):
    """Saves ``model``, cuts ``cfgs``; returns (marked path, partition files)."""
    path = tmp_path / "marked.onnx"
    onnx.save(model, str(path))
    return str(path), extract_partitions(str(path), cfgs, str(tmp_path), **kwargs)


def test_the_map_of_a_detector_cut_before_post_processing(tmp_path):
    model = yolo_model()
    marked, files = cut(tmp_path, model, YOLO_CFG)
    pmap = load_map(marked, files)
    assert [(b.kind, b.title) for b in pmap.blocks] == [
        ("inputs", "graph inputs"), ("partition", "backbone.onnx"), ("uncut", "not cut"),
        ("outputs", "graph outputs")]
    part = onnx.load(files[0])
    backbone, uncut = pmap.blocks[1], pmap.blocks[2]
    assert backbone.nodes == len(part.graph.node)
    assert backbone.param_bytes == sum(numpy_helper.to_array(t).nbytes
                                       for t in part.graph.initializer)
    # Every computing node is either in the partition or in "not cut".
    assert backbone.nodes + uncut.nodes == sum(not is_mark(n) for n in model.graph.node)
    assert {"Sigmoid", "ReduceMax", "ArgMax", "Reshape"} <= dict(uncut.op_counts).keys()
    assert "Conv" not in dict(uncut.op_counts)

    edges = {(pmap.blocks[e.src].title, pmap.blocks[e.dst].title):
             [(t.name, t.type_text, t.marks) for t in e.tensors] for e in pmap.edges}
    assert edges == {
        ("graph inputs", "backbone.onnx"): [
            ("input", "float32[1, 3, 8, 8]", ("detector_forward[0]:input",))],
        ("backbone.onnx", "not cut"): [
            (f"pred_maps.{i}", f"float32[{', '.join(map(str, shape))}]", ("yolo_head[0]:input",))
            for i, shape in enumerate(YOLO_PRED_SHAPES)],
        ("not cut", "graph outputs"): [
            ("dets", "float32[1]", ("detector_forward[0]:output",)),
            ("labels", "int64[1]", ("detector_forward[0]:output",))],
    }
    where = {(m.marker, m.name): m.where for m in pmap.marks}
    assert where[("yolo_head[0]:input", "pred_maps.1")] == "backbone.onnx → not cut"
    assert where[("detector_forward[0]:output", "labels")] == "not cut → graph outputs"


def test_every_boundary_label_is_drawn_on_one_line(tmp_path):
    pmap = load_map(*cut(tmp_path, yolo_model(), YOLO_CFG))
    lines, root = svg_lines(render_svg(pmap))
    labels = pmap.boundary_labels()
    assert len(labels) == 6
    for label in labels:
        line = next((t for t in lines if t.startswith(label.name + " ")), None)
        assert line is not None, f"no line for {label.name} in {lines}"
        assert label.type_text in line and all(m in line for m in label.marks), line
    for block in pmap.blocks:
        assert block.title in lines
    assert "backbone.onnx" in lines and any(t.startswith("5 nodes") for t in lines)
    # Readable at 100%: real pixels, a text size people read, nothing scaled.
    assert root.get("font-size") == str(FONT) and FONT >= 12
    assert root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"
    assert "scale(" not in render_svg(pmap)


def test_map_size_depends_on_partitions_not_nodes(tmp_path):
    sizes = {}
    for nodes in (100, 10_000):
        work = tmp_path / str(nodes)
        work.mkdir()
        pmap = load_map(*cut(work, chain_model(nodes), chain_partitions(3)))
        svg = render_svg(pmap)
        lines, root = svg_lines(svg)
        sizes[nodes] = (int(root.get("width")), int(root.get("height")))
        assert [b.nodes for b in pmap.partitions()] == [nodes // 4] * 3
        assert f"{nodes // 4} nodes · 0 B parameters" in lines
        for label in pmap.boundary_labels():
            assert any(t.startswith(label.name + " ") and label.type_text in t for t in lines)
        assert len(svg) < 20_000, "the SVG grows with the node count"
    width, height = sizes[10_000]
    assert width <= MAX_MAP_WIDTH and height <= MAX_MAP_HEIGHT, sizes
    assert sizes[100][1] == height, sizes


def test_dynamic_dims_are_shown_by_name(tmp_path):
    pmap = load_map(*cut(tmp_path, chain_model(8), chain_partitions(2)))
    types = {t.name: t.type_text for t in pmap.boundary_labels()}
    assert types["input"] == types["stage0_out"] == types["stage1_out"] == "float32[batch, 16]"


def test_an_input_that_skips_a_block_runs_in_a_side_lane(tmp_path):
    cfgs = [dict(save_file="p0.onnx", start="detector_forward:input", end="backbone:output"),
            dict(save_file="p1.onnx", start=["roi_extractor:output", "roi_extractor[1]:output"],
                 end="detector_forward:output",
                 start_name_map={"roi_extractor[1]:output:roi_feats": "roi_feats_1"})]
    pmap = load_map(*cut(tmp_path, two_stage_model(), cfgs, expose_uncovered_inputs=True))
    titles = [b.title for b in pmap.blocks]
    assert titles == ["graph inputs", "p0.onnx", "not cut", "p1.onnx", "graph outputs"]
    skip = next(e for e in pmap.edges if e.dst > e.src + 1)
    assert (titles[skip.src], titles[skip.dst]) == ("graph inputs", "p1.onnx")
    assert [t.name for t in skip.tensors] == ["scale_factor"]
    lines, root = svg_lines(render_svg(pmap))
    assert "↳ to p1.onnx" in lines
    column_left = min(float(r.get("x")) for r in root.iter(SVG + "rect") if r.get("rx"))
    lanes = [p.get("d") for p in root.iter(SVG + "path")
             if any(float(step[1:]) < column_left for step in p.get("d").split()
                    if step.startswith("H"))]
    assert len(lanes) == 1, "the skipping edge is drawn left of the blocks"


def test_a_tensor_flowing_back_up_runs_on_the_right(tmp_path):
    # "not cut" holds the backbone and the box head: it feeds the partition
    # and reads its output.
    cfgs = [dict(save_file="rpn.onnx", start="backbone:output", end="rpn_head:output")]
    pmap = load_map(*cut(tmp_path, two_stage_model(), cfgs))
    titles = [b.title for b in pmap.blocks]
    back = [e for e in pmap.edges if e.dst < e.src]
    assert [(titles[e.src], titles[e.dst], [t.name for t in e.tensors]) for e in back] == [
        ("rpn.onnx", "not cut", ["rois"])]
    lines, root = svg_lines(render_svg(pmap))
    assert "↳ to not cut" in lines
    column_right = max(float(r.get("x")) + float(r.get("width"))
                       for r in root.iter(SVG + "rect") if r.get("rx"))
    assert any(float(step[1:]) > column_right for p in root.iter(SVG + "path")
               for step in p.get("d").split() if step.startswith("H"))


def test_hostile_names_are_shown_literally_and_stay_text(tmp_path):
    pmap = load_map(*cut(tmp_path, hostile_model(), hostile_partitions()))
    svg = render_svg(pmap)
    lines, root = svg_lines(svg)  # parses: the escaping kept it well-formed XML
    allowed = {SVG + tag for tag in ("svg", "title", "rect", "text", "tspan", "path",
                                     "polygon")}
    assert {e.tag for e in root.iter()} <= allowed
    assert HOSTILE_FILE in lines
    assert any(t.startswith(HOSTILE_INPUT + " ") for t in lines)
    # The control character cannot be in XML; it is shown as U+FFFD.
    assert any(t.startswith(HOSTILE_MARK.replace("\x01", "\ufffd")) for t in lines)


def test_extract_writes_the_map_of_its_cut(tmp_path, capsys):
    marked, _ = cut(tmp_path, yolo_model(), YOLO_CFG)
    svg = tmp_path / "map.svg"
    code = extract.main([marked, str(tmp_path / "part.onnx"), "--start",
                         "detector_forward:input", "--end", "yolo_head:input",
                         "--visualize", str(svg)])
    assert code == 0
    lines, _ = svg_lines(svg.read_text())
    assert "part.onnx" in lines and "not cut" in lines
    assert any(t.startswith("pred_maps.2 ") for t in lines)
    assert extract.main([marked, "--visualize", str(tmp_path / "x.svg")]) == EXIT_USAGE
    assert "--visualize draws a cut" in capsys.readouterr().err
    assert not (tmp_path / "x.svg").exists()


def test_full_drawing_stays_available(tmp_path):
    marked, files = cut(tmp_path, yolo_model(), YOLO_CFG)
    draw("full", marked, files, str(tmp_path / "full.svg"))
    full = (tmp_path / "full.svg").read_text()
    # Graphviz draws every node: the map has one line per block instead.
    assert full.count(">Conv<") == 4 and full.count(">Reshape<") == 3
    draw(True, marked, files, str(tmp_path / "map.svg"))
    lines, _ = svg_lines((tmp_path / "map.svg").read_text())
    assert "Conv 4 · Relu 1" in lines
    with pytest.raises(ValueError, match="unknown kind 'fancy'; use one of map, full"):
        draw("fancy", marked, files, str(tmp_path / "x.svg"))


def test_weights_are_counted_without_loading_them(tmp_path):
    # Large models keep weights in external files; the map reads only sizes.
    model = yolo_model()
    onnx.save(model, str(tmp_path / "ext.onnx"), save_as_external_data=True,
              all_tensors_to_one_file=True, location="ext.data", size_threshold=0)
    part = tmp_path / "p"
    part.mkdir()
    files = extract_partitions(str(tmp_path / "ext.onnx"), YOLO_CFG, str(part))
    pmap = load_map(str(tmp_path / "ext.onnx"), files)
    inline = load_map(*cut(tmp_path, model, YOLO_CFG))
    assert pmap.partitions()[0].param_bytes == inline.partitions()[0].param_bytes > 0


def test_torch2onnx_visualize_draws_the_map_unless_told_full():
    from mmdeploy_mark.tools import torch2onnx

    positional = ["deploy.py", "model.py", "none", "random"]
    assert torch2onnx.parse_args(positional).visualize is None
    assert torch2onnx.parse_args(positional + ["--visualize"]).visualize == "map"
    assert torch2onnx.parse_args(positional + ["--visualize", "full"]).visualize == "full"
    with pytest.raises(SystemExit) as exit_info:
        torch2onnx.parse_args(positional + ["--visualize=all"])
    assert exit_info.value.code == EXIT_USAGE


def test_a_partition_ending_at_a_renamed_graph_output_shows_both_names(tmp_path):
    cfgs = [dict(save_file="head.onnx", start="yolo_head:input",
                 end="detector_forward:output", output_names=["scores_max", "classes"])]
    pmap = load_map(*cut(tmp_path, yolo_model(), cfgs))
    (to_outputs,) = [e for e in pmap.edges if pmap.blocks[e.dst].kind == "outputs"]
    assert [t.name for t in to_outputs.tensors] == ["scores_max → dets", "classes → labels"]
    assert pmap.partitions()[0].unlinked == []
