// Reading models: the only place the pass touches input files.
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <mmdeploy/partition/partition.h>

namespace mmdeploy::partition {
namespace {

// Parses and checks the minimum the pass relies on. `what` names the source
// in messages ("model file 'a.onnx'" or "model bytes").
onnx::ModelProto ParseOrThrow(const std::string& bytes,
                              const std::string& what) {
  if (bytes.empty()) {
    throw MalformedModelError(what + " is empty: expected a serialized ONNX "
                              "ModelProto");
  }
  onnx::ModelProto model;
  // A truncated or foreign file usually fails to parse; when it happens to
  // parse, the checks below catch what the pass cannot work with.
  if (!model.ParseFromString(bytes)) {
    throw MalformedModelError(
        what + " is not a valid ONNX model (" + std::to_string(bytes.size()) +
        " bytes could not be parsed as a ModelProto; the file may be "
        "truncated or not an ONNX file): re-export or re-download it");
  }
  if (!model.has_graph()) {
    throw MalformedModelError(what +
                              " parses but holds no graph; it is not an ONNX "
                              "model or was truncated: re-export it");
  }
  if (model.ir_version() <= 0) {
    throw MalformedModelError(what +
                              " has no ir_version; it is not an ONNX model "
                              "or was truncated: re-export it");
  }
  return model;
}

}  // namespace

onnx::ModelProto LoadModel(const std::string& path) {
  const std::string what = "model file '" + path + "'";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    throw MalformedModelError(what + " does not exist");
  }
  if (std::filesystem::is_directory(path, ec)) {
    throw MalformedModelError(what + " is a directory, not an ONNX file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw MalformedModelError(what + " cannot be opened: " +
                              std::strerror(errno));
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) {
    throw MalformedModelError(what + " cannot be read: " +
                              std::strerror(errno));
  }
  return ParseOrThrow(buffer.str(), what);
}

onnx::ModelProto ParseModel(const std::string& bytes) {
  return ParseOrThrow(bytes, "model bytes");
}

}  // namespace mmdeploy::partition
