// C++ API of the mark operator torch.ops.mmdeploy.mark.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

namespace mmdeploy {

inline constexpr char kMarkTypeInput[] = "input";
inline constexpr char kMarkTypeOutput[] = "output";

// The identity a mark carries into TorchScript and ONNX. The ONNX Mark node
// gets the same fields as attributes (plus dtype and shape of the tensor).
struct MarkInfo {
  std::string func;     // name of the marked function, e.g. "yolo_head"
  int64_t func_id = 0;  // which call of func (0 for the first)
  std::string type;     // kMarkTypeInput or kMarkTypeOutput
  std::string name;     // tensor name, e.g. "pred_maps.0"
  int64_t id = 0;       // index of the tensor among the call's marks
  std::string attrs = "{}";  // extra attributes, a JSON object
};

// Returns `x` marked with `info`: an alias of `x` (same storage, no copy)
// whose gradient passes straight through. Calls the operator through the
// dispatcher, so tracing records a mmdeploy::mark node as it does from Python.
// Throws c10::Error if info.type is not "input"/"output" or info.name is empty.
at::Tensor mark(const at::Tensor& x, const MarkInfo& info);

}  // namespace mmdeploy
