// Which exit code each failure ends mmdeploy-partition with: the errors the
// partition pass really throws, and the tool's own.
#include <gtest/gtest.h>
#include <mmdeploy/partition/errors.h>
#include <mmdeploy/partition/exit_codes.h>
#include <mmdeploy/partition/partition.h>

#include <exception>
#include <stdexcept>
#include <string>

#include "cli_errors.h"
#include "test_models.h"

namespace mmdeploy::partition::cli {
namespace {

using test::Contains;
using test::Header;
using test::MarkNode;
using test::ParseText;

// x -> [f:input] -> Relu -> [f:output] -> y
MarkedModel Marked() {
  return MarkedModel(
      ParseText(Header() +
                "g (float[2] x) => (float[2] y) {\n" +
                MarkNode("a", "x", "f", "input", "a") + "  r = Relu(a)\n" +
                MarkNode("y", "r", "f", "output", "y") + "}\n"),
      "g.onnx");
}

PartitionSpec Spec(const std::string& start, const std::string& end) {
  PartitionSpec spec;
  spec.save_file = "part.onnx";
  spec.start = {start};
  spec.end = {end};
  return spec;
}

// How DescribeFailure classifies what `fn` throws.
template <typename Fn>
Failure FailureOf(Fn&& fn) {
  try {
    fn();
  } catch (...) {
    return DescribeFailure(std::current_exception());
  }
  ADD_FAILURE() << "did not throw";
  return {ExitCode::kOk, ""};
}

TEST(DescribeFailure, UnknownMarkerIsAMarkerError) {
  const MarkedModel marked = Marked();
  Failure failure =
      FailureOf([&] { marked.Extract(Spec("f:input", "g:output")); });
  EXPECT_EQ(failure.code, ExitCode::kMarker);
  // The message lists the model's markers, as the table promises.
  EXPECT_TRUE(Contains(failure.message, "g:output"));
  EXPECT_TRUE(Contains(failure.message, "f:input, f:output"));
}

TEST(DescribeFailure, MarkerErrorKeepsItsCodeThroughExtractAllsContext) {
  const MarkedModel marked = Marked();
  Failure failure = FailureOf(
      [&] { marked.ExtractAll({Spec("f:input", "f:oops")}, {}); });
  EXPECT_EQ(failure.code, ExitCode::kMarker);
  EXPECT_TRUE(Contains(failure.message, "part.onnx"));
}

TEST(DescribeFailure, APartitionThatCannotBeCutIsAPartitionError) {
  const MarkedModel marked = Marked();
  // Start and end at the same marks: no nodes between them.
  Failure failure =
      FailureOf([&] { marked.Extract(Spec("f:output", "f:output")); });
  EXPECT_EQ(failure.code, ExitCode::kPartition) << failure.message;
}

TEST(DescribeFailure, AnUnreadableModelIsAnInputError) {
  Failure failure = FailureOf([] { ParseModel("not a model"); });
  EXPECT_EQ(failure.code, ExitCode::kInput);
  EXPECT_TRUE(Contains(failure.message, "not a valid ONNX model"));
}

TEST(DescribeFailure, TheToolsOwnErrorsKeepTheirCode) {
  for (const auto& row : ExitCodeTable()) {
    Failure failure = FailureOf([&] { Fail(row.code, row.name); });
    EXPECT_EQ(failure.code, row.code);
    EXPECT_EQ(failure.message, row.name);
  }
  EXPECT_EQ(FailureOf([] { Usage("bad"); }).code, ExitCode::kUsage);
}

TEST(DescribeFailure, AnyOtherErrorIsAPartitionError) {
  Failure failure = FailureOf([] { throw std::runtime_error("shape clash"); });
  EXPECT_EQ(failure.code, ExitCode::kPartition);
  EXPECT_EQ(failure.message, "shape clash");
  failure = FailureOf([] { throw 42; });
  EXPECT_EQ(failure.code, ExitCode::kPartition);
  EXPECT_EQ(failure.message, "unknown error");
}

}  // namespace
}  // namespace mmdeploy::partition::cli
