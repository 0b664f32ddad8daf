// The partition pass: cut a model exported with mmdeploy::Mark nodes at its
// marks. Every function takes the model by const reference and returns new
// values; the caller's model is never changed.
#pragma once

#include <mmdeploy/partition/errors.h>
#include <mmdeploy/partition/options.h>
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace mmdeploy::partition {

// One Mark node of a model, with the attributes of the contract.
struct MarkRecord {
  std::string func;
  int64_t func_id = 0;
  std::string type;  // "input" or "output"
  std::string name;
  int64_t id = 0;
  int64_t dtype = 0;  // onnx::TensorProto_DataType
  std::vector<int64_t> shape;
  std::string node_name;  // the Mark node's own name (may be empty)
  std::string input;      // tensor entering the mark
  std::string output;     // tensor leaving the mark
};

// Parses "func:type" or "func[func_id]:type" (func_id 0 when omitted).
struct Marker {
  std::string func;
  int64_t func_id = 0;
  std::string type;
  std::string ToString() const;  // canonical "func[id]:type"
};
// Throws MarkerNotFoundError (malformed marker) naming the string.
Marker ParseMarker(const std::string& text);

// Reads and parses a model file. Throws MalformedModelError naming the file
// (missing, unreadable, truncated or not an ONNX model).
onnx::ModelProto LoadModel(const std::string& path);
// Parses serialized bytes. Throws MalformedModelError.
onnx::ModelProto ParseModel(const std::string& bytes);

// A model read by LoadModel keeps its tensor data in its files (only
// references are in memory). SerializeModel returns the bytes of `model`
// with every tensor's data inline; throws PartitionError past protobuf's
// 2 GiB limit (write the model to a file instead: WriteModelsAtomically
// stores large or externally stored weights in a data file of its own).
std::string SerializeModel(const onnx::ModelProto& model);

// Every Mark node of the main graph, in graph order.
std::vector<MarkRecord> ListMarks(const onnx::ModelProto& model);

// The whole model without Mark nodes: each mark's consumers (and graph
// outputs) read the mark's input instead; the mmdeploy opset import is
// dropped when unused.
//   before:  y = mmdeploy.Mark<...>(x);  z = Relu(y)
//   after:   z = Relu(x)
// Graph output names are kept (a graph output produced by a Mark keeps its
// name; its producer is renamed).
onnx::ModelProto StripMarks(const onnx::ModelProto& model);

// A model indexed once, from which many partitions are cut. Holds its own
// copy of the model; building it is linear in the model size.
class MarkedModel {
 public:
  // Throws MalformedModelError if the graph is inconsistent.
  explicit MarkedModel(onnx::ModelProto model, std::string source = "");
  // Reads the model file as LoadModel does, into memory the MarkedModel
  // owns (cheaper to parse and free than a model passed in), with `path` as
  // the source. Throws MalformedModelError as LoadModel and the constructor.
  static MarkedModel Load(const std::string& path);
  ~MarkedModel();
  MarkedModel(MarkedModel&&) noexcept;
  MarkedModel& operator=(MarkedModel&&) noexcept;

  const onnx::ModelProto& model() const;
  const std::vector<MarkRecord>& marks() const;

  // Cuts one partition. Throws MarkerNotFoundError, UncoveredTensorError or
  // PartitionError (no nodes; duplicate or clashing names; output_names count
  // mismatch; a Mark inside an If/Loop/Scan body used as a boundary).
  onnx::ModelProto Extract(const PartitionSpec& spec,
                           const PartitionOptions& options = {}) const;

  // Cuts every partition; the first failure throws with the partition's
  // index and save_file appended as context.
  std::vector<onnx::ModelProto> ExtractAll(
      const std::vector<PartitionSpec>& specs,
      const PartitionOptions& options = {}) const;

 private:
  class Impl;
  explicit MarkedModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Writes every (path, model) pair: each to a temporary name in the target
// directory first, renamed into place only after all were written. On any
// failure no target file is created or changed and the temporaries are
// removed. Throws PartitionError naming the path.
void WriteModelsAtomically(
    const std::vector<std::pair<std::string, onnx::ModelProto>>& outputs);

// What WriteModelsAtomically may do besides writing its targets.
struct WriteOptions {
  // Files the run read (the input model, a config): no target, nor a
  // target's data file, may be one of them, compared by device and inode
  // (so also through symlinks and hard links). The files the models' tensor
  // data is read from are always protected.
  std::vector<std::string> inputs;
  // Create missing parent directories of the targets; the ones created are
  // removed again when the write fails.
  bool create_directories = false;
  // Check every model before anything is written (CheckOutputModel: the ONNX
  // checker and strict shape inference); one that fails is an
  // InvalidOutputError and nothing is written.
  bool check_models = true;
  // Other files written in the same all-or-nothing step, as (path,
  // contents) pairs: e.g. the partition map beside the partitions. Their
  // targets obey the models' rules.
  std::vector<std::pair<std::string, std::string>> files;
};

// As above, and: an existing target must be a regular file (a FIFO, device
// or socket is never replaced) and no file the run reads; stale temporaries
// of the targets left by killed runs (".<name>.tmp-<pid>-<n>" of a process
// that no longer exists) are removed first.
void WriteModelsAtomically(
    const std::vector<std::pair<std::string, onnx::ModelProto>>& outputs,
    const WriteOptions& options);

// dir/save_file for a save_file that must stay inside dir: throws
// PartitionError when save_file is empty, absolute, has a '..' component, or
// an existing directory on the way is a symlink leading out of dir.
std::string PathInside(const std::string& dir, const std::string& save_file);

}  // namespace mmdeploy::partition
