// BuildPartitionMap: from a marked model and the partitions cut from it to
// the blocks and boundary edges of the map (partition_map.h).
#include <mmdeploy/partition/partition_map.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "element_types.h"
#include "mark_list.h"

namespace mmdeploy::partition {
namespace {

using BlockId = int64_t;  // kIn, a partition's index, uncut, outputs
constexpr BlockId kIn = -1;
constexpr char kArrow[] = " \xe2\x86\x92 ";  // " → "

// Exporters name every node; unnamed ones fall back to their outputs, which
// match unless the partition renamed them at its boundary.
std::vector<std::string> NodeKey(const onnx::NodeProto& node) {
  if (!node.name().empty()) return {node.name()};
  std::vector<std::string> key = {"", node.op_type()};
  key.insert(key.end(), node.output().begin(), node.output().end());
  return key;
}

std::string ShapeOfDims(const std::vector<std::string>& dims) {
  std::string text = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) {
    text += (i ? ", " : "") + dims[i];
  }
  return text + "]";
}

// (dtype, shape) of a tensor type; dynamic dims by name, unknown ones '?'.
std::pair<std::string, std::string> TypeOf(const onnx::TypeProto* type) {
  if (type == nullptr || !type->has_tensor_type()) return {"dtype?", "[?]"};
  const auto& tensor = type->tensor_type();
  const std::string dtype = ElementTypeName(tensor.elem_type());
  if (!tensor.has_shape()) return {dtype, " (shape unknown)"};
  std::vector<std::string> dims;
  for (const auto& dim : tensor.shape().dim()) {
    if (dim.has_dim_value()) {
      dims.push_back(std::to_string(dim.dim_value()));
    } else {
      dims.push_back(dim.dim_param().empty() ? "?" : dim.dim_param());
    }
  }
  return {dtype, ShapeOfDims(dims)};
}

// (dtype, shape) the export recorded on a Mark; negative dims are unknown.
std::pair<std::string, std::string> TypeOf(const MarkRecord& mark) {
  std::vector<std::string> dims;
  for (const int64_t dim : mark.shape) {
    dims.push_back(dim >= 0 ? std::to_string(dim) : "?");
  }
  return {ElementTypeName(mark.dtype), ShapeOfDims(dims)};
}

std::string MarkerOf(const MarkRecord& mark) {
  return Marker{mark.func, mark.func_id, mark.type}.ToString();
}

// Bytes of a tensor from its dims (its data is never read); saturates.
int64_t TensorBytes(const onnx::TensorProto& tensor) {
  uint64_t count = 1;
  for (const int64_t dim : tensor.dims()) {
    if (dim < 0 || __builtin_mul_overflow(count, static_cast<uint64_t>(dim),
                                          &count)) {
      return std::numeric_limits<int64_t>::max();
    }
  }
  uint64_t bits = 0;
  if (__builtin_mul_overflow(
          count, static_cast<uint64_t>(ElementTypeBits(tensor.data_type())),
          &bits) ||
      bits / 8 > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return std::numeric_limits<int64_t>::max();
  }
  return static_cast<int64_t>(bits / 8);
}

int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t sum = 0;
  return __builtin_add_overflow(a, b, &sum)
             ? std::numeric_limits<int64_t>::max()
             : sum;
}

// Outer-scope tensors that an If/Loop/Scan body reads by name.
void SubgraphReads(const onnx::NodeProto& node, std::set<std::string>* names) {
  for (const auto& attr : node.attribute()) {
    std::vector<const onnx::GraphProto*> graphs;
    if (attr.has_g()) graphs.push_back(&attr.g());
    for (const auto& g : attr.graphs()) graphs.push_back(&g);
    for (const onnx::GraphProto* g : graphs) {
      std::set<std::string> local;
      for (const auto& v : g->input()) local.insert(v.name());
      for (const auto& t : g->initializer()) local.insert(t.name());
      for (const auto& inner : g->node()) {
        local.insert(inner.output().begin(), inner.output().end());
      }
      for (const auto& inner : g->node()) {
        for (const auto& name : inner.input()) {
          if (!name.empty() && local.count(name) == 0) names->insert(name);
        }
        std::set<std::string> nested;
        SubgraphReads(inner, &nested);
        for (const auto& name : nested) {
          if (local.count(name) == 0) names->insert(name);
        }
      }
    }
  }
}

