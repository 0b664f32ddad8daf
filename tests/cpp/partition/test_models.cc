#include "test_models.h"

#include <onnx/checker.h>
#include <onnx/defs/parser.h>
#include <onnx/shape_inference/implementation.h>

#include <stdexcept>

namespace mmdeploy::partition::test {

::testing::AssertionResult Contains(const std::string& text,
                                    const std::string& part) {
  if (text.find(part) != std::string::npos) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "message\n  " << text << "\ndoes not contain\n  " << part;
}

onnx::ModelProto ParseText(const std::string& text) {
  onnx::ModelProto model;
  const auto status = onnx::OnnxParser::Parse(model, text.c_str());
  if (!status.IsOK()) {
    throw std::runtime_error("test model does not parse: " +
                             status.ErrorMessage() + "\n" + text);
  }
  return model;
}

std::string MarkNode(const std::string& out, const std::string& in,
                     const std::string& func, const std::string& type,
                     const std::string& name, int64_t func_id, int64_t id,
                     const std::vector<int64_t>& shape, int64_t dtype) {
  std::string text = out + " = mmdeploy.Mark <func = \"" + func +
                     "\", type = \"" + type + "\", name = \"" + name +
                     "\", func_id = " + std::to_string(func_id) +
                     ", id = " + std::to_string(id) +
                     ", dtype = " + std::to_string(dtype);
  if (!shape.empty()) {
    text += ", shape = [";
    for (size_t i = 0; i < shape.size(); ++i) {
      if (i > 0) text += ", ";
      text += std::to_string(shape[i]);
    }
    text += "]";
  }
  return text + "> (" + in + ")\n";
}

std::string Header() {
  return "<ir_version: 8, opset_import: [\"\" : 13, \"mmdeploy\" : 1], "
         "producer_name: \"unit-test\">\n";
}

namespace {

template <typename Items, typename Fn>
std::vector<std::string> NamesOf(const Items& items, Fn&& name_of) {
  std::vector<std::string> names;
  for (const auto& item : items) names.push_back(name_of(item));
  return names;
}

}  // namespace

std::vector<std::string> OpTypes(const onnx::GraphProto& graph) {
  return NamesOf(graph.node(),
               [](const onnx::NodeProto& n) { return n.op_type(); });
}

std::vector<std::string> NodeNames(const onnx::GraphProto& graph) {
  return NamesOf(graph.node(),
                 [](const onnx::NodeProto& n) { return n.name(); });
}

std::vector<std::string> InputNames(const onnx::GraphProto& graph) {
  return NamesOf(graph.input(),
               [](const onnx::ValueInfoProto& v) { return v.name(); });
}

std::vector<std::string> OutputNames(const onnx::GraphProto& graph) {
  return NamesOf(graph.output(),
               [](const onnx::ValueInfoProto& v) { return v.name(); });
}

std::vector<std::string> InitializerNames(const onnx::GraphProto& graph) {
  return NamesOf(graph.initializer(),
               [](const onnx::TensorProto& t) { return t.name(); });
}

std::vector<std::string> ValueInfoNames(const onnx::GraphProto& graph) {
  return NamesOf(graph.value_info(),
               [](const onnx::ValueInfoProto& v) { return v.name(); });
}

std::vector<std::string> OpsetDomains(const onnx::ModelProto& model) {
  return NamesOf(model.opset_import(),
               [](const onnx::OperatorSetIdProto& o) { return o.domain(); });
}

std::string Metadata(const onnx::ModelProto& model, const std::string& key) {
  for (const auto& prop : model.metadata_props()) {
    if (prop.key() == key) return prop.value();
  }
  return "<absent>";
}

std::vector<std::string> Dims(const onnx::ValueInfoProto& info) {
  std::vector<std::string> dims;
  if (!info.type().tensor_type().has_shape()) return dims;
  for (const auto& dim : info.type().tensor_type().shape().dim()) {
    if (dim.has_dim_value()) {
      dims.push_back(std::to_string(dim.dim_value()));
    } else if (dim.has_dim_param()) {
      dims.push_back(dim.dim_param());
    } else {
      dims.push_back("?");
    }
  }
  return dims;
}

const onnx::ValueInfoProto& FindValue(const onnx::GraphProto& graph,
                                      const std::string& name) {
  for (const auto& info : graph.input()) {
    if (info.name() == name) return info;
  }
  for (const auto& info : graph.output()) {
    if (info.name() == name) return info;
  }
  for (const auto& info : graph.value_info()) {
    if (info.name() == name) return info;
  }
  throw std::runtime_error("no value info named '" + name + "'");
}

bool HasMarks(const onnx::GraphProto& graph) {
  for (const auto& node : graph.node()) {
    if (node.op_type() == "Mark") return true;
    for (const auto& attr : node.attribute()) {
      if (attr.has_g() && HasMarks(attr.g())) return true;
      for (const auto& body : attr.graphs()) {
        if (HasMarks(body)) return true;
      }
    }
  }
  return false;
}

void CheckModel(const onnx::ModelProto& model) {
  onnx::checker::check_model(model);
  // What onnx.checker's full_check adds: strict type and shape inference.
  onnx::ModelProto copy = model;
  onnx::shape_inference::InferShapes(
      copy, onnx::OpSchemaRegistry::Instance(),
      onnx::ShapeInferenceOptions(/*check_type_val=*/true,
                                  /*strict_mode_val=*/1));
}

void NameNodes(onnx::ModelProto* model) {
  auto* graph = model->mutable_graph();
  for (int i = 0; i < graph->node_size(); ++i) {
    auto* node = graph->mutable_node(i);
    node->set_name(node->op_type() + "_" + std::to_string(i));
  }
}

}  // namespace mmdeploy::partition::test
