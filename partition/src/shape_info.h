// Types and shapes of a partition's inputs, outputs and intermediates.
#pragma once

#include <mmdeploy/partition/options.h>
#include <mmdeploy/partition/partition.h>
#include <onnx/onnx_pb.h>

#include <string>
#include <unordered_map>
#include <vector>

#include "graph_index.h"

namespace mmdeploy::partition {

// The type of a partition input or output: the declared type (graph input,
// output or value_info) of the first of `tensors` that has one, else the
// element type and shape recorded by the Mark at position `mark` of
// index.marks() (GraphIndex::kNone for none; a Mark without a `shape`
// attribute gives no shape, an empty one a scalar). Returns false when
// neither is known.
bool BoundaryType(const GraphIndex& index,
                  const std::vector<std::string>& tensors, int mark,
                  onnx::TypeProto* type);

// Names the dims that `dynamic_axes` lists on the partition's inputs and
// outputs (an empty dim name becomes "<tensor>_dim_<axis>": the one place
// that names the dims of dynamic_axes' list form {name: [axis, ...]}). With infer_shapes, re-runs ONNX shape
// inference afterwards; if dynamic_axes is not empty, intermediate
// value_info and output shapes are cleared first because they were recorded
// for the static export shapes. An output whose shape inference cannot
// compute keeps its rank with unknown dims.
// Throws PartitionError when dynamic_axes names a tensor that is not an
// input or output of the partition or an axis outside its rank, and when
// shape inference fails (with its message).
// inputs_changed says that input types were overridden (tensor inputs
// "name:shape:dtype"): shapes are then re-inferred as for dynamic_axes.
void FinishShapes(const DynamicAxes& dynamic_axes, bool infer_shapes,
                  onnx::ModelProto* partition, bool inputs_changed = false);

// The types ONNX shape inference finds for the tensors of the whole model
// (value_info, outputs), for boundaries by tensor name of a model that does
// not declare their types. Empty when inference fails. Costs a copy of the
// model's skeleton and one inference run: called only when needed.
std::unordered_map<std::string, onnx::TypeProto> InferModelTypes(
    const onnx::ModelProto& model);

}  // namespace mmdeploy::partition