template <typename Nodes>
std::vector<std::pair<std::string, int64_t>> OpCounts(const Nodes& nodes) {
  std::map<std::string, int64_t> counts;
  for (const onnx::NodeProto* node : nodes) ++counts[node->op_type()];
  std::vector<std::pair<std::string, int64_t>> sorted(counts.begin(),
                                                      counts.end());
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  return sorted;
}

template <typename Values>
std::vector<TensorLabel> GraphIo(const Values& values,
                                 const std::set<std::string>& skip) {
  std::vector<TensorLabel> labels;
  for (const auto& v : values) {
    if (skip.count(v.name()) != 0) continue;
    auto [dtype, shape] = TypeOf(&v.type());
    labels.push_back({v.name(), dtype, shape, {}});
  }
  return labels;
}

std::set<std::string> InitializerNames(const onnx::GraphProto& graph) {
  std::set<std::string> names;
  for (const auto& t : graph.initializer()) names.insert(t.name());
  return names;
}

std::string Trim(const std::string& text) {
  const char* space = " \t\n\r\f\v";
  const auto begin = text.find_first_not_of(space);
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(space) - begin + 1);
}

// One tensor of a flow between two blocks, before it becomes a label.
struct FlowTensor {
  std::string source;  // the tensor in the marked model
  std::string name;    // the name the label shows
  std::vector<std::size_t> marks;
};

struct Flow {
  BlockId src;
  BlockId dst;
  std::vector<FlowTensor> tensors;
  std::map<std::string, std::size_t> by_key;
};

class MapBuilder {
 public:
  MapBuilder(const onnx::ModelProto& marked,
             const std::vector<MapPartition>& partitions)
      : graph_(marked.graph()), partitions_(partitions) {
    for (const auto& t : graph_.initializer()) inits_[t.name()] = &t;
    for (const auto& node : graph_.node()) {
      if (IsMarkNode(node)) {
        marks_.push_back(ReadMarkRecord(node));
      } else {
        compute_.push_back(&node);
      }
    }
    for (std::size_t i = 0; i < marks_.size(); ++i) {
      mark_of_output_.emplace(marks_[i].output, i);
      marks_reading_[marks_[i].input].push_back(i);
    }
    for (const auto* values : {&graph_.input(), &graph_.value_info(),
                               &graph_.output()}) {
      for (const auto& v : *values) types_[v.name()] = &v.type();
    }
    n_parts_ = static_cast<BlockId>(partitions_.size());
    uncut_ = n_parts_;
    out_ = n_parts_ + 1;
  }

  PartitionMap Build(const std::string& title) {
    owner_ = Owners();
    for (const auto& v : graph_.input()) {
      if (inits_.count(v.name()) == 0) producer_[v.name()] = kIn;
    }
    for (std::size_t i = 0; i < compute_.size(); ++i) {
      for (const auto& out : compute_[i]->output()) {
        if (!out.empty()) producer_[out] = owner_[i];
      }
    }
    PartitionIoNames();
    CollectFlows();

    std::vector<Block> blocks = Blocks();
    std::vector<Edge> edges;
    for (const Flow& flow : flows_) {
      if (index_.count(flow.src) == 0 || index_.count(flow.dst) == 0) continue;
      Edge edge{index_[flow.src], index_[flow.dst], {}};
      for (const FlowTensor& t : flow.tensors) {
        edge.tensors.push_back(Label(flow.src, flow.dst, t));
      }
      edges.push_back(std::move(edge));
    }
    const std::vector<std::size_t> order = DrawingOrder(blocks, edges);
    position_.assign(order.size(), 0);
    for (std::size_t i = 0; i < order.size(); ++i) position_[order[i]] = i;
    PartitionMap map;
    map.title = title;
    map.total_nodes = graph_.node_size();
    for (const std::size_t old : order) map.blocks.push_back(blocks[old]);
    for (Edge& edge : edges) {
      edge.src = position_[edge.src];
      edge.dst = position_[edge.dst];
    }
    std::stable_sort(edges.begin(), edges.end(), [](const Edge& a, const Edge& b) {
      return std::make_pair(a.src, a.dst) < std::make_pair(b.src, b.dst);
    });
    map.edges = std::move(edges);
    NoteUnlinked(&map);
    map.marks = MarkRows(map.blocks);
    return map;
  }

