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

// The model file or bytes cannot be parsed, or the graph is inconsistent
// (e.g. a tensor produced twice).
class MalformedModelError : public PartitionError {
 public:
  using PartitionError::PartitionError;
};

}  // namespace mmdeploy::partition
