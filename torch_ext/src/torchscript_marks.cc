#include <mmdeploy/torchscript_marks.h>
#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>

#include <functional>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

namespace mmdeploy {
namespace {

using torch::jit::Block;
using torch::jit::Graph;
using torch::jit::Node;

const c10::Symbol& MarkSymbol() {
  static const c10::Symbol symbol = c10::Symbol::fromQualString("mmdeploy::mark");
  return symbol;
}

// A traced module's submodules each own methods; shared types share graphs,
// so graphs are visited once each.
void ForEachMethodGraph(
    const torch::jit::Module& module,
    const std::function<void(const std::string&, Graph&)>& visit) {
  std::unordered_set<const Graph*> seen;
  for (const auto& submodule : module.modules()) {
    for (const auto& method : submodule.get_methods()) {
      auto graph = method.graph();
      if (seen.insert(graph.get()).second) {
        visit(method.function().qualname().qualifiedName(), *graph);
      }
    }
  }
}

void CollectMarkNodes(Block* block, std::vector<Node*>& out) {
  for (Node* node : block->nodes()) {
    if (node->kind() == MarkSymbol()) {
      out.push_back(node);
    }
    for (Block* sub : node->blocks()) {
      CollectMarkNodes(sub, out);
    }
  }
}

template <typename T>
T ConstantInput(const Node* node, size_t index, const char* what,
                const std::string& method) {
  auto value = torch::jit::toIValue(node->input(index));
  TORCH_CHECK(value.has_value(), "ListMarks: the ", what,
              " of a mmdeploy::mark node in ", method,
              " is not a constant; pass literal values to mark so that the "
              "mark can be identified without running the model");
  return value->to<T>();
}

MarkInfo InfoOf(const Node* node, const std::string& method) {
  MarkInfo info;
  info.func = ConstantInput<std::string>(node, 1, "func", method);
  info.func_id = ConstantInput<int64_t>(node, 2, "func_id", method);
  info.type = ConstantInput<std::string>(node, 3, "type", method);
  info.name = ConstantInput<std::string>(node, 4, "name", method);
  info.id = ConstantInput<int64_t>(node, 5, "id", method);
  info.attrs = ConstantInput<std::string>(node, 6, "attrs", method);
  return info;
}

}  // namespace

std::vector<ScriptMark> ListMarks(const torch::jit::Module& module) {
  std::vector<ScriptMark> marks;
  ForEachMethodGraph(module, [&](const std::string& method, Graph& graph) {
    std::vector<Node*> nodes;
    CollectMarkNodes(graph.block(), nodes);
    for (const Node* node : nodes) {
      marks.push_back({InfoOf(node, method), method});
    }
  });
  return marks;
}

int64_t StripMarks(torch::jit::Module& module) {
  int64_t removed = 0;
  ForEachMethodGraph(module, [&](const std::string&, Graph& graph) {
    std::vector<Node*> nodes;
    CollectMarkNodes(graph.block(), nodes);
    for (Node* node : nodes) {
      node->output()->replaceAllUsesWith(node->input(0));
      node->destroy();
    }
    removed += static_cast<int64_t>(nodes.size());
    if (!nodes.empty()) {
      // The marks' constant arguments are now unused.
      torch::jit::EliminateDeadCode(graph.block());
    }
  });
  return removed;
}

}  // namespace mmdeploy
