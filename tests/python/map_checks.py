"""How the map tests look at a partition map's SVG: the text lines a viewer
shows, and the size a person reads at 100% whatever the model's size."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"
# What a person reads at 100%, whatever the model's size.
MAX_MAP_WIDTH, MAX_MAP_HEIGHT = 1000, 1000


# Characters XML 1.0 forbids: the drawing shows them as U+FFFD.
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def shown(text: str) -> str:
    """``text`` as the drawing shows it."""
    return _NOT_XML.sub("\ufffd", text)


def svg_lines(svg: str):
    """The text lines a viewer shows (tooltips left out), and the root."""
    root = ET.fromstring(svg)
    lines = []
    for text in root.iter(SVG + "text"):
        parts = [text.text or ""]
        for child in text:
            if child.tag != SVG + "title":
                parts.append(child.text or "")
            parts.append(child.tail or "")
        lines.append("".join(parts))
    return lines, root


def assert_labels_drawn(lines, pmap) -> None:
    """Every block title is a line, and every boundary label is one line
    starting with its name and holding its type and marks."""
    for block in pmap.blocks:
        assert shown(block.title) in lines, f"no line {block.title!r} in {lines}"
    for label in pmap.boundary_labels():
        line = next((t for t in lines if t.startswith(shown(label.name) + " ")), None)
        assert line is not None, f"no line for {label.name!r} in {lines}"
        assert label.type_text in line and all(shown(m) in line for m in label.marks), line


def map_size(root):
    """(width, height) of the drawing, checked to be unscaled pixels."""
    width, height = int(root.get("width")), int(root.get("height"))
    assert root.get("viewBox") == f"0 0 {width} {height}"
    return width, height
