// mmdeploy-partition's command line: the synopsis, the help text and the
// parsed arguments. CLI11 reads the command line; this file adds what CLI11
// does not know: the modes, which options each needs, the comma lists.
#pragma once

#include <mmdeploy/partition/options.h>

#include <cstdint>
#include <string>
#include <vector>

#include "cli_errors.h"

namespace mmdeploy::partition::cli {

// The program name, in messages and --version.
extern const char kProgram[];

// The synopsis printed before a usage error and at the top of --help.
extern const char kUsage[];

// The whole --help text: kUsage, what the tool does, its modes and options,
// its output, the exit-code table (ExitCodeHelp()) and examples.
std::string HelpText();

// Parses all of `text` as a base-10 integer (std::stoll: leading whitespace
// and a sign allowed) into *value. Returns false for an empty text, trailing
// characters or a value out of range (*value is then unspecified). Never
// throws.
bool ParseInt(const std::string& text, int64_t* value);

// Joins items with ", " for messages and logs: {"a", "b"} -> "a, b".
// No separator is written while the text so far is empty.
std::string JoinStrings(const std::vector<std::string>& items);

// The parsed command line; HelpText() explains each option.
// has_output_names and has_dynamic_axes record that the option was given at
// all.
struct Args {
  std::string model;
  bool list = false;
  bool strip = false;
  std::vector<std::string> start;
  std::vector<std::string> end;
  // Boundaries by tensor name (PartitionSpec::inputs/outputs); an input may
  // be "name:shape:dtype".
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  std::string output;
  std::string config;
  std::string work_dir;
  // --visualize: where the partition map (SVG) of a cut goes; with
  // --config a path inside --work-dir, like a save_file.
  std::string visualize;
  std::vector<std::string> output_names;
  DynamicAxes dynamic_axes;
  bool has_output_names = false;
  bool has_dynamic_axes = false;
  PartitionOptions options;
  bool check = false;
  bool quiet = false;
  bool help = false;
  bool version = false;
};

// Parses argv[1..argc) as described by kUsage and HelpText(). With
// -h/--help or --version, returns once every option has parsed, without
// requiring MODEL or a mode; otherwise the result holds exactly one MODEL and
// exactly one mode with the options it needs. Throws CliError with
// ExitCode::kUsage for an unknown option, a missing or empty value, a
// repeated option, a malformed --dynamic-axes item, or a combination of modes
// and options that does not fit. Reads no files.
Args ParseArgs(int argc, char** argv);

}  // namespace mmdeploy::partition::cli
