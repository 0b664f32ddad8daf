#include "element_types.h"

#include <iterator>

namespace mmdeploy::partition {
namespace {

struct ElementType {
  const char* name;
  int bits;
};

// Indexed by TensorProto::DataType; names as numpy spells them.
constexpr ElementType kTypes[] = {
    {"dtype?", 0},        {"float32", 32},       {"uint8", 8},
    {"int8", 8},          {"uint16", 16},        {"int16", 16},
    {"int32", 32},        {"int64", 64},         {"string", 0},
    {"bool", 8},          {"float16", 16},       {"float64", 64},
    {"uint32", 32},       {"uint64", 64},        {"complex64", 64},
    {"complex128", 128},  {"bfloat16", 16},      {"float8e4m3fn", 8},
    {"float8e4m3fnuz", 8}, {"float8e5m2", 8},    {"float8e5m2fnuz", 8},
    {"uint4", 4},         {"int4", 4},           {"float4e2m1", 4},
};

const ElementType* Find(int64_t elem_type) {
  if (elem_type < 0 ||
      elem_type >= static_cast<int64_t>(std::size(kTypes))) {
    return nullptr;
  }
  return &kTypes[elem_type];
}

}  // namespace

std::string ElementTypeName(int64_t elem_type) {
  const ElementType* type = Find(elem_type);
  return type != nullptr ? type->name : "dtype" + std::to_string(elem_type);
}

int ElementTypeBits(int64_t elem_type) {
  const ElementType* type = Find(elem_type);
  return type != nullptr ? type->bits : 0;
}

}  // namespace mmdeploy::partition
