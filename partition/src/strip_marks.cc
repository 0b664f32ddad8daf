#include <mmdeploy/partition/partition.h>

#include "graph_rewrite.h"
#include "validate_graph.h"

namespace mmdeploy::partition {

onnx::ModelProto StripMarks(const onnx::ModelProto& model) {
  onnx::ModelProto stripped = model;
  ValidateModel(&stripped, "");
  StripMarksInGraph(stripped.mutable_graph());
  DropUnusedMarkDomain(&stripped);
  return stripped;
}

}  // namespace mmdeploy::partition
