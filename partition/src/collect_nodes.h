// Which nodes a partition needs: walk back from its outputs to its inputs.
#pragma once

#include <string>
#include <unordered_set>
#include <vector>

#include "graph_index.h"

namespace mmdeploy::partition {

// A tensor the walk needed but could not compute: a graph input (without
// initializer) or a tensor nothing produces.
struct UncoveredTensor {
  std::string name;
  int reader = GraphIndex::kNone;  // first node found reading it; kNone when
                                   // it is one of the requested outputs
  bool graph_input = false;
};

struct NodeCollection {
  std::vector<int> nodes;  // ascending, i.e. original topological order;
                           // Mark nodes on the way included
  std::vector<int> initializers;         // ascending graph().initializer()
  std::vector<int> sparse_initializers;  // ascending
  std::unordered_set<std::string> used_inputs;  // members of `inputs` reached
  // Graph inputs first in graph order, then other tensors in the order the
  // walk met them.
  std::vector<UncoveredTensor> uncovered;
};

// Walks back from `outputs` through producers (and through the outer-scope
// reads of If/Loop/Scan bodies), stopping at `inputs`, initializers and
// nodes without inputs (e.g. Constant). Never throws: the caller decides
// what uncovered tensors mean. Time is linear in what the walk reaches.
NodeCollection CollectNodes(const GraphIndex& index,
                            const std::vector<std::string>& outputs,
                            const std::unordered_set<std::string>& inputs);

}  // namespace mmdeploy::partition
