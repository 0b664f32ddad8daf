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
  const int node_count = graph.node_size();
  // Most tensors are node outputs; inputs mostly name them again.
  ids_.Reserve(static_cast<size_t>(node_count) * 2 +
               static_cast<size_t>(graph.initializer_size()) +
               static_cast<size_t>(graph.input_size()));
  // Ids first (the tables are sized once), definitions after; each name
  // is hashed once.
  auto intern_all = [this](const auto& items, auto&& name_of) {
    std::vector<int> ids;
    ids.reserve(static_cast<size_t>(items.size()));
    for (const auto& item : items) ids.push_back(ids_.Intern(name_of(item)));
    return ids;
  };
  auto value_name = [](const auto& item) -> const std::string& {
    return item.name();
  };
  const std::vector<int> init_ids =
      intern_all(graph.initializer(), value_name);
  const std::vector<int> sparse_ids = intern_all(
      graph.sparse_initializer(),
      [](const onnx::SparseTensorProto& init) -> const std::string& {
        return init.values().name();
      });
  const std::vector<int> input_ids = intern_all(graph.input(), value_name);
  const std::vector<int> output_ids = intern_all(graph.output(), value_name);
  const std::vector<int> info_ids = intern_all(graph.value_info(), value_name);
  std::vector<std::pair<int, int>> produced;  // (tensor id, node)
  produced.reserve(static_cast<size_t>(node_count));

  // Reads per node: direct inputs each once, then what bodies read from
  // the outer scope. A node has few inputs: a linear scan finds repeats.
  read_begin_.reserve(static_cast<size_t>(node_count) + 1);
  reads_.reserve(static_cast<size_t>(node_count) * 2);
  is_mark_.assign(static_cast<size_t>(node_count), 0);
  for (int i = 0; i < node_count; ++i) {
    const auto& node = graph.node(i);
    for (const auto& output : node.output()) {
      if (!output.empty()) produced.emplace_back(ids_.Intern(output), i);
    }
    const size_t begin = reads_.size();
    read_begin_.push_back(static_cast<int>(begin));
    auto add_once = [&](int id) {
      for (size_t k = begin; k < reads_.size(); ++k) {
        if (reads_[k] == id) return;
      }
      reads_.push_back(id);
    };
    for (const auto& input : node.input()) {
      if (!input.empty()) add_once(ids_.Intern(input));
    }
    ForEachBody(node, [&](const onnx::GraphProto& body) {
      std::vector<MarkRecord> body_marks;
      for (auto& name : OuterScopeReads(body, &body_marks)) {
        if (const int known = ids_.Find(name); known != kNone) {
          add_once(known);
        } else {
          add_once(ids_.Intern(owned_names_.emplace_back(std::move(name))));
        }
      }
      for (auto& mark : body_marks) {
        const int position = static_cast<int>(nested_marks_.size());
        nested_marks_by_key_[MarkerKey(mark.func, mark.func_id, mark.type)]
            .push_back(position);
        nested_marks_.push_back({std::move(mark), i});
      }
    });
    if (IsMarkNode(node)) {
      is_mark_[i] = 1;
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
  read_begin_.push_back(static_cast<int>(reads_.size()));

  const size_t count = static_cast<size_t>(ids_.size());
  producer_.assign(count, kNone);
  initializer_.assign(count, kNone);
  sparse_initializer_.assign(count, kNone);
  graph_input_.assign(count, kNone);
  is_graph_output_.assign(count, 0);
  type_.assign(count, nullptr);
  // First definition wins, as protobuf's users expect of repeated names.
  auto first = [](const std::vector<int>& ids, std::vector<int>* table) {
    for (size_t i = 0; i < ids.size(); ++i) {
      int& slot = (*table)[ids[i]];
      if (slot == kNone) slot = static_cast<int>(i);
    }
  };
  first(init_ids, &initializer_);
  first(sparse_ids, &sparse_initializer_);
  first(input_ids, &graph_input_);
  for (const int id : output_ids) is_graph_output_[id] = 1;
  // First declaration wins: graph inputs, then outputs, then value_info.
  auto declare = [this](const std::vector<int>& ids, const auto& infos) {
    for (size_t i = 0; i < ids.size(); ++i) {
      const auto& info = infos[static_cast<int>(i)];
      const onnx::TypeProto*& slot = type_[ids[i]];
      if (slot == nullptr && info.has_type()) slot = &info.type();
    }
  };
  declare(input_ids, graph.input());
  declare(output_ids, graph.output());
  declare(info_ids, graph.value_info());

  for (const auto& entry : produced) {
    // Plain locals: C++17 lambdas cannot capture structured bindings (clang
    // rejects it; the fuzz build uses clang).
    const auto id = entry.first;
    const auto node = entry.second;
    const auto output = [&] { return std::string(ids_.Name(id)); };
    if (producer_[id] != kNone) {
      throw MalformedModelError(
          "tensor '" + output() + "' is produced by two nodes, " +
          DescribeNode(graph.node(producer_[id])) + " and " +
          DescribeNode(graph.node(node)) + "; the graph is not valid ONNX");
    }
    if (graph_input_[id] != kNone || initializer_[id] != kNone) {
      throw MalformedModelError(
          "tensor '" + output() + "' produced by node " +
          DescribeNode(graph.node(node)) +
          " is also a graph input or initializer; the graph is not valid "
          "ONNX");
    }
    producer_[id] = node;
  }

  // Consumers in graph order, as one array sliced per tensor.
  consumer_begin_.assign(count + 1, 0);
  for (const int id : reads_) ++consumer_begin_[id + 1];
  for (size_t id = 0; id < count; ++id) {
    consumer_begin_[id + 1] += consumer_begin_[id];
  }
  consumers_.resize(reads_.size());
  std::vector<int> next(consumer_begin_.begin(), consumer_begin_.end() - 1);
  for (int i = 0; i < node_count; ++i) {
    for (const int id : ReadIds(i)) consumers_[next[id]++] = i;
  }
}

std::string GraphIndex::MarkerKey(const std::string& func, int64_t func_id,
                                  const std::string& type) {
  // '\n' cannot occur in a parsed marker, so keys cannot collide.
  return func + '\n' + std::to_string(func_id) + '\n' + type;
}

int GraphIndex::TensorId(std::string_view tensor) const {
  return ids_.Find(tensor);
}

int GraphIndex::Producer(std::string_view tensor) const {
  const int id = TensorId(tensor);
  return id == kNone ? kNone : producer_[id];
}

std::vector<int> GraphIndex::Consumers(std::string_view tensor) const {
  const int id = TensorId(tensor);
  if (id == kNone) return {};
  return std::vector<int>(consumers_.begin() + consumer_begin_[id],
                          consumers_.begin() + consumer_begin_[id + 1]);
}

std::vector<std::string> GraphIndex::Reads(int node) const {
  std::vector<std::string> names;
  for (const int id : ReadIds(node)) names.emplace_back(ids_.Name(id));
  return names;
}

int GraphIndex::Initializer(std::string_view tensor) const {
  const int id = TensorId(tensor);
  return id == kNone ? kNone : initializer_[id];
}

int GraphIndex::SparseInitializer(std::string_view tensor) const {
  const int id = TensorId(tensor);
  return id == kNone ? kNone : sparse_initializer_[id];
}

int GraphIndex::GraphInput(std::string_view tensor) const {
  const int id = TensorId(tensor);
  return id == kNone ? kNone : graph_input_[id];
}

bool GraphIndex::IsGraphOutput(std::string_view tensor) const {
  const int id = TensorId(tensor);
  return id != kNone && is_graph_output_[id] != 0;
}

const onnx::TypeProto* GraphIndex::FindType(std::string_view tensor) const {
  const int id = TensorId(tensor);
  return id == kNone ? nullptr : type_[id];
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
