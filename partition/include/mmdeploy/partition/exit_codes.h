// The exit codes of every mmdeploy-mark tool (mmdeploy-partition, torch2onnx,
// extract): one table, so that a script can tell failures apart the same way
// whichever tool it runs. The Python tools read this table through the
// binding (mmdeploy_mark.exit_codes); nothing else defines a code.
#pragma once

#include <string>
#include <vector>

namespace mmdeploy::partition {

// The codes, for C++ callers; ExitCodeTable() says what each one means.
enum class ExitCode : int {
  kOk = 0,
  kVerify = 1,
  kUsage = 2,
  kInput = 3,
  kMarker = 4,
  kPartition = 5,
  kWrite = 6,
  kEnvironment = 7,
  kInterrupted = 130,  // 128 + SIGINT, as shells report a Ctrl-C
};

// One row of the table: the code, a short identifier ("usage") and a
// one-line meaning for help texts.
struct ExitCodeInfo {
  ExitCode code;
  const char* name;
  const char* meaning;
};

// Every exit code, in increasing order, each exactly once.
const std::vector<ExitCodeInfo>& ExitCodeTable();

// The table as help text: "Exit codes:\n  0  success\n  1  ...\n", one line
// per code, each meaning unbroken (so that it can be searched for).
std::string ExitCodeHelp();

constexpr int ToInt(ExitCode code) { return static_cast<int>(code); }

}  // namespace mmdeploy::partition
