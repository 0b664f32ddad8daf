// Reading the --config file of mmdeploy-partition: a deploy config's
// partition_cfg list as JSON.
#pragma once

#include <mmdeploy/partition/options.h>

#include <string>
#include <vector>

namespace mmdeploy::partition::cli {

// Reads the JSON file at `path`: a list of partitions, or an object whose
// "partition_cfg" key holds that list, each entry an object as a deploy
// config's partition_cfg entry (spec.h owns the rules: keys, types, values;
// an axis key of dynamic_axes is written as a string, "0"). Returns one
// PartitionSpec per entry, in file order (never empty). Throws CliError with
// ExitCode::kInput when the file is missing, not a regular file, unreadable
// or not valid JSON, and with ExitCode::kUsage naming the file and the place
// (e.g. "partition_cfg[1].start[0]") for content the spec rules reject.
std::vector<PartitionSpec> ReadConfig(const std::string& path);

}  // namespace mmdeploy::partition::cli
