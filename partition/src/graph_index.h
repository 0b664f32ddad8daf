// Lookup tables over one graph, built once so that every later step of the
// pass is a lookup instead of a scan.
#pragma once

#include <mmdeploy/partition/partition.h>
#include <onnx/onnx_pb.h>

#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace mmdeploy::partition {

// A Mark node inside an If/Loop/Scan body (at any depth) of a main-graph node.
struct NestedMark {
  MarkRecord mark;
  int parent_node = -1;  // the main-graph node that owns the body
};

// Producer and consumers per tensor, initializers, value infos and graph
// inputs/outputs by name, marks in graph order, and per node the tensors it
// reads including those its bodies read from the outer scope. Building it is
// linear in the size of the graph (bodies included); it never changes
// afterwards. The graph must outlive the index and stay unchanged.
class GraphIndex {
 public:
  static constexpr int kNone = -1;

  // Throws MalformedModelError if a tensor is defined twice (two producers,
  // or a node output that is also a graph input or initializer) or a Mark
  // node does not have exactly one input and one output.
  explicit GraphIndex(const onnx::GraphProto& graph);

  const onnx::GraphProto& graph() const { return graph_; }

  // Index of the node producing `tensor`, or kNone.
  int Producer(const std::string& tensor) const;
  // Nodes reading `tensor` directly or from a body, in graph order.
  const std::vector<int>& Consumers(const std::string& tensor) const;
  // What node `node` reads: its non-empty inputs and the outer-scope tensors
  // its bodies read, each once.
  const std::vector<std::string>& Reads(int node) const;
  bool IsMark(int node) const { return is_mark_[node]; }

  // Index into graph().initializer() / sparse_initializer() / input(), or
  // kNone.
  int Initializer(const std::string& tensor) const;
  int SparseInitializer(const std::string& tensor) const;
  int GraphInput(const std::string& tensor) const;
  bool IsGraphOutput(const std::string& tensor) const;
  // The declared type of `tensor` from the graph inputs, outputs or
  // value_info (in that order), or nullptr.
  const onnx::TypeProto* FindType(const std::string& tensor) const;

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
  std::unordered_map<std::string, int> producer_;
  std::unordered_map<std::string, std::vector<int>> consumers_;
  std::vector<std::vector<std::string>> reads_;
  std::vector<bool> is_mark_;
  std::unordered_map<std::string, int> initializer_;
  std::unordered_map<std::string, int> sparse_initializer_;
  std::unordered_map<std::string, int> graph_input_;
  std::unordered_map<std::string, const onnx::TypeProto*> type_;
  std::unordered_set<std::string> graph_outputs_;
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
