// Writing partitions: all files appear together or none does.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>

#include <mmdeploy/partition/partition.h>

namespace mmdeploy::partition {
namespace {

namespace fs = std::filesystem;

void RemoveAll(const std::vector<fs::path>& paths) {
  for (const auto& path : paths) {
    std::error_code ignored;  // best effort: we are already failing
    fs::remove(path, ignored);
  }
}

// Writes `model` to `path`, removing what it created if writing fails.
// Throws PartitionError naming `target`.
void WriteFile(const onnx::ModelProto& model, const fs::path& path,
               const std::string& target) {
  if (model.ByteSizeLong() >
      static_cast<size_t>(std::numeric_limits<int>::max())) {
    throw PartitionError("cannot write '" + target +
                         "': the model exceeds protobuf's 2 GB limit; "
                         "store its weights as external data");
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) {
    throw PartitionError("cannot create temporary file '" + path.string() +
                         "' for '" + target + "': " + std::strerror(errno));
  }
  const bool serialized = model.SerializeToOstream(&out);
  out.close();
  if (!serialized || !out) {
    const std::string reason = std::strerror(errno);
    RemoveAll({path});
    throw PartitionError("cannot write '" + path.string() + "' for '" +
                         target + "': " + reason + " (disk full?)");
  }
}

}  // namespace

void WriteModelsAtomically(
    const std::vector<std::pair<std::string, onnx::ModelProto>>& outputs) {
  // Check every target before writing anything.
  std::set<fs::path> targets;
  for (const auto& [path, model] : outputs) {
    const fs::path target(path);
    if (target.filename().empty()) {
      throw PartitionError("output path '" + path + "' names no file");
    }
    const fs::path dir =
        target.has_parent_path() ? target.parent_path() : fs::path(".");
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
      throw PartitionError("cannot write '" + path + "': directory '" +
                           dir.string() +
                           "' does not exist; create it first");
    }
    if (fs::is_directory(target, ec)) {
      throw PartitionError("cannot write '" + path +
                           "': a directory of that name exists");
    }
    if (!targets.insert(fs::absolute(target, ec).lexically_normal()).second) {
      throw PartitionError("output path '" + path +
                           "' is given twice; give each partition its own "
                           "save_file");
    }
  }

  // Temporaries live next to their targets so that rename stays within one
  // file system and is atomic.
  std::vector<fs::path> temporaries;
  try {
    for (size_t i = 0; i < outputs.size(); ++i) {
      const fs::path target(outputs[i].first);
      fs::path temporary = target;
      temporary.replace_filename("." + target.filename().string() + ".tmp-" +
                                 std::to_string(::getpid()) + "-" +
                                 std::to_string(i));
      // Listed only once written, so that cleanup never removes a file
      // (or directory) of that name that is not ours.
      WriteFile(outputs[i].second, temporary, outputs[i].first);
      temporaries.push_back(temporary);
    }
  } catch (...) {
    RemoveAll(temporaries);
    throw;
  }
  // Existing targets get a hard link as backup so that a failed rename
  // can put back the files replaced before it. Where hard links are not
  // supported, the checks above make a failed rename unlikely.
  std::vector<fs::path> backups(outputs.size());
  std::vector<bool> existed(outputs.size(), false);
  for (size_t i = 0; i < outputs.size(); ++i) {
    const fs::path target(outputs[i].first);
    std::error_code ec;
    existed[i] = fs::exists(target, ec);
    if (!existed[i]) continue;
    fs::path backup = target;
    backup.replace_filename("." + target.filename().string() + ".bak-" +
                            std::to_string(::getpid()) + "-" +
                            std::to_string(i));
    fs::create_hard_link(target, backup, ec);
    if (!ec) backups[i] = backup;
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    std::error_code ec;
    fs::rename(temporaries[i], outputs[i].first, ec);
    if (!ec) continue;
    bool restored = true;
    for (size_t j = 0; j < i; ++j) {
      std::error_code undo;
      if (!existed[j]) {
        fs::remove(outputs[j].first, undo);
      } else if (!backups[j].empty()) {
        fs::rename(backups[j], outputs[j].first, undo);
      } else {
        restored = false;
      }
      restored = restored && !undo;
    }
    RemoveAll(temporaries);
    RemoveAll(backups);
    throw PartitionError(
        "cannot move '" + temporaries[i].string() + "' to '" +
        outputs[i].first + "': " + ec.message() +
        (restored ? "; no output file was changed"
                  : "; some earlier outputs could not be restored"));
  }
  RemoveAll(backups);
}

}  // namespace mmdeploy::partition
