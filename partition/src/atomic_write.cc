// Writing partitions: all files appear together or none does.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>

#include <mmdeploy/partition/partition.h>

#include "model_writer.h"

namespace mmdeploy::partition {
namespace {

namespace fs = std::filesystem;

void RemoveAll(const std::vector<fs::path>& paths) {
  for (const auto& path : paths) {
    std::error_code ignored;  // best effort: we are already failing
    fs::remove(path, ignored);
  }
}

fs::path TemporaryFor(const fs::path& target, size_t index) {
  fs::path temporary = target;
  temporary.replace_filename("." + target.filename().string() + ".tmp-" +
                             std::to_string(::getpid()) + "-" +
                             std::to_string(index));
  return temporary;
}

// One file to move into place: a model or its data file.
struct Staged {
  fs::path temporary;
  fs::path target;
};

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
  // file system and is atomic. A model that keeps its tensor data in a file
  // of its own (model_writer.h) has two.
  std::vector<Staged> staged;
  std::vector<fs::path> temporaries;
  try {
    for (size_t i = 0; i < outputs.size(); ++i) {
      const fs::path target(outputs[i].first);
      DataFile data;
      fs::path data_target;
      if (NeedsDataFile(outputs[i].second)) {
        data.location = target.filename().string() + ".data";
        data_target = target;
        data_target.replace_filename(data.location);
        data.path = TemporaryFor(data_target, i).string();
      }
      const fs::path temporary = TemporaryFor(target, i);
      // Removes what it created if it fails.
      WriteModelFile(outputs[i].second, temporary.string(), data,
                     outputs[i].first);
      // Listed only once written, so that cleanup never removes a file
      // (or directory) of that name that is not ours.
      temporaries.push_back(temporary);
      staged.push_back({temporary, target});
      if (!data.path.empty()) {
        temporaries.push_back(data.path);
        staged.push_back({data.path, data_target});
      }
    }
  } catch (...) {
    RemoveAll(temporaries);
    throw;
  }
  // Existing targets get a hard link as backup so that a failed rename
  // can put back the files replaced before it. Where hard links are not
  // supported, the checks above make a failed rename unlikely.
  std::vector<fs::path> backups(staged.size());
  std::vector<bool> existed(staged.size(), false);
  for (size_t i = 0; i < staged.size(); ++i) {
    const fs::path& target = staged[i].target;
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
  for (size_t i = 0; i < staged.size(); ++i) {
    std::error_code ec;
    fs::rename(staged[i].temporary, staged[i].target, ec);
    if (!ec) continue;
    bool restored = true;
    for (size_t j = 0; j < i; ++j) {
      std::error_code undo;
      if (!existed[j]) {
        fs::remove(staged[j].target, undo);
      } else if (!backups[j].empty()) {
        fs::rename(backups[j], staged[j].target, undo);
      } else {
        restored = false;
      }
      restored = restored && !undo;
    }
    RemoveAll(temporaries);
    RemoveAll(backups);
    throw PartitionError(
        "cannot move '" + staged[i].temporary.string() + "' to '" +
        staged[i].target.string() + "': " + ec.message() +
        (restored ? "; no output file was changed"
                  : "; some earlier outputs could not be restored"));
  }
  RemoveAll(backups);
}

}  // namespace mmdeploy::partition
