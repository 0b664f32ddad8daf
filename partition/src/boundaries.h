// Where a partition starts and ends: markers resolved to tensors and names.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "graph_index.h"

namespace mmdeploy::partition {

enum class BoundaryRole { kStart, kEnd };

// One partition input (start) or output (end).
struct Boundary {
  std::string marker;          // as written in the spec; empty when the
                               // boundary is a graph input/output
  int mark = GraphIndex::kNone;  // position in GraphIndex::marks(), or kNone
  std::string tensor;  // original tensor: entering the mark (start) or
                       // leaving it (end); the graph input/output itself
  std::string name;    // name in the partition
  bool by_name = false;  // given by tensor name (PartitionSpec inputs/outputs)
};

// A Polygraphy-style override of a tensor input's type: "name:shape:dtype".
struct InputOverride {
  std::string name;
  bool has_shape = false;
  // One entry per dim: digits (a size), a dim name, or empty (unknown).
  std::vector<std::string> dims;
  int32_t elem_type = 0;  // onnx::TensorProto_DataType; 0 keeps the type
};

// Resolves PartitionSpec::inputs (kStart) or outputs (kEnd): each names a
// main-graph tensor (node output, graph input, or for an output also an
// initializer), kept under its own name. An input text that is no tensor but
// parses as "name:shape:dtype" adds an InputOverride to *overrides. Throws
// TensorNotFoundError naming the text (and what was parsed, if anything),
// and PartitionError for an input that is an initializer.
std::vector<Boundary> ResolveTensorBoundaries(
    const GraphIndex& index, const std::vector<std::string>& texts,
    BoundaryRole role, std::vector<InputOverride>* overrides);

// Resolves `markers` in order; each selects every main-graph Mark with its
// func, func_id and type, in graph order. A start takes the tensor entering
// the mark, an end the tensor leaving it; both are named by the mark's name,
// overridden by name_map[name] or name_map["<marker>:<name>"]. No markers at
// all means the graph inputs (kStart) or outputs (kEnd), keeping their names.
// Throws MarkerNotFoundError for a malformed marker or one that selects no
// Mark (the message lists the model's markers), and PartitionError when a
// selected Mark lies inside an If/Loop/Scan body.
std::vector<Boundary> ResolveBoundaries(
    const GraphIndex& index, const std::vector<std::string>& markers,
    BoundaryRole role, const std::map<std::string, std::string>& name_map);

// Renames `ends` in order. Empty output_names keeps the names. Throws
// PartitionError listing the outputs when the counts differ.
void ApplyOutputNames(const GraphIndex& index,
                      const std::vector<std::string>& output_names,
                      std::vector<Boundary>* ends);

// Throws PartitionError if two boundaries get the same name or two starts
// the same tensor.
void CheckBoundaryNames(const GraphIndex& index,
                        const std::vector<Boundary>& starts,
                        const std::vector<Boundary>& ends);

// "Mark 'x' (marker 'f:input')" or "graph input 'x'", for messages.
std::string DescribeBoundary(const GraphIndex& index, const Boundary& boundary,
                             BoundaryRole role);

// Joins names for messages and metadata: "a, b, c" by default.
std::string JoinNames(const std::vector<std::string>& names,
                      const std::string& separator = ", ");

}  // namespace mmdeploy::partition
