// mmdeploy-partition: list, strip and cut the marks of an exported ONNX model
// from the command line. All logic lives in the partition library; this file
// loads the model, runs the chosen mode, writes the results and ends with
// the exit code of the project's table (mmdeploy/partition/exit_codes.h).
#include <mmdeploy/partition/options.h>
#include <mmdeploy/partition/partition.h>
#include <mmdeploy/partition/partition_map.h>

#include <cstddef>
#include <exception>
#include <filesystem>
#include <iostream>
#include <set>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "cli_args.h"
#include "cli_config.h"
#include "cli_errors.h"
#include "cli_print.h"

#ifndef MMDEPLOY_MARK_VERSION
#define MMDEPLOY_MARK_VERSION "unknown"
#endif

namespace mmdeploy::partition::cli {
namespace {

namespace fs = std::filesystem;

// Writes the models and `files` (the partition map) all or nothing.
void Write(const std::vector<std::pair<std::string, onnx::ModelProto>>& outputs,
           bool quiet, const Args& args,
           std::vector<std::pair<std::string, std::string>> files = {}) {
  std::vector<std::string> file_paths;
  for (const auto& file : files) file_paths.push_back(file.first);
  try {
    // Two entries of a --config never name one file (the spec rules,
    // ReadConfig); the map must not take a partition's place either.
    std::set<std::string> seen;
    for (const auto& output : outputs) {
      seen.insert(fs::path(output.first).lexically_normal().string());
    }
    for (const auto& path : file_paths) {
      if (seen.count(fs::path(path).lexically_normal().string()) != 0) {
        Usage("--visualize: the map would be written to '" + path +
              "', where a partition goes; give the map its own file");
      }
    }
    // Never write over what this run reads; directories are created only
    // for a write that succeeds.
    WriteOptions options;
    options.inputs = {args.model};
    if (!args.config.empty()) options.inputs.push_back(args.config);
    options.create_directories = true;
    options.files = std::move(files);
    WriteModelsAtomically(outputs, options);
  } catch (const CliError&) {
    throw;
  } catch (const InvalidOutputError& e) {
    Fail(ExitCode::kVerify, e.what());
  } catch (const std::exception& e) {
    Fail(ExitCode::kWrite, e.what());
  }
  if (quiet) return;
  for (const auto& output : outputs) {
    std::cout << "wrote " << output.first << "\n";
  }
  for (const auto& path : file_paths) {
    std::cout << "wrote " << path << " (the partition map)\n";
  }
}

// Reads the model with `load` (LoadModel, or MarkedModel::Load for a cut).
template <typename Loader>
auto Load(const std::string& path, Loader&& load) {
  std::error_code error;
  if (!fs::exists(path, error)) {
    Fail(ExitCode::kInput, "model file '" + path + "' does not exist");
  }
  if (!fs::is_regular_file(path, error)) {
    Fail(ExitCode::kInput, "model path '" + path + "' is not a file");
  }
  try {
    return load(path);
  } catch (const std::exception& e) {
    Fail(ExitCode::kInput, e.what());
  }
}

// Returns only on success; every failure is an exception (DescribeFailure).
void Run(const Args& args) {
  if (args.help) {
    std::cout << HelpText();
    return;
  }
  if (args.version) {
    std::cout << kProgram << " " << MMDEPLOY_MARK_VERSION << "\n";
    return;
  }
  // Read the config before the (possibly big) model: its mistakes are cheap
  // to find.
  std::vector<PartitionSpec> specs;
  if (!args.config.empty()) specs = ReadConfig(args.config);

  if (args.list || args.strip) {
    const onnx::ModelProto model = Load(args.model, LoadModel);
    if (args.list) {
      PrintMarks(args.model, ListMarks(model));
      return;
    }
    onnx::ModelProto stripped = StripMarks(model);
    if (!args.quiet) {
      std::cout << "stripped " << args.model << "\n";
      PrintIo(stripped);
    }
    Write({{args.output, std::move(stripped)}}, args.quiet, args);
    return;
  }
  // A cut reads the model into the MarkedModel's own memory (validated and
  // indexed once for every partition).
  const MarkedModel marked = Load(args.model, MarkedModel::Load);

  std::vector<std::string> paths;
  if (specs.empty()) {
    PartitionSpec spec;
    spec.save_file = args.output;
    spec.start = args.start;
    spec.end = args.end;
    spec.inputs = args.inputs;
    spec.outputs = args.outputs;
    spec.output_names = args.output_names;
    spec.dynamic_axes = args.dynamic_axes;
    specs.push_back(std::move(spec));
    paths.push_back(args.output);
  } else {
    for (const auto& spec : specs) {
      try {
        paths.push_back(PathInside(args.work_dir, spec.save_file));
      } catch (const PartitionError& e) {
        Usage(args.config + ": " + e.what());
      }
    }
  }
  // With --config the map goes inside the work dir, as the partitions do.
  std::string map_path = args.visualize;
  if (!args.visualize.empty() && !args.config.empty()) {
    try {
      map_path = PathInside(args.work_dir, args.visualize);
    } catch (const PartitionError& e) {
      Usage(std::string("--visualize: ") + e.what());
    }
  }
  std::vector<onnx::ModelProto> parts = marked.ExtractAll(specs, args.options);
  std::vector<std::pair<std::string, std::string>> files;
  if (!map_path.empty()) {
    // Drawn before writing, so that the map is written with the partitions.
    std::vector<MapPartition> named;
    for (std::size_t i = 0; i < parts.size(); ++i) {
      named.push_back({args.config.empty()
                           ? fs::path(paths[i]).filename().string()
                           : specs[i].save_file,
                       &parts[i]});
    }
    files.emplace_back(
        map_path,
        MapSvgFile(BuildPartitionMap(marked.model(), named,
                                     fs::path(args.model).filename().string())));
  }
  std::vector<std::pair<std::string, onnx::ModelProto>> outputs;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    std::string what = "partition " + std::to_string(i) + " (" +
                       specs[i].save_file + ")";
    if (!args.quiet) {
      auto boundaries = [](std::vector<std::string> markers,
                           const std::vector<std::string>& tensors) {
        markers.insert(markers.end(), tensors.begin(), tensors.end());
        return JoinStrings(markers);
      };
      std::cout << what << ": "
                << boundaries(specs[i].start, specs[i].inputs) << " -> "
                << boundaries(specs[i].end, specs[i].outputs) << "\n";
      PrintIo(parts[i]);
    }
    outputs.emplace_back(paths[i], std::move(parts[i]));
  }
  Write(outputs, args.quiet, args, std::move(files));
}

}  // namespace
}  // namespace mmdeploy::partition::cli

int main(int argc, char** argv) {
  namespace cli = mmdeploy::partition::cli;
  using mmdeploy::partition::ExitCode;
  std::ios::sync_with_stdio(false);
  cli::Failure failure{ExitCode::kOk, ""};
  try {
    cli::Run(cli::ParseArgs(argc, argv));
  } catch (...) {
    failure = cli::DescribeFailure(std::current_exception());
  }
  std::cout.flush();
  if (failure.code == ExitCode::kOk) return 0;
  // As argparse does: the usage first, the error on the last line.
  if (failure.code == ExitCode::kUsage) std::cerr << cli::kUsage;
  std::cerr << cli::kProgram << ": error: " << failure.message << std::endl;
  return mmdeploy::partition::ToInt(failure.code);
}
