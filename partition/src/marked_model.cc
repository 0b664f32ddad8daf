// MarkedModel: index once, cut many partitions.
#include <mmdeploy/partition/partition.h>

#include <unordered_set>
#include <utility>

#include "boundaries.h"
#include "build_partition.h"
#include "collect_nodes.h"
#include "graph_index.h"
#include "mark_list.h"
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
  throw UncoveredTensorError(
      "the partition's outputs need tensors that its start markers [" +
      JoinNames(spec.start) + "] do not provide: " + JoinNames(needed) +
      "; add start markers that cover them (markers in this model: " +
      (index.markers().empty() ? std::string("none")
                               : JoinNames(index.markers())) +
      ") or set expose_uncovered_inputs to make them extra inputs");
}

}  // namespace

class MarkedModel::Impl {
 public:
  Impl(onnx::ModelProto model, std::string source)
      : model_(Validated(std::move(model), source)),
        source_(std::move(source)),
        index_(CheckedGraph(model_, source_)) {}

  const onnx::ModelProto& model() const { return model_; }
  const GraphIndex& index() const { return index_; }
  const std::string& source() const { return source_; }

 private:
  // Checks everything later steps rely on before any work (see
  // validate_graph.h); puts out-of-order nodes in order.
  static onnx::ModelProto Validated(onnx::ModelProto model,
                                    const std::string& source) {
    ValidateModel(&model, source);
    return model;
  }

  static const onnx::GraphProto& CheckedGraph(const onnx::ModelProto& model,
                                              const std::string& source) {
    if (!model.has_graph()) {
      throw MalformedModelError(
          "model" + (source.empty() ? std::string() : " '" + source + "'") +
          " has no graph; it is not a complete ONNX model");
    }
    return model.graph();
  }

  // The index refers into model_, so Impl never moves (MarkedModel moves
  // the pointer to it).
  const onnx::ModelProto model_;
  const std::string source_;
  const GraphIndex index_;
};

MarkedModel::MarkedModel(onnx::ModelProto model, std::string source)
    : impl_(std::make_unique<Impl>(std::move(model), std::move(source))) {}
MarkedModel::~MarkedModel() = default;
MarkedModel::MarkedModel(MarkedModel&&) noexcept = default;
MarkedModel& MarkedModel::operator=(MarkedModel&&) noexcept = default;

const onnx::ModelProto& MarkedModel::model() const { return impl_->model(); }

const std::vector<MarkRecord>& MarkedModel::marks() const {
  return impl_->index().marks();
}

onnx::ModelProto MarkedModel::Extract(const PartitionSpec& spec,
                                      const PartitionOptions& options) const {
  const GraphIndex& index = impl_->index();
  std::vector<Boundary> starts = ResolveBoundaries(
      index, spec.start, BoundaryRole::kStart, spec.start_name_map);
  std::vector<Boundary> ends =
      ResolveBoundaries(index, spec.end, BoundaryRole::kEnd, spec.end_name_map);
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
  onnx::ModelProto partition =
      BuildPartition(impl_->model(), index, starts, ends, collection, spec,
                     impl_->source());
  FinishShapes(spec.dynamic_axes, options.infer_shapes, &partition);
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
