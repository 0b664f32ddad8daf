// Lookup tables over one graph, built once so that every later step of the
// pass is a lookup instead of a scan.
#pragma once

#include <mmdeploy/partition/partition.h>
#include <onnx/onnx_pb.h>

#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "name_table.h"

namespace mmdeploy::partition {

// A Mark node inside an If/Loop/Scan body (at any depth) of a main-graph node.
struct NestedMark {
  MarkRecord mark;
  int parent_node = -1;  // the main-graph node that owns the body
};

// Producer and consumers per tensor, initializers, value infos and graph
// inputs/outputs by name, marks in graph order, and per node the tensors it
// reads including those its bodies read from the outer scope. Every tensor
// name the graph mentions is interned once to a dense id (0..tensor_count()
// - 1, viewing the graph's own strings), and the tables are vectors indexed
// by id or node: one hash lookup per name, then array accesses, and no
// per-node allocation, which is what keeps a cut of a 100k-node graph below
// protobuf's own parse and serialize. Building it is linear in the size of
// the graph (bodies included); it never changes afterwards. The graph must
// outlive the index and stay unchanged.
class GraphIndex {
 public:
  static constexpr int kNone = -1;

  // The tensor ids a node reads, in first-use order.
  struct Ids {
    const int* first;
    const int* last;
    const int* begin() const { return first; }
    const int* end() const { return last; }
    size_t size() const { return static_cast<size_t>(last - first); }
    bool empty() const { return first == last; }
  };

  // Throws MalformedModelError if a tensor is defined twice (two producers,
  // or a node output that is also a graph input or initializer) or a Mark
  // node does not have exactly one input and one output.
  explicit GraphIndex(const onnx::GraphProto& graph);
  GraphIndex(const GraphIndex&) = delete;
  GraphIndex& operator=(const GraphIndex&) = delete;

  const onnx::GraphProto& graph() const { return graph_; }

  // The id of a tensor name, or kNone for a name the graph never mentions.
  int TensorId(std::string_view tensor) const;
  std::string_view TensorName(int id) const { return ids_.Name(id); }
  int tensor_count() const { return ids_.size(); }

  // Index of the node producing `tensor`, or kNone.
  int Producer(std::string_view tensor) const;
  int ProducerOf(int id) const { return producer_[id]; }
  // Nodes reading `tensor` directly or from a body, in graph order.
  std::vector<int> Consumers(std::string_view tensor) const;
  // What node `node` reads: its non-empty inputs and the outer-scope tensors
  // its bodies read, each once.
  Ids ReadIds(int node) const {
    return {reads_.data() + read_begin_[node],
            reads_.data() + read_begin_[node + 1]};
  }
  std::vector<std::string> Reads(int node) const;  // the same, by name
  bool IsMark(int node) const { return is_mark_[node] != 0; }

  // Index into graph().initializer() / sparse_initializer() / input(), or
  // kNone.
  int Initializer(std::string_view tensor) const;
  int InitializerOf(int id) const { return initializer_[id]; }
  int SparseInitializer(std::string_view tensor) const;
  int SparseInitializerOf(int id) const { return sparse_initializer_[id]; }
  int GraphInput(std::string_view tensor) const;
  int GraphInputOf(int id) const { return graph_input_[id]; }
  bool IsGraphOutput(std::string_view tensor) const;
  // The declared type of `tensor` from the graph inputs, outputs or
  // value_info (in that order), or nullptr.
  const onnx::TypeProto* FindType(std::string_view tensor) const;

  // Main-graph marks in graph order, and the node of each.
  const std::vector<MarkRecord>& marks() const { return marks_; }
  int MarkNode(int mark) const { return mark_nodes_[mark]; }
  const std::vector<NestedMark>& nested_marks() const {
    return nested_marks_;
  }
  // Positions in marks() / nested_marks() of the marks `marker` selects.
  const std::vector<int>& MarksMatching(const Marker& marker) const;
  const std::vector<int>& NestedMarksMatching(const Marker& marker) const;
  // The distinct markers of the main-graph marks in graph order, as a user
  // writes them ("f:input", "g[1]:output").
  const std::vector<std::string>& markers() const { return markers_; }

 private:
  static std::string MarkerKey(const std::string& func, int64_t func_id,
                               const std::string& type);
  const onnx::GraphProto& graph_;
  NameTable ids_;
  // Names only computed (bodies' outer-scope reads), kept alive here.
  std::deque<std::string> owned_names_;
  // Per tensor id.
  std::vector<int> producer_;
  std::vector<int> initializer_;
  std::vector<int> sparse_initializer_;
  std::vector<int> graph_input_;
  std::vector<char> is_graph_output_;
  std::vector<const onnx::TypeProto*> type_;
  std::vector<int> consumer_begin_;  // consumers_[begin[id], begin[id + 1])
  std::vector<int> consumers_;
  // Per node: reads_[read_begin_[node], read_begin_[node + 1]).
  std::vector<int> read_begin_;
  std::vector<int> reads_;
  std::vector<char> is_mark_;
  std::vector<MarkRecord> marks_;
  std::vector<int> mark_nodes_;
  std::vector<NestedMark> nested_marks_;
  std::unordered_map<std::string, std::vector<int>> marks_by_key_;
  std::unordered_map<std::string, std::vector<int>> nested_marks_by_key_;
  std::vector<std::string> markers_;
};

// The names `body` reads from enclosing scopes (its free names), each once,
// in first-use order. Appends every Mark node found in `body` or deeper to
// *marks when marks is not null.
std::vector<std::string> OuterScopeReads(const onnx::GraphProto& body,
                                         std::vector<MarkRecord>* marks);

}  // namespace mmdeploy::partition
