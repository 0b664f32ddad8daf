#include "model_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include <mmdeploy/partition/errors.h>
#include <mmdeploy/partition/partition.h>

#include "tensor_data.h"
#include "wire_format.h"

namespace mmdeploy::partition {
namespace {

constexpr size_t kChunk = size_t{1} << 20;
// Leaves room below protobuf's 2 GiB for everything but the payloads.
constexpr uint64_t kInlineLimit = (uint64_t{1} << 31) - (uint64_t{64} << 20);

// Destination of serialized bytes and of payloads copied from files.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual void Write(const char* data, size_t size) = 0;
  void Write(const std::string& bytes) { Write(bytes.data(), bytes.size()); }
  // Copies [offset, offset + length) of the file at `path`.
  virtual void CopyFile(int fd, uint64_t offset, uint64_t length,
                        const std::string& path) = 0;
  virtual uint64_t position() const = 0;
};

[[noreturn]] void SourceChanged(const std::string& path) {
  throw PartitionError("cannot read tensor data from '" + path +
                       "': the file is shorter than when the model was read "
                       "(it changed meanwhile); read the model again");
}

class StringSink : public Sink {
 public:
  explicit StringSink(std::string* out) : out_(out) {}
  void Write(const char* data, size_t size) override {
    out_->append(data, size);
  }
  void CopyFile(int fd, uint64_t offset, uint64_t length,
                const std::string& path) override {
    const size_t start = out_->size();
    out_->resize(start + length);
    uint64_t done = 0;
    while (done < length) {
      const ssize_t got = ::pread(fd, &(*out_)[start + done],
                                  std::min<uint64_t>(length - done, kChunk),
                                  static_cast<off_t>(offset + done));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) SourceChanged(path);
      done += static_cast<uint64_t>(got);
    }
  }
  uint64_t position() const override { return out_->size(); }

 private:
  std::string* out_;
};

// Buffered writes to a file descriptor; payloads go file to file in the
// kernel (copy_file_range) where it can, else through one bounded buffer.
class FileSink : public Sink {
 public:
  FileSink(int fd, std::string path) : fd_(fd), path_(std::move(path)) {
    buffer_.reserve(kChunk);
  }
  void Write(const char* data, size_t size) override {
    if (buffer_.size() + size > kChunk) Flush();
    if (size >= kChunk) {
      WriteAll(data, size);
    } else {
      buffer_.append(data, size);
    }
    position_ += size;
  }
  void CopyFile(int fd, uint64_t offset, uint64_t length,
                const std::string& path) override {
    Flush();
    loff_t in = static_cast<loff_t>(offset);
    uint64_t done = 0;
    while (done < length) {
      const ssize_t copied = ::copy_file_range(
          fd, &in, fd_, nullptr, std::min<uint64_t>(length - done, 1u << 30),
          0);
      if (copied < 0 && errno == EINTR) continue;
      if (copied < 0 && (errno == EXDEV || errno == ENOSYS ||
                         errno == EINVAL || errno == EOPNOTSUPP)) {
        CopyThroughBuffer(fd, static_cast<uint64_t>(in), length - done, path);
        done = length;
        break;
      }
      if (copied < 0) Fail();
      if (copied == 0) SourceChanged(path);
      done += static_cast<uint64_t>(copied);
    }
    position_ += length;
  }
  void Flush() {
    if (!buffer_.empty()) WriteAll(buffer_.data(), buffer_.size());
    buffer_.clear();
  }
  uint64_t position() const override { return position_; }

 private:
  void CopyThroughBuffer(int fd, uint64_t offset, uint64_t length,
                         const std::string& path) {
    std::string chunk(std::min<uint64_t>(length, kChunk), '\0');
    uint64_t done = 0;
    while (done < length) {
      const ssize_t got =
          ::pread(fd, chunk.data(), std::min<uint64_t>(length - done, kChunk),
                  static_cast<off_t>(offset + done));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) SourceChanged(path);
      WriteAll(chunk.data(), static_cast<size_t>(got));
      done += static_cast<uint64_t>(got);
    }
  }
  void WriteAll(const char* data, size_t size) {
    while (size > 0) {
      const ssize_t written = ::write(fd_, data, size);
      if (written < 0 && errno == EINTR) continue;
      if (written <= 0) Fail();
      data += written;
      size -= static_cast<size_t>(written);
    }
  }
  [[noreturn]] void Fail() {
    throw PartitionError("cannot write '" + path_ + "': " +
                         std::strerror(errno) + " (disk full?)");
  }

  int fd_;
  std::string path_;
  std::string buffer_;
  uint64_t position_ = 0;
};

