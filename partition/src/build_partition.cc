#include "build_partition.h"

#include <filesystem>
#include <iostream>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "graph_rewrite.h"
#include "mark_list.h"
#include "shape_info.h"

namespace mmdeploy::partition {
namespace {

// Who asked for a tensor to be renamed: for messages about clashes.
struct NameOwner {
  const Boundary* boundary;
  BoundaryRole role;
};

const std::string& Lookup(const Renames& renames, const std::string& name) {
  const auto it = renames.find(name);
  return it == renames.end() ? name : it->second;
}

void AddBodyNames(const onnx::GraphProto& body,
                  std::unordered_set<std::string_view>* names) {
  for (const auto& input : body.input()) names->insert(input.name());
  for (const auto& output : body.output()) names->insert(output.name());
  for (const auto& init : body.initializer()) names->insert(init.name());
  for (const auto& node : body.node()) {
    names->insert(node.input().begin(), node.input().end());
    names->insert(node.output().begin(), node.output().end());
    for (const auto& attr : node.attribute()) {
      if (attr.has_g()) AddBodyNames(attr.g(), names);
      for (const auto& inner : attr.graphs()) AddBodyNames(inner, names);
    }
  }
}

std::string GraphName(const std::string& save_file) {
  const std::string stem = std::filesystem::path(save_file).stem().string();
  return stem.empty() ? "partition" : stem;
}

// Metadata values list markers without spaces: "a:input,b[1]:output".
std::string JoinMarkers(const std::vector<std::string>& markers) {
  return JoinNames(markers, ",");
}

void CopyModelFields(const onnx::ModelProto& model, const PartitionSpec& spec,
                     const std::string& source, onnx::ModelProto* out) {
  out->set_ir_version(model.ir_version());
  *out->mutable_opset_import() = model.opset_import();
  out->set_producer_name(model.producer_name());
  out->set_producer_version(model.producer_version());
  out->set_domain(model.domain());
  out->set_model_version(model.model_version());
  out->set_doc_string(model.doc_string());
  *out->mutable_functions() = model.functions();
  std::vector<std::pair<std::string, std::string>> ours;
  if (!source.empty()) ours.emplace_back(kMetadataSource, source);
  ours.emplace_back(kMetadataStart, JoinMarkers(spec.start));
  ours.emplace_back(kMetadataEnd, JoinMarkers(spec.end));
  for (const auto& prop : model.metadata_props()) {
    bool replaced = false;
    for (const auto& entry : ours) replaced |= entry.first == prop.key();
    if (!replaced) *out->add_metadata_props() = prop;
  }
  for (const auto& [key, value] : ours) {
    auto* prop = out->add_metadata_props();
    prop->set_key(key);
    prop->set_value(value);
  }
}

// Declares an initializer as a graph input, which IR versions below 4 need.
void AddInitializerInput(const onnx::TensorProto& init,
                         onnx::GraphProto* graph) {
  auto* input = graph->add_input();
  input->set_name(init.name());
  auto* tensor_type = input->mutable_type()->mutable_tensor_type();
  tensor_type->set_elem_type(init.data_type());
  auto* shape = tensor_type->mutable_shape();
  for (const int64_t dim : init.dims()) shape->add_dim()->set_dim_value(dim);
}

// Copies the quantization annotations of the tensors the partition holds
// (under their names in the partition), with the initializers their
// parameters name; those of tensors it does not hold are dropped.
void KeepQuantizationAnnotations(const onnx::GraphProto& graph,
                                 const GraphIndex& index,
                                 const Renames& renames, const Renames& reads,
                                 onnx::GraphProto* part) {
  if (graph.quantization_annotation_size() == 0) return;
  std::unordered_set<std::string> present;
  for (const auto& node : part->node()) {
    for (const auto& name : node.input()) present.insert(name);
    for (const auto& name : node.output()) present.insert(name);
  }
  for (const auto& init : part->initializer()) present.insert(init.name());
  for (const auto& info : part->input()) present.insert(info.name());
  for (const auto& info : part->output()) present.insert(info.name());
  for (const auto& annotation : graph.quantization_annotation()) {
    std::string name = Lookup(renames, annotation.tensor_name());
    if (present.count(name) == 0) name = Lookup(reads, annotation.tensor_name());
    if (present.count(name) == 0) continue;
    auto* copy = part->add_quantization_annotation();
    *copy = annotation;
    copy->set_tensor_name(name);
    for (const auto& param : annotation.quant_parameter_tensor_names()) {
      const std::string& tensor = param.value();
      if (present.count(tensor) != 0) continue;
      const int init = index.Initializer(tensor);
      if (init == GraphIndex::kNone) continue;
      *part->add_initializer() = graph.initializer(init);
      present.insert(tensor);
    }
  }
}

}  // namespace

onnx::ModelProto BuildPartition(const onnx::ModelProto& model,
                                const GraphIndex& index,
                                const std::vector<Boundary>& starts,
                                const std::vector<Boundary>& ends,
                                const NodeCollection& collection,
                                const PartitionSpec& spec,
                                const std::string& source) {
  const auto& graph = index.graph();

  // Marks inside the partition vanish: their readers read the mark's input.
  std::unordered_map<std::string_view, std::string_view> mark_input;
  size_t compute_nodes = 0;
  for (const int node : collection.nodes) {
    if (index.IsMark(node)) {
      mark_input.emplace(graph.node(node).output(0), graph.node(node).input(0));
    } else {
      ++compute_nodes;
    }
  }
  auto mark_source = [&](std::string_view name) {
    if (mark_input.empty()) return name;
    for (auto it = mark_input.find(name); it != mark_input.end();
         it = mark_input.find(name)) {
      name = it->second;
    }
    return name;
  };

  std::unordered_map<std::string, const Boundary*> start_of_tensor;
  for (const auto& start : starts) {
    start_of_tensor.emplace(start.tensor, &start);
  }
  std::unordered_set<std::string> exposed;
  for (const auto& tensor : collection.uncovered) exposed.insert(tensor.name);

  // Boundary tensors take the boundary names. Two outputs computed by the
  // same tensor cannot both rename it: the later one gets an Identity.
  Renames renames;
  std::unordered_map<std::string, NameOwner> owner_of_name;
  for (const auto& start : starts) {
    if (collection.used_inputs.count(start.tensor) == 0) continue;
    renames.emplace(start.tensor, start.name);
    owner_of_name.emplace(start.name, NameOwner{&start, BoundaryRole::kStart});
  }
  std::vector<std::pair<std::string, std::string>> identities;  // from, to
  for (const auto& end : ends) {
    const std::string from(mark_source(end.tensor));
    const bool is_input =
        start_of_tensor.count(from) != 0 || exposed.count(from) != 0;
    if (is_input && compute_nodes == 0) {
      throw PartitionError(
          "partition has no nodes: output " +
          DescribeBoundary(index, end, BoundaryRole::kEnd) +
          " is the same tensor '" + from +
          "' as an input; choose end markers downstream of the start "
          "markers");
    }
    if (is_input) {
      const auto it = start_of_tensor.find(from);
      const std::string input =
          it != start_of_tensor.end()
              ? DescribeBoundary(index, *it->second, BoundaryRole::kStart)
              : "uncovered input '" + from + "'";
      throw PartitionError(
          "output " + DescribeBoundary(index, end, BoundaryRole::kEnd) +
          " is the partition input " + input +
          " itself (tensor '" + from +
          "'): nothing is computed between them; remove it from the end "
          "markers or choose a marker downstream");
    }
    owner_of_name.emplace(end.name, NameOwner{&end, BoundaryRole::kEnd});
    if (const auto it = renames.find(from); it != renames.end()) {
      identities.emplace_back(it->second, end.name);
    } else {
      renames.emplace(from, end.name);
    }
  }
  if (compute_nodes == 0 && identities.empty()) {
    throw PartitionError(
        "partition has no nodes between start markers [" +
        JoinMarkers(spec.start) + "] and end markers [" +
        JoinMarkers(spec.end) +
        "]: its outputs are constants; choose end markers downstream of the "
        "start markers");
  }

  // A boundary name must not be taken by another tensor of the partition,
  // or two values would share a name. Names inside bodies count too, since
  // a body defining the name would shadow the renamed outer tensor. The
  // set views the model's strings and is built only when a boundary is
  // renamed or a node output must be (a cut at tensor names renames
  // nothing).
  std::unordered_set<std::string_view> existing;
  auto build_existing = [&] {
    existing.reserve(collection.nodes.size() * 3 +
                     collection.initializers.size());
    for (const int node : collection.nodes) {
      if (index.IsMark(node)) continue;
      const auto& proto = graph.node(node);
      for (const auto& input : proto.input()) {
        existing.insert(mark_source(input));
      }
      existing.insert(proto.output().begin(), proto.output().end());
      for (const auto& attr : proto.attribute()) {
        if (attr.has_g()) AddBodyNames(attr.g(), &existing);
        for (const auto& body : attr.graphs()) AddBodyNames(body, &existing);
      }
    }
    for (const int init : collection.initializers) {
      existing.insert(graph.initializer(init).name());
    }
    for (const int init : collection.sparse_initializers) {
      existing.insert(graph.sparse_initializer(init).values().name());
    }
    existing.insert(exposed.begin(), exposed.end());
    // Mark outputs vanish from the partition, bodies included.
    for (const auto& entry : mark_input) existing.erase(entry.first);
  };

  // A kept node may also produce a tensor the partition takes as an input:
  // a Split kept for its other outputs, cut at one of them. The input
  // supplies that value; the node's own output gets a name nothing reads,
  // so that every tensor of the partition keeps one definition.
  //   before:  (a, b) = Split(x)      inputs x, b     outputs Add(a, b)
  //   after:   (a, b_unused) = Split(x);  out = Add(a, b)
  std::vector<std::string> shadowed;  // such outputs
  {
    std::vector<char> kept(static_cast<size_t>(graph.node_size()), 0);
    for (const int node : collection.nodes) {
      if (!index.IsMark(node)) kept[node] = 1;
    }
    for (const auto& tensor : collection.used_inputs) {
      const int producer = index.Producer(tensor);
      if (producer != GraphIndex::kNone && kept[producer] != 0) {
        shadowed.push_back(tensor);
      }
    }
  }

  bool renamed = !shadowed.empty() || !identities.empty();
  for (const auto& [from, to] : renames) renamed |= from != to;
  if (renamed) build_existing();
  auto check_clash = [&](const std::string& from, const std::string& to) {
    if (from == to || existing.count(to) == 0) return;
    const NameOwner& owner = owner_of_name.at(to);
    throw PartitionError(
        "cannot name " +
        DescribeBoundary(index, *owner.boundary, owner.role) + " '" + to +
        "': the partition already has another tensor named '" + to +
        "'; choose another name with start_name_map, end_name_map or "
        "output_names");
  };
  for (const auto& [from, to] : renames) check_clash(from, to);
  for (const auto& identity : identities) check_clash("", identity.second);

  Renames unused_outputs;
  if (!shadowed.empty()) {
    std::unordered_set<std::string> taken;
    for (const auto name : existing) taken.emplace(name);
    for (const auto& [from, to] : renames) taken.insert(to);
    for (const auto& identity : identities) taken.insert(identity.second);
    for (const auto& output : shadowed) {
      std::string name = output + "_unused";
      for (int n = 1; taken.count(name) != 0; ++n) {
        name = output + "_unused_" + std::to_string(n);
      }
      taken.insert(name);
      unused_outputs.emplace(output, std::move(name));
    }
  }

  Renames reads = renames;
  for (const auto& entry : mark_input) {
    reads[std::string(entry.first)] =
        Lookup(renames, std::string(mark_source(entry.first)));
  }

  onnx::ModelProto out;
  CopyModelFields(model, spec, source, &out);
  auto* part = out.mutable_graph();
  part->set_name(GraphName(spec.save_file));

  // Only the readers and writers of renamed tensors change names; the
  // index finds them, so other nodes are copied without a lookup per name.
  std::vector<char> touched(static_cast<size_t>(graph.node_size()), 0);
  for (const auto& entry : reads) {
    for (const int node : index.Consumers(entry.first)) touched[node] = 1;
  }
  auto touch_producer = [&](const std::string& tensor) {
    const int node = index.Producer(tensor);
    if (node != GraphIndex::kNone) touched[node] = 1;
  };
  for (const auto& entry : renames) touch_producer(entry.first);
  for (const auto& entry : unused_outputs) touch_producer(entry.first);
  part->mutable_node()->Reserve(static_cast<int>(compute_nodes));
  for (const int node : collection.nodes) {
    if (index.IsMark(node)) continue;
    auto* copy = part->add_node();
    *copy = graph.node(node);
    if (touched[node] != 0) {
      for (auto& input : *copy->mutable_input()) input = Lookup(reads, input);
      for (auto& output : *copy->mutable_output()) {
        const auto unused = unused_outputs.find(output);
        output = unused != unused_outputs.end() ? unused->second
                                                : Lookup(renames, output);
      }
    }
    for (auto& attr : *copy->mutable_attribute()) {
      auto fix_body = [&](onnx::GraphProto* body) {
        StripMarksInGraph(body);
        RenameOuterReads(reads, body);
      };
      if (attr.has_g()) fix_body(attr.mutable_g());
      for (auto& body : *attr.mutable_graphs()) fix_body(&body);
    }
  }
  for (const auto& [from, to] : identities) {
    auto* identity = part->add_node();
    identity->set_name("mmdeploy_mark_output_" + to);
    identity->set_op_type("Identity");
    identity->add_input(from);
    identity->add_output(to);
  }

  for (const int init : collection.initializers) {
    auto* copy = part->add_initializer();
    *copy = graph.initializer(init);
    copy->set_name(Lookup(renames, copy->name()));
  }
  for (const int init : collection.sparse_initializers) {
    auto* copy = part->add_sparse_initializer();
    *copy = graph.sparse_initializer(init);
    copy->mutable_values()->set_name(
        Lookup(renames, copy->values().name()));
  }

  std::unordered_set<std::string> ports;
  for (const auto& start : starts) {
    if (collection.used_inputs.count(start.tensor) == 0) continue;
    auto* input = part->add_input();
    input->set_name(start.name);
    std::vector<std::string> tensors{start.tensor};
    if (start.mark != GraphIndex::kNone) {
      tensors.push_back(index.marks()[start.mark].output);
    }
    BoundaryType(index, tensors, start.mark, input->mutable_type());
    ports.insert(start.name);
  }
  for (const auto& tensor : collection.uncovered) {
    auto* input = part->add_input();
    input->set_name(tensor.name);
    BoundaryType(index, {tensor.name}, GraphIndex::kNone,
                 input->mutable_type());
    ports.insert(tensor.name);
  }
  if (out.ir_version() < 4) {
    for (const auto& init : part->initializer()) {
      AddInitializerInput(init, part);
    }
  }
  for (const auto& end : ends) {
    auto* output = part->add_output();
    output->set_name(end.name);
    std::vector<std::string> tensors{end.tensor};
    if (end.mark != GraphIndex::kNone) {
      tensors.push_back(index.marks()[end.mark].input);
    }
    tensors.emplace_back(mark_source(end.tensor));
    BoundaryType(index, tensors, end.mark, output->mutable_type());
    ports.insert(end.name);
  }

  // Intermediates keep the types the model declared for them.
  for (const int node : collection.nodes) {
    if (index.IsMark(node)) continue;
    for (const auto& tensor : graph.node(node).output()) {
      if (tensor.empty()) continue;
      const std::string& name =
          touched[node] != 0 ? Lookup(renames, tensor) : tensor;
      if (ports.count(name) != 0) continue;
      if (const onnx::TypeProto* type = index.FindType(tensor)) {
        auto* info = part->add_value_info();
        info->set_name(name);
        *info->mutable_type() = *type;
      }
    }
  }

  KeepQuantizationAnnotations(graph, index, renames, reads, part);
  if (model.training_info_size() > 0) {
    std::cerr << "mmdeploy-mark: warning: the model's training_info ("
              << model.training_info_size()
              << " entries) is not kept in partition '" << spec.save_file
              << "': a partition is an inference graph; train the whole "
                 "model instead\n";
  }
  DropUnusedMarkDomain(&out);
  return out;
}

}  // namespace mmdeploy::partition
