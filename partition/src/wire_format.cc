#include "wire_format.h"

#include <mmdeploy/partition/errors.h>

namespace mmdeploy::partition::wire {

uint64_t FieldReader::Varint(const std::string& what) {
  uint64_t value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos_ >= end_) break;
    const uint8_t byte = data_[pos_++];
    value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return value;
  }
  throw MalformedModelError(what + " is not a valid ONNX model (a varint "
                            "runs past its message); re-export it");
}

bool FieldReader::Next(Field* field, const std::string& what) {
  if (pos_ >= end_) return false;
  field->start = pos_;
  const uint64_t tag = Varint(what);
  field->number = static_cast<uint32_t>(tag >> 3);
  field->wire_type = static_cast<int>(tag & 7);
  if (field->number == 0) {
    throw MalformedModelError(what + " is not a valid ONNX model (field "
                              "number 0); re-export it");
  }
  switch (field->wire_type) {
    case 0:  // varint
      field->value = pos_;
      Varint(what);
      field->length = pos_ - field->value;
      break;
    case 1:  // 64-bit
    case 5:  // 32-bit
      field->value = pos_;
      field->length = field->wire_type == 1 ? 8 : 4;
      if (field->length > end_ - pos_) {
        throw MalformedModelError(what + " is truncated; re-export it");
      }
      pos_ += field->length;
      break;
    case 2: {  // length-delimited
      const uint64_t length = Varint(what);
      if (length > end_ - pos_) {
        throw MalformedModelError(
            what + " is not a valid ONNX model (a field's length runs past "
                   "its message: the file may be truncated); re-export it");
      }
      field->value = pos_;
      field->length = static_cast<size_t>(length);
      pos_ += field->length;
      break;
    }
    default:  // groups (3, 4) are not used by onnx.proto
      throw MalformedModelError(what + " is not a valid ONNX model (wire "
                                "type " + std::to_string(field->wire_type) +
                                "); re-export it");
  }
  field->end = pos_;
  return true;
}

size_t VarintSize(uint64_t value) {
  size_t size = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++size;
  }
  return size;
}

void AppendVarint(uint64_t value, std::string* out) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

void AppendTag(uint32_t number, int wire_type, std::string* out) {
  AppendVarint((static_cast<uint64_t>(number) << 3) | wire_type, out);
}

void AppendBytesField(uint32_t number, const std::string& value,
                      std::string* out) {
  AppendTag(number, kLengthDelimited, out);
  AppendVarint(value.size(), out);
  out->append(value);
}

}  // namespace mmdeploy::partition::wire
