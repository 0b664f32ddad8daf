// Writing partitions: all files appear together or none does.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <iterator>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>

#include <mmdeploy/partition/check_output.h>
#include <mmdeploy/partition/partition.h>

#include "model_writer.h"
#include "tensor_data.h"

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

using FileId = std::pair<dev_t, ino_t>;

using NamedFiles = std::vector<std::pair<std::string, std::string>>;

// Writes the checked outputs and files (defined below).
void WriteChecked(
    const std::vector<std::pair<std::string, onnx::ModelProto>>& outputs,
    const NamedFiles& files);

// The targets of the models and the other files, in writing order.
std::vector<std::string> TargetPaths(
    const std::vector<std::pair<std::string, onnx::ModelProto>>& outputs,
    const NamedFiles& files) {
  std::vector<std::string> paths;
  for (const auto& output : outputs) paths.push_back(output.first);
  for (const auto& file : files) paths.push_back(file.first);
  return paths;
}

// The files the run reads: the given inputs and every file the models'
// tensor data comes from.
std::set<FileId> ReadFiles(
    const std::vector<std::pair<std::string, onnx::ModelProto>>& outputs,
    const std::vector<std::string>& inputs) {
  std::set<FileId> ids;
  auto add = [&](const std::string& path) {
    struct stat info {};
    if (!path.empty() && ::stat(path.c_str(), &info) == 0) {
      ids.emplace(info.st_dev, info.st_ino);
    }
  };
  for (const auto& input : inputs) add(input);
  std::set<std::string> seen;
  for (const auto& output : outputs) {
    for (const auto& init : output.second.graph().initializer()) {
      const auto ref = DataRefOf(init);
      if (ref && seen.insert(ref->path).second) add(ref->path);
    }
  }
  return ids;
}

// An existing target must be a regular file the run does not read.
void CheckTarget(const fs::path& target, const std::string& requested,
                 const std::set<FileId>& read) {
  struct stat info {};
  if (::stat(target.c_str(), &info) != 0) return;  // absent (or dangling)
  if (S_ISDIR(info.st_mode)) return;  // reported by WriteChecked
  if (!S_ISREG(info.st_mode)) {
    const char* kind = S_ISFIFO(info.st_mode)  ? "a FIFO"
                       : S_ISCHR(info.st_mode) ? "a character device"
                       : S_ISBLK(info.st_mode) ? "a block device"
                       : S_ISSOCK(info.st_mode) ? "a socket"
                                                : "not a regular file";
    throw PartitionError("cannot write '" + requested + "': '" +
                         target.string() + "' is " + kind +
                         ", which is never replaced; choose another path");
  }
  if (read.count({info.st_dev, info.st_ino}) != 0) {
    throw PartitionError(
        "cannot write '" + requested + "': '" + target.string() +
        "' is a file this run reads (the input model, its external data or "
        "the config, possibly through a symlink or hard link); writing it "
        "would destroy the input: choose another output path");
  }
}

bool ProcessExists(long pid) {
  if (pid <= 0) return true;  // not ours to judge
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH;
}

// Removes ".<name>.tmp-<pid>-<n>" and ".<name>.bak-<pid>-<n>" files beside
// `target` whose process is gone (a run killed while writing).
void RemoveStaleTemporaries(const fs::path& target) {
  const fs::path dir =
      target.has_parent_path() ? target.parent_path() : fs::path(".");
  const std::string name = target.filename().string();
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::string entry = it->path().filename().string();
    for (const char* tag : {".tmp-", ".bak-"}) {
      const std::string prefix = "." + name + tag;
      if (entry.compare(0, prefix.size(), prefix) != 0) continue;
      const std::string rest = entry.substr(prefix.size());
      const size_t dash = rest.find('-');
      if (dash == 0 || dash == std::string::npos ||
          rest.find_first_not_of("0123456789-") != std::string::npos) {
        continue;
      }
      const long pid = std::strtol(rest.substr(0, dash).c_str(), nullptr, 10);
      if (pid == ::getpid() || ProcessExists(pid)) continue;
      if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
      std::error_code ignored;
      fs::remove(it->path(), ignored);
    }
  }
}

}  // namespace

