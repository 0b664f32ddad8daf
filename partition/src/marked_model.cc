// MarkedModel: index once, cut many partitions.
#include <mmdeploy/partition/partition.h>
#include <google/protobuf/arena.h>
#include <mmdeploy/partition/spec.h>

#include <cctype>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "boundaries.h"
#include "build_partition.h"
#include "collect_nodes.h"
#include "graph_index.h"
#include "mark_list.h"
#include "model_io.h"
#include "shape_info.h"
#include "validate_graph.h"

namespace mmdeploy::partition {
namespace {

std::string DescribeUncovered(const GraphIndex& index,
                              const UncoveredTensor& tensor) {
  std::string text = (tensor.graph_input ? "graph input '" : "tensor '") +
                     tensor.name + "'";
  if (!tensor.graph_input) text += " (produced by no node)";
  if (tensor.reader != GraphIndex::kNone) {
    text += " read by node " + DescribeNode(index.graph().node(tensor.reader));
  }
  return text;
}

[[noreturn]] void ThrowUncovered(const GraphIndex& index,
                                 const PartitionSpec& spec,
                                 const NodeCollection& collection) {
  std::vector<std::string> needed;
  for (const auto& tensor : collection.uncovered) {
    needed.push_back(DescribeUncovered(index, tensor));
  }
  const std::string starts =
      spec.inputs.empty()
          ? "its start markers [" + JoinNames(spec.start) + "]"
          : spec.start.empty()
                ? "its inputs [" + JoinNames(spec.inputs) + "]"
                : "its start markers [" + JoinNames(spec.start) +
                      "] and inputs [" + JoinNames(spec.inputs) + "]";
  throw UncoveredTensorError(
      "the partition's outputs need tensors that " + starts +
      " do not provide: " + JoinNames(needed) +
      "; add start markers that cover them (markers in this model: " +
      (index.markers().empty() ? std::string("none")
                               : JoinNames(index.markers())) +
      "; or add the tensors to inputs) or set expose_uncovered_inputs to "
      "make them extra inputs");
}

// Inputs given by tensor name must be needed by the outputs (as
// onnx.utils.extract_model's users expect every input to be used).
void CheckTensorInputsUsed(const std::vector<Boundary>& starts,
                           const std::vector<Boundary>& ends,
                           const NodeCollection& collection) {
  std::vector<std::string> unused;
  for (const auto& start : starts) {
    if (start.by_name && collection.used_inputs.count(start.tensor) == 0) {
      unused.push_back("'" + start.tensor + "'");
    }
  }
  if (unused.empty()) return;
  std::vector<std::string> outputs;
  for (const auto& end : ends) outputs.push_back("'" + end.tensor + "'");
  throw PartitionError(
      "the partition's outputs [" + JoinNames(outputs) +
      "] do not depend on input tensor" + (unused.size() > 1 ? "s " : " ") +
      JoinNames(unused) +
      ": remove it from inputs, or choose outputs computed from it");
}

// The Mark that writes or reads `tensor` (its recorded dtype and shape
// describe the tensor), or GraphIndex::kNone.
int MarkOfTensor(const GraphIndex& index, const std::string& tensor) {
  std::vector<int> nodes = index.Consumers(tensor);
  if (const int producer = index.Producer(tensor);
      producer != GraphIndex::kNone) {
    nodes.insert(nodes.begin(), producer);
  }
  for (const int node : nodes) {
    if (!index.IsMark(node)) continue;
    for (size_t mark = 0; mark < index.marks().size(); ++mark) {
      if (index.MarkNode(static_cast<int>(mark)) == node) {
        return static_cast<int>(mark);
      }
    }
  }
  return GraphIndex::kNone;
}

void SetOverride(const InputOverride& override, onnx::ValueInfoProto* input) {
  auto* tensor_type = input->mutable_type()->mutable_tensor_type();
  if (override.elem_type != 0) tensor_type->set_elem_type(override.elem_type);
  if (!override.has_shape) return;
  auto* shape = tensor_type->mutable_shape();
  shape->clear_dim();
  for (const auto& dim : override.dims) {
    auto* added = shape->add_dim();
    if (dim.empty()) continue;
    if (std::isdigit(static_cast<unsigned char>(dim.front())) != 0) {
      added->set_dim_value(std::stoll(dim));
    } else {
      added->set_dim_param(dim);
    }
  }
}

}  // namespace

class MarkedModel::Impl {
 public:
  Impl(onnx::ModelProto model, std::string source)
      : owned_(std::move(model)),
        model_(&owned_),
        source_(std::move(source)),
        index_(Prepared(model_, source_)) {}

  // The model read from `path` onto an arena of its own: parsing a large
  // graph, and freeing it at the end, then cost a fraction of what one
  // allocation per string and message does.
  explicit Impl(const std::string& path)
      : arena_(std::make_unique<google::protobuf::Arena>()),
        model_(google::protobuf::Arena::CreateMessage<onnx::ModelProto>(
            arena_.get())),
        source_(path),
        index_(Prepared(Loaded(path, model_), source_)) {}

  const onnx::ModelProto& model() const { return *model_; }
  const GraphIndex& index() const { return index_; }
  const std::string& source() const { return source_; }

  // Types shape inference finds for the whole model, computed on first use
  // (boundaries by tensor name on a model without value_info).
  const std::unordered_map<std::string, onnx::TypeProto>& InferredTypes()
      const {
    std::call_once(inferred_once_,
                   [this] { inferred_ = InferModelTypes(*model_); });
    return inferred_;
  }

 private:
  static onnx::ModelProto* Loaded(const std::string& path,
                                  onnx::ModelProto* model) {
    LoadModelInto(path, model);
    return model;
  }

