"""report.html: one self-contained page about a torch2onnx run.

It holds the partition map (inline SVG), every partition's inputs and
outputs with dtypes and shapes, the marks, the verification table with its
tolerances, the files written with their sizes, and the command that wrote
them. The page loads nothing: no script, font, stylesheet or image from
anywhere (its Content-Security-Policy forbids them), so it opens offline in
any browser. Every string from the model, the configs or the command line
is escaped: tensor and file names may hold markup.
"""
from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

from .map_svg import render_svg
from .partition_map import (INPUTS, OUTPUTS, PartitionMap, TensorLabel, count_text,
                            format_bytes, load_map)

__all__ = ["REPORT_FILE", "render_report", "write_report", "write_run_report"]

REPORT_FILE = "report.html"

_CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color: #1a1a1a; margin: 24px auto; max-width: 1100px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 8px; }
h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #ccc; padding-bottom: 4px; }
h3 { font-size: 16px; margin: 18px 0 4px; }
h1 code, h3 code { font-size: inherit; }
code, pre, td.mono { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 13px; }
pre { background: #f4f4f4; padding: 8px 10px; white-space: pre-wrap; overflow-wrap: anywhere; }
table { border-collapse: collapse; margin: 4px 0 8px; }
th, td { border: 1px solid #d0d0d0; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.ok { color: #1b6e1b; font-weight: bold; }
.fail { color: #b00020; font-weight: bold; }
.note { color: #555; }
.map { overflow-x: auto; }
dl { display: grid; grid-template-columns: max-content auto; gap: 2px 12px; margin: 0; }
dt { color: #555; }
dd { margin: 0; }
"""

# Nothing may load: no script, no external style, font, image or frame.
_CSP = "default-src 'none'; style-src 'unsafe-inline'"


def _e(value: Any) -> str:
    """Escapes any value for HTML text and attributes."""
    text = "" if value is None else str(value)
    # Characters HTML forbids raw (controls, lone surrogates) become U+FFFD.
    text = "".join(c if (c in "\t\n\r" or (" " <= c and not "\ud800" <= c <= "\udfff"
                                            and not "\x7f" <= c <= "\x9f")) else "\ufffd"
                   for c in text)
    return html.escape(text, quote=True)


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]],
           classes: Sequence[str] = ()) -> str:
    """A table of already-escaped cells; ``classes`` per column."""
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="{classes[i]}">{cell}</td>' if i < len(classes) and classes[i]
            else f"<td>{cell}</td>" for i, cell in enumerate(row))
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _io_rows(direction: str, values: List[TensorLabel]) -> List[List[str]]:
    return [[direction, f"<code>{_e(v.name)}</code>", _e(v.dtype), _e(v.shape.strip())]
            for v in values]


def _run_facts(summary: Mapping[str, Any]) -> str:
    facts = [("deploy config", summary.get("deploy_cfg")),
             ("model config", summary.get("model_cfg")),
             ("checkpoint", summary.get("checkpoint") or "none (random weights)"),
             ("input shape", summary.get("input_shape")),
             ("torch", summary.get("torch_version")),
             ("exporter", summary.get("exporter")),
             ("opset", summary.get("opset_version"))]
    timings = summary.get("timings_s") or {}
    if timings:
        facts.append(("stages", ", ".join(f"{k} {v:.2f} s" for k, v in timings.items())))
    return "<dl>" + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts
                            if v is not None) + "</dl>"


def _partitions_section(summary: Mapping[str, Any], pmap: PartitionMap) -> str:
    parts: List[str] = ['<section id="partitions"><h2>Partitions</h2>']
    by_title = {b.title: b for b in pmap.partitions()}
    entries = summary.get("partitions") or []
    if not entries:
        parts.append('<p class="note">No partition was cut (the deploy config has no '
                     'partition_config with apply_marks=True, or --no-partition).</p>')
    for entry in entries:
        block = by_title.get(entry["file"])
        parts.append(f"<h3><code>{_e(entry['file'])}</code></h3>")
        marks = (f"from <code>{_e(', '.join(entry.get('start', [])))}</code> to "
                 f"<code>{_e(', '.join(entry.get('end', [])))}</code>")
        if block is None:
            parts.append(f"<p>{marks}</p>")
            continue
        parts.append(f"<p>{count_text(block.nodes, 'node')} · "
                     f"{_e(format_bytes(block.param_bytes))} parameters · {marks}</p>")
        parts.append(_table(["", "name", "dtype", "shape"],
                            _io_rows("input", block.inputs) + _io_rows("output", block.outputs)))
    full = summary.get("full_model") or {}
    graph_in = next((b.outputs for b in pmap.blocks if b.kind == INPUTS), [])
    graph_out = next((b.inputs for b in pmap.blocks if b.kind == OUTPUTS), [])
    parts.append(f"<h3>Full model <code>{_e(full.get('file', ''))}</code></h3>")
    parts.append(f"<p>{_e(full.get('nodes', '?'))} nodes, no marks (the deployable "
                 f"model)</p>")
    parts.append(_table(["", "name", "dtype", "shape"],
                        _io_rows("input", graph_in) + _io_rows("output", graph_out)))
    parts.append("</section>")
    return "".join(parts)


def _marks_section(pmap: PartitionMap) -> str:
    if not pmap.marks:
        return ('<section id="marks"><h2>Marks</h2><p class="note">The model has no '
                'marks.</p></section>')
    rows = [[f"<code>{_e(m.marker)}</code>", f"<code>{_e(m.name)}</code>", _e(m.dtype),
             _e(m.shape), _e(m.where)] for m in pmap.marks]
    return ('<section id="marks"><h2>Marks</h2><p class="note">Every Mark node of the '
            'marked model, in graph order, with the shape recorded at export, and the '
            'blocks of the map the marked tensor flows between.</p>'
            + _table(["marker", "tensor", "dtype", "shape", "on the map"], rows)
            + "</section>")


def _verification_section(summary: Mapping[str, Any]) -> str:
    verification = summary.get("verification")
    head = '<section id="verification"><h2>Verification</h2>'
    if not verification:
        return (head + '<p class="note">Not run: pass --verify to compare every model '
                'with PyTorch in onnxruntime.</p></section>')
    ok = verification.get("ok")
    verdict = ('<span class="ok">passed</span>' if ok else '<span class="fail">FAILED</span>')
    tolerance = (f"An error passes when max|onnxruntime − PyTorch| ≤ atol + rtol · "
                 f"max|PyTorch| with atol = {_e(verification.get('atol'))} and rtol = "
                 f"{_e(verification.get('rtol'))}.")
    rows = [[f"<code>{_e(r.get('where'))}</code>", f"<code>{_e(r.get('tensor'))}</code>",
             _e(f"{r.get('max_abs_error', float('nan')):.3e}"),
             '<span class="ok">ok</span>' if r.get("ok") else '<span class="fail">FAIL</span>']
            for r in verification.get("rows", [])]
    return (head + f"<p>{verdict}. {tolerance}</p>"
            + _table(["model", "tensor", "max abs error", "result"], rows,
                     ["", "", "num mono", ""]) + "</section>")


def _files_section(files: Mapping[str, int]) -> str:
    rows = [[f"<code>{_e(name)}</code>", _e(format_bytes(size)), _e(f"{size:,}")]
            for name, size in sorted(files.items()) if name != REPORT_FILE]
    rows.append(['<code>summary.json</code> <span class="note">the run as JSON, beside this '
                 'page</span>', "", ""])
    rows.append([f'<code>{REPORT_FILE}</code> <span class="note">this page</span>', "", ""])
    return ('<section id="files"><h2>Files</h2>'
            + _table(["file", "size", "bytes"], rows, ["", "num", "num"]) + "</section>")


def render_report(summary: Mapping[str, Any], pmap: PartitionMap,
                  files: Optional[Mapping[str, int]] = None) -> str:
    """The page for a run's ``summary`` (as torch2onnx builds it) and the map
    of its marked model; ``files`` are the run's files and their sizes."""
    command = summary.get("command") or "(run from Python: mmdeploy_mark.pipeline.torch2onnx)"
    title = ", ".join(p["file"] for p in summary.get("partitions") or []) or pmap.title
    svg = render_svg(pmap)
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>mmdeploy-mark report: {_e(title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Partition report: {_e(title)}</h1>",
        f"<p>Written by</p><pre><code>{_e(command)}</code></pre>",
        _run_facts(summary),
        '<section id="map"><h2>Partition map</h2><p class="note">Blocks run top to bottom; '
        'the lines under a block are the tensors leaving it.</p>',
        f'<div class="map">{svg}</div></section>',
        _partitions_section(summary, pmap),
        _marks_section(pmap),
        _verification_section(summary),
        _files_section(files if files is not None else summary.get("files") or {}),
        "</body></html>",
        ""])


def write_report(path: str, summary: Mapping[str, Any], pmap: PartitionMap,
                 files: Optional[Mapping[str, int]] = None) -> str:
    """Writes ``render_report`` to ``path`` (through a temporary file)."""
    tmp = Path(str(path) + ".tmp")
    tmp.write_text(render_report(summary, pmap, files), encoding="utf-8")
    os.replace(tmp, path)
    return str(path)


def write_run_report(staged, summary: Dict[str, Any], marked_path: str,
                     partition_files: Sequence[str]) -> str:
    """torch2onnx's step: the report of the files staged so far, written into
    the staging directory beside them; returns its name in the work dir."""
    pmap = load_map(marked_path, partition_files,
                    [p["file"] for p in summary.get("partitions") or []])
    files = {name: os.path.getsize(staged.path(name)) for name in staged.staged_files()}
    write_report(staged.path(REPORT_FILE), summary, pmap, files)
    return REPORT_FILE