// Open source files, one descriptor each, closed at the end.
class Sources {
 public:
  ~Sources() {
    for (const auto& [path, fd] : fds_) ::close(fd);
  }
  int Open(const std::string& path) {
    const auto it = fds_.find(path);
    if (it != fds_.end()) return it->second;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      throw PartitionError("cannot open tensor data file '" + path +
                           "': " + std::strerror(errno));
    }
    fds_.emplace(path, fd);
    return fd;
  }

 private:
  std::map<std::string, int> fds_;
};

// One piece of the output: bytes of the skeleton, or a payload.
struct Piece {
  std::string bytes;
  std::optional<TensorDataRef> payload;
};

// Plans the output of the serialized skeleton: the graph's initializers
// that reference payloads get them inline (raw_data) or, with a data file,
// a reference to their place in it. Returns the pieces in order.
std::vector<Piece> Plan(const onnx::ModelProto& model,
                        const std::string& skeleton, const DataFile& data,
                        std::vector<TensorDataRef>* data_file_payloads) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(skeleton.data());
  const std::string what = "the serialized model";
  std::vector<Piece> pieces(1);
  auto raw = [bytes](const wire::Field& field) {
    return std::string(reinterpret_cast<const char*>(bytes) + field.start,
                       field.end - field.start);
  };
  wire::FieldReader reader(bytes, 0, skeleton.size());
  wire::Field field;
  uint64_t data_offset = 0;
  while (reader.Next(&field, what)) {
    // A field of the graph's number but another wire type is an unknown
    // field protobuf kept from a hostile input: passed through as it is.
    if (field.number != wire::kModelGraph ||
        field.wire_type != wire::kLengthDelimited) {
      pieces.back().bytes += raw(field);
      continue;
    }
    // The graph: its fields, with initializers rewritten. Sizes are summed
    // first because the graph's length prefix precedes its fields.
    std::vector<Piece> graph(1);
    uint64_t graph_size = 0;
    wire::FieldReader graph_reader(bytes, field.value,
                                   field.value + field.length);
    wire::Field graph_field;
    int index = 0;
    while (graph_reader.Next(&graph_field, what)) {
      if (graph_field.number != wire::kGraphInitializer ||
          graph_field.wire_type != wire::kLengthDelimited) {
        graph.back().bytes += raw(graph_field);
        graph_size += graph_field.end - graph_field.start;
        continue;
      }
      if (index >= model.graph().initializer_size()) {
        throw PartitionError(
            "internal error: the serialized model has more initializers than "
            "the model; please report this with the input model");
      }
      const auto ref = DataRefOf(model.graph().initializer(index++));
      if (!ref) {
        graph.back().bytes += raw(graph_field);
        graph_size += graph_field.end - graph_field.start;
        continue;
      }
      std::string tensor;
      wire::FieldReader tensor_reader(bytes, graph_field.value,
                                      graph_field.value + graph_field.length);
      wire::Field tensor_field;
      while (tensor_reader.Next(&tensor_field, what)) {
        if (tensor_field.number == wire::kTensorExternalData ||
            tensor_field.number == wire::kTensorDataLocation) {
          continue;
        }
        tensor += raw(tensor_field);
      }
      if (data.path.empty()) {
        // raw_data inline: tag, length, then the payload itself.
        const uint64_t size = tensor.size() + 1 +
                              wire::VarintSize(ref->length) + ref->length;
        std::string head;
        wire::AppendTag(wire::kGraphInitializer, wire::kLengthDelimited, &head);
        wire::AppendVarint(size, &head);
        head += tensor;
        wire::AppendTag(wire::kTensorRawData, wire::kLengthDelimited, &head);
        wire::AppendVarint(ref->length, &head);
        graph.back().bytes += head;
        graph.push_back({std::string(), ref});
        graph.push_back({});
        graph_size += head.size() + ref->length;
      } else {
        AppendExternalDataEntry("location", data.location, &tensor);
        AppendExternalDataEntry("offset", std::to_string(data_offset), &tensor);
        AppendExternalDataEntry("length", std::to_string(ref->length), &tensor);
        wire::AppendTag(wire::kTensorDataLocation, wire::kVarint, &tensor);
        wire::AppendVarint(onnx::TensorProto::EXTERNAL, &tensor);
        std::string head;
        wire::AppendBytesField(wire::kGraphInitializer, tensor, &head);
        graph.back().bytes += head;
        graph_size += head.size();
        data_file_payloads->push_back(*ref);
        data_offset += ref->length;
      }
    }
    std::string head;
    wire::AppendTag(wire::kModelGraph, wire::kLengthDelimited, &head);
    wire::AppendVarint(graph_size, &head);
    pieces.back().bytes += head;
    for (auto& piece : graph) pieces.push_back(std::move(piece));
    pieces.push_back({});
  }
  return pieces;
}