 private:
  bool IsPartition(BlockId id) const { return id >= 0 && id < n_parts_; }
  const onnx::GraphProto& PartGraph(BlockId id) const {
    return partitions_[static_cast<std::size_t>(id)].model->graph();
  }

  // The tensor a (chain of) Mark(s) passes on, and those marks from the
  // source on.
  std::pair<std::string, std::vector<std::size_t>> Resolve(
      std::string tensor) const {
    std::vector<std::size_t> passed;
    for (auto it = mark_of_output_.find(tensor);
         it != mark_of_output_.end() &&
         std::find(passed.begin(), passed.end(), it->second) == passed.end();
         it = mark_of_output_.find(tensor)) {
      passed.push_back(it->second);
      tensor = marks_[it->second].input;
    }
    std::reverse(passed.begin(), passed.end());
    return {tensor, passed};
  }

  // The block of every compute node: its first partition, else uncut.
  std::vector<BlockId> Owners() const {
    std::map<std::vector<std::string>, std::vector<std::size_t>> by_key;
    for (std::size_t i = 0; i < compute_.size(); ++i) {
      by_key[NodeKey(*compute_[i])].push_back(i);
    }
    std::vector<BlockId> owner(compute_.size(), uncut_);
    for (BlockId p = 0; p < n_parts_; ++p) {
      std::map<std::vector<std::string>, std::size_t> taken;
      for (const auto& node : PartGraph(p).node()) {
        auto key = NodeKey(node);
        auto found = by_key.find(key);
        if (found == by_key.end()) continue;
        std::size_t& count = taken[key];
        if (count >= found->second.size()) continue;
        const std::size_t i = found->second[count++];
        if (owner[i] == uncut_) owner[i] = p;
      }
    }
    return owner;
  }

  // Per partition: {marked source tensor: the partition's input name} and
  // {marked source tensor: its output name}, through matched nodes.
  void PartitionIoNames() {
    std::map<std::vector<std::string>, std::size_t> index;
    for (std::size_t i = 0; i < compute_.size(); ++i) {
      index.emplace(NodeKey(*compute_[i]), i);
    }
    for (BlockId p = 0; p < n_parts_; ++p) {
      const auto& graph = PartGraph(p);
      const std::set<std::string> inits = InitializerNames(graph);
      std::set<std::string> wanted_in;
      std::set<std::string> wanted_out;
      for (const auto& v : graph.input()) {
        if (inits.count(v.name()) == 0) wanted_in.insert(v.name());
      }
      for (const auto& v : graph.output()) wanted_out.insert(v.name());
      std::map<std::string, std::string> ins;
      std::map<std::string, std::string> outs;
      for (const auto& node : graph.node()) {
        auto found = index.find(NodeKey(node));
        if (found == index.end()) continue;
        const onnx::NodeProto& original = *compute_[found->second];
        for (int k = 0; k < node.input_size() && k < original.input_size();
             ++k) {
          if (wanted_in.count(node.input(k)) != 0) {
            ins.emplace(Resolve(original.input(k)).first, node.input(k));
          }
        }
        for (int k = 0; k < node.output_size() && k < original.output_size();
             ++k) {
          if (wanted_out.count(node.output(k)) != 0) {
            outs.emplace(original.output(k), node.output(k));
          }
        }
      }
      part_in_.push_back(std::move(ins));
      part_out_.push_back(std::move(outs));
    }
  }

  const std::string* Find(const std::vector<std::map<std::string, std::string>>& table,
                          BlockId block, const std::string& source) const {
    if (!IsPartition(block)) return nullptr;
    const auto& names = table[static_cast<std::size_t>(block)];
    auto it = names.find(source);
    return it == names.end() || it->second.empty() ? nullptr : &it->second;
  }

