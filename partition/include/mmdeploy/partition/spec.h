// The rules of a partition spec: which keys a partition_cfg entry has, what
// type each holds and which values are valid. The one owner of those rules:
// the CLI's --config reader, the Python binding and the Python deploy config
// translate their values into ConfigValue and call ReadPartitionSpecs; the
// pass itself runs CheckPartitionSpec on every spec it cuts. Rules that need
// the model (a marker selects marks, output_names matches the outputs, a name
// map key names a boundary, an axis is within the rank) are checked while
// cutting (MarkedModel::Extract).
#pragma once

#include <mmdeploy/partition/config_value.h>
#include <mmdeploy/partition/options.h>

#include <string>
#include <vector>

namespace mmdeploy::partition {

// The keys of a partition_cfg entry, in the order messages list them.
const std::vector<std::string>& PartitionSpecKeys();

// Where the specs come from, which decides the rules for save_file and
// whether markers are checked before a model is seen.
enum class SpecSource {
  // A deploy config's partition_cfg, cut into a work dir (mmdeploy-partition
  // --config, torch2onnx, extract_partitions): the list is not empty; each
  // save_file is required, a relative file name ending in ".onnx" that stays
  // inside the work dir, and no two entries name the same file; markers must
  // be well formed, so that a typo is reported before any export or load.
  kConfig,
  // A call's arguments (extract_partition): save_file is optional and a path
  // as given; markers are checked against the model while cutting, whose
  // message lists the markers the model has.
  kArguments,
};

struct SpecReadOptions {
  SpecSource source = SpecSource::kConfig;
  // How messages name the list: "partition_cfg" gives places such as
  // "partition_cfg[1].start[0]"; a deploy config passes
  // "partition_config.partition_cfg".
  std::string list_name = "partition_cfg";
  // The format writes every map key as a string (JSON): an axis key of
  // dynamic_axes is then the text of an integer ("0").
  bool text_map_keys = false;
};

// Reads a partition_cfg list: one PartitionSpec per entry, in order. An entry
// is a map with the keys of PartitionSpecKeys() (null counts as absent):
//   save_file       a string
//   start, end      a marker string or a list of them ("func:type",
//                   "func[id]:type"); an empty list means the graph's own
//                   inputs (outputs)
//   inputs, outputs a tensor name or a list of them
//   output_names    a list of strings
//   start_name_map, end_name_map   a map of strings to strings
//   dynamic_axes    {tensor: {axis: dim_name}} or {tensor: [axis, ...]} (the
//                   latter names the dims "<tensor>_dim_<axis>")
// Each side needs start or inputs (end or outputs). Every entry then passes
// CheckPartitionSpec. Throws SpecTypeError for a value of the wrong type and
// SpecError for anything else (unknown or missing key, invalid value), each
// naming the place ("partition_cfg[1].start[0]") and saying how to fix it.
std::vector<PartitionSpec> ReadPartitionSpecs(
    const ConfigValue& list, const SpecReadOptions& options = {});

// Reads a dynamic_axes value alone (e.g. a deploy config's
// onnx_config.dynamic_axes), by the rules above; `place` names it in
// messages. Throws SpecTypeError or SpecError.
DynamicAxes ReadDynamicAxes(const ConfigValue& value, const std::string& place,
                            bool text_map_keys = false);

// The rules a spec's values obey whatever the model: output_names and the
// name maps' values are non-empty names, output_names are distinct, inputs,
// outputs and dynamic_axes name tensors by non-empty names. `place` prefixes
// the messages ("partition_cfg[0]"); empty for a spec of no list. Throws
// SpecError.
void CheckPartitionSpec(const PartitionSpec& spec,
                        const std::string& place = "");

}  // namespace mmdeploy::partition
