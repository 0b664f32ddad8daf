"""Marked models for the partition map and report tests, built with
onnx.helper: a chain of any length cut into stages, and a model whose names
are hostile (markup, quotes, control characters)."""
from __future__ import annotations

from typing import Any, Dict, List

import onnx

from partition_models import GraphBuilder

# Names a model may carry; the map and the report must show them literally.
HOSTILE_INPUT = '<img src=x onerror="alert(1)">'
HOSTILE_MARK = "</text><script>alert('mark')</script>&amp;\x01"
HOSTILE_FILE = "<b onclick=x>part&amp;'.onnx"


def chain_model(nodes: int, stages: int = 4) -> onnx.ModelProto:
    """input [batch, 16] -> ``nodes`` unary ops in ``stages`` equal stages,
    each ending in a mark ``stage[i]:output`` named ``stage<i>_out``; the
    input is marked ``stage:input``. Op types cycle Relu, Neg, Abs, Sigmoid."""
    b = GraphBuilder(seed=4)
    x = b.input("input", ["batch", 16])
    x = b.mark(x, func="stage", type="input", name="input", shape=[-1, 16])
    per = nodes // stages
    for s in range(stages):
        for i in range(per):
            x = b.node(("Relu", "Neg", "Abs", "Sigmoid")[i % 4], [x])
        x = b.mark(x, func="stage", func_id=s, type="output", name=f"stage{s}_out",
                   shape=[-1, 16], out="output" if s == stages - 1 else "")
    b.output("output", ["batch", 16])
    return b.model("chain")


def chain_partitions(cut: int) -> List[Dict[str, Any]]:
    """partition_cfg for the first ``cut`` stages of ``chain_model``, with the
    batch dim named."""
    cfgs = []
    for s in range(cut):
        start = "stage:input" if s == 0 else f"stage[{s - 1}]:output"
        inp = "input" if s == 0 else f"stage{s - 1}_out"
        cfgs.append(dict(save_file=f"stage{s}.onnx", start=start, end=f"stage[{s}]:output",
                         dynamic_axes={inp: {0: "batch"}, f"stage{s}_out": {0: "batch"}}))
    return cfgs


def hostile_model() -> onnx.ModelProto:
    """HOSTILE_INPUT -> Mark -> Relu -> Mark(HOSTILE_MARK) -> Sigmoid -> output."""
    b = GraphBuilder(seed=5)
    x = b.input(HOSTILE_INPUT, [1, 4])
    x = b.mark(x, func="net", type="input", name=HOSTILE_INPUT, shape=[1, 4])
    x = b.node("Relu", [x])
    x = b.mark(x, func='f"<b>', type="output", name=HOSTILE_MARK, shape=[1, 4])
    b.node("Sigmoid", [x], out="output")
    b.output("output", [1, 4])
    return b.model("hostile")


def hostile_partitions() -> List[Dict[str, Any]]:
    return [dict(save_file=HOSTILE_FILE, start="net:input", end='f"<b>:output')]
