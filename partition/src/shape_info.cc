#include "shape_info.h"

#include <mmdeploy/mark_schema.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "boundaries.h"

namespace mmdeploy::partition {
namespace {

struct Port {
  onnx::ValueInfoProto* info;
  bool is_input;
};

std::string DescribePort(const Port& port) {
  return std::string(port.is_input ? "input '" : "output '") +
         port.info->name() + "'";
}

// Rank of a tensor value, or -1 when it has no tensor shape.
int Rank(const onnx::ValueInfoProto& info) {
  if (!info.type().has_tensor_type() ||
      !info.type().tensor_type().has_shape()) {
    return -1;
  }
  return info.type().tensor_type().shape().dim_size();
}

void CheckAxes(const Port& port, const std::map<int64_t, std::string>& axes) {
  const int rank = Rank(*port.info);
  for (const auto& entry : axes) {
    const int64_t axis = entry.first;
    if (rank < 0) {
      throw PartitionError("dynamic_axes names axis " + std::to_string(axis) +
                           " of " + DescribePort(port) +
                           ", whose shape is unknown: give the Mark a shape "
                           "or keep the model's value_info");
    }
    if (axis < 0 || axis >= rank) {
      throw PartitionError(
          "dynamic_axes names axis " + std::to_string(axis) + " of " +
          DescribePort(port) + ", which has rank " + std::to_string(rank) +
          (rank > 0 ? " (axes 0.." + std::to_string(rank - 1) + ")"
                    : " (no axes)") +
          ": fix the axis in dynamic_axes");
    }
  }
}

void NameAxes(const std::map<int64_t, std::string>& axes,
              onnx::ValueInfoProto* info) {
  auto* shape = info->mutable_type()->mutable_tensor_type()->mutable_shape();
  for (const auto& [axis, dim_name] : axes) {
    auto* dim = shape->mutable_dim(static_cast<int>(axis));
    dim->set_dim_param(dim_name.empty() ? info->name() + "_dim_" +
                                              std::to_string(axis)
                                        : dim_name);
  }
}

void CollectDomains(const onnx::GraphProto& graph,
                    std::unordered_set<std::string>* domains) {
  for (const auto& node : graph.node()) {
    domains->insert(node.domain());
    for (const auto& attr : node.attribute()) {
      if (attr.has_g()) CollectDomains(attr.g(), domains);
      for (const auto& body : attr.graphs()) CollectDomains(body, domains);
    }
  }
}

// ONNX inference refuses a whole model when a node's domain has no opset
// import, though it skips nodes whose domain is imported but unknown to it.
// Importing such custom domains in the copy being inferred gets the second
// behaviour; the partition keeps the source model's imports.
void ImportCustomDomains(onnx::ModelProto* model) {
  std::unordered_set<std::string> used;
  CollectDomains(model->graph(), &used);
  for (const auto& opset : model->opset_import()) used.erase(opset.domain());
  used.erase("");
  used.erase("ai.onnx");
  for (const auto& domain : used) {
    auto* opset = model->add_opset_import();
    opset->set_domain(domain);
    opset->set_version(1);
  }
}

void RunShapeInference(onnx::ModelProto* partition) {
  // Inference needs the schemas (built on first use); Mark's among them.
  RegisterMarkSchema();
  // Data propagation lets Shape -> Gather -> Reshape chains keep symbolic
  // dims. It evaluates more than plain inference does, so if it throws,
  // inference runs again without it: a partition plain inference accepts is
  // not rejected. Node-level failures (e.g. ops of unknown domains) are
  // skipped by error_mode 0; what still throws is a real inconsistency.
  onnx::ModelProto attempt = *partition;
  ImportCustomDomains(&attempt);
  try {
    onnx::shape_inference::InferShapes(
        attempt, onnx::OpSchemaRegistry::Instance(),
        onnx::ShapeInferenceOptions(/*check_type_val=*/false,
                                    /*strict_mode_val=*/0,
                                    /*data_prop_val=*/true));
    partition->mutable_graph()->Swap(attempt.mutable_graph());
    return;
  } catch (const std::exception&) {
    // Retried below without data propagation, from a fresh copy.
  }
  attempt = *partition;
  ImportCustomDomains(&attempt);
  try {
    onnx::shape_inference::InferShapes(attempt,
                                       onnx::OpSchemaRegistry::Instance(),
                                       onnx::ShapeInferenceOptions());
    partition->mutable_graph()->Swap(attempt.mutable_graph());
  } catch (const std::exception& e) {
    throw PartitionError(
        std::string("ONNX shape inference failed on the partition: ") +
        e.what() +
        "; check the dynamic_axes and the model's shapes, or disable "
        "infer_shapes to keep the shapes recorded in the model");
  }
}

}  // namespace

bool BoundaryType(const GraphIndex& index,
                  const std::vector<std::string>& tensors, int mark,
                  onnx::TypeProto* type) {
  for (const auto& tensor : tensors) {
    if (const onnx::TypeProto* declared = index.FindType(tensor)) {
      *type = *declared;
      return true;
    }
  }
  if (mark == GraphIndex::kNone) return false;
  const MarkRecord& record = index.marks()[mark];
  if (record.dtype <= 0) return false;
  auto* tensor_type = type->mutable_tensor_type();
  tensor_type->set_elem_type(static_cast<int32_t>(record.dtype));
  const auto& node = index.graph().node(index.MarkNode(mark));
  const bool has_shape =
      std::any_of(node.attribute().begin(), node.attribute().end(),
                  [](const onnx::AttributeProto& attr) {
                    return attr.name() == "shape";
                  });
  if (!has_shape) return true;
  auto* shape = tensor_type->mutable_shape();
  for (const int64_t dim : record.shape) {
    // mmdeploy records unknown dims as negative numbers.
    auto* added = shape->add_dim();
    if (dim >= 0) added->set_dim_value(dim);
  }
  return true;
}

std::unordered_map<std::string, onnx::TypeProto> InferModelTypes(
    const onnx::ModelProto& model) {
  std::unordered_map<std::string, onnx::TypeProto> types;
  RegisterMarkSchema();
  // With data propagation first (Shape -> Gather -> Reshape chains keep
  // their dims), then without, as RunShapeInference does.
  onnx::ModelProto attempt;
  bool inferred = false;
  for (const bool data_prop : {true, false}) {
    attempt = model;
    ImportCustomDomains(&attempt);
    try {
      onnx::shape_inference::InferShapes(
          attempt, onnx::OpSchemaRegistry::Instance(),
          onnx::ShapeInferenceOptions(/*check_type_val=*/false,
                                      /*strict_mode_val=*/0, data_prop));
      inferred = true;
      break;
    } catch (const std::exception&) {
      // Retried without data propagation, from a fresh copy.
    }
  }
  if (!inferred) return types;
  const auto& graph = attempt.graph();
  for (const auto& info : graph.value_info()) types[info.name()] = info.type();
  for (const auto& info : graph.output()) types[info.name()] = info.type();
  for (const auto& info : graph.input()) types[info.name()] = info.type();
  return types;
}

void FinishShapes(const DynamicAxes& dynamic_axes, bool infer_shapes,
                  onnx::ModelProto* partition, bool inputs_changed) {
  auto* graph = partition->mutable_graph();
  std::unordered_map<std::string, Port> ports;
  std::vector<std::string> input_names;
  std::vector<std::string> output_names;
  for (auto& input : *graph->mutable_input()) {
    ports.emplace(input.name(), Port{&input, true});
    input_names.push_back(input.name());
  }
  for (auto& output : *graph->mutable_output()) {
    ports.emplace(output.name(), Port{&output, false});
    output_names.push_back(output.name());
  }
  for (const auto& [name, axes] : dynamic_axes) {
    const auto it = ports.find(name);
    if (it == ports.end()) {
      throw PartitionError(
          "dynamic_axes names '" + name +
          "', which is neither an input nor an output of the partition "
          "(inputs: " +
          JoinNames(input_names) + "; outputs: " + JoinNames(output_names) +
          "); use the final names (after name maps and output_names)");
    }
    CheckAxes(it->second, axes);
    if (it->second.is_input) NameAxes(axes, it->second.info);
  }
  // Without dynamic_axes nothing changes the shapes the export declared
  // (the partition keeps them: value_info, marks' types), so inference would
  // only spend time — 40% of a cut on large graphs — to find them again.
  const bool reinfer = !dynamic_axes.empty() || inputs_changed;
  if (infer_shapes && reinfer) {
    std::unordered_map<std::string, int> output_rank;
    if (reinfer) {
      graph->clear_value_info();
      for (auto& output : *graph->mutable_output()) {
        output_rank[output.name()] = Rank(output);
        if (output.type().has_tensor_type()) {
          output.mutable_type()->mutable_tensor_type()->clear_shape();
        }
      }
    }
    RunShapeInference(partition);
    for (auto& output : *graph->mutable_output()) {
      const auto it = output_rank.find(output.name());
      if (it == output_rank.end() || it->second < 0 || Rank(output) >= 0 ||
          !output.type().has_tensor_type()) {
        continue;
      }
      auto* shape =
          output.mutable_type()->mutable_tensor_type()->mutable_shape();
      for (int i = 0; i < it->second; ++i) shape->add_dim();
    }
  }
  for (auto& output : *graph->mutable_output()) {
    const auto it = dynamic_axes.find(output.name());
    if (it == dynamic_axes.end()) continue;
    const Port port{&output, false};
    CheckAxes(port, it->second);  // inference may have changed what is known
    NameAxes(it->second, &output);
  }
}

}  // namespace mmdeploy::partition
