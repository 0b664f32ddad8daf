// The partition map: what a person pins on the wall next to their pipeline
// after a cut. It reduces a marked model to blocks — the graph inputs, one
// block per partition, one for every node no partition keeps ("not cut"),
// the graph outputs — and to the boundary tensors flowing between blocks,
// each with the name a deployment wires up, its dtype and shape (dynamic
// dims by name) and the marks it passes. Its size depends on the partitions
// and boundaries, never on the node count. RenderMapSvg draws it; the Python
// package binds both (mmdeploy_mark.partition_map, .map_svg) and tabulates
// it in report.html.
#pragma once

#include <mmdeploy/partition/partition.h>
#include <onnx/onnx_pb.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace mmdeploy::partition {

// A tensor as the map labels it: "pred_maps.0 float32[1, 255, 19, 19]".
struct TensorLabel {
  std::string name;
  std::string dtype;  // "float32"; "dtype?" when unknown
  std::string shape;  // "[1, batch, 4]"; "[?]" or " (shape unknown)"
  // The marks the tensor passes, as markers "func[id]:type", source first.
  std::vector<std::string> marks;
  std::string TypeText() const { return dtype + shape; }
};

// Kinds of blocks, in the order a pipeline runs them.
enum class BlockKind { kInputs, kPartition, kUncut, kOutputs };
// "inputs", "partition", "uncut", "outputs".
const char* BlockKindName(BlockKind kind);

struct Block {
  BlockKind kind = BlockKind::kPartition;
  std::string title;
  int64_t nodes = 0;
  // Every op type with its count, most frequent first (ties by name).
  std::vector<std::pair<std::string, int64_t>> op_counts;
  int64_t param_bytes = 0;
  // A partition's inputs and outputs as its file declares them; the graph's
  // outputs of the inputs block, its inputs of the outputs block.
  std::vector<TensorLabel> inputs;
  std::vector<TensorLabel> outputs;
  // A partition's input and output names no edge carries (e.g. an output
  // nothing reads).
  std::vector<std::string> unlinked;
};

// Tensors flowing from blocks[src] to blocks[dst].
struct Edge {
  std::size_t src = 0;
  std::size_t dst = 0;
  std::vector<TensorLabel> tensors;
};

// One Mark node, and where it sits on the map ("backbone.onnx → not cut",
// "inside backbone.onnx", "reads no computed tensor").
struct MarkRow {
  std::string marker;
  std::string name;
  std::string dtype;
  std::string shape;
  std::string where;
};

struct PartitionMap {
  std::string title;
  int64_t total_nodes = 0;  // of the marked model, marks included
  std::vector<Block> blocks;  // drawing order: inputs, data flow, outputs
  std::vector<Edge> edges;    // sorted by (src, dst)
  std::vector<MarkRow> marks;

  std::vector<const Block*> Partitions() const;
  // Every tensor label on an edge, in drawing order.
  std::vector<TensorLabel> BoundaryLabels() const;
};

// A partition to put on the map: its label (the save_file) and its model.
struct MapPartition {
  std::string name;
  const onnx::ModelProto* model = nullptr;
};

// The map of `marked` cut into `partitions`. Partition nodes are matched to
// the marked model's by node name (the pass keeps names and renames only
// boundary tensors), so the partitions' own input and output names go on
// the edges. A node in several partitions belongs to the first one's block.
// Throws MalformedModelError for a Mark node without input or output.
PartitionMap BuildPartitionMap(const onnx::ModelProto& marked,
                               const std::vector<MapPartition>& partitions,
                               const std::string& title = "");

// BuildPartitionMap from files; `names` label the partitions (empty: their
// file names); the title is the marked model's file name. Tensor data is not
// read. Throws MalformedModelError naming a file that is no ONNX model.
PartitionMap LoadPartitionMap(const std::string& marked_path,
                              const std::vector<std::string>& partition_files,
                              const std::vector<std::string>& names = {});

// What the drawing promises a reader: real pixels at this text size, and
// lines no longer than this many characters (longer ones are cut with "…",
// the full text in their tooltip).
inline constexpr int kMapFontPx = 13;
inline constexpr int kMapMaxLineChars = 100;

// The SVG of the map (UTF-8, no XML declaration, so that it can be inlined
// in HTML; no script, font or other external reference).
std::string RenderMapSvg(const PartitionMap& map);

// RenderMapSvg as a standalone file: with the XML declaration.
std::string MapSvgFile(const PartitionMap& map);

// Writes MapSvgFile(map) to `path` as WriteModelsAtomically writes a model
// (through a temporary; never over a file the run reads or a non-regular
// file). Throws PartitionError naming the path.
void WritePartitionMap(const PartitionMap& map, const std::string& path,
                       const WriteOptions& options = {});

// "8.6 MiB": binary units, one decimal from a KiB on.
std::string FormatBytes(int64_t count);
// "1 node", "2 nodes".
std::string CountText(int64_t count, const std::string& noun);

}  // namespace mmdeploy::partition
