#include "shape_info.h"

#include <gtest/gtest.h>

#include "test_models.h"

namespace mmdeploy::partition {
namespace {

using test::Dims;
using test::FindValue;
using test::Header;
using test::MarkNode;
using test::Names;
using test::ParseText;

onnx::ValueInfoProto AsValue(const onnx::TypeProto& type) {
  onnx::ValueInfoProto info;
  *info.mutable_type() = type;
  return info;
}

TEST(BoundaryType, DeclaredTypeWinsOverTheMark) {
  const auto model = ParseText(
      Header() + "g (float[N, 3] x) => (float[N, 3] y) {\n" +
      MarkNode("y", "x", "f", "input", "in", 0, 0, {1, 3}, 10) + "}\n");
  const GraphIndex index(model.graph());
  onnx::TypeProto type;
  ASSERT_TRUE(BoundaryType(index, {"x"}, 0, &type));
  EXPECT_EQ(type.tensor_type().elem_type(), 1);
  EXPECT_EQ(Dims(AsValue(type)), Names({"N", "3"}));
}

TEST(BoundaryType, MarkAttributesWhenNothingIsDeclared) {
  const auto model = ParseText(Header() + "g (float[2] x) => (float[2] y) {\n" +
                               "  r = Relu(x)\n" +
                               MarkNode("m", "r", "f", "input", "in", 0, 0,
                                        {1, -1, 3}, 10) +
                               "  y = Neg(m)\n}\n");
  const GraphIndex index(model.graph());
  onnx::TypeProto type;
  ASSERT_TRUE(BoundaryType(index, {"r", "m"}, 0, &type));
  EXPECT_EQ(type.tensor_type().elem_type(), 10);
  // A negative dim recorded by the exporter means unknown.
  EXPECT_EQ(Dims(AsValue(type)), Names({"1", "?", "3"}));
}

TEST(BoundaryType, MarkWithoutShapeAttributeGivesNoShape) {
  const auto model = ParseText(Header() + "g (float[2] x) => (float[2] y) {\n" +
                               "  r = Relu(x)\n" +
                               MarkNode("m", "r", "f", "input", "in") +
                               "  y = Neg(m)\n}\n");
  const GraphIndex index(model.graph());
  onnx::TypeProto type;
  ASSERT_TRUE(BoundaryType(index, {"r"}, 0, &type));
  EXPECT_EQ(type.tensor_type().elem_type(), 1);
  EXPECT_FALSE(type.tensor_type().has_shape());
}

TEST(BoundaryType, UnknownWithoutDeclarationOrMark) {
  const auto model =
      ParseText(Header() + "g (float[2] x) => (float[2] y) { y = Relu(x) }");
  const GraphIndex index(model.graph());
  onnx::TypeProto type;
  EXPECT_FALSE(BoundaryType(index, {"nothing"}, GraphIndex::kNone, &type));
}

onnx::ModelProto Partition() {
  return ParseText(
      "<ir_version: 8, opset_import: [\"\" : 13]>\n"
      "p (float[1, 3] in) => (float[1, 3] out)\n<float[1, 3] r>\n{\n"
      "  r = Relu(in)\n  out = Neg(r)\n}\n");
}

TEST(FinishShapes, NamesInputAndOutputAxesAndReinfersIntermediates) {
  auto part = Partition();
  FinishShapes({{"in", {{0, "batch"}}}, {"out", {{1, "channels"}}}}, true,
               &part);
  EXPECT_EQ(Dims(part.graph().input(0)), Names({"batch", "3"}));
  EXPECT_EQ(Dims(FindValue(part.graph(), "r")), Names({"batch", "3"}));
  EXPECT_EQ(Dims(part.graph().output(0)), Names({"batch", "channels"}));
}

TEST(FinishShapes, EmptyDimNameFollowsTorchsNaming) {
  auto part = Partition();
  FinishShapes({{"in", {{0, ""}}}}, true, &part);
  EXPECT_EQ(Dims(part.graph().input(0)), Names({"in_dim_0", "3"}));
}

TEST(FinishShapes, WithoutInferenceOnlyTheNamedAxesChange) {
  auto part = Partition();
  FinishShapes({{"in", {{0, "batch"}}}}, false, &part);
  EXPECT_EQ(Dims(part.graph().input(0)), Names({"batch", "3"}));
  EXPECT_EQ(Dims(FindValue(part.graph(), "r")), Names({"1", "3"}));
  EXPECT_EQ(Dims(part.graph().output(0)), Names({"1", "3"}));
}

TEST(FinishShapes, OutputInferenceCannotComputeKeepsItsRank) {
  auto part = ParseText(
      "<ir_version: 8, opset_import: [\"\" : 13, \"com.example\" : 1]>\n"
      "p (float[1, 3] in) => (float[1, 3] out) {\n"
      "  out = com.example.Opaque (in)\n}\n");
  FinishShapes({{"in", {{0, "batch"}}}}, true, &part);
  EXPECT_EQ(Dims(part.graph().output(0)), Names({"?", "?"}));
}

TEST(FinishShapes, UnknownDomainOpsDoNotStopInference) {
  auto part = ParseText(
      "<ir_version: 8, opset_import: [\"\" : 13, \"com.example\" : 1]>\n"
      "p (float[1, 3] in) => (float[1, 3] out) {\n"
      "  a = Relu(in)\n  b = com.example.Opaque (a)\n"
      "  c = unknown.Other (b)\n  out = Neg(c)\n}\n");
  EXPECT_NO_THROW(FinishShapes({{"in", {{0, "n"}}}}, true, &part));
  EXPECT_EQ(Dims(FindValue(part.graph(), "a")), Names({"n", "3"}));
}

TEST(FinishShapes, WithoutDynamicAxesTheDeclaredShapesAreKeptAsTheyAre) {
  // Nothing changed the export's shapes, so inference is not re-run: no
  // value_info is added and a declared output shape stays as it was.
  auto part = ParseText(
      "<ir_version: 8, opset_import: [\"\" : 13]>\n"
      "p (float[2, 3] a) => (float[2, 3] out) {\n"
      "  r = Relu(a)\n  out = Neg(r)\n}\n");
  const std::string before = part.SerializeAsString();
  FinishShapes({}, true, &part);
  EXPECT_EQ(part.SerializeAsString(), before);
}

TEST(FinishShapes, DynamicAxesOfUnknownTensorNamesInputsAndOutputs) {
  auto part = Partition();
  EXPECT_THROW_WITH(FinishShapes({{"r", {{0, "batch"}}}}, true, &part),
                    PartitionError, "dynamic_axes names 'r'",
                    "(inputs: in; outputs: out)");
}

TEST(FinishShapes, AxisOutOfRangeNamesTensorAndRank) {
  auto part = Partition();
  EXPECT_THROW_WITH(FinishShapes({{"in", {{2, "x"}}}}, true, &part),
                    PartitionError, "axis 2 of input 'in'", "rank 2",
                    "(axes 0..1)");
  EXPECT_THROW_WITH(FinishShapes({{"out", {{-1, "x"}}}}, true, &part),
                    PartitionError, "axis -1 of output 'out'");
}

TEST(FinishShapes, AxisOfAShapelessInputIsAnError) {
  auto part = Partition();
  part.mutable_graph()->mutable_input(0)->mutable_type()
      ->mutable_tensor_type()->clear_shape();
  EXPECT_THROW_WITH(FinishShapes({{"in", {{0, "batch"}}}}, true, &part),
                    PartitionError, "input 'in'", "shape is unknown");
}

TEST(FinishShapes, InconsistentShapesAreReportedAsPartitionError) {
  // The declared output type contradicts what Add computes.
  auto part = ParseText(
      "<ir_version: 8, opset_import: [\"\" : 13]>\n"
      "p (float[2, 3] a, float[2, 3] b) => (int32[2, 3] out) {\n"
      "  out = Add(a, b)\n}\n");
  EXPECT_THROW_WITH(FinishShapes({{"a", {{0, "n"}}}}, true, &part),
                    PartitionError,
                    "ONNX shape inference failed on the partition",
                    "infer_shapes");
}

}  // namespace
}  // namespace mmdeploy::partition
