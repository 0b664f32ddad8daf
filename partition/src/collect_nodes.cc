#include "collect_nodes.h"

#include <algorithm>
#include <utility>

namespace mmdeploy::partition {

NodeCollection CollectNodes(const GraphIndex& index,
                            const std::vector<std::string>& outputs,
                            const std::unordered_set<std::string>& inputs) {
  NodeCollection result;
  // Visited tensors and nodes by id: no hashing on the walk.
  std::vector<char> visited(static_cast<size_t>(index.tensor_count()), 0);
  std::vector<char> is_input(visited.size(), 0);
  for (const auto& name : inputs) {
    if (const int id = index.TensorId(name); id != GraphIndex::kNone) {
      is_input[id] = 1;
    }
  }
  std::vector<char> node_seen(static_cast<size_t>(index.graph().node_size()),
                              0);
  std::vector<UncoveredTensor> graph_inputs;
  std::vector<UncoveredTensor> others;
  // Explicit stack: production graphs are deep enough to overflow recursion.
  std::vector<std::pair<int, int>> stack;  // tensor id, reader
  for (auto it = outputs.rbegin(); it != outputs.rend(); ++it) {
    if (it->empty()) continue;
    const int id = index.TensorId(*it);
    if (id == GraphIndex::kNone) {
      // A name the graph never mentions: computed by nothing.
      if (std::none_of(others.begin(), others.end(),
                       [&](const UncoveredTensor& t) { return t.name == *it; })) {
        others.push_back({*it, GraphIndex::kNone, false});
      }
      continue;
    }
    stack.emplace_back(id, GraphIndex::kNone);
  }
  std::reverse(others.begin(), others.end());
  while (!stack.empty()) {
    const auto [tensor, reader] = stack.back();
    stack.pop_back();
    if (visited[tensor] != 0) continue;
    visited[tensor] = 1;
    if (is_input[tensor] != 0) {
      result.used_inputs.emplace(index.TensorName(tensor));
      continue;
    }
    const int producer = index.ProducerOf(tensor);
    if (producer != GraphIndex::kNone) {
      if (node_seen[producer] != 0) continue;
      node_seen[producer] = 1;
      result.nodes.push_back(producer);
      const auto reads = index.ReadIds(producer);
      for (auto it = reads.end(); it != reads.begin();) {
        --it;
        if (visited[*it] == 0) stack.emplace_back(*it, producer);
      }
      continue;
    }
    // A graph input with an initializer (IR < 4 style) is a constant.
    if (const int init = index.InitializerOf(tensor);
        init != GraphIndex::kNone) {
      result.initializers.push_back(init);
      continue;
    }
    if (const int init = index.SparseInitializerOf(tensor);
        init != GraphIndex::kNone) {
      result.sparse_initializers.push_back(init);
      continue;
    }
    const bool graph_input = index.GraphInputOf(tensor) != GraphIndex::kNone;
    (graph_input ? graph_inputs : others)
        .push_back({std::string(index.TensorName(tensor)), reader,
                    graph_input});
  }
  std::sort(result.nodes.begin(), result.nodes.end());
  std::sort(result.initializers.begin(), result.initializers.end());
  std::sort(result.sparse_initializers.begin(),
            result.sparse_initializers.end());
  std::sort(graph_inputs.begin(), graph_inputs.end(),
            [&](const UncoveredTensor& a, const UncoveredTensor& b) {
              return index.GraphInput(a.name) < index.GraphInput(b.name);
            });
  result.uncovered = std::move(graph_inputs);
  result.uncovered.insert(result.uncovered.end(), others.begin(),
                          others.end());
  return result;
}

}  // namespace mmdeploy::partition
