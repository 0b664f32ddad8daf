#include "cli_args.h"

#include <cstddef>
#include <exception>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace mmdeploy::partition::cli {

const char kUsage[] =
    "usage: mmdeploy-partition MODEL --list\n"
    "       mmdeploy-partition MODEL --start M[,M...] --end M[,M...] -o OUT\n"
    "                          [--output-names A,B,...] [--dynamic-axes "
    "NAME:AXIS:DIM,...]\n"
    "       mmdeploy-partition MODEL --config PARTITIONS.json --work-dir DIR\n"
    "       mmdeploy-partition MODEL --strip -o OUT\n"
    "       mmdeploy-partition --help | --version\n";

const char kHelp[] = R"(
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

[[noreturn]] void Fail(int code, const std::string& message) {
  throw CliError{code, message};
}

[[noreturn]] void Usage(const std::string& message) {
  Fail(kExitUsageError, message);
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

std::string JoinStrings(const std::vector<std::string>& items) {
  std::string text;
  for (const auto& item : items) text += (text.empty() ? "" : ", ") + item;
  return text;
}

namespace {

// A trailing separator yields a trailing empty item, which getline alone
// would drop, so that SplitNonEmpty can report it.
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

void ParseDynamicAxes(const std::string& text, DynamicAxes* axes) {
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

}  // namespace

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

}  // namespace mmdeploy::partition::cli
