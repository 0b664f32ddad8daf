// The check every model the pass writes passes first: the ONNX checker and
// strict shape inference with type checks, i.e. what
// onnx.checker.check_model(model, full_check=True) runs.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>

namespace mmdeploy::partition {

// Throws InvalidOutputError naming `what` (e.g. "partition 0 (head.onnx)")
// and the checker's message when `model` is not a valid ONNX model. Models
// of an IR version newer than the linked ONNX library knows are checked by
// that library's rules for its newest IR (newer element types are still
// rejected, as unknown ones). A model importing an ONNX opset newer than
// the library knows is not checked: the library cannot judge its nodes.
void CheckOutputModel(const onnx::ModelProto& model, const std::string& what);

}  // namespace mmdeploy::partition
