// Reading Mark nodes: which nodes are marks and what their attributes say.
#pragma once

#include <mmdeploy/partition/partition.h>
#include <onnx/onnx_pb.h>

#include <string>

namespace mmdeploy::partition {

// True for a node of op type "Mark" in domain "mmdeploy".
bool IsMarkNode(const onnx::NodeProto& node);

// The node's name for messages: "'conv1' (Conv)", or "<unnamed> (Conv)".
std::string DescribeNode(const onnx::NodeProto& node);

// The attributes of a Mark node. Absent attributes take their defaults
// (func_id 0, id 0, dtype 0, empty shape) and an absent `name` becomes
// "<func>_<type>_<id>", as mmdeploy names it.
// Requires IsMarkNode(node). Throws MalformedModelError naming the node if it
// does not have exactly one input and one output.
MarkRecord ReadMarkRecord(const onnx::NodeProto& node);

}  // namespace mmdeploy::partition