  void AddFlow(BlockId src, BlockId dst, const std::string& key,
               const std::string& source, const std::string& name,
               const std::vector<std::size_t>& marks) {
    auto slot = flow_index_.find({src, dst});
    if (slot == flow_index_.end()) {
      slot = flow_index_.emplace(std::make_pair(src, dst), flows_.size()).first;
      flows_.push_back({src, dst, {}, {}});
    }
    Flow& flow = flows_[slot->second];
    auto entry = flow.by_key.find(key);
    if (entry == flow.by_key.end()) {
      entry = flow.by_key.emplace(key, flow.tensors.size()).first;
      flow.tensors.push_back({source, name, {}});
    }
    auto& passed = flow.tensors[entry->second].marks;
    for (const std::size_t m : marks) {
      if (std::find(passed.begin(), passed.end(), m) == passed.end()) {
        passed.push_back(m);
      }
    }
  }

  // (src, dst) -> tensors, in graph order.
  void CollectFlows() {
    for (std::size_t i = 0; i < compute_.size(); ++i) {
      const onnx::NodeProto& node = *compute_[i];
      const BlockId block = owner_[i];
      std::vector<std::string> reads;
      for (const auto& name : node.input()) {
        if (!name.empty()) reads.push_back(name);
      }
      std::set<std::string> nested;
      SubgraphReads(node, &nested);
      reads.insert(reads.end(), nested.begin(), nested.end());
      for (const auto& tensor : reads) {
        if (inits_.count(tensor) != 0) continue;
        auto [source, marks] = Resolve(tensor);
        auto src = producer_.find(source);
        if (src == producer_.end() || src->second == block) continue;
        AddFlow(src->second, block, source, source,
                LabelName(src->second, block, source, marks), marks);
      }
    }
    for (const auto& value : graph_.output()) {
      auto [source, marks] = Resolve(value.name());
      auto src = producer_.find(source);
      if (src == producer_.end()) continue;
      const std::string* out_of = Find(part_out_, src->second, source);
      const std::string name = out_of == nullptr || *out_of == value.name()
                                   ? value.name()
                                   : *out_of + kArrow + value.name();
      // Keyed by the output name too: one tensor may be two outputs.
      AddFlow(src->second, out_, source + std::string(1, '\0') + value.name(),
              source, name, marks);
    }
  }

  // The name a deployment wires: the partitions' own I/O names first.
  std::string LabelName(BlockId src, BlockId dst, const std::string& source,
                        const std::vector<std::size_t>& marks) const {
    const std::string* into = Find(part_in_, dst, source);
    const std::string* out_of = Find(part_out_, src, source);
    if (into != nullptr && out_of != nullptr && *into != *out_of) {
      return *out_of + kArrow + *into;
    }
    if (into != nullptr) return *into;
    if (out_of != nullptr) return *out_of;
    if (src == kIn || marks.empty()) return source;
    // The first mark's name: the one a partition starting there would use.
    return marks_[marks.front()].name;
  }

  const onnx::TypeProto* DeclaredType(BlockId block, bool input,
                                      const std::string& name) const {
    const auto& graph = PartGraph(block);
    for (const auto& v : input ? graph.input() : graph.output()) {
      if (v.name() == name) return &v.type();
    }
    return nullptr;
  }

  const onnx::TypeProto* TypeNamed(const std::string& name) const {
    auto it = types_.find(name);
    return it == types_.end() ? nullptr : it->second;
  }

  TensorLabel Label(BlockId src, BlockId dst, const FlowTensor& t) const {
    const onnx::TypeProto* type = nullptr;
    if (const std::string* into = Find(part_in_, dst, t.source)) {
      type = DeclaredType(dst, /*input=*/true, *into);
    }
    if (type == nullptr) {
      if (const std::string* out_of = Find(part_out_, src, t.source)) {
        type = DeclaredType(src, /*input=*/false, *out_of);
      }
    }
    if (type == nullptr && dst == out_) type = TypeNamed(t.name);
    if (type == nullptr) type = TypeNamed(t.source);
    TensorLabel label;
    label.name = t.name;
    for (const std::size_t m : t.marks) label.marks.push_back(MarkerOf(marks_[m]));
    // Without a declared type, the one the export recorded on the mark.
    auto [dtype, shape] = type == nullptr && !t.marks.empty()
                              ? TypeOf(marks_[t.marks.front()])
                              : TypeOf(type);
    label.dtype = dtype;
    label.shape = shape;
    return label;
  }