std::string Skeleton(const onnx::ModelProto& model, const std::string& target) {
  std::string skeleton;
  if (model.ByteSizeLong() > static_cast<size_t>(INT_MAX) ||
      !model.SerializeToString(&skeleton)) {
    throw PartitionError("cannot serialize '" + target +
                         "': its graph alone exceeds protobuf's 2 GiB limit");
  }
  return skeleton;
}

void Emit(const std::vector<Piece>& pieces, Sources* sources, Sink* sink) {
  for (const auto& piece : pieces) {
    if (piece.payload) {
      sink->CopyFile(sources->Open(piece.payload->path), piece.payload->offset,
                     piece.payload->length, piece.payload->path);
    } else {
      sink->Write(piece.bytes);
    }
  }
}

// Whether any initializer references its payload in a file: otherwise the
// serialized skeleton is the model's whole output as it is.
bool HasDataRefs(const onnx::ModelProto& model) {
  for (const auto& tensor : model.graph().initializer()) {
    if (DataRefOf(tensor)) return true;
  }
  return false;
}

uint64_t PayloadBytes(const onnx::ModelProto& model) {
  uint64_t total = 0;
  for (const auto& tensor : model.graph().initializer()) {
    if (const auto ref = DataRefOf(tensor)) total += ref->length;
  }
  return total;
}

class Fd {
 public:
  Fd(const std::string& path, const std::string& target) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd_ < 0) {
      throw PartitionError("cannot create temporary file '" + path +
                           "' for '" + target + "': " + std::strerror(errno));
    }
  }
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  void Close(const std::string& path) {
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) {
      throw PartitionError("cannot write '" + path + "': " +
                           std::strerror(errno) + " (disk full?)");
    }
  }

 private:
  int fd_ = -1;
};

}  // namespace

bool NeedsDataFile(const onnx::ModelProto& model) {
  uint64_t total = 0;
  for (const auto& tensor : model.graph().initializer()) {
    const auto ref = DataRefOf(tensor);
    if (!ref) continue;
    if (!ref->from_model_file) return true;
    total += ref->length;
  }
  return total > kInlineLimit;
}

std::string SerializeModel(const onnx::ModelProto& model) {
  return SerializeWithData(model);
}

std::string SerializeWithData(const onnx::ModelProto& model) {
  std::string skeleton = Skeleton(model, "the model");
  if (skeleton.size() + PayloadBytes(model) > kInlineLimit) {
    throw PartitionError(
        "the model with its weights exceeds protobuf's 2 GiB limit for one "
        "message; write it to a file instead (save_file), which stores the "
        "weights as external data");
  }
  if (!HasDataRefs(model)) return skeleton;
  std::vector<TensorDataRef> unused;
  const auto pieces = Plan(model, skeleton, DataFile{}, &unused);
  std::string out;
  out.reserve(skeleton.size() + PayloadBytes(model));
  StringSink sink(&out);
  Sources sources;
  Emit(pieces, &sources, &sink);
  return out;
}

void WriteModelFile(const onnx::ModelProto& model, const std::string& path,
                    const DataFile& data, const std::string& target) {
  const std::string skeleton = Skeleton(model, target);
  if (data.path.empty() && skeleton.size() + PayloadBytes(model) > kInlineLimit) {
    throw PartitionError("cannot write '" + target +
                         "' as one file: with its weights it exceeds "
                         "protobuf's 2 GiB limit");
  }
  std::vector<TensorDataRef> data_payloads;
  const auto pieces = HasDataRefs(model)
                          ? Plan(model, skeleton, data, &data_payloads)
                          : std::vector<Piece>{};
  Sources sources;
  // Only files this call created are removed when it fails.
  std::vector<std::string> created;
  try {
    {
      Fd fd(path, target);
      created.push_back(path);
      FileSink sink(fd.get(), path);
      if (pieces.empty()) {
        sink.Write(skeleton.data(), skeleton.size());
      } else {
        Emit(pieces, &sources, &sink);
      }
      sink.Flush();
      fd.Close(path);
    }
    if (data.path.empty()) return;
    Fd fd(data.path, target);
    created.push_back(data.path);
    FileSink sink(fd.get(), data.path);
    for (const auto& ref : data_payloads) {
      sink.CopyFile(sources.Open(ref.path), ref.offset, ref.length, ref.path);
    }
    sink.Flush();
    fd.Close(data.path);
  } catch (...) {
    for (const auto& file : created) ::unlink(file.c_str());
    throw;
  }
}

void WriteBytesFile(const std::string& contents, const std::string& path,
                    const std::string& target) {
  Fd fd(path, target);
  try {
    FileSink sink(fd.get(), path);
    sink.Write(contents.data(), contents.size());
    sink.Flush();
    fd.Close(path);
  } catch (...) {
    ::unlink(path.c_str());  // created by this call
    throw;
  }
}

}  // namespace mmdeploy::partition
