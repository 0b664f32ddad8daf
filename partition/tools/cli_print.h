// What mmdeploy-partition prints on stdout: the mark listing of --list and
// the inputs and outputs of every model it writes.
#pragma once

#include <mmdeploy/partition/partition.h>
#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

namespace mmdeploy::partition::cli {

// Prints a table of `marks` (marker "func[func_id]:type", name, id, dtype,
// shape) in the given order, then a line with the mark count and the
// distinct markers in order of first appearance; or
// "<model_path>: no Mark nodes" when `marks` is empty. Writes to std::cout
// only; throws only what the stream or allocation throws.
void PrintMarks(const std::string& model_path,
                const std::vector<MarkRecord>& marks);

// Prints one line per graph input that is not an initializer and per graph
// output, as "name  float32[batch, 3, 224, 224]" ("?" for an unknown dim),
// then the node and initializer counts. Writes to std::cout only; throws
// only what the stream or allocation throws.
void PrintIo(const onnx::ModelProto& model);

}  // namespace mmdeploy::partition::cli
