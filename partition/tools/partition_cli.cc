// mmdeploy-partition: list, strip and cut the marks of an exported ONNX model
// from the command line. All logic lives in the partition library; this file
// parses arguments, reads the JSON partition config, prints, and maps errors
// to the exit codes documented in --help.
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <mmdeploy/mark_schema.h>
#include <mmdeploy/partition/errors.h>
#include <mmdeploy/partition/options.h>
#include <mmdeploy/partition/partition.h>
#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#ifndef MMDEPLOY_MARK_VERSION
#define MMDEPLOY_MARK_VERSION "unknown"
#endif

namespace {

namespace fs = std::filesystem;
namespace mp = mmdeploy::partition;
using google::protobuf::Value;

constexpr char kProgram[] = "mmdeploy-partition";

enum ExitCode : int {
  kExitOk = 0,
  kExitPartitionError = 1,
  kExitUsageError = 2,
  kExitInputError = 3,
  kExitWriteError = 4,
};

constexpr char kUsage[] =
    "usage: mmdeploy-partition MODEL --list\n"
    "       mmdeploy-partition MODEL --start M[,M...] --end M[,M...] -o OUT\n"
    "                          [--output-names A,B,...] [--dynamic-axes "
    "NAME:AXIS:DIM,...]\n"
    "       mmdeploy-partition MODEL --config PARTITIONS.json --work-dir DIR\n"
    "       mmdeploy-partition MODEL --strip -o OUT\n"
    "       mmdeploy-partition --help | --version\n";

constexpr char kHelp[] = R"(
Cut an ONNX model exported with mmdeploy::Mark nodes into partitions at its
marks, strip the marks, or list them.

A marker names the marks of one marked function call: "func:type" or
"func[func_id]:type" (func_id 0 when omitted), type being input or output.
A start marker's marks become the partition's inputs (the tensors entering
the marks), an end marker's marks its outputs (the tensors leaving them),
each named by the mark's name (e.g. pred_maps.0).

Modes (exactly one):
  --list                 Print every mark (marker, name, id, dtype, shape) and
                         the distinct markers of MODEL.
  --start M[,M...]       Cut one partition from the marks of the start
  --end M[,M...]         markers to those of the end markers and write it to
                         -o. Both options may be repeated; values add up.
  --config FILE          Cut every partition of a JSON file holding a deploy
                         config's partition_cfg list (or an object with a
                         "partition_cfg" key). Each entry has the keys of the
                         Python API: save_file, start, end (required),
                         output_names, start_name_map, end_name_map,
                         dynamic_axes. Files go to --work-dir/save_file; all
                         are written or none.
  --strip                Write MODEL without its Mark nodes to -o.

Options:
  -o, --output FILE      Output file (--start/--end and --strip).
  --work-dir DIR         Output directory of --config (created if missing).
  --output-names A,B     Rename the partition's outputs, in order.
  --dynamic-axes N:A:D,...
                         Name axis A of input/output N as dim D, e.g.
                         input:0:batch,input:2:height. Names are the final
                         input/output names.
  --expose-uncovered-inputs
                         Tensors an output needs but no start covers (e.g. a
                         second graph input) become extra inputs instead of
                         an error.
  --no-infer-shapes      Do not re-run ONNX shape inference on partitions.
  --check                Run the ONNX checker and strict shape inference on
                         every result before writing it.
  -q, --quiet            Print nothing but errors.
  -h, --help             Show this help and exit.
  --version              Show the version and exit.

Output: what was written, and every partition's inputs and outputs with
their types and shapes, on stdout; errors on stderr as one line
"mmdeploy-partition: error: <message>" (context may follow on more lines).

Exit codes:
  0  success
  1  partition error: marker not found, uncovered tensors, no nodes,
     clashing names, output names count mismatch, checker failure
  2  usage error: bad or missing arguments, bad keys or values in --config
  3  MODEL or the --config file missing, unreadable or malformed
  4  an output file could not be written (nothing was written)

