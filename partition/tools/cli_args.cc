#include "cli_args.h"

#include <CLI/CLI.hpp>
#include <mmdeploy/partition/exit_codes.h>

#include <cstddef>
#include <exception>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace mmdeploy::partition::cli {

const char kProgram[] = "mmdeploy-partition";

const char kUsage[] =
    "usage: mmdeploy-partition MODEL --list\n"
    "       mmdeploy-partition MODEL --start M[,M...] --end M[,M...] -o OUT\n"
    "                          [--output-names A,B,...] [--dynamic-axes "
    "NAME:AXIS:DIM,...]\n"
    "       mmdeploy-partition MODEL [--inputs T[:SHAPE:DTYPE],...] "
    "[--outputs T,...] -o OUT\n"
    "                          (freely mixed with --start/--end)\n"
    "       mmdeploy-partition MODEL --config PARTITIONS.json --work-dir DIR\n"
    "       (each cut above may add --visualize MAP.svg: its partition map)\n"
    "       mmdeploy-partition MODEL --strip -o OUT\n"
    "       mmdeploy-partition --help | --version\n";

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

const char kDescription[] =
    R"(Cut an ONNX model exported with mmdeploy::Mark nodes into partitions
at its marks, strip the marks, or list them.

A marker names the marks of one marked function call: "func:type" or
"func[func_id]:type" (func_id 0 when omitted), type being input or output.
A backslash makes the next character part of the function name, for names
holding ',', ':', '[' or ']' (or a backslash): "my\,func:input" selects
function "my,func" (quote it for the shell); --list prints markers so.
A start marker's marks become the partition's inputs (the tensors entering
the marks), an end marker's marks its outputs (the tensors leaving them),
each named by the mark's name (e.g. pred_maps.0).

Any ONNX model, with or without marks, can also be cut at tensor names, as
onnx.utils.extract_model does: --inputs and --outputs name tensors of the
main graph (node outputs, graph inputs), which keep their names. The
partition holds the nodes that compute the outputs from the inputs and the
initializers they read; a name that is no tensor is exit code 4, an output
not computable from the inputs or an input no output depends on is 5. An
input may be written Polygraphy-style NAME:SHAPE:DTYPE to override its shape
and element type: x:1x3x224x224:float32, x:[1,3,h,w]:auto (dims may be
names or ?, "auto" keeps what the model declares). Tensor boundaries follow
the marker boundaries (markers first). With --inputs but no --start, the
graph's inputs are not inputs (and likewise for --outputs and --end);
without --inputs and --start they are.)";

const char kOutput[] =
    R"(Output: what was written, and every partition's inputs and outputs with
their types and shapes, on stdout; errors on stderr as one line
"mmdeploy-partition: error: <message>" (context may follow on more lines).
)";

const char kExamples[] = R"(Examples:
  mmdeploy-partition end2end.onnx --list
  mmdeploy-partition end2end.onnx --start detector_forward:input \
      --end yolo_head:input --output-names pred_maps.0,pred_maps.1,pred_maps.2 \
      --dynamic-axes input:0:batch -o yolov3.onnx
  mmdeploy-partition end2end.onnx --config partitions.json --work-dir out/ \
      --visualize map.svg    (writes out/yolov3.onnx and out/map.svg)
      with partitions.json:
      [{"save_file": "yolov3.onnx", "start": ["detector_forward:input"],
        "end": ["yolo_head:input"],
        "dynamic_axes": {"input": {"0": "batch"}}}]
  mmdeploy-partition resnet.onnx --inputs input:1x3x224x224:float32 \
      --outputs /layer1/relu_1/Relu_output_0 -o stem.onnx
  mmdeploy-partition end2end.onnx --start detector_forward:input \
      --outputs onnx::Conv_123 -o backbone_part.onnx
  mmdeploy-partition end2end.onnx --strip -o end2end_deploy.onnx)";

// CLI11 lays out the options from their definitions below; around them go
// the synopsis (first, as in a usage error), the description and the footer,
// one blank line between the parts. Option names read "-o, --output" as in
// other tools' help; MODEL needs no type after it.
class HelpFormatter : public CLI::Formatter {
 public:
  std::string make_help(const CLI::App* app, std::string /*name*/,
                        CLI::AppFormatMode mode) const override {
    return std::string(kUsage) + "\n" + make_description(app) + "\n" +
           make_positionals(app) + "\n" + make_groups(app, mode) + "\n" +
           make_footer(app);
  }

  // CLI11 starts each group with a blank line and adds another between
  // groups; make_help spaces the parts instead.
  std::string make_group(std::string group, bool is_positional,
                         std::vector<const CLI::Option*> options)
      const override {
    std::string text = group + ":\n";
    for (const CLI::Option* option : options) {
      text += make_option(option, is_positional);
    }
    return text;
  }

