// How mmdeploy-partition fails: the error its own checks throw, and the exit
// code and message any error ends the program with.
#pragma once

#include <mmdeploy/partition/exit_codes.h>

#include <exception>
#include <string>

namespace mmdeploy::partition::cli {

// A failure the tool itself detects, with the exit code it ends the program
// with (the table of mmdeploy/partition/exit_codes.h).
struct CliError {
  ExitCode code;
  std::string message;
};

// Throws CliError{code, message}.
[[noreturn]] void Fail(ExitCode code, const std::string& message);

// Throws CliError{ExitCode::kUsage, message}.
[[noreturn]] void Usage(const std::string& message);

// How a run ended: the exit code and the message for
// "mmdeploy-partition: error: <message>".
struct Failure {
  ExitCode code;
  std::string message;
};

// Classifies any exception that ends a run, most specific class first:
// CliError -> its own code; MarkerNotFoundError -> kMarker;
// MalformedModelError -> kInput (the model cannot be read or is
// inconsistent); any other PartitionError or std::exception -> kPartition
// (the pass failed); anything else -> kPartition with "unknown error".
// `error` must not be null. Throws only what copying the message throws.
Failure DescribeFailure(std::exception_ptr error);

}  // namespace mmdeploy::partition::cli
