// Where a tensor's bytes are while the pass works on a model read from a
// file: not in memory, but in a file at an offset.
//
// Loading a model leaves every large tensor payload where it is and records
// a reference in the tensor, in ONNX's own external-data form with an
// absolute location (data_location = EXTERNAL; external_data: location,
// offset, length, and "mmdeploy.origin"). The graph logic never reads tensor
// bytes, so it works on these models unchanged; writing a model copies the
// referenced bytes from their files, inline or into a data file of its own.
// Absolute locations exist only in memory: nothing the pass writes carries
// one, nor any location copied from an input.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <optional>
#include <string>

namespace mmdeploy::partition {

struct TensorDataRef {
  std::string path;  // absolute path of the file holding the bytes
  uint64_t offset = 0;
  uint64_t length = 0;
  // True when the bytes were the tensor's raw_data inside the model file;
  // false when the input model stored them as external data.
  bool from_model_file = false;
};

// The reference recorded by the loader, or nullopt when the tensor holds its
// data in the proto.
std::optional<TensorDataRef> DataRefOf(const onnx::TensorProto& tensor);

// Replaces the tensor's data fields by a reference.
void SetDataRef(const TensorDataRef& ref, onnx::TensorProto* tensor);

// The wire encoding of the reference fields (external_data entries and
// data_location), to append to a serialized TensorProto.
void AppendDataRefFields(const TensorDataRef& ref, std::string* out);

// The wire encoding of one external_data entry (key, value) of a
// TensorProto, appended to a serialized TensorProto.
void AppendExternalDataEntry(const std::string& key, const std::string& value,
                             std::string* out);

// The key of the external_data entry that marks a loader's reference.
inline constexpr char kOriginKey[] = "mmdeploy.origin";

}  // namespace mmdeploy::partition