Examples:
  mmdeploy-partition end2end.onnx --list
  mmdeploy-partition end2end.onnx --start detector_forward:input \
      --end yolo_head:input --output-names pred_maps.0,pred_maps.1,pred_maps.2 \
      --dynamic-axes input:0:batch -o yolov3.onnx
  mmdeploy-partition end2end.onnx --config partitions.json --work-dir out/
      with partitions.json:
      [{"save_file": "yolov3.onnx", "start": ["detector_forward:input"],
        "end": ["yolo_head:input"],
        "dynamic_axes": {"input": {"0": "batch"}}}]
  mmdeploy-partition end2end.onnx --strip -o end2end_deploy.onnx
)";

// Each failure class carries the exit code it ends the program with.
struct CliError {
  int code;
  std::string message;
};

[[noreturn]] void Fail(int code, const std::string& message) {
  throw CliError{code, message};
}

[[noreturn]] void Usage(const std::string& message) {
  Fail(kExitUsageError, message);
}

std::vector<std::string> SplitList(const std::string& text, char separator) {
  std::vector<std::string> items;
  std::string item;
  std::istringstream stream(text);
  while (std::getline(stream, item, separator)) items.push_back(item);
  if (!text.empty() && text.back() == separator) items.emplace_back();
  return items;
}

// "a,b" -> {"a", "b"}; empty items are usage errors naming the option.
std::vector<std::string> SplitNonEmpty(const std::string& text,
                                       const std::string& option) {
  std::vector<std::string> items = SplitList(text, ',');
  if (items.empty()) Usage(option + ": empty value");
  for (const auto& item : items) {
    if (item.empty()) Usage(option + ": empty item in '" + text + "'");
  }
  return items;
}

bool ParseInt(const std::string& text, int64_t* value) {
  if (text.empty()) return false;
  std::size_t used = 0;
  try {
    *value = std::stoll(text, &used);
  } catch (const std::exception&) {
    return false;
  }
  return used == text.size();
}

struct Args {
  std::string model;
  bool list = false;
  bool strip = false;
  std::vector<std::string> start;
  std::vector<std::string> end;
  std::string output;
  std::string config;
  std::string work_dir;
  std::vector<std::string> output_names;
  mp::DynamicAxes dynamic_axes;
  bool has_output_names = false;
  bool has_dynamic_axes = false;
  mp::PartitionOptions options;
  bool check = false;
  bool quiet = false;
  bool help = false;
  bool version = false;
};

void ParseDynamicAxes(const std::string& text, mp::DynamicAxes* axes) {
  for (const auto& item : SplitNonEmpty(text, "--dynamic-axes")) {
    // The tensor name may itself hold ':'; axis and dim are the last parts.
    auto last = item.rfind(':');
    auto middle =
        last == std::string::npos || last == 0 ? std::string::npos
                                               : item.rfind(':', last - 1);
    int64_t axis = 0;
    if (middle == std::string::npos || middle == 0 ||
        last + 1 == item.size() ||
        !ParseInt(item.substr(middle + 1, last - middle - 1), &axis)) {
      Usage("--dynamic-axes: expected NAME:AXIS:DIM (e.g. input:0:batch), "
            "got '" +
            item + "'");
    }
    (*axes)[item.substr(0, middle)][axis] = item.substr(last + 1);
  }
}

