// What to cut: the partition_cfg entries of a deploy config, and options.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace mmdeploy::partition {

// Tensor name -> {axis -> dim name}, as in torch.onnx.export's dynamic_axes;
// an empty dim name is named "<tensor>_dim_<axis>" by the pass.
using DynamicAxes = std::map<std::string, std::map<int64_t, std::string>>;

// One entry of partition_config.partition_cfg.
struct PartitionSpec {
  std::string save_file;           // file name, relative to the output dir
  std::vector<std::string> start;  // markers "func:type" / "func[id]:type"
  std::vector<std::string> end;
  // Renames the outputs in order; empty keeps the marks' names. Must match
  // the number of outputs when given.
  std::vector<std::string> output_names;
  // Override names of inputs/outputs. A key is the mark's name or
  // "<marker>:<name>" (mmdeploy's get_new_name).
  std::map<std::string, std::string> start_name_map;
  std::map<std::string, std::string> end_name_map;
  DynamicAxes dynamic_axes;  // keys are the final input/output names
};

struct PartitionOptions {
  // An output that needs a graph input or tensor the starts do not cover is
  // an error (UncoveredTensorError) unless this is set; then each uncovered
  // tensor becomes an extra partition input.
  bool expose_uncovered_inputs = false;
  // Where dynamic_axes change a partition's input shapes, re-run ONNX shape
  // inference so that intermediate and output shapes agree with them.
  // Without dynamic_axes the shapes the export declared are kept as they are.
  bool infer_shapes = true;
};

}  // namespace mmdeploy::partition
