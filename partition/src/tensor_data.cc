#include "tensor_data.h"

#include <charconv>

#include "wire_format.h"

namespace mmdeploy::partition {
namespace {

constexpr char kFromModelFile[] = "model";
constexpr char kFromDataFile[] = "data";

bool ParseUint(const std::string& text, uint64_t* value) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *value);
  return ec == std::errc() && ptr == end && !text.empty();
}

}  // namespace

void AppendExternalDataEntry(const std::string& key, const std::string& value,
                             std::string* out) {
  std::string entry;
  wire::AppendBytesField(wire::kEntryKey, key, &entry);
  wire::AppendBytesField(wire::kEntryValue, value, &entry);
  wire::AppendBytesField(wire::kTensorExternalData, entry, out);
}

std::optional<TensorDataRef> DataRefOf(const onnx::TensorProto& tensor) {
  if (tensor.data_location() != onnx::TensorProto::EXTERNAL) {
    return std::nullopt;
  }
  TensorDataRef ref;
  bool ours = false;
  for (const auto& entry : tensor.external_data()) {
    if (entry.key() == "location") {
      ref.path = entry.value();
    } else if (entry.key() == "offset") {
      ParseUint(entry.value(), &ref.offset);
    } else if (entry.key() == "length") {
      ParseUint(entry.value(), &ref.length);
    } else if (entry.key() == kOriginKey) {
      ours = true;
      ref.from_model_file = entry.value() == kFromModelFile;
    }
  }
  if (!ours) return std::nullopt;
  return ref;
}

void SetDataRef(const TensorDataRef& ref, onnx::TensorProto* tensor) {
  tensor->clear_raw_data();
  tensor->clear_external_data();
  tensor->set_data_location(onnx::TensorProto::EXTERNAL);
  auto add = [tensor](const std::string& key, const std::string& value) {
    auto* entry = tensor->add_external_data();
    entry->set_key(key);
    entry->set_value(value);
  };
  add("location", ref.path);
  add("offset", std::to_string(ref.offset));
  add("length", std::to_string(ref.length));
  add(kOriginKey, ref.from_model_file ? kFromModelFile : kFromDataFile);
}

void AppendDataRefFields(const TensorDataRef& ref, std::string* out) {
  AppendExternalDataEntry("location", ref.path, out);
  AppendExternalDataEntry("offset", std::to_string(ref.offset), out);
  AppendExternalDataEntry("length", std::to_string(ref.length), out);
  AppendExternalDataEntry(
      kOriginKey, ref.from_model_file ? kFromModelFile : kFromDataFile, out);
  wire::AppendTag(wire::kTensorDataLocation, wire::kVarint, out);
  wire::AppendVarint(onnx::TensorProto::EXTERNAL, out);
}

}  // namespace mmdeploy::partition