Args ParseArgs(int argc, char** argv) {
  Args args;
  std::set<std::string> seen;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool has_inline_value = false;
    if (arg.rfind("--", 0) == 0) {
      auto equals = arg.find('=');
      if (equals != std::string::npos) {
        value = arg.substr(equals + 1);
        arg = arg.substr(0, equals);
        has_inline_value = true;
      }
    }
    auto take_value = [&]() -> std::string {
      if (has_inline_value) return value;
      if (i + 1 >= argc) Usage(arg + ": missing value");
      return argv[++i];
    };
    auto once = [&](const std::string& name) {
      if (!seen.insert(name).second) Usage(name + ": given more than once");
    };
    auto flag = [&](bool* target) {
      if (has_inline_value) Usage(arg + ": takes no value");
      once(arg);
      *target = true;
    };

    if (arg == "-h" || arg == "--help") {
      args.help = true;
    } else if (arg == "--version") {
      flag(&args.version);
    } else if (arg == "--list") {
      flag(&args.list);
    } else if (arg == "--strip") {
      flag(&args.strip);
    } else if (arg == "--start") {
      for (auto& m : SplitNonEmpty(take_value(), arg)) args.start.push_back(m);
    } else if (arg == "--end") {
      for (auto& m : SplitNonEmpty(take_value(), arg)) args.end.push_back(m);
    } else if (arg == "-o" || arg == "--output") {
      once("--output");
      args.output = take_value();
      if (args.output.empty()) Usage("--output: empty value");
    } else if (arg == "--config") {
      once(arg);
      args.config = take_value();
      if (args.config.empty()) Usage("--config: empty value");
    } else if (arg == "--work-dir") {
      once(arg);
      args.work_dir = take_value();
      if (args.work_dir.empty()) Usage("--work-dir: empty value");
    } else if (arg == "--output-names") {
      once(arg);
      args.output_names = SplitNonEmpty(take_value(), arg);
      args.has_output_names = true;
    } else if (arg == "--dynamic-axes") {
      ParseDynamicAxes(take_value(), &args.dynamic_axes);
      args.has_dynamic_axes = true;
    } else if (arg == "--expose-uncovered-inputs") {
      flag(&args.options.expose_uncovered_inputs);
    } else if (arg == "--no-infer-shapes") {
      bool no_infer = false;
      flag(&no_infer);
      args.options.infer_shapes = false;
    } else if (arg == "--check") {
      flag(&args.check);
    } else if (arg == "-q" || arg == "--quiet") {
      args.quiet = true;
    } else if (arg == "--") {
      for (++i; i < argc; ++i) positional.emplace_back(argv[i]);
    } else if (arg.size() > 1 && arg[0] == '-') {
      Usage("unknown option '" + arg + "' (see --help)");
    } else {
      positional.push_back(arg);
    }
  }
  if (args.help || args.version) return args;

  if (positional.empty()) Usage("missing MODEL");
  if (positional.size() > 1) {
    Usage("expected one MODEL, got '" + positional[0] + "' and '" +
          positional[1] + "'");
  }
  args.model = positional[0];

  bool cut = !args.start.empty() || !args.end.empty();
  int modes = int(args.list) + int(args.strip) + int(cut) +
              int(!args.config.empty());
  if (modes == 0) {
    Usage("nothing to do: give --list, --start/--end, --config or --strip");
  }
  if (modes > 1) {
    Usage("give only one of --list, --start/--end, --config, --strip");
  }
  if (cut && (args.start.empty() || args.end.empty())) {
    Usage(std::string(args.start.empty() ? "--start" : "--end") +
          " is missing: a partition needs both --start and --end");
  }
  bool single = cut || args.strip;
  if (single && args.output.empty()) {
    Usage(std::string(args.strip ? "--strip" : "--start/--end") +
          " needs -o OUT");
  }
  if (!single && !args.output.empty()) {
    Usage("-o is only used with --start/--end or --strip");
  }
  if (!args.config.empty() && args.work_dir.empty()) {
    Usage("--config needs --work-dir DIR");
  }
  if (args.config.empty() && !args.work_dir.empty()) {
    Usage("--work-dir is only used with --config");
  }
  if (!cut && (args.has_output_names || args.has_dynamic_axes)) {
    Usage(std::string(args.has_output_names ? "--output-names"
                                            : "--dynamic-axes") +
          " is only used with --start/--end (put it in the --config file "
          "for --config)");
  }
  bool extracting = cut || !args.config.empty();
  if (!extracting && (args.options.expose_uncovered_inputs ||
                      !args.options.infer_shapes)) {
    Usage("--expose-uncovered-inputs and --no-infer-shapes are only used "
          "with --start/--end or --config");
  }
  if (args.list && args.check) Usage("--check is not used with --list");
  return args;
}

