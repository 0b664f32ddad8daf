"""mmdeploy-partition --visualize: the partition map of a cut, written by the
CLI with the partitions (all or nothing, under the same path rules), and the
same map the Python package draws from the files written."""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import onnx
import pytest

from mmdeploy_mark.exit_codes import EXIT_USAGE, EXIT_WRITE
from mmdeploy_mark.map_svg import render_svg
from mmdeploy_mark.partition_map import load_map

from map_checks import MAX_MAP_HEIGHT, MAX_MAP_WIDTH, assert_labels_drawn, map_size, svg_lines
from map_models import (HOSTILE_FILE, HOSTILE_INPUT, chain_model, chain_partitions,
                        hostile_model, hostile_partitions)
from partition_models import yolo_model

# The installed CLI, or another build of it (scripts/test.sh --sanitize).
EXE = pathlib.Path(os.environ.get("MMDEPLOY_MARK_PARTITION_EXE",
                                  pathlib.Path(sys.executable).parent / "mmdeploy-partition"))
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'


def cli(*args, cwd=None):
    return subprocess.run([str(EXE), *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


def save(tmp_path, model, name="marked.onnx"):
    path = tmp_path / name
    onnx.save(model, str(path))
    return path


def write_config(tmp_path, cfgs):
    path = tmp_path / "partitions.json"
    path.write_text(json.dumps(cfgs))
    return path


def check_map(svg_path, marked, partition_files, names=None):
    """The SVG the CLI wrote parses, shows every block and boundary label,
    is readable at 100%, and is the map the library draws from the files."""
    svg = svg_path.read_text(encoding="utf-8")
    pmap = load_map(str(marked), [str(p) for p in partition_files], names)
    assert svg == XML_DECLARATION + render_svg(pmap)
    lines, root = svg_lines(svg)
    assert_labels_drawn(lines, pmap)
    width, height = map_size(root)
    assert width <= MAX_MAP_WIDTH and height <= MAX_MAP_HEIGHT, (width, height)
    return pmap, lines


def test_a_marker_cut_writes_its_map(tmp_path):
    marked = save(tmp_path, yolo_model())
    part, svg = tmp_path / "backbone.onnx", tmp_path / "map.svg"
    result = cli(marked, "--start", "detector_forward:input", "--end", "yolo_head:input",
                 "-o", part, "--visualize", svg)
    assert result.returncode == 0, result.stderr
    assert f"wrote {svg} (the partition map)" in result.stdout
    pmap, lines = check_map(svg, marked, [part])
    assert [b.title for b in pmap.blocks] == ["graph inputs", "backbone.onnx", "not cut",
                                              "graph outputs"]
    assert len(pmap.boundary_labels()) == 6
    assert any(t.startswith("pred_maps.2 ") and "yolo_head[0]:input" in t for t in lines)


def test_a_config_of_a_large_model_writes_a_small_map_in_the_work_dir(tmp_path):
    marked = save(tmp_path, chain_model(10_000))
    config = write_config(tmp_path, chain_partitions(3))
    work = tmp_path / "out"
    result = cli(marked, "--config", config, "--work-dir", work, "--visualize", "map.svg")
    assert result.returncode == 0, result.stderr
    files = [work / f"stage{i}.onnx" for i in range(3)]
    pmap, lines = check_map(work / "map.svg", marked, files,
                            [f"stage{i}.onnx" for i in range(3)])
    assert [b.nodes for b in pmap.partitions()] == [2500] * 3
    assert "2500 nodes · 0 B parameters" in lines
    assert (work / "map.svg").stat().st_size < 20_000


def test_a_tensor_name_cut_writes_its_map(tmp_path):
    marked = save(tmp_path, chain_model(8))
    part, svg = tmp_path / "middle.onnx", tmp_path / "map.svg"
    inner = onnx.load(str(marked)).graph.node[3].output[0]
    result = cli(marked, "--inputs", inner, "--outputs", "output", "-o", part,
                 "--visualize", svg)
    assert result.returncode == 0, result.stderr
    pmap, _ = check_map(svg, marked, [part])
    assert "middle.onnx" in [b.title for b in pmap.blocks]


def test_hostile_names_stay_text(tmp_path):
    marked = save(tmp_path, hostile_model())
    config = write_config(tmp_path, hostile_partitions())
    result = cli(marked, "--config", config, "--work-dir", tmp_path / "w",
                 "--visualize", "map.svg")
    assert result.returncode == 0, result.stderr
    _, lines = check_map(tmp_path / "w" / "map.svg", marked,
                         [tmp_path / "w" / HOSTILE_FILE], [HOSTILE_FILE])
    assert HOSTILE_FILE in lines
    assert any(t.startswith(HOSTILE_INPUT + " ") for t in lines)


@pytest.mark.parametrize("visualize,fragment", [
    ("../map.svg", "'..' component"),
    ("/tmp/map.svg", "absolute path"),
    ("stage0.onnx", "where a partition goes"),
])
def test_a_config_map_stays_in_the_work_dir_and_off_the_partitions(tmp_path, visualize,
                                                                  fragment):
    marked = save(tmp_path, chain_model(8))
    config = write_config(tmp_path, chain_partitions(2))
    work = tmp_path / "out"
    result = cli(marked, "--config", config, "--work-dir", work, "--visualize", visualize)
    assert result.returncode == EXIT_USAGE, result.stderr
    assert "--visualize" in result.stderr and fragment in result.stderr
    assert not work.exists() and not (tmp_path / "map.svg").exists()


def test_the_map_never_replaces_what_the_run_reads_and_is_written_with_the_partitions(
        tmp_path):
    marked = save(tmp_path, yolo_model())
    before = marked.read_bytes()
    part = tmp_path / "part.onnx"
    cut = ["--start", "detector_forward:input", "--end", "yolo_head:input", "-o", part]
    result = cli(marked, *cut, "--visualize", marked)
    assert result.returncode == EXIT_WRITE, result.stderr
    assert "a file this run reads" in result.stderr
    assert marked.read_bytes() == before and not part.exists()
    fifo = tmp_path / "map.fifo"
    os.mkfifo(fifo)
    result = cli(marked, *cut, "--visualize", fifo)
    assert result.returncode == EXIT_WRITE and "is a FIFO" in result.stderr
    assert not part.exists()
    (tmp_path / "dir.svg").mkdir()
    result = cli(marked, *cut, "--visualize", tmp_path / "dir.svg")
    assert result.returncode == EXIT_WRITE, result.stderr
    assert not part.exists(), "a map that cannot be written writes no partition"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir.svg", "map.fifo",
                                                          "marked.onnx"]


def test_the_map_draws_a_cut_only(tmp_path):
    marked = save(tmp_path, yolo_model())
    for mode in (["--list"], ["--strip", "-o", tmp_path / "s.onnx"]):
        result = cli(marked, *mode, "--visualize", tmp_path / "map.svg")
        assert result.returncode == EXIT_USAGE
        assert "--visualize draws a cut" in result.stderr
    assert not (tmp_path / "map.svg").exists()
    help_text = cli("--help").stdout
    assert "--visualize FILE" in help_text and "partition map" in help_text