  // The blocks that exist; index_ maps block ids to their positions.
  std::vector<Block> Blocks() {
    std::vector<Block> blocks;
    std::set<std::string> init_names;
    for (const auto& entry : inits_) init_names.insert(entry.first);
    std::vector<TensorLabel> graph_inputs = GraphIo(graph_.input(), init_names);
    if (!graph_inputs.empty()) {
      index_[kIn] = blocks.size();
      Block block;
      block.kind = BlockKind::kInputs;
      block.title = "graph inputs";
      block.outputs = std::move(graph_inputs);
      blocks.push_back(std::move(block));
    }
    for (BlockId p = 0; p < n_parts_; ++p) {
      const auto& graph = PartGraph(p);
      index_[p] = blocks.size();
      Block block;
      block.kind = BlockKind::kPartition;
      block.title = partitions_[static_cast<std::size_t>(p)].name;
      block.nodes = graph.node_size();
      std::vector<const onnx::NodeProto*> nodes;
      for (const auto& node : graph.node()) nodes.push_back(&node);
      block.op_counts = OpCounts(nodes);
      for (const auto& t : graph.initializer()) {
        block.param_bytes = SaturatingAdd(block.param_bytes, TensorBytes(t));
      }
      block.inputs = GraphIo(graph.input(), InitializerNames(graph));
      block.outputs = GraphIo(graph.output(), {});
      blocks.push_back(std::move(block));
    }
    std::vector<const onnx::NodeProto*> uncut;
    std::set<std::string> read;
    for (std::size_t i = 0; i < compute_.size(); ++i) {
      if (owner_[i] != uncut_) continue;
      uncut.push_back(compute_[i]);
      for (const auto& name : compute_[i]->input()) {
        if (inits_.count(name) != 0) read.insert(name);
      }
    }
    if (!uncut.empty()) {
      index_[uncut_] = blocks.size();
      Block block;
      block.kind = BlockKind::kUncut;
      block.title = "not cut";
      block.nodes = static_cast<int64_t>(uncut.size());
      block.op_counts = OpCounts(uncut);
      for (const auto& name : read) {
        block.param_bytes =
            SaturatingAdd(block.param_bytes, TensorBytes(*inits_.at(name)));
      }
      blocks.push_back(std::move(block));
    }
    if (graph_.output_size() > 0) {
      index_[out_] = blocks.size();
      Block block;
      block.kind = BlockKind::kOutputs;
      block.title = "graph outputs";
      block.inputs = GraphIo(graph_.output(), {});
      blocks.push_back(std::move(block));
    }
    return blocks;
  }

  // Inputs first, outputs last, the rest in data-flow order: a topological
  // order where cycles between blocks (a partition both fed by and feeding
  // "not cut") are broken at the block whose first data-dependent node
  // comes earliest in the graph.
  std::vector<std::size_t> DrawingOrder(const std::vector<Block>& blocks,
                                        const std::vector<Edge>& edges) const {
    std::map<std::size_t, std::size_t> first;
    for (std::size_t i = 0; i < compute_.size(); ++i) {
      auto block = index_.find(owner_[i]);
      if (block == index_.end()) continue;
      const auto& inputs = compute_[i]->input();
      if (std::any_of(inputs.begin(), inputs.end(),
                      [](const std::string& name) { return !name.empty(); })) {
        first.emplace(block->second, i);
      }
    }
    auto in_middle = [&](std::size_t i) {
      return blocks[i].kind == BlockKind::kPartition ||
             blocks[i].kind == BlockKind::kUncut;
    };
    std::vector<std::size_t> remaining;
    for (std::size_t i = 0; i < blocks.size(); ++i) {
      if (in_middle(i)) remaining.push_back(i);
    }
    std::map<std::size_t, std::set<std::size_t>> preds;
    for (const Edge& e : edges) {
      if (in_middle(e.dst) && in_middle(e.src) && e.src != e.dst) {
        preds[e.dst].insert(e.src);
      }
    }
    std::vector<std::size_t> order;
    std::set<std::size_t> placed;
    while (!remaining.empty()) {
      std::vector<std::size_t> ready;
      for (const std::size_t i : remaining) {
        const auto& need = preds[i];
        if (std::all_of(need.begin(), need.end(),
                        [&](std::size_t p) { return placed.count(p) != 0; })) {
          ready.push_back(i);
        }
      }
      if (ready.empty()) ready = remaining;
      auto rank = [&](std::size_t i) {
        auto it = first.find(i);
        return std::make_pair(it == first.end() ? compute_.size() : it->second, i);
      };
      const std::size_t pick = *std::min_element(
          ready.begin(), ready.end(),
          [&](std::size_t a, std::size_t b) { return rank(a) < rank(b); });
      order.push_back(pick);
      placed.insert(pick);
      remaining.erase(std::find(remaining.begin(), remaining.end(), pick));
    }
    std::vector<std::size_t> all;
    for (std::size_t i = 0; i < blocks.size(); ++i) {
      if (blocks[i].kind == BlockKind::kInputs) all.push_back(i);
    }
    all.insert(all.end(), order.begin(), order.end());
    for (std::size_t i = 0; i < blocks.size(); ++i) {
      if (blocks[i].kind == BlockKind::kOutputs) all.push_back(i);
    }
    return all;
  }

