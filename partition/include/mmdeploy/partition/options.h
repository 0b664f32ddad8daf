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
  // Boundaries by tensor name, for any ONNX model (marks optional), as in
  // onnx.utils.extract_model(path, out, input_names, output_names). Each
  // names a tensor of the main graph and keeps its name in the partition;
  // they follow the start/end markers' boundaries (markers first, then these,
  // each in the given order). An input may be written Polygraphy-style
  // "name:shape:dtype" to override its shape and element type, e.g.
  // "x:1x3x224x224:float32", "x:[1,3,h,w]:auto" ("auto" keeps; dims may be
  // names or '?'); a text that is a tensor of the model is always a name.
  // With inputs (outputs) given and no start (end) markers, the graph's own
  // inputs (outputs) are not boundaries.
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
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
