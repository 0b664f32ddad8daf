#include "collect_nodes.h"

#include <algorithm>
#include <utility>

namespace mmdeploy::partition {

NodeCollection CollectNodes(const GraphIndex& index,
                            const std::vector<std::string>& outputs,
                            const std::unordered_set<std::string>& inputs) {
  NodeCollection result;
  std::unordered_set<std::string> visited;
  std::unordered_set<int> nodes_seen;
  std::vector<UncoveredTensor> graph_inputs;
  std::vector<UncoveredTensor> others;
  // Explicit stack: production graphs are deep enough to overflow recursion.
  std::vector<std::pair<std::string, int>> stack;  // tensor, reader
  for (auto it = outputs.rbegin(); it != outputs.rend(); ++it) {
    stack.emplace_back(*it, GraphIndex::kNone);
  }
  while (!stack.empty()) {
    auto [tensor, reader] = std::move(stack.back());
    stack.pop_back();
    if (tensor.empty() || !visited.insert(tensor).second) continue;
    if (inputs.count(tensor) != 0) {
      result.used_inputs.insert(tensor);
      continue;
    }
    const int producer = index.Producer(tensor);
    if (producer != GraphIndex::kNone) {
      if (!nodes_seen.insert(producer).second) continue;
      result.nodes.push_back(producer);
      const auto& reads = index.Reads(producer);
      for (auto it = reads.rbegin(); it != reads.rend(); ++it) {
        if (visited.count(*it) == 0) stack.emplace_back(*it, producer);
      }
      continue;
    }
    // A graph input with an initializer (IR < 4 style) is a constant.
    if (const int init = index.Initializer(tensor); init != GraphIndex::kNone) {
      result.initializers.push_back(init);
      continue;
    }
    if (const int init = index.SparseInitializer(tensor);
        init != GraphIndex::kNone) {
      result.sparse_initializers.push_back(init);
      continue;
    }
    const bool graph_input = index.GraphInput(tensor) != GraphIndex::kNone;
    (graph_input ? graph_inputs : others)
        .push_back({tensor, reader, graph_input});
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
