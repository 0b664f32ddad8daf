// Reading models: the only place the pass touches input files.
//
// A model file is mapped, not read: tensor payloads (raw_data of the main
// graph's initializers) are left in the file and replaced by references
// (tensor_data.h) in a "skeleton" copy of the message, which is all that is
// parsed. External data of the input is checked (inside the model's
// directory, regular file, within bounds) and referenced the same way.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <stdexcept>
#include <cstring>
#include <filesystem>
#include <string>
#include <unordered_set>
#include <vector>

#include <mmdeploy/partition/partition.h>

#include "model_io.h"
#include "tensor_data.h"
#include "wire_format.h"

namespace mmdeploy::partition {
namespace {

namespace fs = std::filesystem;

// Payloads smaller than this stay in the skeleton: a reference costs about
// as much to parse as a small payload.
constexpr size_t kMinReferencedPayload = 1024;

// Parses and checks the minimum the pass relies on. `what` names the source
// in messages ("model file 'a.onnx'" or "model bytes").
void ParseOrThrow(const void* data, size_t size, const std::string& what,
                  onnx::ModelProto* model) {
  if (size == 0) {
    throw MalformedModelError(what + " is empty: expected a serialized ONNX "
                              "ModelProto");
  }
  if (size > static_cast<size_t>(INT_MAX)) {
    throw MalformedModelError(what + " is larger than protobuf's 2 GiB limit "
                              "for one message: store the weights as "
                              "external data");
  }
  // A truncated or foreign file usually fails to parse; when it happens to
  // parse, the checks below catch what the pass cannot work with.
  if (!model->ParseFromArray(data, static_cast<int>(size))) {
    throw MalformedModelError(
        what + " is not a valid ONNX model (" + std::to_string(size) +
        " bytes could not be parsed as a ModelProto; the file may be "
        "truncated or not an ONNX file): re-export or re-download it");
  }
  if (!model->has_graph()) {
    throw MalformedModelError(what +
                              " parses but holds no graph; it is not an ONNX "
                              "model or was truncated: re-export it");
  }
  if (model->ir_version() <= 0) {
    throw MalformedModelError(what +
                              " has no ir_version; it is not an ONNX model "
                              "or was truncated: re-export it");
  }
}

// A read-only mapping of a whole file.
class MappedFile {
 public:
  MappedFile(const std::string& path, const std::string& what) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
      throw MalformedModelError(what + " cannot be opened: " +
                                std::strerror(errno));
    }
    struct stat st {};
    if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd_);
      throw MalformedModelError(what + " is not a regular file");
    }
    size_ = static_cast<size_t>(st.st_size);
    if (size_ == 0) return;
    void* data = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
    if (data == MAP_FAILED) {
      ::close(fd_);
      throw MalformedModelError(what + " cannot be mapped: " +
                                std::strerror(errno));
    }
    data_ = static_cast<const uint8_t*>(data);
  }
  ~MappedFile() {
    if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), size_);
    if (fd_ >= 0) ::close(fd_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  int fd_ = -1;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// The skeleton of a model file: the message with large initializer
// payloads replaced by references into the file.
struct Skeleton {
  std::string bytes;  // empty when nothing was referenced: parse the file
  // Indices (in graph order) of the initializers the skeleton references.
  std::unordered_set<int> referenced;
};

// Rewrites one TensorProto: [value, value + length) of `data`.
bool RewriteTensor(const uint8_t* data, const wire::Field& tensor,
                   const std::string& path, const std::string& what,
                   std::string* out) {
  wire::FieldReader reader(data, tensor.value, tensor.value + tensor.length);
  wire::Field field;
  const wire::Field* payload = nullptr;
  wire::Field raw;
  bool external = false;
  while (reader.Next(&field, what)) {
    if (field.number == wire::kTensorRawData &&
        field.wire_type == wire::kLengthDelimited) {
      raw = field;
      payload = &raw;
    } else if (field.number == wire::kTensorDataLocation ||
               field.number == wire::kTensorExternalData) {
      external = true;
    }
  }
  if (payload == nullptr || external ||
      payload->length < kMinReferencedPayload) {
    return false;
  }
  std::string rewritten;
  wire::FieldReader copy(data, tensor.value, tensor.value + tensor.length);
  while (copy.Next(&field, what)) {
    if (field.start == payload->start) continue;
    rewritten.append(reinterpret_cast<const char*>(data) + field.start,
                     field.end - field.start);
  }
  AppendDataRefFields({path, payload->value, payload->length, true},
                      &rewritten);
  wire::AppendBytesField(wire::kGraphInitializer, rewritten, out);
  return true;
}

// Whether any initializer payload of the file is large enough to be
// referenced: a scan of field headers that copies nothing, so that a model
// of small tensors (where the skeleton would be the whole file) is parsed
// straight from the mapping.
bool HasReferencedPayload(const MappedFile& file, const std::string& path,
                          const std::string& what) {
  const uint8_t* data = file.data();
  wire::FieldReader reader(data, 0, file.size());
  wire::Field field;
  std::string scratch;
  while (reader.Next(&field, what)) {
    if (field.number != wire::kModelGraph ||
        field.wire_type != wire::kLengthDelimited) {
      continue;
    }
    wire::FieldReader graph_reader(data, field.value,
                                   field.value + field.length);
    wire::Field graph_field;
    while (graph_reader.Next(&graph_field, what)) {
      if (graph_field.number == wire::kGraphInitializer &&
          graph_field.wire_type == wire::kLengthDelimited &&
          RewriteTensor(data, graph_field, path, what, &scratch)) {
        return true;
      }
    }
  }
  return false;
}

Skeleton BuildSkeleton(const MappedFile& file, const std::string& path,
                       const std::string& what) {
  Skeleton skeleton;
  if (!HasReferencedPayload(file, path, what)) return skeleton;
  const uint8_t* data = file.data();
  const auto copy = [data](const wire::Field& field, std::string* out) {
    out->append(reinterpret_cast<const char*>(data) + field.start,
                field.end - field.start);
  };
  std::string model;
  bool changed = false;
  wire::FieldReader reader(data, 0, file.size());
  wire::Field field;
  while (reader.Next(&field, what)) {
    if (field.number != wire::kModelGraph ||
        field.wire_type != wire::kLengthDelimited) {
      copy(field, &model);
      continue;
    }
    std::string graph;
    wire::FieldReader graph_reader(data, field.value,
                                   field.value + field.length);
    wire::Field graph_field;
    int initializer = 0;
    while (graph_reader.Next(&graph_field, what)) {
      if (graph_field.number == wire::kGraphInitializer &&
          graph_field.wire_type == wire::kLengthDelimited) {
        if (RewriteTensor(data, graph_field, path, what, &graph)) {
          skeleton.referenced.insert(initializer);
          changed = true;
        } else {
          copy(graph_field, &graph);
        }
        ++initializer;
        continue;
      }
      copy(graph_field, &graph);
    }
    wire::AppendBytesField(wire::kModelGraph, graph, &model);
  }
  if (changed) skeleton.bytes = std::move(model);
  return skeleton;
}

std::string Quoted(const std::string& text) { return "'" + text + "'"; }

// Checks one external-data reference of the input and turns it into a
// reference to an absolute, verified file range. Follows ONNX's rules for
// external data: relative location without "..", inside the model's
// directory also after resolving symlinks, a regular file with no other
// hard link, offset and length within the file.
void ResolveExternal(const fs::path& model_dir, const std::string& what,
                     onnx::TensorProto* tensor) {
  std::string location;
  std::string offset_text;
  std::string length_text;
  for (const auto& entry : tensor->external_data()) {
    if (entry.key() == "location") location = entry.value();
    if (entry.key() == "offset") offset_text = entry.value();
    if (entry.key() == "length") length_text = entry.value();
  }
  const std::string tensor_what =
      what + ": initializer " + Quoted(tensor->name()) + " has external data";
  const fs::path relative(location);
  if (location.empty()) {
    throw MalformedModelError(tensor_what + " without a location");
  }
  if (relative.is_absolute()) {
    throw MalformedModelError(tensor_what + " at an absolute location " +
                              Quoted(location) +
                              "; locations must be relative to the model's "
                              "directory");
  }
  for (const auto& part : relative) {
    if (part == "..") {
      throw MalformedModelError(tensor_what + " at " + Quoted(location) +
                                ", which leaves the model's directory ('..')");
    }
  }
  std::error_code ec;
  const fs::path dir = fs::canonical(model_dir, ec);
  const fs::path resolved = fs::canonical(model_dir / relative, ec);
  if (ec) {
    throw MalformedModelError(tensor_what + " in " + Quoted(location) +
                              ", which cannot be opened: " + ec.message());
  }
  const auto [dir_end, unused] =
      std::mismatch(dir.begin(), dir.end(), resolved.begin(), resolved.end());
  if (dir_end != dir.end()) {
    throw MalformedModelError(tensor_what + " in " + Quoted(location) +
                              ", which resolves (through a symlink) to " +
                              Quoted(resolved.string()) +
                              ", outside the model's directory");
  }
  struct stat st {};
  if (::stat(resolved.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    throw MalformedModelError(tensor_what + " in " + Quoted(location) +
                              ", which is not a regular file");
  }
  if (st.st_nlink > 1) {
    throw MalformedModelError(tensor_what + " in " + Quoted(location) +
                              ", which has other hard links (it may be a "
                              "file from outside the model's directory); "
                              "copy it instead of linking it");
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  uint64_t offset = 0;
  uint64_t length = 0;
  auto parse = [&](const std::string& text, const char* key, uint64_t* value) {
    if (text.empty()) return false;
    try {
      size_t used = 0;
      *value = std::stoull(text, &used);
      if (used != text.size() || text[0] == '-') throw std::invalid_argument(key);
    } catch (const std::exception&) {
      throw MalformedModelError(tensor_what + " with " + key + " " +
                                Quoted(text) + ", not a byte count");
    }
    return true;
  };
  parse(offset_text, "offset", &offset);
  if (offset > size) {
    throw MalformedModelError(tensor_what + " at offset " +
                              std::to_string(offset) + ", past the end of " +
                              Quoted(location) + " (" + std::to_string(size) +
                              " bytes)");
  }
  if (!parse(length_text, "length", &length)) length = size - offset;
  if (length > size - offset) {
    throw MalformedModelError(tensor_what + " of " + std::to_string(length) +
                              " bytes at offset " + std::to_string(offset) +
                              ", past the end of " + Quoted(location) + " (" +
                              std::to_string(size) + " bytes)");
  }
  SetDataRef({resolved.string(), offset, length, false}, tensor);
}

// External data anywhere but in the main graph's initializers (attributes,
// subgraphs, sparse initializers) is rare; it is refused rather than copied
// with a location that would not hold for the output.
void RejectNestedExternal(const onnx::GraphProto& graph,
                          const std::string& what) {
  auto check = [&what](const onnx::TensorProto& tensor) {
    if (tensor.data_location() == onnx::TensorProto::EXTERNAL) {
      throw MalformedModelError(
          what + ": tensor " + Quoted(tensor.name()) +
          " outside the main graph's initializers stores its data "
          "externally, which is not supported; load the model with its data "
          "and save it with the weights inline (onnx.load, onnx.save)");
    }
  };
  for (const auto& sparse : graph.sparse_initializer()) {
    check(sparse.values());
    check(sparse.indices());
  }
  for (const auto& node : graph.node()) {
    for (const auto& attr : node.attribute()) {
      if (attr.has_t()) check(attr.t());
      for (const auto& t : attr.tensors()) check(t);
      if (attr.has_g()) {
        for (const auto& t : attr.g().initializer()) check(t);
        RejectNestedExternal(attr.g(), what);
      }
      for (const auto& g : attr.graphs()) {
        for (const auto& t : g.initializer()) check(t);
        RejectNestedExternal(g, what);
      }
    }
  }
}

}  // namespace

onnx::ModelProto LoadModel(const std::string& path) {
  onnx::ModelProto model;
  LoadModelInto(path, &model);
  return model;
}

void LoadModelInto(const std::string& path, onnx::ModelProto* model) {
  const std::string what = "model file '" + path + "'";
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    throw MalformedModelError(what + " does not exist");
  }
  if (fs::is_directory(path, ec)) {
    throw MalformedModelError(what + " is a directory, not an ONNX file");
  }
  const fs::path absolute = fs::absolute(path, ec);
  std::unordered_set<int> referenced;
  {
    MappedFile file(path, what);
    Skeleton skeleton = BuildSkeleton(file, absolute.string(), what);
    if (skeleton.bytes.empty()) {
      ParseOrThrow(file.data(), file.size(), what, model);
    } else {
      ParseOrThrow(skeleton.bytes.data(), skeleton.bytes.size(), what, model);
    }
    referenced = std::move(skeleton.referenced);
  }
  auto* initializers = model->mutable_graph()->mutable_initializer();
  for (int i = 0; i < initializers->size(); ++i) {
    auto* tensor = initializers->Mutable(i);
    if (tensor->data_location() != onnx::TensorProto::EXTERNAL ||
        referenced.count(i) != 0) {
      continue;
    }
    ResolveExternal(absolute.parent_path(), what, tensor);
  }
  RejectNestedExternal(model->graph(), what);
}

onnx::ModelProto ParseModel(const std::string& bytes) {
  onnx::ModelProto model;
  ParseOrThrow(bytes.data(), bytes.size(), "model bytes", &model);
  for (const auto& tensor : model.graph().initializer()) {
    if (tensor.data_location() == onnx::TensorProto::EXTERNAL) {
      throw MalformedModelError(
          "model bytes: initializer '" + tensor.name() +
          "' stores its data externally; pass the model file's path instead "
          "so that its data files can be found and checked");
    }
  }
  RejectNestedExternal(model.graph(), "model bytes");
  return model;
}

}  // namespace mmdeploy::partition
