// In-place rewrites of graphs the pass owns (copies, never the caller's).
#pragma once

#include <onnx/onnx_pb.h>

#include <string>
#include <unordered_map>

namespace mmdeploy::partition {

using Renames = std::unordered_map<std::string, std::string>;

// Renames, inside `body` and the bodies nested in it, every read of an
// outer-scope tensor listed in `renames` (node inputs, body outputs and
// value_info). Names the body defines itself shadow the outer ones and are
// left alone.
//   renames {x: a}:  body () => (o) { o = Add(x, x) }
//   after:           body () => (o) { o = Add(a, a) }
void RenameOuterReads(const Renames& renames, onnx::GraphProto* body);

// Removes every Mark node of `graph` and of the bodies nested in it; readers
// of a mark's output read the mark's input instead. Graph outputs keep their
// names: when a mark produces one, the tensor entering the mark is renamed
// to the output name, or, if that tensor is not produced by a node of this
// graph or is itself a graph output, the Mark becomes an Identity.
//   before:  y = mmdeploy.Mark<..>(x);  z = Relu(y);  o = mmdeploy.Mark<..>(z)
//   after:   o = Relu(x)                      (graph output o keeps its name)
// Throws MalformedModelError if a Mark has not exactly one input and output.
void StripMarksInGraph(onnx::GraphProto* graph);

// True if a node of `graph` or of a body nested in it has domain `domain`.
bool UsesDomain(const onnx::GraphProto& graph, const std::string& domain);

// Removes the opset import of the Mark domain when no node of the model (nor
// of its local functions) still uses it.
void DropUnusedMarkDomain(onnx::ModelProto* model);

}  // namespace mmdeploy::partition