// --- printing ---------------------------------------------------------------

std::string DtypeName(int64_t dtype) {
  std::string name;
  if (onnx::TensorProto_DataType_IsValid(static_cast<int>(dtype))) {
    name = onnx::TensorProto_DataType_Name(
        static_cast<onnx::TensorProto_DataType>(dtype));
  }
  if (name.empty() || dtype == 0) return "dtype(" + std::to_string(dtype) + ")";
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (name == "float") return "float32";
  if (name == "double") return "float64";
  return name;
}

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

// "float32[batch, 3, 224, 224]"; "?" for an unknown dim.
std::string TypeText(const onnx::TypeProto& type) {
  if (!type.has_tensor_type()) return "(non-tensor)";
  const auto& tensor = type.tensor_type();
  std::string text = DtypeName(tensor.elem_type());
  if (!tensor.has_shape()) return text + "[?]";
  text += "[";
  for (int i = 0; i < tensor.shape().dim_size(); ++i) {
    const auto& dim = tensor.shape().dim(i);
    if (i) text += ", ";
    if (dim.has_dim_value()) {
      text += std::to_string(dim.dim_value());
    } else if (dim.has_dim_param() && !dim.dim_param().empty()) {
      text += dim.dim_param();
    } else {
      text += "?";
    }
  }
  return text + "]";
}

std::string CanonicalMarker(const std::string& func, int64_t func_id,
                            const std::string& type) {
  return func + "[" + std::to_string(func_id) + "]:" + type;
}

void PrintMarks(const std::string& model_path,
                const std::vector<mp::MarkRecord>& marks) {
  if (marks.empty()) {
    std::cout << model_path << ": no Mark nodes\n";
    return;
  }
  std::vector<std::vector<std::string>> rows = {
      {"marker", "name", "id", "dtype", "shape"}};
  std::vector<std::string> markers;
  std::set<std::string> seen;
  for (const auto& mark : marks) {
    std::string marker = CanonicalMarker(mark.func, mark.func_id, mark.type);
    rows.push_back({marker, mark.name, std::to_string(mark.id),
                    DtypeName(mark.dtype), ShapeText(mark.shape)});
    if (seen.insert(marker).second) markers.push_back(marker);
  }
  std::vector<std::size_t> widths(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size(); ++c) {
      widths[c] = std::max(widths[c], row[c].size());
    }
  }
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      std::string cell = row[c];
      if (c + 1 < row.size()) cell.resize(widths[c] + 2, ' ');
      line += cell;
    }
    std::cout << line << "\n";
  }
  std::cout << "\n" << marks.size() << " marks, " << markers.size()
            << " markers:";
  for (const auto& marker : markers) std::cout << " " << marker;
  std::cout << "\n";
}

void PrintIo(const onnx::ModelProto& model) {
  const auto& graph = model.graph();
  std::set<std::string> initializers;
  for (const auto& init : graph.initializer()) initializers.insert(init.name());
  std::size_t width = 0;
  for (const auto& v : graph.input()) width = std::max(width, v.name().size());
  for (const auto& v : graph.output()) width = std::max(width, v.name().size());
  for (const auto& v : graph.input()) {
    if (initializers.count(v.name())) continue;
    std::cout << "  input   " << std::left << std::setw(int(width) + 2)
              << v.name() << TypeText(v.type()) << "\n";
  }
  for (const auto& v : graph.output()) {
    std::cout << "  output  " << std::left << std::setw(int(width) + 2)
              << v.name() << TypeText(v.type()) << "\n";
  }
  std::cout << "  nodes   " << graph.node_size() << ", initializers "
            << graph.initializer_size() << "\n";
}

std::string JoinStrings(const std::vector<std::string>& items) {
  std::string text;
  for (const auto& item : items) text += (text.empty() ? "" : ", ") + item;
  return text;
}

// --- the JSON partition config ----------------------------------------------