std::string PathInside(const std::string& dir, const std::string& save_file) {
  const fs::path file(save_file);
  auto fail = [&](const std::string& why) {
    throw PartitionError("save_file '" + save_file + "' " + why +
                         "; give a relative path that stays inside the "
                         "work dir '" + dir + "'");
  };
  if (save_file.empty() || file.filename().empty()) fail("names no file");
  if (file.is_absolute() || file.has_root_name() || file.has_root_directory()) {
    fail("is an absolute path");
  }
  for (const auto& part : file) {
    if (part == "..") fail("has a '..' component");
  }
  const fs::path joined = fs::path(dir) / file;
  // Existing directories on the way must not lead out of dir.
  std::error_code ec;
  const fs::path root = fs::weakly_canonical(fs::absolute(dir, ec), ec);
  fs::path at = dir;
  for (auto part = file.begin(); part != file.end(); ++part) {
    if (std::next(part) == file.end()) break;  // the file itself
    at /= *part;
    std::error_code link_ec;
    if (!fs::is_symlink(at, link_ec)) continue;
    std::error_code canon_ec;
    const fs::path resolved = fs::canonical(at, canon_ec);
    const auto mismatch =
        std::mismatch(root.begin(), root.end(), resolved.begin(),
                      resolved.end());
    if (canon_ec || mismatch.first != root.end()) {
      fail("passes through '" + at.string() +
           "', a symlink leading out of the work dir");
    }
  }
  return joined.string();
}

void WriteModelsAtomically(
    const std::vector<std::pair<std::string, onnx::ModelProto>>& outputs) {
  WriteModelsAtomically(outputs, WriteOptions{});
}

namespace {

// Creates the missing parents of `dir`, recording each one created.
void CreateDirectories(const fs::path& dir, std::vector<fs::path>* created) {
  std::vector<fs::path> missing;
  std::error_code ec;
  for (fs::path at = dir; !at.empty() && !fs::exists(at, ec);
       at = at.parent_path()) {
    missing.push_back(at);
    if (at == at.parent_path()) break;
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (!fs::create_directory(*it, ec) && ec) {
      throw PartitionError("cannot create directory '" + it->string() +
                           "': " + ec.message());
    }
    created->push_back(*it);
  }
}

void RemoveCreated(const std::vector<fs::path>& created) {
  for (auto it = created.rbegin(); it != created.rend(); ++it) {
    std::error_code ignored;
    fs::remove(*it, ignored);  // only succeeds while empty
  }
}

}  // namespace

void WriteModelsAtomically(
    const std::vector<std::pair<std::string, onnx::ModelProto>>& outputs,
    const WriteOptions& options) {
  std::vector<fs::path> created;
  try {
    const std::set<FileId> read = ReadFiles(outputs, options.inputs);
    for (const auto& [path, model] : outputs) {
      const fs::path target(path);
      if (target.filename().empty()) continue;  // reported below
      CheckTarget(target, path, read);
      fs::path data_target = target;
      data_target.replace_filename(target.filename().string() + ".data");
      if (NeedsDataFile(model)) CheckTarget(data_target, path, read);
    }
    for (const auto& file : options.files) {
      const fs::path target(file.first);
      if (!target.filename().empty()) CheckTarget(target, file.first, read);
    }
    // Only valid models are written (targets first: their errors are cheap).
    if (options.check_models) {
      for (const auto& [path, model] : outputs) {
        CheckOutputModel(model, "'" + path + "'");
      }
    }
    const std::vector<std::string> paths = TargetPaths(outputs, options.files);
    if (options.create_directories) {
      for (const auto& path : paths) {
        const fs::path parent = fs::path(path).parent_path();
        if (!parent.empty()) CreateDirectories(parent, &created);
      }
    }
    for (const auto& path : paths) {
      const fs::path target(path);
      if (target.filename().empty()) continue;
      RemoveStaleTemporaries(target);
      fs::path data_target = target;
      data_target.replace_filename(target.filename().string() + ".data");
      RemoveStaleTemporaries(data_target);
    }
    WriteChecked(outputs, options.files);
  } catch (...) {
    RemoveCreated(created);
    throw;
  }
}

namespace {

void WriteChecked(
    const std::vector<std::pair<std::string, onnx::ModelProto>>& outputs,
    const NamedFiles& files) {
  // Check every target before writing anything.
  std::set<fs::path> targets;
  for (const auto& path : TargetPaths(outputs, files)) {
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
    for (size_t i = 0; i < files.size(); ++i) {
      const fs::path target(files[i].first);
      const fs::path temporary = TemporaryFor(target, outputs.size() + i);
      WriteBytesFile(files[i].second, temporary.string(), files[i].first);
      temporaries.push_back(temporary);
      staged.push_back({temporary, target});
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

}  // namespace
}  // namespace mmdeploy::partition
