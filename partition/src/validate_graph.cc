#include "validate_graph.h"

#include <mmdeploy/partition/errors.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <queue>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "graph_index.h"
#include "mark_list.h"
#include "tensor_data.h"

namespace mmdeploy::partition {
namespace {

// The largest element type number ONNX defines (FLOAT4E2M1); newer numbers
// are rejected rather than guessed at.
constexpr int kMaxElemType = 23;
// A Mark's recorded dims: unknown dims are negative; known ones are at most
// 2^40 (a dim past that cannot be a real tensor's).
constexpr int64_t kMaxDim = int64_t{1} << 40;

std::string ModelName(const std::string& source) {
  return source.empty() ? std::string("the model") : "model '" + source + "'";
}

[[noreturn]] void Fail(const std::string& source, const std::string& what) {
  throw MalformedModelError(ModelName(source) + ": " + what);
}

// Size in bits of one element of `type`, or 0 when it has no fixed size
// (STRING) or is unknown.
int ElemBits(int type) {
  switch (type) {
    case onnx::TensorProto::FLOAT:
    case onnx::TensorProto::INT32:
    case onnx::TensorProto::UINT32:
      return 32;
    case onnx::TensorProto::UINT8:
    case onnx::TensorProto::INT8:
    case onnx::TensorProto::BOOL:
    case 17: case 18: case 19: case 20:  // FLOAT8 variants
      return 8;
    case onnx::TensorProto::UINT16:
    case onnx::TensorProto::INT16:
    case onnx::TensorProto::FLOAT16:
    case onnx::TensorProto::BFLOAT16:
      return 16;
    case onnx::TensorProto::INT64:
    case onnx::TensorProto::DOUBLE:
    case onnx::TensorProto::UINT64:
    case onnx::TensorProto::COMPLEX64:
      return 64;
    case onnx::TensorProto::COMPLEX128:
      return 128;
    case 21: case 22: case 23:  // UINT4, INT4, FLOAT4E2M1
      return 4;
    default:
      return 0;
  }
}

std::string DescribeInitializer(const onnx::TensorProto& tensor) {
  return "initializer '" + tensor.name() + "'";
}

// The number of bytes the dims of `tensor` call for, checked for overflow.
uint64_t ExpectedBytes(const onnx::TensorProto& tensor, int bits,
                       const std::string& source) {
  uint64_t count = 1;
  for (const int64_t dim : tensor.dims()) {
    if (dim < 0) {
      Fail(source, DescribeInitializer(tensor) + " has a negative dim (" +
                       std::to_string(dim) +
                       "); the file is corrupt or not a valid ONNX model");
    }
    if (__builtin_mul_overflow(count, static_cast<uint64_t>(dim), &count)) {
      Fail(source, DescribeInitializer(tensor) +
                       " has dims whose product overflows 64 bits; the file "
                       "is corrupt or not a valid ONNX model");
    }
  }
  uint64_t total_bits = 0;
  if (__builtin_mul_overflow(count, static_cast<uint64_t>(bits),
                             &total_bits)) {
    Fail(source, DescribeInitializer(tensor) +
                     " has dims whose byte size overflows 64 bits; the file "
                     "is corrupt or not a valid ONNX model");
  }
  return total_bits / 8 + (total_bits % 8 != 0 ? 1 : 0);
}

void CheckTensorData(const onnx::TensorProto& tensor,
                     const std::string& source) {
  const int type = tensor.data_type();
  const auto ref = DataRefOf(tensor);
  const bool has_raw = tensor.has_raw_data() || ref.has_value();
  if (!has_raw) return;
  if (type == onnx::TensorProto::STRING) {
    Fail(source, DescribeInitializer(tensor) +
                     " is a STRING tensor with raw data, which ONNX does not "
                     "allow; re-export the model");
  }
  const int bits = ElemBits(type);
  if (bits == 0) {
    Fail(source, DescribeInitializer(tensor) + " has element type " +
                     std::to_string(type) +
                     ", which is not a known ONNX tensor type; the file is "
                     "corrupt or needs a newer tool");
  }
  const uint64_t expected = ExpectedBytes(tensor, bits, source);
  const uint64_t actual =
      ref.has_value() ? ref->length : static_cast<uint64_t>(
                                          tensor.raw_data().size());
  if (actual != expected) {
    Fail(source, DescribeInitializer(tensor) + " holds " +
                     std::to_string(actual) + " bytes of data but its dims " +
                     "and element type call for " + std::to_string(expected) +
                     "; the file is truncated or corrupt: re-export the "
                     "model");
  }
}

void CheckMark(const onnx::NodeProto& node, const std::string& source) {
  bool has_dtype = false;
  for (const auto& attr : node.attribute()) {
    const std::string& key = attr.name();
    auto expect = [&](onnx::AttributeProto::AttributeType kind,
                      const char* kind_name) {
      if (attr.type() != kind) {
        Fail(source, "Mark node " + DescribeNode(node) + " has attribute '" +
                         key + "' of the wrong kind (expected " + kind_name +
                         "); re-export the model with mmdeploy_mark");
      }
    };
    if (key == "dtype") {
      expect(onnx::AttributeProto::INT, "an int");
      has_dtype = true;
      if (attr.i() <= 0 || attr.i() > kMaxElemType) {
        Fail(source, "Mark node " + DescribeNode(node) + " has dtype " +
                         std::to_string(attr.i()) +
                         ", which is not an ONNX element type (1.." +
                         std::to_string(kMaxElemType) +
                         "); re-export the model with mmdeploy_mark");
      }
    } else if (key == "shape") {
      expect(onnx::AttributeProto::INTS, "a list of ints");
      for (const int64_t dim : attr.ints()) {
        if (dim > kMaxDim) {
          Fail(source, "Mark node " + DescribeNode(node) +
                           " has a shape dim of " + std::to_string(dim) +
                           ", past any real tensor's (at most " +
                           std::to_string(kMaxDim) +
                           "; unknown dims are negative); re-export the model "
                           "with mmdeploy_mark");
        }
      }
    } else if (key == "func" || key == "type" || key == "name") {
      expect(onnx::AttributeProto::STRING, "a string");
    } else if (key == "func_id" || key == "id") {
      expect(onnx::AttributeProto::INT, "an int");
    }
  }
  if (!has_dtype) {
    Fail(source, "Mark node " + DescribeNode(node) +
                     " has no dtype attribute, so the partition's boundary "
                     "tensor would have no type; re-export the model with "
                     "mmdeploy_mark");
  }
}

// Marks below the main graph: in If/Loop/Scan bodies (at any depth) of the
// main graph and of the local functions. They get the top-level marks'
// checks; the main graph's own marks are checked by CheckGraph. Walked with
// an explicit stack, as nesting depth comes from the file.
void CheckNestedMarks(const onnx::ModelProto& model,
                      const std::string& source) {
  std::vector<const onnx::NodeProto*> nodes;
  auto push_bodies = [&](const onnx::NodeProto& node) {
    for (const auto& attr : node.attribute()) {
      if (attr.has_g()) {
        for (const auto& inner : attr.g().node()) nodes.push_back(&inner);
      }
      for (const auto& body : attr.graphs()) {
        for (const auto& inner : body.node()) nodes.push_back(&inner);
      }
    }
  };
  for (const auto& node : model.graph().node()) push_bodies(node);
  for (const auto& function : model.functions()) {
    for (const auto& node : function.node()) nodes.push_back(&node);
  }
  while (!nodes.empty()) {
    const onnx::NodeProto* node = nodes.back();
    nodes.pop_back();
    if (IsMarkNode(*node)) CheckMark(*node, source);
    push_bodies(*node);
  }
}

// Tensor definitions, graph outputs, order and cycles of the main graph.
void CheckGraph(onnx::GraphProto* graph, const std::string& source) {
  std::unordered_set<std::string> outside;  // graph inputs and initializers
  std::unordered_set<std::string> initializers;
  for (const auto& init : graph->initializer()) {
    if (!initializers.insert(init.name()).second) {
      Fail(source, "two initializers are named '" + init.name() +
                       "'; each tensor must be defined once");
    }
    outside.insert(init.name());
  }
  for (const auto& init : graph->sparse_initializer()) {
    if (!initializers.insert(init.values().name()).second) {
      Fail(source, "two initializers are named '" + init.values().name() +
                       "'; each tensor must be defined once");
    }
    outside.insert(init.values().name());
  }
  std::unordered_set<std::string> inputs;
  for (const auto& input : graph->input()) {
    if (!inputs.insert(input.name()).second) {
      Fail(source, "two graph inputs are named '" + input.name() +
                       "'; each tensor must be defined once");
    }
    outside.insert(input.name());
  }

  const int count = graph->node_size();
  std::unordered_map<std::string, int> producer;
  producer.reserve(static_cast<size_t>(count) * 2);
  for (int i = 0; i < count; ++i) {
    const auto& node = graph->node(i);
    for (const auto& output : node.output()) {
      if (output.empty()) continue;
      const auto [it, inserted] = producer.emplace(output, i);
      if (!inserted) {
        Fail(source, "tensor '" + output + "' is produced by two nodes, " +
                         DescribeNode(graph->node(it->second)) + " and " +
                         DescribeNode(node) +
                         "; each tensor must be produced once (SSA): fix or "
                         "re-export the model");
      }
      if (outside.count(output) != 0) {
        Fail(source, "tensor '" + output + "' produced by node " +
                         DescribeNode(node) +
                         " is also a graph input or initializer; each tensor "
                         "must be defined once: fix or re-export the model");
      }
    }
    if (IsMarkNode(node)) CheckMark(node, source);
  }
  for (const auto& output : graph->output()) {
    if (producer.count(output.name()) == 0 &&
        outside.count(output.name()) == 0) {
      Fail(source, "graph output '" + output.name() +
                       "' is produced by no node and is no graph input or "
                       "initializer; fix or re-export the model");
    }
  }

  // What each node reads from other nodes: its inputs and what its bodies
  // read from the outer scope.
  std::vector<std::vector<int>> preds(count);
  bool sorted = true;
  for (int i = 0; i < count; ++i) {
    const auto& node = graph->node(i);
    auto add = [&](const std::string& name) {
      const auto it = producer.find(name);
      if (it == producer.end()) return;
      if (it->second >= i) sorted = false;
      preds[i].push_back(it->second);
    };
    for (const auto& input : node.input()) add(input);
    for (const auto& attr : node.attribute()) {
      std::vector<const onnx::GraphProto*> bodies;
      if (attr.has_g()) bodies.push_back(&attr.g());
      for (const auto& body : attr.graphs()) bodies.push_back(&body);
      for (const auto* body : bodies) {
        for (const auto& name : OuterScopeReads(*body, nullptr)) add(name);
      }
    }
  }
  if (sorted) return;

  // Kahn's algorithm, taking the lowest original position first so that
  // independent nodes keep their order.
  std::vector<std::vector<int>> succs(count);
  std::vector<int> pending(count, 0);
  for (int i = 0; i < count; ++i) {
    for (const int p : preds[i]) {
      succs[p].push_back(i);
      ++pending[i];
    }
  }
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (int i = 0; i < count; ++i) {
    if (pending[i] == 0) ready.push(i);
  }
  std::vector<int> order;
  order.reserve(count);
  while (!ready.empty()) {
    const int node = ready.top();
    ready.pop();
    order.push_back(node);
    for (const int s : succs[node]) {
      if (--pending[s] == 0) ready.push(s);
    }
  }
  if (static_cast<int>(order.size()) != count) {
    // Walk back from a node left over through predecessors also left over;
    // the first node seen twice is on a cycle.
    int node = 0;
    while (pending[node] == 0) ++node;
    std::vector<int> seen_at(count, -1);
    std::vector<int> path;
    while (seen_at[node] < 0) {
      seen_at[node] = static_cast<int>(path.size());
      path.push_back(node);
      int next = -1;
      for (const int p : preds[node]) {
        if (pending[p] != 0) {
          next = p;
          break;
        }
      }
      node = next;
    }
    std::string cycle;
    const size_t begin = static_cast<size_t>(seen_at[node]);
    const size_t shown = std::min<size_t>(path.size() - begin, 8);
    // path runs against the data flow; list the cycle along it.
    for (size_t k = 0; k < shown; ++k) {
      const size_t at = path.size() - 1 - k;
      if (at < begin) break;
      cycle += (k == 0 ? "" : " -> ") + DescribeNode(graph->node(path[at]));
    }
    if (path.size() - begin > shown) cycle += " -> ...";
    Fail(source, "the graph has a cycle through node " +
                     DescribeNode(graph->node(node)) + " (" + cycle +
                     "); an ONNX graph must be acyclic: fix or re-export the "
                     "model");
  }
  // Acyclic but listed out of order: put the nodes in topological order.
  std::vector<onnx::NodeProto> moved(count);
  for (int i = 0; i < count; ++i) moved[i].Swap(graph->mutable_node(order[i]));
  for (int i = 0; i < count; ++i) graph->mutable_node(i)->Swap(&moved[i]);
}

// Local functions call each other without cycles and no deeper than
// kMaxFunctionDepth.
void CheckFunctions(const onnx::ModelProto& model, const std::string& source) {
  const int count = model.functions_size();
  if (count == 0) return;
  auto key = [](const std::string& domain, const std::string& name) {
    return domain + '\n' + name;
  };
  std::unordered_map<std::string, int> by_key;
  for (int f = 0; f < count; ++f) {
    const auto& function = model.functions(f);
    if (!by_key.emplace(key(function.domain(), function.name()), f).second) {
      Fail(source, "two local functions are named '" + function.domain() +
                       "::" + function.name() +
                       "'; each function must be defined once");
    }
  }
  std::vector<std::vector<int>> calls(count);
  for (int f = 0; f < count; ++f) {
    std::unordered_set<int> seen;
    // Nodes of the function body and of every graph attribute below it.
    std::vector<const onnx::NodeProto*> nodes;
    for (const auto& node : model.functions(f).node()) nodes.push_back(&node);
    while (!nodes.empty()) {
      const onnx::NodeProto* node = nodes.back();
      nodes.pop_back();
      const auto it = by_key.find(key(node->domain(), node->op_type()));
      if (it != by_key.end() && seen.insert(it->second).second) {
        calls[f].push_back(it->second);
      }
      for (const auto& attr : node->attribute()) {
        if (attr.has_g()) {
          for (const auto& inner : attr.g().node()) nodes.push_back(&inner);
        }
        for (const auto& body : attr.graphs()) {
          for (const auto& inner : body.node()) nodes.push_back(&inner);
        }
      }
    }
  }
  auto name_of = [&](int f) {
    const auto& function = model.functions(f);
    return "'" +
           (function.domain().empty() ? std::string()
                                      : function.domain() + "::") +
           function.name() + "'";
  };
  // Iterative depth-first search: 0 unvisited, 1 on the stack, 2 done;
  // depth[f] is the longest call chain starting at f.
  std::vector<int> state(count, 0);
  std::vector<int> depth(count, 1);
  for (int root = 0; root < count; ++root) {
    if (state[root] != 0) continue;
    std::vector<std::pair<int, size_t>> stack{{root, 0}};
    state[root] = 1;
    while (!stack.empty()) {
      auto& [f, next] = stack.back();
      if (next < calls[f].size()) {
        const int callee = calls[f][next++];
        if (state[callee] == 1) {
          std::string chain;
          bool on = false;
          for (const auto& entry : stack) {
            if (entry.first == callee) on = true;
            if (on) chain += name_of(entry.first) + " -> ";
          }
          chain += name_of(callee);
          Fail(source, "local functions call each other in a cycle (" +
                           chain +
                           "); ONNX functions must not be recursive: fix or "
                           "re-export the model");
        }
        if (state[callee] == 0) {
          state[callee] = 1;
          stack.emplace_back(callee, 0);
        }
        continue;
      }
      for (const int callee : calls[f]) {
        depth[f] = std::max(depth[f], depth[callee] + 1);
      }
      if (depth[f] > kMaxFunctionDepth) {
        Fail(source, "local function " + name_of(f) + " starts a chain of " +
                         std::to_string(depth[f]) +
                         " nested function calls, more than the " +
                         std::to_string(kMaxFunctionDepth) +
                         " allowed; inline some functions");
      }
      state[f] = 2;
      stack.pop_back();
    }
  }
}

}  // namespace

void ValidateModel(onnx::ModelProto* model, const std::string& source) {
  if (!model->has_graph()) return;  // reported by the caller
  CheckFunctions(*model, source);
  CheckNestedMarks(*model, source);
  for (const auto& init : model->graph().initializer()) {
    CheckTensorData(init, source);
  }
  CheckGraph(model->mutable_graph(), source);
}

}  // namespace mmdeploy::partition