const char* KindName(const Value& value) {
  switch (value.kind_case()) {
    case Value::kNullValue: return "null";
    case Value::kNumberValue: return "a number";
    case Value::kStringValue: return "a string";
    case Value::kBoolValue: return "a boolean";
    case Value::kStructValue: return "an object";
    case Value::kListValue: return "a list";
    default: return "nothing";
  }
}

// Config content errors are usage errors (exit 2) that name the key path,
// e.g. "partitions.json: [1].start[0]: expected a string, got a number".
struct ConfigReader {
  std::string file;

  [[noreturn]] void Bad(const std::string& where,
                        const std::string& message) const {
    Usage(file + ": " + where + ": " + message);
  }

  std::string String(const Value& value, const std::string& where) const {
    if (value.kind_case() != Value::kStringValue) {
      Bad(where, std::string("expected a string, got ") + KindName(value));
    }
    return value.string_value();
  }

  std::vector<std::string> Strings(const Value& value, const std::string& where,
                                   bool allow_single) const {
    if (allow_single && value.kind_case() == Value::kStringValue) {
      return {value.string_value()};
    }
    if (value.kind_case() != Value::kListValue) {
      Bad(where, std::string(allow_single ? "expected a string or a list of "
                                            "strings, got "
                                          : "expected a list of strings, got ") +
                     KindName(value));
    }
    std::vector<std::string> items;
    for (int i = 0; i < value.list_value().values_size(); ++i) {
      items.push_back(String(value.list_value().values(i),
                             where + "[" + std::to_string(i) + "]"));
    }
    return items;
  }

  std::map<std::string, std::string> NameMap(const Value& value,
                                             const std::string& where) const {
    if (value.kind_case() != Value::kStructValue) {
      Bad(where, std::string("expected an object of strings, got ") +
                     KindName(value));
    }
    std::map<std::string, std::string> names;
    for (const auto& [key, item] : value.struct_value().fields()) {
      names[key] = String(item, where + "." + key);
    }
    return names;
  }

  int64_t Axis(const Value& value, const std::string& where) const {
    double number = value.number_value();
    if (value.kind_case() != Value::kNumberValue ||
        number != static_cast<double>(static_cast<int64_t>(number))) {
      Bad(where, std::string("expected an integer axis, got ") +
                     KindName(value));
    }
    return static_cast<int64_t>(number);
  }

  mp::DynamicAxes Axes(const Value& value, const std::string& where) const {
    if (value.kind_case() != Value::kStructValue) {
      Bad(where, std::string("expected an object {name: {axis: dim}} or "
                             "{name: [axis, ...]}, got ") +
                     KindName(value));
    }
    mp::DynamicAxes axes;
    for (const auto& [name, dims] : value.struct_value().fields()) {
      std::string dims_where = where + "." + name;
      auto& target = axes[name];
      if (dims.kind_case() == Value::kStructValue) {
        for (const auto& [axis_text, dim] : dims.struct_value().fields()) {
          int64_t axis = 0;
          if (!ParseInt(axis_text, &axis)) {
            Bad(dims_where, "axis keys must be integers, got '" + axis_text +
                                "'");
          }
          target[axis] = String(dim, dims_where + "." + axis_text);
        }
      } else if (dims.kind_case() == Value::kListValue) {
        for (int i = 0; i < dims.list_value().values_size(); ++i) {
          int64_t axis = Axis(dims.list_value().values(i),
                              dims_where + "[" + std::to_string(i) + "]");
          target[axis] = name + "_dim_" + std::to_string(axis);
        }
      } else {
        Bad(dims_where, std::string("expected an object {axis: dim} or a "
                                    "list of axes, got ") +
                            KindName(dims));
      }
    }
    return axes;
  }

