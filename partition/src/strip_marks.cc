#include <mmdeploy/partition/partition.h>

#include "graph_rewrite.h"

namespace mmdeploy::partition {

onnx::ModelProto StripMarks(const onnx::ModelProto& model) {
  onnx::ModelProto stripped = model;
  StripMarksInGraph(stripped.mutable_graph());
  DropUnusedMarkDomain(&stripped);
  return stripped;
}

}  // namespace mmdeploy::partition
