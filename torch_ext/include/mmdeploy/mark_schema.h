// ONNX operator schema of mmdeploy::Mark. Torch-free, so that the partition
// library and its command-line tool can register it too.
#pragma once

namespace mmdeploy {

inline constexpr char kMarkDomain[] = "mmdeploy";
inline constexpr int kMarkDomainVersion = 1;
inline constexpr char kMarkOpType[] = "Mark";

// Registers domain "mmdeploy" (versions 1..1) and the Mark schema with ONNX's
// process-wide registry: one input, one output of the same type (any tensor
// type), attributes dtype, shape, func, func_id, type, name, id plus any
// extra attribute, and identity type-and-shape inference.
//
// Idempotent: a domain or schema that is already registered (by an earlier
// call, or by another library sharing libonnx) is left as it is.
// Throws std::runtime_error if the schema cannot be found afterwards.
void RegisterMarkSchema();

}  // namespace mmdeploy