  mp::PartitionSpec Spec(const Value& value, int index) const {
    static const std::vector<std::string> kKeys = {
        "save_file",      "start",        "end",         "output_names",
        "start_name_map", "end_name_map", "dynamic_axes"};
    std::string where = "[" + std::to_string(index) + "]";
    if (value.kind_case() != Value::kStructValue) {
      Bad(where, std::string("expected an object, got ") + KindName(value));
    }
    const auto& fields = value.struct_value().fields();
    for (const auto& field : fields) {
      if (std::find(kKeys.begin(), kKeys.end(), field.first) == kKeys.end()) {
        Bad(where, "unknown key '" + field.first +
                       "'; allowed keys: " + JoinStrings(kKeys));
      }
    }
    auto given = [&fields](const std::string& key) -> const Value* {
      auto it = fields.find(key);
      if (it == fields.end() || it->second.kind_case() == Value::kNullValue) {
        return nullptr;
      }
      return &it->second;
    };
    mp::PartitionSpec spec;
    for (const char* key : {"save_file", "start", "end"}) {
      if (!given(key)) Bad(where, std::string("missing key '") + key + "'");
    }
    spec.save_file = String(*given("save_file"), where + ".save_file");
    if (spec.save_file.empty()) Bad(where + ".save_file", "empty file name");
    spec.start = Strings(*given("start"), where + ".start", true);
    spec.end = Strings(*given("end"), where + ".end", true);
    if (const Value* v = given("output_names")) {
      spec.output_names = Strings(*v, where + ".output_names", false);
    }
    if (const Value* v = given("start_name_map")) {
      spec.start_name_map = NameMap(*v, where + ".start_name_map");
    }
    if (const Value* v = given("end_name_map")) {
      spec.end_name_map = NameMap(*v, where + ".end_name_map");
    }
    if (const Value* v = given("dynamic_axes")) {
      spec.dynamic_axes = Axes(*v, where + ".dynamic_axes");
    }
    return spec;
  }

  std::vector<mp::PartitionSpec> Specs(const Value& root) const {
    const Value* list = &root;
    if (root.kind_case() == Value::kStructValue) {
      auto it = root.struct_value().fields().find("partition_cfg");
      if (it == root.struct_value().fields().end()) {
        Bad("top level", "expected a list of partitions or an object with a "
                         "\"partition_cfg\" list");
      }
      list = &it->second;
    }
    if (list->kind_case() != Value::kListValue) {
      Bad("partition_cfg", std::string("expected a list of partitions, got ") +
                               KindName(*list));
    }
    if (list->list_value().values_size() == 0) {
      Bad("partition_cfg", "the list of partitions is empty");
    }
    std::vector<mp::PartitionSpec> specs;
    for (int i = 0; i < list->list_value().values_size(); ++i) {
      specs.push_back(Spec(list->list_value().values(i), i));
    }
    return specs;
  }
};

std::vector<mp::PartitionSpec> ReadConfig(const std::string& path) {
  std::error_code error;
  if (!fs::is_regular_file(path, error)) {
    Fail(kExitInputError, "config file '" + path + "' does not exist" +
                              (fs::exists(path, error) ? " or is not a file"
                                                       : ""));
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) Fail(kExitInputError, "cannot read config file '" + path + "'");
  Value root;
  auto status = google::protobuf::util::JsonStringToMessage(text.str(), &root);
  if (!status.ok()) {
    Fail(kExitInputError, "config file '" + path +
                              "' is not valid JSON: " + status.ToString());
  }
  return ConfigReader{path}.Specs(root);
}

// --- running ----------------------------------------------------------------

void CheckModel(const onnx::ModelProto& model, const std::string& what) {
  try {
    onnx::checker::check_model(model);
    onnx::ModelProto copy = model;
    onnx::ShapeInferenceOptions strict(/*check_type_val=*/true,
                                       /*strict_mode_val=*/1);
    onnx::shape_inference::InferShapes(copy, onnx::OpSchemaRegistry::Instance(),
                                       strict);
  } catch (const std::exception& e) {
    Fail(kExitPartitionError,
         what + " fails the ONNX checker: " + std::string(e.what()));
  }
}

