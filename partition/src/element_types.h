// ONNX tensor element types as people read them: the numpy-style name
// ("float32") and the size of one element. Newer types are listed by number
// so that an ONNX library that predates them (Debian's 1.12) still names
// them.
#pragma once

#include <cstdint>
#include <string>

namespace mmdeploy::partition {

// "float32" for TensorProto FLOAT (1); "dtype?" for 0 (unset); "dtype<N>"
// for a number no ONNX release defines.
std::string ElementTypeName(int64_t elem_type);

// Size of one element in bits (4 for int4), or 0 when it has no fixed size
// (string) or is unknown.
int ElementTypeBits(int64_t elem_type);

}  // namespace mmdeploy::partition
