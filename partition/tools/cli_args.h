// mmdeploy-partition's command line: exit codes, usage and help texts, and
// the parsed arguments.
#pragma once

#include <mmdeploy/partition/options.h>

#include <cstdint>
#include <string>
#include <vector>

namespace mmdeploy::partition::cli {

// The exit codes documented in kHelp.
enum ExitCode : int {
  kExitOk = 0,
  kExitPartitionError = 1,
  kExitUsageError = 2,
  kExitInputError = 3,
  kExitWriteError = 4,
};

// The synopsis printed before a usage error and at the top of --help.
extern const char kUsage[];
// The rest of --help: modes, options, output, exit codes and examples.
extern const char kHelp[];

// Each failure class carries the exit code it ends the program with.
struct CliError {
  int code;
  std::string message;
};

// Throws CliError{code, message}.
[[noreturn]] void Fail(int code, const std::string& message);

// Throws CliError{kExitUsageError, message}.
[[noreturn]] void Usage(const std::string& message);

// Parses all of `text` as a base-10 integer (std::stoll: leading whitespace
// and a sign allowed) into *value. Returns false for an empty text, trailing
// characters or a value out of range (*value is then unspecified). Never
// throws.
bool ParseInt(const std::string& text, int64_t* value);

// Joins items with ", " for messages and logs: {"a", "b"} -> "a, b".
// No separator is written while the text so far is empty.
std::string JoinStrings(const std::vector<std::string>& items);

// The parsed command line; kHelp explains each option. has_output_names and
// has_dynamic_axes record that the option was given at all.
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
  DynamicAxes dynamic_axes;
  bool has_output_names = false;
  bool has_dynamic_axes = false;
  PartitionOptions options;
  bool check = false;
  bool quiet = false;
  bool help = false;
  bool version = false;
};

// Parses argv[1..argc) as described by kUsage and kHelp. With -h/--help or
// --version, returns once every option has parsed, without requiring MODEL
// or a mode; otherwise the result holds exactly one MODEL and exactly one
// mode with the options it needs. Throws CliError with kExitUsageError for
// an unknown option, a missing or empty value, a repeated option, a
// malformed --dynamic-axes item, or a combination of modes and options that
// does not fit. Reads no files.
Args ParseArgs(int argc, char** argv);

}  // namespace mmdeploy::partition::cli
