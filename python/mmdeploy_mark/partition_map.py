"""What the partition map shows, computed from a marked model and the
partitions cut from it.

The map reduces the model to blocks: the graph inputs, one block per
partition, one for every node no partition keeps ("not cut"), and the graph
outputs; and to the boundary tensors that flow between blocks, each with the
name a deployment wires up, its dtype and shape, and the marks it passes.
Its size therefore depends on the partitions and boundaries, never on the
node count. ``map_svg`` draws it; ``report`` tabulates it.

The map is computed by the C++ partition library (partition_map.h), which
``mmdeploy-partition --visualize`` uses too; this module is its Python face.
The classes are read-only views: ``PartitionMap`` (``title``,
``total_nodes``, ``blocks``, ``edges``, ``marks``, ``partitions()``,
``boundary_labels()``), ``Block`` (``kind`` one of the constants below,
``title``, ``nodes``, ``op_counts``, ``param_bytes``, ``inputs``,
``outputs``, ``unlinked``), ``Edge`` (``src``, ``dst`` block indices,
``tensors``), ``TensorLabel`` (``name``, ``dtype``, ``shape``, ``marks``,
``type_text``) and ``MarkRow`` (``marker``, ``name``, ``dtype``, ``shape``,
``where``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence, Tuple

import onnx

from .partition import _partition

__all__ = ["Block", "Edge", "MarkRow", "PartitionMap", "TensorLabel", "build_map",
           "count_text", "format_bytes", "load_map"]

Block = _partition.Block
Edge = _partition.Edge
MarkRow = _partition.MarkRow
PartitionMap = _partition.PartitionMap
TensorLabel = _partition.TensorLabel

# Kinds of blocks, in the order a pipeline runs them.
INPUTS, PARTITION, UNCUT, OUTPUTS = "inputs", "partition", "uncut", "outputs"

count_text = _partition.count_text      # "1 node", "2 nodes"
format_bytes = _partition.format_bytes  # "8.6 MiB"


def build_map(marked: onnx.ModelProto, partitions: Sequence[Tuple[str, onnx.ModelProto]],
              title: str = "") -> PartitionMap:
    """The map of ``marked`` cut into ``partitions`` (``(save_file, model)``
    pairs). A node in several partitions belongs to the first one's block."""
    return _partition.build_partition_map(
        marked.SerializeToString(), [(n, m.SerializeToString()) for n, m in partitions],
        title)


def load_map(marked_path: str, partition_files: Sequence[str],
             names: Optional[Sequence[str]] = None) -> PartitionMap:
    """``build_map`` from files; ``names`` label the partitions (default:
    their file names); the title is the marked model's file name. Tensor data
    is not read.

    Raises:
        MalformedModelError: a file cannot be read as an ONNX model.
    """
    return _partition.load_partition_map(
        str(marked_path), [str(Path(p)) for p in partition_files],
        None if names is None else list(names))