  std::string make_option_name(const CLI::Option* option,
                               bool is_positional) const override {
    return CLI::detail::find_and_replace(
        CLI::Formatter::make_option_name(option, is_positional), ",", ", ");
  }

  std::string make_option_opts(const CLI::Option* option) const override {
    return option->get_positional() ? ""
                                    : CLI::Formatter::make_option_opts(option);
  }
};

// The values as CLI11 collects them, before the checks of Finish().
struct RawArgs {
  std::vector<std::string> models;
  std::vector<std::string> start;
  std::vector<std::string> end;
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  std::string output_names;
  std::vector<std::string> dynamic_axes;
  bool no_infer_shapes = false;
};

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

// Like SplitNonEmpty for markers: a ',' after a backslash does not split
// (the backslash stays, for the marker parser to read): "a\\,b:input,c:input"
// -> {"a\\,b:input", "c:input"}.
std::vector<std::string> SplitMarkers(const std::string& text,
                                      const std::string& option) {
  std::vector<std::string> items(1);
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      items.back() += text.substr(i, 2);
      ++i;
    } else if (text[i] == ',') {
      items.emplace_back();
    } else {
      items.back() += text[i];
    }
  }
  if (text.empty()) Usage(option + ": empty value");
  for (const auto& item : items) {
    if (item.empty()) Usage(option + ": empty item in '" + text + "'");
  }
  return items;
}

