// Checks a model before any work is done on it: nothing in the file is
// trusted. Where a correct answer exists (nodes listed out of order in an
// acyclic graph) the model is repaired; everything else is an error.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>

namespace mmdeploy::partition {

// Validates the main graph and the model's local functions, in time linear
// in the model's size (no recursion over the node list):
//  - every tensor has at most one definition (graph inputs, initializers and
//    node outputs; two producers of one tensor are an error);
//  - the graph is acyclic (an error naming a node on the cycle); nodes out
//    of topological order are reordered (stably: the order of independent
//    nodes is kept);
//  - every graph output is produced by a node, a graph input or an
//    initializer;
//  - initializer data sizes match their dims (overflow-checked; for data
//    kept in files, the referenced length);
//  - Mark attributes, of the main graph's marks and of those in If/Loop/
//    Scan bodies and local functions: dtype present and a valid element
//    type, shape integers within sane bounds, attribute kinds as the schema
//    says;
//  - local functions do not call each other in a cycle (which would send
//    ONNX shape inference into unbounded recursion) and nest no deeper than
//    kMaxFunctionDepth.
// Throws MalformedModelError naming the model (`source`, may be empty), the
// offending object and what to do.
void ValidateModel(onnx::ModelProto* model, const std::string& source);

// The deepest chain of local function calls a model may have.
inline constexpr int kMaxFunctionDepth = 64;

}  // namespace mmdeploy::partition
