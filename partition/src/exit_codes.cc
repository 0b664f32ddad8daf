#include <mmdeploy/partition/exit_codes.h>

namespace mmdeploy::partition {

const std::vector<ExitCodeInfo>& ExitCodeTable() {
  static const std::vector<ExitCodeInfo> kTable = {
      {ExitCode::kOk, "ok", "success"},
      {ExitCode::kVerify, "verify",
       "an output failed verification: it differs from PyTorch (torch2onnx "
       "--verify) or fails the ONNX checker (--check)"},
      {ExitCode::kUsage, "usage",
       "bad or missing arguments, or an invalid config (the message names "
       "the file and key)"},
      {ExitCode::kInput, "input",
       "an input file (model, config, checkpoint, image) is missing, "
       "unreadable or malformed"},
      {ExitCode::kMarker, "marker",
       "a marker names no mark of the model, or a tensor name no tensor "
       "(the message lists the model's markers or inputs and outputs)"},
      {ExitCode::kPartition, "partition",
       "the partition cannot be cut (uncovered tensors, no nodes, clashing "
       "names, ...)"},
      {ExitCode::kWrite, "write",
       "an output could not be written (nothing was written)"},
      {ExitCode::kEnvironment, "environment",
       "something the run needs is missing from this machine (a device, a "
       "package)"},
      {ExitCode::kInterrupted, "interrupted",
       "interrupted (Ctrl-C); nothing was published"},
  };
  return kTable;
}

std::string ExitCodeHelp() {
  std::string text = "Exit codes:\n";
  for (const auto& row : ExitCodeTable()) {
    text += "  " + std::to_string(ToInt(row.code)) + "  " + row.meaning + "\n";
  }
  return text;
}

}  // namespace mmdeploy::partition
