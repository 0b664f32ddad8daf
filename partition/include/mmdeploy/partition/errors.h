// Errors of the partition pass. Messages say what failed, name the object
// (marker, mark, node, tensor, file) and say what to do.
#pragma once

#include <stdexcept>
#include <string>

namespace mmdeploy::partition {

// Base of every error the pass throws. Outer loops add context (which
// partition, which save_file) with AppendContext before rethrowing.
class PartitionError : public std::runtime_error {
 public:
  explicit PartitionError(const std::string& message)
      : std::runtime_error(message), message_(message) {}

  void AppendContext(const std::string& context) {
    message_ += "\n  ==> Context: " + context;
  }

  const char* what() const noexcept override { return message_.c_str(); }

 private:
  std::string message_;
};

// A marker string is malformed or selects no Mark node. The message lists the
// markers the model has.
class MarkerNotFoundError : public PartitionError {
 public:
  using PartitionError::PartitionError;
};

// A tensor name given as a partition input or output (PartitionSpec::inputs,
// outputs) names no tensor of the main graph. A MarkerNotFoundError, so that
// every tool reports it like a marker that selects nothing (exit code 4).
class TensorNotFoundError : public MarkerNotFoundError {
 public:
  using MarkerNotFoundError::MarkerNotFoundError;
};

// A partition output needs a tensor that is neither a partition input, an
// initializer, nor computable from them (e.g. a graph input the starts do not
// cover). The message names the uncovered tensors.
class UncoveredTensorError : public PartitionError {
 public:
  using PartitionError::PartitionError;
};

// A partition spec breaks a rule of its own, seen without a model (spec.h):
// an unknown or missing key, or an invalid value. The message is
// "<place>: <problem>", the place being where the value sits (e.g.
// "partition_cfg[1].start[0]"), the problem saying what to do.
class SpecError : public PartitionError {
 public:
  SpecError(const std::string& place, const std::string& problem)
      : PartitionError(place.empty() ? problem : place + ": " + problem) {}
};

// A value of a partition spec has the wrong type (e.g. a number where a
// marker string belongs). A Python TypeError in the binding.
class SpecTypeError : public SpecError {
 public:
  using SpecError::SpecError;
};

// The model file or bytes cannot be parsed, or the graph is inconsistent
// (e.g. a tensor produced twice).
class MalformedModelError : public PartitionError {
 public:
  using PartitionError::PartitionError;
};

// A model the pass was about to write fails the ONNX checker (check_output.h):
// nothing is written. Exit code 1 (verify) in the tools.
class InvalidOutputError : public PartitionError {
 public:
  using PartitionError::PartitionError;
};

}  // namespace mmdeploy::partition