  static void NoteUnlinked(PartitionMap* map) {
    std::set<std::string> shown;
    for (const Edge& e : map->edges) {
      for (const TensorLabel& t : e.tensors) {
        std::size_t begin = 0;
        const std::string arrow = "\xe2\x86\x92";
        for (;;) {
          const std::size_t at = t.name.find(arrow, begin);
          shown.insert(Trim(t.name.substr(begin, at - begin)));
          if (at == std::string::npos) break;
          begin = at + arrow.size();
        }
      }
    }
    for (Block& block : map->blocks) {
      if (block.kind != BlockKind::kPartition) continue;
      for (const auto* labels : {&block.inputs, &block.outputs}) {
        for (const TensorLabel& t : *labels) {
          if (shown.count(t.name) == 0) block.unlinked.push_back(t.name);
        }
      }
    }
  }

  std::vector<MarkRow> MarkRows(const std::vector<Block>& blocks) const {
    std::map<std::string, std::set<BlockId>> consumers;
    for (std::size_t i = 0; i < compute_.size(); ++i) {
      for (const auto& name : compute_[i]->input()) consumers[name].insert(owner_[i]);
    }
    for (const auto& value : graph_.output()) consumers[value.name()].insert(out_);

    // Blocks reading `tensor`, through any marks after it.
    auto final_readers = [&](const std::string& tensor) {
      std::set<BlockId> readers;
      std::vector<std::string> todo = {tensor};
      std::set<std::string> seen = {tensor};
      while (!todo.empty()) {
        const std::string current = todo.back();
        todo.pop_back();
        auto it = consumers.find(current);
        if (it != consumers.end()) readers.insert(it->second.begin(), it->second.end());
        auto reading = marks_reading_.find(current);
        if (reading == marks_reading_.end()) continue;
        for (const std::size_t m : reading->second) {
          if (seen.insert(marks_[m].output).second) todo.push_back(marks_[m].output);
        }
      }
      return readers;
    };
    auto place = [&](BlockId id) -> std::size_t {
      auto it = index_.find(id);
      return it == index_.end() ? 0 : position_[it->second];
    };
    auto title = [&](BlockId id) -> std::string {
      return index_.count(id) != 0 ? blocks[place(id)].title : "?";
    };

    std::vector<MarkRow> rows;
    for (const MarkRecord& mark : marks_) {
      const std::string source = Resolve(mark.output).first;
      auto src = producer_.find(source);
      std::string where;
      if (src == producer_.end()) {
        where = "reads no computed tensor";
      } else {
        std::set<BlockId> readers = final_readers(mark.output);
        readers.erase(src->second);
        if (readers.empty()) {
          where = "inside " + title(src->second);
        } else {
          std::vector<BlockId> sorted(readers.begin(), readers.end());
          std::stable_sort(sorted.begin(), sorted.end(), [&](BlockId a, BlockId b) {
            return place(a) < place(b);
          });
          where = title(src->second) + kArrow;
          for (std::size_t i = 0; i < sorted.size(); ++i) {
            where += (i ? ", " : "") + title(sorted[i]);
          }
        }
      }
      auto [dtype, shape] = TypeOf(mark);
      rows.push_back({MarkerOf(mark), mark.name, dtype, shape, where});
    }
    return rows;
  }

