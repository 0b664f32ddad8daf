#include "cli_errors.h"

#include <mmdeploy/partition/errors.h>

namespace mmdeploy::partition::cli {

[[noreturn]] void Fail(ExitCode code, const std::string& message) {
  throw CliError{code, message};
}

[[noreturn]] void Usage(const std::string& message) {
  Fail(ExitCode::kUsage, message);
}

Failure DescribeFailure(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const CliError& e) {
    return {e.code, e.message};
  } catch (const MarkerNotFoundError& e) {
    return {ExitCode::kMarker, e.what()};
  } catch (const MalformedModelError& e) {
    return {ExitCode::kInput, e.what()};
  } catch (const std::exception& e) {
    // PartitionError and whatever the pass's dependencies throw (ONNX's
    // shape inference, the standard library): the cut could not be made.
    return {ExitCode::kPartition, e.what()};
  } catch (...) {
    return {ExitCode::kPartition, "unknown error"};
  }
}

}  // namespace mmdeploy::partition::cli
