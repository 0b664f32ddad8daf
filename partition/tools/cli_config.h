// Reading the --config file of mmdeploy-partition: a deploy config's
// partition_cfg list as JSON.
#pragma once

#include <mmdeploy/partition/options.h>

#include <string>
#include <vector>

namespace mmdeploy::partition::cli {

// Reads the JSON file at `path`: a list of partitions, or an object whose
// "partition_cfg" key holds that list. Each entry is an object with the keys
// save_file, start and end (required; start/end a string or a list of
// strings), output_names (a list of strings), start_name_map and
// end_name_map (objects of strings) and dynamic_axes ({name: {axis: dim}} or
// {name: [axis, ...]}, the latter naming dims "<name>_dim_<axis>"); a null
// value counts as absent. Returns one PartitionSpec per entry, in file order
// (never empty). Throws CliError with ExitCode::kInput when the file is
// missing, not a regular file, unreadable or not valid JSON, and with
// ExitCode::kUsage naming the file and key path (e.g. "[1].start[0]") for
// any other content it does not accept. Markers are not checked here.
std::vector<PartitionSpec> ReadConfig(const std::string& path);

}  // namespace mmdeploy::partition::cli
