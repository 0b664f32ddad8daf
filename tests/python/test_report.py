"""report.html as a person sees it: torch2onnx writes it beside
summary.json, and headless Chromium loads it without a console error and
shows every partition, boundary tensor, mark, verification row and file.
The screenshots are kept under the test's tmp dir (their paths are printed;
run pytest with -s to see them)."""
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import onnx
import pytest

from mmdeploy_mark import extract_partitions
from mmdeploy_mark.partition_map import load_map
from mmdeploy_mark.report import render_report
from mmdeploy_mark.tools import torch2onnx

from headless_chromium import look_at
from map_models import (HOSTILE_FILE, HOSTILE_INPUT, HOSTILE_MARK, hostile_model,
                        hostile_partitions)

ROOT = Path(__file__).resolve().parents[2]
SEED_CFG = ROOT / "configs/mmdet/detection/yolov3_partition_onnxruntime_static.py"
MODEL_CFG = ROOT / "examples/yolov3/configs/yolov3_d53_tiny.py"


class _Elements(HTMLParser):
    """Every start tag with its attributes, and the text of <style>."""

    def __init__(self):
        super().__init__()
        self.tags, self.style, self._in_style = [], "", False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.style += data


def assert_self_contained(page: str) -> None:
    parser = _Elements()
    parser.feed(page)
    tags = {tag for tag, _ in parser.tags}
    assert not tags & {"script", "link", "img", "iframe", "object", "embed", "image", "use"}
    loading = [(tag, name) for tag, attrs in parser.tags for name in attrs
               if name in ("src", "href", "xlink:href", "srcset", "action") or
               name.startswith("on")]
    assert loading == []
    assert "url(" not in parser.style and "@import" not in parser.style


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The seed's partition at 64x64, verified and visualized, via the CLI."""
    tmp = tmp_path_factory.mktemp("report")
    cfg = tmp / "deploy.py"
    cfg.write_text(f"_base_ = ['{SEED_CFG}']\nonnx_config = dict(input_shape=[64, 64])\n")
    work = tmp / "work"
    assert torch2onnx.main([str(cfg), str(MODEL_CFG), "none", "random", "--work-dir",
                            str(work), "--verify", "--visualize"]) == 0
    return work, json.loads((work / "summary.json").read_text())


def test_report_is_written_beside_the_summary_and_loads_nothing(run):
    work, summary = run
    assert summary["report"] == "report.html"
    assert summary["files"]["report.html"] == (work / "report.html").stat().st_size
    page = (work / "report.html").read_text(encoding="utf-8")
    assert_self_contained(page)
    # The map inside is the one written as partitions.svg.
    svg = (work / "partitions.svg").read_text(encoding="utf-8")
    assert svg.split("\n", 1)[1].strip() in page


def test_a_person_sees_every_partition_boundary_and_result(run, tmp_path):
    work, summary = run
    view = look_at((work / "report.html").as_uri(), str(tmp_path / "report.png"))
    print(f"\nreport screenshot: {view.screenshot} ({view.width}x{view.height})")
    assert view.errors == []
    assert Path(view.screenshot).stat().st_size > 10_000
    assert view.width <= 1280, "the page is wider than the window"
    text = view.text
    pmap = load_map(str(work / summary["marked_model"]),
                    [str(work / p["file"]) for p in summary["partitions"]])
    for part in summary["partitions"]:
        assert part["file"] in text
        for value in part["inputs"] + part["outputs"]:
            assert value["name"] in text
    for label in pmap.boundary_labels():  # the map's lines: name, type, marks
        line = re.escape(label.name) + " +" + re.escape(label.type_text) + "  ◆ " + \
            re.escape(", ".join(label.marks))
        assert re.search(line, text), label
    for block in pmap.partitions():  # the partition's inputs and outputs table
        for direction, values in (("input", block.inputs), ("output", block.outputs)):
            for v in values:
                assert f"{direction}\t{v.name}\t{v.dtype}\t{v.shape}" in text, v
    for marker in summary["markers"]:
        assert marker in text
    verification = summary["verification"]
    assert "passed" in text and f"atol = {verification['atol']}" in text
    assert f"rtol = {verification['rtol']}" in text
    for row in verification["rows"]:
        assert f"{row['where']}\t{row['tensor']}\t{row['max_abs_error']:.3e}\tok" in text
    for name, size in summary["files"].items():
        if name != "report.html":
            assert f"{name}\t" in text and f"{size:,}" in text
    assert summary["command"] in text


def test_hostile_names_stay_text_in_the_browser(tmp_path):
    marked = tmp_path / "marked.onnx"
    onnx.save(hostile_model(), str(marked))
    files = extract_partitions(str(marked), hostile_partitions(), str(tmp_path))
    pmap = load_map(str(marked), files)
    part = pmap.partitions()[0]
    summary = {
        "command": "torch2onnx '<script>alert(1)</script>' --work-dir \"&amp;\"",
        "partitions": [{"file": HOSTILE_FILE, "start": ["net:input"], "end": ['f"<b>:output'],
                        "inputs": [], "outputs": []}],
        "full_model": {"file": "</h3><img src=x>.onnx", "nodes": 2},
        "verification": {"ok": False, "atol": 1e-4, "rtol": 1e-3, "rows": [
            {"where": HOSTILE_FILE, "tensor": HOSTILE_MARK, "max_abs_error": 0.5,
             "ok": False}]},
    }
    page = render_report(summary, pmap, {HOSTILE_FILE: 123})
    assert_self_contained(page)
    (tmp_path / "hostile.html").write_text(page, encoding="utf-8")
    view = look_at((tmp_path / "hostile.html").as_uri(), str(tmp_path / "hostile.png"))
    print(f"\nhostile report screenshot: {view.screenshot}")
    assert view.errors == []
    shown_mark = HOSTILE_MARK.replace("\x01", "\ufffd")
    for literal in (HOSTILE_FILE, HOSTILE_INPUT, shown_mark, summary["command"],
                    "</h3><img src=x>.onnx", 'f"<b>[0]:output'):
        assert literal in view.text, literal
    assert "FAILED" in view.text and part.title == HOSTILE_FILE
