// Helpers for the partition tests: models from ONNX text syntax, and short
// views of the parts a test checks.
#pragma once

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

// EXPECT_THROW(statement, error) and a check that the message contains each
// of the strings that follow (the marker, tensor or node it must name).
#define EXPECT_THROW_WITH(statement, error, ...)                          \
  do {                                                                    \
    EXPECT_THROW(statement, error);                                       \
    EXPECT_TRUE(::mmdeploy::partition::test::MessageContains<error>(   \
        [&] { statement; }, {__VA_ARGS__}));                              \
  } while (false)

namespace mmdeploy::partition::test {

using Names = std::vector<std::string>;

// Succeeds if `text` contains `part`; the failure shows both.
::testing::AssertionResult Contains(const std::string& text,
                                    const std::string& part);

// Runs fn, which must throw Error, and checks that the message contains
// every one of `parts`.
template <typename Error, typename Fn>
::testing::AssertionResult MessageContains(
    Fn&& fn, std::initializer_list<const char*> parts) {
  try {
    fn();
  } catch (const Error& error) {
    for (const char* part : parts) {
      const auto result = Contains(error.what(), part);
      if (!result) return result;
    }
    return ::testing::AssertionSuccess();
  } catch (const std::exception& other) {
    return ::testing::AssertionFailure()
           << "threw another exception: " << other.what();
  }
  return ::testing::AssertionFailure() << "did not throw";
}

// Parses a model in ONNX text syntax. Throws std::runtime_error with the
// parser's message (so a typo in a test fails loudly).
onnx::ModelProto ParseText(const std::string& text);

// Text of one Mark node: `out = mmdeploy.Mark <...> (in)`, for graph bodies.
// dtype 1 is float; an empty shape is written as no shape attribute.
std::string MarkNode(const std::string& out, const std::string& in,
                     const std::string& func, const std::string& type,
                     const std::string& name, int64_t func_id = 0,
                     int64_t id = 0, const std::vector<int64_t>& shape = {},
                     int64_t dtype = 1);

// The model header every test model uses: ir_version 8, opset 13 and the
// mmdeploy domain.
std::string Header();

std::vector<std::string> OpTypes(const onnx::GraphProto& graph);
std::vector<std::string> NodeNames(const onnx::GraphProto& graph);
std::vector<std::string> InputNames(const onnx::GraphProto& graph);
std::vector<std::string> OutputNames(const onnx::GraphProto& graph);
std::vector<std::string> InitializerNames(const onnx::GraphProto& graph);
std::vector<std::string> ValueInfoNames(const onnx::GraphProto& graph);
std::vector<std::string> OpsetDomains(const onnx::ModelProto& model);

// The value of metadata key `key`, or "<absent>".
std::string Metadata(const onnx::ModelProto& model, const std::string& key);

// Dims of a graph input/output/value_info type: a number, a dim_param, or
// "?" for an unknown dim. Empty when there is no shape.
std::vector<std::string> Dims(const onnx::ValueInfoProto& info);
// The ValueInfo named `name` among the inputs, outputs and value_info.
// Throws std::runtime_error if absent.
const onnx::ValueInfoProto& FindValue(const onnx::GraphProto& graph,
                                      const std::string& name);

// True if any node of the graph or its bodies is a Mark.
bool HasMarks(const onnx::GraphProto& graph);

// Runs onnx::checker::check_model and strict shape inference, as
// onnx.checker.check_model(full_check=True) does. Throws onnx's error.
void CheckModel(const onnx::ModelProto& model);

// Names every main-graph node "<op_type>_<position>" (the text syntax of
// onnx 1.12 cannot name nodes).
void NameNodes(onnx::ModelProto* model);

}  // namespace mmdeploy::partition::test