void Write(const std::vector<std::pair<std::string, onnx::ModelProto>>& outputs,
           bool quiet) {
  try {
    std::set<std::string> seen;
    for (const auto& output : outputs) {
      fs::path path(output.first);
      if (!seen.insert(path.lexically_normal().string()).second) {
        Usage("two partitions would be written to '" + output.first +
              "'; give each its own save_file");
      }
    }
    for (const auto& output : outputs) {
      auto parent = fs::path(output.first).parent_path();
      if (!parent.empty()) fs::create_directories(parent);
    }
    mp::WriteModelsAtomically(outputs);
  } catch (const CliError&) {
    throw;
  } catch (const std::exception& e) {
    Fail(kExitWriteError, e.what());
  }
  if (quiet) return;
  for (const auto& output : outputs) {
    std::cout << "wrote " << output.first << "\n";
  }
}

onnx::ModelProto Load(const std::string& path) {
  std::error_code error;
  if (!fs::exists(path, error)) {
    Fail(kExitInputError, "model file '" + path + "' does not exist");
  }
  if (!fs::is_regular_file(path, error)) {
    Fail(kExitInputError, "model path '" + path + "' is not a file");
  }
  try {
    return mp::LoadModel(path);
  } catch (const std::exception& e) {
    Fail(kExitInputError, e.what());
  }
}

int Run(const Args& args) {
  if (args.help) {
    std::cout << kUsage << kHelp;
    return kExitOk;
  }
  if (args.version) {
    std::cout << kProgram << " " << MMDEPLOY_MARK_VERSION << "\n";
    return kExitOk;
  }
  // Read the config before the (possibly big) model: its mistakes are cheap
  // to find.
  std::vector<mp::PartitionSpec> specs;
  if (!args.config.empty()) specs = ReadConfig(args.config);

  mmdeploy::RegisterMarkSchema();
  onnx::ModelProto model = Load(args.model);

  if (args.list) {
    PrintMarks(args.model, mp::ListMarks(model));
    return kExitOk;
  }
  if (args.strip) {
    onnx::ModelProto stripped = mp::StripMarks(model);
    if (args.check) CheckModel(stripped, "the stripped model");
    if (!args.quiet) {
      std::cout << "stripped " << args.model << "\n";
      PrintIo(stripped);
    }
    Write({{args.output, std::move(stripped)}}, args.quiet);
    return kExitOk;
  }

  std::vector<std::string> paths;
  if (specs.empty()) {
    mp::PartitionSpec spec;
    spec.save_file = args.output;
    spec.start = args.start;
    spec.end = args.end;
    spec.output_names = args.output_names;
    spec.dynamic_axes = args.dynamic_axes;
    specs.push_back(std::move(spec));
    paths.push_back(args.output);
  } else {
    for (const auto& spec : specs) {
      paths.push_back((fs::path(args.work_dir) / spec.save_file).string());
    }
  }
  mp::MarkedModel marked(std::move(model), args.model);
  std::vector<onnx::ModelProto> parts = marked.ExtractAll(specs, args.options);
  std::vector<std::pair<std::string, onnx::ModelProto>> outputs;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    std::string what = "partition " + std::to_string(i) + " (" +
                       specs[i].save_file + ")";
    if (args.check) CheckModel(parts[i], what);
    if (!args.quiet) {
      std::cout << what << ": " << JoinStrings(specs[i].start) << " -> "
                << JoinStrings(specs[i].end) << "\n";
      PrintIo(parts[i]);
    }
    outputs.emplace_back(paths[i], std::move(parts[i]));
  }
  Write(outputs, args.quiet);
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  int code = kExitOk;
  std::string message;
  try {
    code = Run(ParseArgs(argc, argv));
  } catch (const CliError& e) {
    code = e.code;
    message = e.message;
    // As argparse does: the usage first, the error on the last line.
    if (code == kExitUsageError) std::cerr << kUsage;
  } catch (const mp::MalformedModelError& e) {
    code = kExitInputError;
    message = e.what();
  } catch (const mp::PartitionError& e) {
    code = kExitPartitionError;
    message = e.what();
  } catch (const std::exception& e) {
    code = kExitPartitionError;
    message = e.what();
  }
  std::cout.flush();
  if (code != kExitOk) {
    std::cerr << kProgram << ": error: " << message << std::endl;
  }
  return code;
}
