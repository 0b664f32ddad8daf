#include "graph_rewrite.h"

#include <mmdeploy/mark_schema.h>

#include <unordered_set>
#include <utility>

#include "mark_list.h"

namespace mmdeploy::partition {
namespace {

template <typename Fn>
void ForEachMutableBody(onnx::NodeProto* node, Fn&& fn) {
  for (auto& attr : *node->mutable_attribute()) {
    if (attr.has_g()) fn(attr.mutable_g());
    for (auto& body : *attr.mutable_graphs()) fn(&body);
  }
}

const std::string& Lookup(const Renames& renames, const std::string& name) {
  const auto it = renames.find(name);
  return it == renames.end() ? name : it->second;
}

// Renames value_info entries and drops the ones that became duplicates or
// that describe a graph input/output (those carry their own type).
void RenameValueInfo(const Renames& renames, onnx::GraphProto* graph) {
  std::unordered_set<std::string> seen;
  for (const auto& input : graph->input()) seen.insert(input.name());
  for (const auto& output : graph->output()) seen.insert(output.name());
  google::protobuf::RepeatedPtrField<onnx::ValueInfoProto> kept;
  for (auto& info : *graph->mutable_value_info()) {
    const std::string name = Lookup(renames, info.name());
    if (!seen.insert(name).second) continue;
    info.set_name(name);
    kept.Add(std::move(info));
  }
  graph->mutable_value_info()->Swap(&kept);
}

}  // namespace

void RenameOuterReads(const Renames& renames, onnx::GraphProto* body) {
  if (renames.empty()) return;
  // Copy the map only in the rare case that the body shadows a renamed name.
  Renames shadowed;
  const Renames* active = &renames;
  auto shadow = [&](const std::string& name) {
    if (renames.count(name) == 0) return;
    if (active == &renames) {
      shadowed = renames;
      active = &shadowed;
    }
    shadowed.erase(name);
  };
  for (const auto& input : body->input()) shadow(input.name());
  for (const auto& init : body->initializer()) shadow(init.name());
  for (const auto& init : body->sparse_initializer()) {
    shadow(init.values().name());
  }
  for (const auto& node : body->node()) {
    for (const auto& output : node.output()) shadow(output);
  }
  if (active->empty()) return;
  for (auto& node : *body->mutable_node()) {
    for (auto& input : *node.mutable_input()) input = Lookup(*active, input);
    ForEachMutableBody(&node, [&](onnx::GraphProto* inner) {
      RenameOuterReads(*active, inner);
    });
  }
  for (auto& output : *body->mutable_output()) {
    output.set_name(Lookup(*active, output.name()));
  }
  for (auto& info : *body->mutable_value_info()) {
    info.set_name(Lookup(*active, info.name()));
  }
}

void StripMarksInGraph(onnx::GraphProto* graph) {
  // Bodies first: a body's marks are local to it.
  for (auto& node : *graph->mutable_node()) {
    ForEachMutableBody(&node,
                       [](onnx::GraphProto* body) { StripMarksInGraph(body); });
  }
  Renames mark_input;  // mark output -> mark input
  std::unordered_set<std::string> produced;
  for (const auto& node : graph->node()) {
    if (IsMarkNode(node)) {
      const MarkRecord mark = ReadMarkRecord(node);  // checks the arity
      mark_input.emplace(mark.output, mark.input);
    } else {
      for (const auto& output : node.output()) produced.insert(output);
    }
  }
  if (mark_input.empty()) return;
  // Marks may be chained (an output mark feeding an input mark).
  auto source = [&](std::string name) {
    for (auto it = mark_input.find(name); it != mark_input.end();
         it = mark_input.find(name)) {
      name = it->second;
    }
    return name;
  };

  std::unordered_set<std::string> outputs;
  for (const auto& output : graph->output()) outputs.insert(output.name());
  // A graph output produced by a mark takes over the name of the tensor
  // entering the mark when that tensor belongs to this graph alone;
  // otherwise the mark becomes an Identity that keeps the output's name.
  Renames to_output;
  std::unordered_set<std::string> identity_outputs;
  for (const auto& output : graph->output()) {
    if (mark_input.count(output.name()) == 0) continue;
    const std::string from = source(output.name());
    if (produced.count(from) != 0 && outputs.count(from) == 0 &&
        to_output.count(from) == 0) {
      to_output.emplace(from, output.name());
    } else {
      identity_outputs.insert(output.name());
    }
  }
  Renames reads = to_output;
  for (const auto& [output, input] : mark_input) {
    reads[output] = Lookup(to_output, source(input));
  }

  google::protobuf::RepeatedPtrField<onnx::NodeProto> kept;
  for (auto& node : *graph->mutable_node()) {
    if (IsMarkNode(node)) {
      if (identity_outputs.count(node.output(0)) == 0) continue;
      node.set_op_type("Identity");
      node.clear_domain();
      node.clear_attribute();
      node.set_input(0, Lookup(reads, node.input(0)));
      kept.Add(std::move(node));
      continue;
    }
    for (auto& input : *node.mutable_input()) input = Lookup(reads, input);
    for (auto& output : *node.mutable_output()) {
      output = Lookup(to_output, output);
    }
    ForEachMutableBody(&node, [&](onnx::GraphProto* body) {
      RenameOuterReads(reads, body);
    });
    kept.Add(std::move(node));
  }
  graph->mutable_node()->Swap(&kept);
  RenameValueInfo(reads, graph);
}

bool UsesDomain(const onnx::GraphProto& graph, const std::string& domain) {
  for (const auto& node : graph.node()) {
    if (node.domain() == domain) return true;
    for (const auto& attr : node.attribute()) {
      if (attr.has_g() && UsesDomain(attr.g(), domain)) return true;
      for (const auto& body : attr.graphs()) {
        if (UsesDomain(body, domain)) return true;
      }
    }
  }
  return false;
}

void DropUnusedMarkDomain(onnx::ModelProto* model) {
  if (UsesDomain(model->graph(), kMarkDomain)) return;
  for (const auto& function : model->functions()) {
    for (const auto& node : function.node()) {
      if (node.domain() == kMarkDomain) return;
    }
  }
  google::protobuf::RepeatedPtrField<onnx::OperatorSetIdProto> kept;
  for (auto& opset : *model->mutable_opset_import()) {
    if (opset.domain() != kMarkDomain) kept.Add(std::move(opset));
  }
  model->mutable_opset_import()->Swap(&kept);
}

}  // namespace mmdeploy::partition
