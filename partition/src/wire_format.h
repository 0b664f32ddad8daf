// Protobuf wire format, read field by field without parsing: where each
// field of a serialized message starts and ends. The pass uses it to copy
// the bytes of what it does not change (tensor payloads above all) instead
// of parsing and re-serializing them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace mmdeploy::partition::wire {

// Field numbers of the onnx.proto messages the pass rewrites at wire level.
// They are part of ONNX's wire format and never change.
constexpr uint32_t kModelGraph = 7;          // ModelProto.graph
constexpr uint32_t kGraphInitializer = 5;    // GraphProto.initializer
constexpr uint32_t kTensorName = 8;          // TensorProto.name
constexpr uint32_t kTensorRawData = 9;       // TensorProto.raw_data
constexpr uint32_t kTensorExternalData = 13; // TensorProto.external_data
constexpr uint32_t kTensorDataLocation = 14; // TensorProto.data_location
constexpr uint32_t kEntryKey = 1;            // StringStringEntryProto.key
constexpr uint32_t kEntryValue = 2;          // StringStringEntryProto.value

constexpr int kLengthDelimited = 2;
constexpr int kVarint = 0;

// One field of a message: bytes [start, end) of the buffer hold its tag and
// value; a length-delimited value is [value, value + length).
struct Field {
  uint32_t number = 0;
  int wire_type = 0;
  size_t start = 0;
  size_t end = 0;
  size_t value = 0;
  size_t length = 0;
};

// Iterates the fields of the message in data[begin, end).
class FieldReader {
 public:
  FieldReader(const uint8_t* data, size_t begin, size_t end)
      : data_(data), pos_(begin), end_(end) {}
  // Reads the next field into *field; false at the end. Throws
  // MalformedModelError (with `what` naming the source) on bytes that are
  // not a well-formed message.
  bool Next(Field* field, const std::string& what);

 private:
  uint64_t Varint(const std::string& what);
  const uint8_t* data_;
  size_t pos_;
  size_t end_;
};

// Appends the encodings protobuf uses.
void AppendVarint(uint64_t value, std::string* out);
void AppendTag(uint32_t number, int wire_type, std::string* out);
// A length-delimited field holding `value`.
void AppendBytesField(uint32_t number, const std::string& value,
                      std::string* out);
size_t VarintSize(uint64_t value);

}  // namespace mmdeploy::partition::wire