  const onnx::GraphProto& graph_;
  const std::vector<MapPartition>& partitions_;
  std::map<std::string, const onnx::TensorProto*> inits_;
  std::vector<MarkRecord> marks_;
  std::vector<const onnx::NodeProto*> compute_;
  std::map<std::string, std::size_t> mark_of_output_;
  std::map<std::string, std::vector<std::size_t>> marks_reading_;
  std::map<std::string, const onnx::TypeProto*> types_;
  BlockId n_parts_ = 0;
  BlockId uncut_ = 0;
  BlockId out_ = 1;

  std::vector<BlockId> owner_;
  std::map<std::string, BlockId> producer_;
  std::vector<std::map<std::string, std::string>> part_in_;
  std::vector<std::map<std::string, std::string>> part_out_;
  std::vector<Flow> flows_;
  std::map<std::pair<BlockId, BlockId>, std::size_t> flow_index_;
  std::map<BlockId, std::size_t> index_;   // block id -> index in Blocks()
  std::vector<std::size_t> position_;      // that index -> drawing position
};

}  // namespace

const char* BlockKindName(BlockKind kind) {
  switch (kind) {
    case BlockKind::kInputs:
      return "inputs";
    case BlockKind::kPartition:
      return "partition";
    case BlockKind::kUncut:
      return "uncut";
    case BlockKind::kOutputs:
      return "outputs";
  }
  return "?";
}

std::vector<const Block*> PartitionMap::Partitions() const {
  std::vector<const Block*> parts;
  for (const Block& block : blocks) {
    if (block.kind == BlockKind::kPartition) parts.push_back(&block);
  }
  return parts;
}

std::vector<TensorLabel> PartitionMap::BoundaryLabels() const {
  std::vector<TensorLabel> labels;
  for (const Edge& edge : edges) {
    labels.insert(labels.end(), edge.tensors.begin(), edge.tensors.end());
  }
  return labels;
}

PartitionMap BuildPartitionMap(const onnx::ModelProto& marked,
                               const std::vector<MapPartition>& partitions,
                               const std::string& title) {
  for (const MapPartition& part : partitions) {
    if (part.model == nullptr) {
      throw PartitionError("partition '" + part.name + "' has no model to map");
    }
  }
  return MapBuilder(marked, partitions).Build(title);
}

PartitionMap LoadPartitionMap(const std::string& marked_path,
                              const std::vector<std::string>& partition_files,
                              const std::vector<std::string>& names) {
  namespace fs = std::filesystem;
  if (!names.empty() && names.size() != partition_files.size()) {
    throw PartitionError("the partition map got " +
                         std::to_string(names.size()) + " names for " +
                         std::to_string(partition_files.size()) +
                         " partition files; give one name per file");
  }
  const onnx::ModelProto marked = LoadModel(marked_path);
  std::vector<onnx::ModelProto> models;
  models.reserve(partition_files.size());
  for (const auto& path : partition_files) models.push_back(LoadModel(path));
  std::vector<MapPartition> parts;
  for (std::size_t i = 0; i < models.size(); ++i) {
    parts.push_back({names.empty() ? fs::path(partition_files[i]).filename().string()
                                   : names[i],
                     &models[i]});
  }
  return BuildPartitionMap(marked, parts,
                           fs::path(marked_path).filename().string());
}

std::string CountText(int64_t count, const std::string& noun) {
  return std::to_string(count) + " " + noun + (count == 1 ? "" : "s");
}

std::string FormatBytes(int64_t count) {
  if (count < 1024) return std::to_string(count) + " B";
  double value = static_cast<double>(count) / 1024;
  const char* units[] = {"KiB", "MiB", "GiB"};
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(units)) {
    value /= 1024;
    ++unit;
  }
  char text[64];
  std::snprintf(text, sizeof text, "%.1f %s", value, units[unit]);
  return text;
}

}  // namespace mmdeploy::partition