// Like SplitNonEmpty, but a ',' inside [...] or (...) does not split:
// "x:[1,3,h,w]:float32,y" -> {"x:[1,3,h,w]:float32", "y"}.
std::vector<std::string> SplitTensors(const std::string& text,
                                      const std::string& option) {
  std::vector<std::string> items;
  std::string item;
  int depth = 0;
  for (const char c : text) {
    if (c == '[' || c == '(') ++depth;
    if ((c == ']' || c == ')') && depth > 0) --depth;
    if (c == ',' && depth == 0) {
      items.push_back(item);
      item.clear();
    } else {
      item += c;
    }
  }
  items.push_back(item);
  if (text.empty()) Usage(option + ": empty value");
  for (const auto& entry : items) {
    if (entry.empty()) Usage(option + ": empty item in '" + text + "'");
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

// CLI11's words for two common mistakes, "--start: 1 required TEXT missing"
// and "list was given a disallowed flag override", said the way the tool's
// other messages are; any other message passes through.
std::string Explain(const CLI::ParseError& error) {
  const std::string text = error.what();
  const std::string override_tail = " was given a disallowed flag override";
  auto colon = text.find(": ");
  if (dynamic_cast<const CLI::ArgumentMismatch*>(&error) != nullptr) {
    if (colon != std::string::npos && text.size() > 8 &&
        text.compare(text.size() - 8, 8, " missing") == 0) {
      return text.substr(0, colon) + ": missing value";
    }
    auto tail = text.find(override_tail);
    if (tail != std::string::npos &&
        tail + override_tail.size() == text.size()) {
      std::string name = text.substr(0, tail);
      if (name.rfind("-", 0) != 0) {
        name = (name.size() == 1 ? "-" : "--") + name;
      }
      return name + ": takes no value";
    }
  }
  return text + " (see --help)";
}

// The command line's definition: CLI11 parses into `args` and `raw`;
// Finish() checks what CLI11 cannot (modes, comma lists) and completes args.
class CommandLine {
 public:
  CommandLine() : app_(kDescription, kProgram) {
    app_.formatter(std::make_shared<HelpFormatter>());
    app_.get_formatter()->column_width(25);
    app_.get_formatter()->label("Positionals", "Arguments");
    // -h/--help is an ordinary flag here: ParseArgs checks the options
    // given with it, and the help goes after the modes.
    app_.set_help_flag();
    // Unknown options are reported by Finish(), with the tool's wording.
    app_.allow_extras();
    // A flag takes no value: "--list=no" must not quietly mean "no --list".
    app_.option_defaults()->disable_flag_override();

    // A vector collects every positional, so that two MODELs are reported
    // as such rather than as an unexpected argument.
    app_.add_option("MODEL", raw_.models,
                    "The ONNX model, exported with mmdeploy::Mark nodes.")
        ->group("Arguments");

    const std::string modes = "Modes (exactly one)";
    Once(app_.add_flag("--list", args_.list,
                       "Print every mark (marker, name, id, dtype, shape)\n"
                       "and the distinct markers of MODEL."))
        ->group(modes);
    List(app_.add_option("--start", raw_.start,
                         "Cut one partition from the marks of these start\n"
                         "markers to those of the --end markers and write\n"
                         "it to -o. Both options may be repeated; values\n"
                         "add up."))
        ->option_text("M[,M...]")
        ->group(modes);
    List(app_.add_option("--end", raw_.end,
                         "The end markers: their marks become the\n"
                         "partition's outputs."))
        ->option_text("M[,M...]")
        ->group(modes);
    List(app_.add_option("--inputs", raw_.inputs,
                         "Cut at tensor names (any ONNX model, marks or\n"
                         "not): these tensors become the partition's\n"
                         "inputs, under their own names. T:SHAPE:DTYPE\n"
                         "overrides an input's shape and type, e.g.\n"
                         "input:1x3x224x224:float32 or x:[1,3,h,w]:auto.\n"
                         "Mixes with --start; repeatable."))
        ->option_text("T[,T...]")
        ->group(modes);
    List(app_.add_option("--outputs", raw_.outputs,
                         "These tensors become the partition's outputs\n"
                         "(after the --end markers' outputs)."))
        ->option_text("T[,T...]")
        ->group(modes);
    Once(app_.add_option(
             "--config", args_.config,
             "Cut every partition of a JSON file holding a deploy\n"
             "config's partition_cfg list (or an object with a\n"
             "\"partition_cfg\" key). Each entry has the keys of the\n"
             "Python API: save_file, start and/or inputs, end\n"
             "and/or outputs (tensor names), output_names,\n"
             "start_name_map, end_name_map, dynamic_axes.\n"
             "Files go to --work-dir/save_file; all\n"
             "are written or none."))
        ->option_text("FILE")
        ->group(modes);
    Once(app_.add_flag("--strip", args_.strip,
                       "Write MODEL without its Mark nodes to -o."))
        ->group(modes);

    const std::string options = "Options";
    Once(app_.add_option("-o,--output", args_.output,
                         "Output file (--start/--end and --strip)."))
        ->option_text("FILE")
        ->group(options);
    Once(app_.add_option("--work-dir", args_.work_dir,
                         "Output directory of --config (created if "
                         "missing)."))
        ->option_text("DIR")
        ->group(options);
    Once(app_.add_option(
             "--visualize", args_.visualize,
             "Also write the partition map of the cut to FILE\n"
             "(SVG, readable at 100%): one block per partition\n"
             "and one for the nodes no partition keeps, with the\n"
             "tensors between them (name, dtype, shape, marks).\n"
             "Written with the partitions, all or nothing; with\n"
             "--config FILE is relative to --work-dir."))
        ->option_text("FILE")
        ->group(options);
    Once(app_.add_option("--output-names", raw_.output_names,
                         "Rename the partition's outputs, in order."))
        ->option_text("A,B")
        ->group(options);
    List(app_.add_option("--dynamic-axes", raw_.dynamic_axes,
                         "Name axis A of input/output N as dim D, e.g.\n"
                         "input:0:batch,input:2:height. Names are the final\n"
                         "input/output names."))
        ->option_text("N:A:D,...")
        ->group(options);
    Once(app_.add_flag("--expose-uncovered-inputs",
                       args_.options.expose_uncovered_inputs,
                       "Tensors an output needs but no start covers (e.g. a\n"
                       "second graph input) become extra inputs instead of\n"
                       "an error."))
        ->group(options);
    Once(app_.add_flag("--no-infer-shapes", raw_.no_infer_shapes,
                       "Do not re-run ONNX shape inference on partitions."))
        ->group(options);
    Once(app_.add_flag("--check", args_.check,
                       "Accepted for compatibility: every result passes the\n"
                       "ONNX checker and strict shape inference before it\n"
                       "is written, or nothing is written (exit code 1)."))
        ->group(options);
    app_.add_flag("-q,--quiet", args_.quiet, "Print nothing but errors.")
        ->group(options);
    app_.add_flag("-h,--help", args_.help, "Show this help and exit.")
        ->group(options);
    Once(app_.add_flag("--version", args_.version,
                       "Show the version and exit."))
        ->group(options);

    app_.footer([] {
      return std::string(kOutput) + "\n" + ExitCodeHelp() + "\n" + kExamples;
    });
  }

  std::string Help() const { return app_.help(); }

  Args Parse(int argc, char** argv) {
    try {
      app_.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
      Usage(Explain(error));
    }
    return Finish();
  }

 private:
  // Options that may be given at most once; CLI11 keeps the last value and
  // Finish() reports the repetition.
  CLI::Option* Once(CLI::Option* option) {
    option->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    once_.push_back(option);
    return option;
  }

  // Repeatable options: one value per occurrence (a second word is MODEL
  // or a mistake, never a second marker list), all kept.
  static CLI::Option* List(CLI::Option* option) {
    return option->allow_extra_args(false)->multi_option_policy(
        CLI::MultiOptionPolicy::TakeAll);
  }

  // Every option has a long name; messages use it.
  static std::string Name(const CLI::Option* option) {
    return "--" + option->get_lnames().front();
  }

  // Given, but as an empty string (`-o ""`): a usage error, not "here".
  void RequireNonEmpty(const std::string& value,
                       const std::string& name) const {
    if (app_.count(name) > 0 && value.empty()) Usage(name + ": empty value");
  }

  Args Finish() {
    for (const auto& extra : app_.remaining()) {
      // CLI11 hands back the "--" that ends the options; it is not a mistake.
      if (extra == "--") continue;
      if (extra.size() > 1 && extra[0] == '-') {
        Usage("unknown option '" + extra + "' (see --help)");
      }
      raw_.models.push_back(extra);
    }
    for (const CLI::Option* option : once_) {
      if (option->count() > 1) Usage(Name(option) + ": given more than once");
    }
    RequireNonEmpty(args_.output, "--output");
    RequireNonEmpty(args_.config, "--config");
    RequireNonEmpty(args_.work_dir, "--work-dir");
    RequireNonEmpty(args_.visualize, "--visualize");
    Args args = args_;
    for (const auto& text : raw_.start) {
      for (auto& marker : SplitMarkers(text, "--start")) {
        args.start.push_back(marker);
      }
    }
    for (const auto& text : raw_.end) {
      for (auto& marker : SplitMarkers(text, "--end")) {
        args.end.push_back(marker);
      }
    }
    for (const auto& text : raw_.inputs) {
      for (auto& tensor : SplitTensors(text, "--inputs")) {
        args.inputs.push_back(tensor);
      }
    }
    for (const auto& text : raw_.outputs) {
      for (auto& tensor : SplitTensors(text, "--outputs")) {
        args.outputs.push_back(tensor);
      }
    }
    args.has_output_names = app_.count("--output-names") > 0;
    if (args.has_output_names) {
      args.output_names = SplitNonEmpty(raw_.output_names, "--output-names");
    }
    for (const auto& text : raw_.dynamic_axes) {
      ParseDynamicAxes(text, &args.dynamic_axes);
    }
    args.has_dynamic_axes = !raw_.dynamic_axes.empty();
    args.options.infer_shapes = !raw_.no_infer_shapes;
    if (args.help || args.version) return args;

    CheckModes(&args);
    return args;
  }

  void CheckModes(Args* args) const {
    const auto& positional = raw_.models;
    if (positional.empty()) Usage("missing MODEL");
    if (positional.size() > 1) {
      Usage("expected one MODEL, got '" + positional[0] + "' and '" +
            positional[1] + "'");
    }
    args->model = positional[0];

    const bool by_name = !args->inputs.empty() || !args->outputs.empty();
    bool cut = !args->start.empty() || !args->end.empty() || by_name;
    int modes = int(args->list) + int(args->strip) + int(cut) +
                int(!args->config.empty());
    if (modes == 0) {
      Usage("nothing to do: give --list, --start/--end, --config or --strip");
    }
    if (modes > 1) {
      Usage("give only one of --list, --start/--end, --config, --strip");
    }
    // With tensor names, a side without markers or names is the graph's.
    if (cut && !by_name && (args->start.empty() || args->end.empty())) {
      Usage(std::string(args->start.empty() ? "--start" : "--end") +
            " is missing: a partition needs both --start and --end");
    }
    bool single = cut || args->strip;
    if (single && args->output.empty()) {
      Usage(std::string(args->strip ? "--strip" : "--start/--end") +
            " needs -o OUT");
    }
    if (!single && !args->output.empty()) {
      Usage("-o is only used with --start/--end or --strip");
    }
    if (!args->config.empty() && args->work_dir.empty()) {
      Usage("--config needs --work-dir DIR");
    }
    if (args->config.empty() && !args->work_dir.empty()) {
      Usage("--work-dir is only used with --config");
    }
    if (!cut && (args->has_output_names || args->has_dynamic_axes)) {
      Usage(std::string(args->has_output_names ? "--output-names"
                                               : "--dynamic-axes") +
            " is only used with --start/--end (put it in the --config file "
            "for --config)");
    }
    bool extracting = cut || !args->config.empty();
    if (!extracting && !args->visualize.empty()) {
      Usage("--visualize draws a cut: give --start/--end, --inputs/--outputs "
            "or --config too");
    }
    if (!extracting && (args->options.expose_uncovered_inputs ||
                        !args->options.infer_shapes)) {
      Usage("--expose-uncovered-inputs and --no-infer-shapes are only used "
            "with --start/--end or --config");
    }
    if (args->list && args->check) Usage("--check is not used with --list");
  }

  CLI::App app_;
  Args args_;
  RawArgs raw_;
  std::vector<CLI::Option*> once_;
};

}  // namespace

std::string HelpText() { return CommandLine().Help(); }

Args ParseArgs(int argc, char** argv) {
  return CommandLine().Parse(argc, argv);
}

}  // namespace mmdeploy::partition::cli
