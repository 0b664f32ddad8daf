#include "graph_index.h"

#include <unordered_set>

#include "mark_list.h"
#include "marker.h"

namespace mmdeploy::partition {
namespace {

const std::vector<int> kNoIndices;

// Calls fn(body) for every graph attribute (If branches, Loop/Scan bodies).
template <typename Fn>
void ForEachBody(const onnx::NodeProto& node, Fn&& fn) {
  for (const auto& attr : node.attribute()) {
    if (attr.has_g()) fn(attr.g());
    for (const auto& body : attr.graphs()) fn(body);
  }
}

void AddOnce(const std::string& name, std::unordered_set<std::string>* seen,
             std::vector<std::string>* names) {
  if (!name.empty() && seen->insert(name).second) names->push_back(name);
}

}  // namespace

std::vector<std::string> OuterScopeReads(const onnx::GraphProto& body,
                                         std::vector<MarkRecord>* marks) {
  // Names the body defines itself shadow outer ones; everything else it
  // reads (directly or through deeper bodies) comes from outside.
  std::unordered_set<std::string> defined;
  for (const auto& input : body.input()) defined.insert(input.name());
  for (const auto& init : body.initializer()) defined.insert(init.name());
  for (const auto& init : body.sparse_initializer()) {
    defined.insert(init.values().name());
  }
  for (const auto& node : body.node()) {
    for (const auto& output : node.output()) defined.insert(output);
  }
  std::vector<std::string> reads;
  std::unordered_set<std::string> seen;
  auto read = [&](const std::string& name) {
    if (!name.empty() && defined.count(name) == 0) AddOnce(name, &seen, &reads);
  };
  for (const auto& node : body.node()) {
    if (marks != nullptr && IsMarkNode(node)) {
      marks->push_back(ReadMarkRecord(node));
    }
    for (const auto& input : node.input()) read(input);
    ForEachBody(node, [&](const onnx::GraphProto& inner) {
      for (const auto& name : OuterScopeReads(inner, marks)) read(name);
    });
  }
  // A body output may be an outer tensor passed through unchanged.
  for (const auto& output : body.output()) read(output.name());
  return reads;
}

GraphIndex::GraphIndex(const onnx::GraphProto& graph) : graph_(graph) {
  for (int i = 0; i < graph.initializer_size(); ++i) {
    initializer_.emplace(graph.initializer(i).name(), i);
  }
  for (int i = 0; i < graph.sparse_initializer_size(); ++i) {
    sparse_initializer_.emplace(graph.sparse_initializer(i).values().name(),
                                i);
  }
  for (int i = 0; i < graph.input_size(); ++i) {
    graph_input_.emplace(graph.input(i).name(), i);
  }
  for (const auto& output : graph.output()) {
    graph_outputs_.insert(output.name());
  }
  // First declaration wins: graph inputs, then outputs, then value_info.
  for (const auto& info : graph.input()) {
    if (info.has_type()) type_.emplace(info.name(), &info.type());
  }
  for (const auto& info : graph.output()) {
    if (info.has_type()) type_.emplace(info.name(), &info.type());
  }
  for (const auto& info : graph.value_info()) {
    if (info.has_type()) type_.emplace(info.name(), &info.type());
  }

  const int node_count = graph.node_size();
  reads_.resize(node_count);
  is_mark_.assign(node_count, false);
  for (int i = 0; i < node_count; ++i) {
    const auto& node = graph.node(i);
    for (const auto& output : node.output()) {
      if (output.empty()) continue;
      const auto [it, inserted] = producer_.emplace(output, i);
      if (!inserted) {
        throw MalformedModelError(
            "tensor '" + output + "' is produced by two nodes, " +
            DescribeNode(graph.node(it->second)) + " and " +
            DescribeNode(node) + "; the graph is not valid ONNX");
      }
      if (graph_input_.count(output) != 0 || initializer_.count(output) != 0) {
        throw MalformedModelError(
            "tensor '" + output + "' produced by node " + DescribeNode(node) +
            " is also a graph input or initializer; the graph is not valid "
            "ONNX");
      }
    }
    std::unordered_set<std::string> seen;
    auto& reads = reads_[i];
    for (const auto& input : node.input()) AddOnce(input, &seen, &reads);
    ForEachBody(node, [&](const onnx::GraphProto& body) {
      std::vector<MarkRecord> body_marks;
      for (const auto& name : OuterScopeReads(body, &body_marks)) {
        AddOnce(name, &seen, &reads);
      }
      for (auto& mark : body_marks) {
        const int position = static_cast<int>(nested_marks_.size());
        nested_marks_by_key_[MarkerKey(mark.func, mark.func_id, mark.type)]
            .push_back(position);
        nested_marks_.push_back({std::move(mark), i});
      }
    });
    for (const auto& name : reads) consumers_[name].push_back(i);

    if (IsMarkNode(node)) {
      is_mark_[i] = true;
      MarkRecord mark = ReadMarkRecord(node);
      const std::string key = MarkerKey(mark.func, mark.func_id, mark.type);
      auto& same = marks_by_key_[key];
      if (same.empty()) {
        markers_.push_back(
            ShortMarkerString(mark.func, mark.func_id, mark.type));
      }
      same.push_back(static_cast<int>(marks_.size()));
      marks_.push_back(std::move(mark));
      mark_nodes_.push_back(i);
    }
  }
}

std::string GraphIndex::MarkerKey(const std::string& func, int64_t func_id,
                                  const std::string& type) {
  // '\n' cannot occur in a parsed marker, so keys cannot collide.
  return func + '\n' + std::to_string(func_id) + '\n' + type;
}

int GraphIndex::Producer(const std::string& tensor) const {
  const auto it = producer_.find(tensor);
  return it == producer_.end() ? kNone : it->second;
}

const std::vector<int>& GraphIndex::Consumers(const std::string& tensor) const {
  const auto it = consumers_.find(tensor);
  return it == consumers_.end() ? kNoIndices : it->second;
}

const std::vector<std::string>& GraphIndex::Reads(int node) const {
  return reads_[node];
}

int GraphIndex::Initializer(const std::string& tensor) const {
  const auto it = initializer_.find(tensor);
  return it == initializer_.end() ? kNone : it->second;
}

int GraphIndex::SparseInitializer(const std::string& tensor) const {
  const auto it = sparse_initializer_.find(tensor);
  return it == sparse_initializer_.end() ? kNone : it->second;
}

int GraphIndex::GraphInput(const std::string& tensor) const {
  const auto it = graph_input_.find(tensor);
  return it == graph_input_.end() ? kNone : it->second;
}

bool GraphIndex::IsGraphOutput(const std::string& tensor) const {
  return graph_outputs_.count(tensor) != 0;
}

const onnx::TypeProto* GraphIndex::FindType(const std::string& tensor) const {
  const auto it = type_.find(tensor);
  return it == type_.end() ? nullptr : it->second;
}

const std::vector<int>& GraphIndex::MarksMatching(const Marker& marker) const {
  const auto it =
      marks_by_key_.find(MarkerKey(marker.func, marker.func_id, marker.type));
  return it == marks_by_key_.end() ? kNoIndices : it->second;
}

const std::vector<int>& GraphIndex::NestedMarksMatching(
    const Marker& marker) const {
  const auto it = nested_marks_by_key_.find(
      MarkerKey(marker.func, marker.func_id, marker.type));
  return it == nested_marks_by_key_.end() ? kNoIndices : it->second;
}

}  // namespace mmdeploy::partition
