// Writing models whose tensors reference bytes in files (tensor_data.h):
// the message is serialized without the payloads, and each payload is then
// copied from its file straight into the output — inline as raw_data, or
// into a data file of the model's own — in bounded chunks, never all in
// memory.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>

namespace mmdeploy::partition {

// The bytes of `model` with every referenced payload inline. Throws
// PartitionError when the result would exceed protobuf's 2 GiB limit.
std::string SerializeWithData(const onnx::ModelProto& model);

// Where a written model's tensor data goes.
struct DataFile {
  // Written next to the model; empty: every payload inline.
  std::string path;
  // The location recorded in the model: the data file's name.
  std::string location;
};

// Whether a model should keep its tensor data in a file of its own: when
// its input stored data externally, or when inline data would exceed
// protobuf's 2 GiB limit. Small models read from single files stay single
// files.
bool NeedsDataFile(const onnx::ModelProto& model);

// Writes `model` to `path` (and its payloads to `data.path` when given).
// Throws PartitionError naming `target`, the file the user asked for.
void WriteModelFile(const onnx::ModelProto& model, const std::string& path,
                    const DataFile& data, const std::string& target);

// Writes `contents` to a new file `path` (as WriteModelFile creates its
// files: never over an existing one). Throws PartitionError naming `target`.
void WriteBytesFile(const std::string& contents, const std::string& path,
                    const std::string& target);

}  // namespace mmdeploy::partition
