// Reading models into a message the caller allocated (on an arena, for the
// pass's own copy: parsing and freeing a large graph then cost a fraction of
// what separate allocations do).
#pragma once

#include <onnx/onnx_pb.h>

#include <string>

namespace mmdeploy::partition {

// LoadModel (partition.h) into *model, which must be empty.
void LoadModelInto(const std::string& path, onnx::ModelProto* model);

}  // namespace mmdeploy::partition
