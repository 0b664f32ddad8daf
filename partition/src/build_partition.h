// Assembling one partition model from the collected nodes.
#pragma once

#include <mmdeploy/partition/options.h>
#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

#include "boundaries.h"
#include "collect_nodes.h"
#include "graph_index.h"

namespace mmdeploy::partition {

// metadata_props keys recording where a partition came from.
inline constexpr char kMetadataSource[] = "mmdeploy_mark.source";
inline constexpr char kMetadataStart[] = "mmdeploy_mark.start";
inline constexpr char kMetadataEnd[] = "mmdeploy_mark.end";

// Builds the partition: the collected nodes in their original order without
// Mark nodes (also none inside bodies), the used initializers, inputs named
// by `starts` (those the walk reached) followed by the uncovered tensors of
// `collection` (kept under their own names), outputs named by `ends`, the
// model's value_info for the intermediates, and the model's ir_version,
// opset imports (without the Mark domain), producer, metadata and local
// functions, plus metadata recording `source` and the spec's markers.
// Tensors are renamed to the boundary names everywhere, bodies included.
//   before:  a = mmdeploy.Mark<name="in">(x);  b = Relu(a);
//            y = mmdeploy.Mark<name="out">(b)       start f:input, end g:output
//   after:   graph (in) => (out) { out = Relu(in) }
// Shapes are final only after FinishShapes.
// Throws PartitionError when the partition has no nodes, an output is an
// input itself, or a boundary name clashes with another tensor.
onnx::ModelProto BuildPartition(const onnx::ModelProto& model,
                                const GraphIndex& index,
                                const std::vector<Boundary>& starts,
                                const std::vector<Boundary>& ends,
                                const NodeCollection& collection,
                                const PartitionSpec& spec,
                                const std::string& source);

}  // namespace mmdeploy::partition
