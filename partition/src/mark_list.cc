#include "mark_list.h"

#include <mmdeploy/mark_schema.h>

namespace mmdeploy::partition {

bool IsMarkNode(const onnx::NodeProto& node) {
  return node.op_type() == kMarkOpType && node.domain() == kMarkDomain;
}

std::string DescribeNode(const onnx::NodeProto& node) {
  const std::string name =
      node.name().empty() ? "<unnamed>" : "'" + node.name() + "'";
  return name + " (" + node.op_type() + ")";
}

MarkRecord ReadMarkRecord(const onnx::NodeProto& node) {
  if (node.input_size() != 1 || node.output_size() != 1 ||
      node.input(0).empty() || node.output(0).empty()) {
    throw MalformedModelError(
        "Mark node " + DescribeNode(node) + " has " +
        std::to_string(node.input_size()) + " inputs and " +
        std::to_string(node.output_size()) +
        " outputs; a Mark needs exactly one named input and one named "
        "output: re-export the model");
  }
  MarkRecord mark;
  bool has_name = false;
  for (const auto& attr : node.attribute()) {
    const std::string& key = attr.name();
    if (key == "func") {
      mark.func = attr.s();
    } else if (key == "func_id") {
      mark.func_id = attr.i();
    } else if (key == "type") {
      mark.type = attr.s();
    } else if (key == "name") {
      mark.name = attr.s();
      has_name = true;
    } else if (key == "id") {
      mark.id = attr.i();
    } else if (key == "dtype") {
      mark.dtype = attr.i();
    } else if (key == "shape") {
      mark.shape.assign(attr.ints().begin(), attr.ints().end());
    }
  }
  // An empty name is no name: the mark takes mmdeploy's default.
  if (!has_name || mark.name.empty()) {
    mark.name = mark.func + "_" + mark.type + "_" + std::to_string(mark.id);
  }
  mark.node_name = node.name();
  mark.input = node.input(0);
  mark.output = node.output(0);
  return mark;
}

std::vector<MarkRecord> ListMarks(const onnx::ModelProto& model) {
  std::vector<MarkRecord> marks;
  for (const auto& node : model.graph().node()) {
    if (IsMarkNode(node)) marks.push_back(ReadMarkRecord(node));
  }
  return marks;
}

}  // namespace mmdeploy::partition