  // Checks everything later steps rely on before any work (see
  // validate_graph.h); puts out-of-order nodes in order.
  static const onnx::GraphProto& Prepared(onnx::ModelProto* model,
                                          const std::string& source) {
    ValidateModel(model, source);
    if (!model->has_graph()) {
      throw MalformedModelError(
          "model" + (source.empty() ? std::string() : " '" + source + "'") +
          " has no graph; it is not a complete ONNX model");
    }
    return model->graph();
  }

  // The index refers into *model_, so Impl never moves (MarkedModel moves
  // the pointer to it). The model is owned_ or lives on arena_.
  std::unique_ptr<google::protobuf::Arena> arena_;
  onnx::ModelProto owned_;
  onnx::ModelProto* model_;
  const std::string source_;
  const GraphIndex index_;
  mutable std::once_flag inferred_once_;
  mutable std::unordered_map<std::string, onnx::TypeProto> inferred_;
};

MarkedModel::MarkedModel(onnx::ModelProto model, std::string source)
    : impl_(std::make_unique<Impl>(std::move(model), std::move(source))) {}
MarkedModel::MarkedModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MarkedModel MarkedModel::Load(const std::string& path) {
  return MarkedModel(std::make_unique<Impl>(path));
}
MarkedModel::~MarkedModel() = default;
MarkedModel::MarkedModel(MarkedModel&&) noexcept = default;
MarkedModel& MarkedModel::operator=(MarkedModel&&) noexcept = default;

const onnx::ModelProto& MarkedModel::model() const { return impl_->model(); }

const std::vector<MarkRecord>& MarkedModel::marks() const {
  return impl_->index().marks();
}

onnx::ModelProto MarkedModel::Extract(const PartitionSpec& spec,
                                      const PartitionOptions& options) const {
  // The spec's own rules first: they need no model.
  CheckPartitionSpec(spec);
  const GraphIndex& index = impl_->index();
  // Markers (or, with neither markers nor tensor names, the graph's own
  // inputs/outputs) first, then the tensors named by inputs/outputs.
  std::vector<Boundary> starts;
  if (!spec.start.empty() || spec.inputs.empty()) {
    starts = ResolveBoundaries(index, spec.start, BoundaryRole::kStart,
                               spec.start_name_map);
  }
  std::vector<Boundary> ends;
  if (!spec.end.empty() || spec.outputs.empty()) {
    ends = ResolveBoundaries(index, spec.end, BoundaryRole::kEnd,
                             spec.end_name_map);
  }
  std::vector<InputOverride> overrides;
  for (auto& start : ResolveTensorBoundaries(
           index, spec.inputs, BoundaryRole::kStart, &overrides)) {
    starts.push_back(std::move(start));
  }
  for (auto& end : ResolveTensorBoundaries(index, spec.outputs,
                                           BoundaryRole::kEnd, nullptr)) {
    ends.push_back(std::move(end));
  }
  ApplyOutputNames(index, spec.output_names, &ends);
  CheckBoundaryNames(index, starts, ends);

  std::vector<std::string> output_tensors;
  for (const auto& end : ends) output_tensors.push_back(end.tensor);
  std::unordered_set<std::string> input_tensors;
  for (const auto& start : starts) input_tensors.insert(start.tensor);
  const NodeCollection collection =
      CollectNodes(index, output_tensors, input_tensors);
  if (!collection.uncovered.empty() && !options.expose_uncovered_inputs) {
    ThrowUncovered(index, spec, collection);
  }
  CheckTensorInputsUsed(starts, ends, collection);
  onnx::ModelProto partition =
      BuildPartition(impl_->model(), index, starts, ends, collection, spec,
                     impl_->source());
  auto* graph = partition.mutable_graph();
  // A foreign model may not declare the types of the tensors it is cut at.
  auto fill_type = [&](const Boundary& boundary, onnx::ValueInfoProto* port) {
    // BuildPartition leaves an empty type where the model declares none.
    if (!boundary.by_name ||
        port->type().value_case() != onnx::TypeProto::VALUE_NOT_SET) {
      return;
    }
    // A tensor entering or leaving a Mark: the mark recorded its type.
    if (const int mark = MarkOfTensor(index, boundary.tensor);
        mark != GraphIndex::kNone &&
        BoundaryType(index, {}, mark, port->mutable_type())) {
      return;
    }
    const auto& types = impl_->InferredTypes();
    if (const auto it = types.find(boundary.tensor); it != types.end()) {
      *port->mutable_type() = it->second;
    }
  };
  for (const auto& start : starts) {
    for (auto& input : *graph->mutable_input()) {
      if (start.by_name && input.name() == start.name) fill_type(start, &input);
    }
  }
  for (int i = 0; i < graph->output_size() && i < static_cast<int>(ends.size());
       ++i) {
    fill_type(ends[i], graph->mutable_output(i));
  }
  for (const auto& override : overrides) {
    for (auto& input : *graph->mutable_input()) {
      if (input.name() == override.name) SetOverride(override, &input);
    }
  }
  FinishShapes(spec.dynamic_axes, options.infer_shapes, &partition,
               !overrides.empty());
  return partition;
}

std::vector<onnx::ModelProto> MarkedModel::ExtractAll(
    const std::vector<PartitionSpec>& specs,
    const PartitionOptions& options) const {
  std::vector<onnx::ModelProto> partitions;
  partitions.reserve(specs.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    try {
      partitions.push_back(Extract(specs[i], options));
    } catch (PartitionError& error) {
      error.AppendContext("partition " + std::to_string(i) + " (save_file '" +
                          specs[i].save_file + "')");
      throw;
    }
  }
  return partitions;
}

}  // namespace mmdeploy::partition
