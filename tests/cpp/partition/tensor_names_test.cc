// Boundaries by tensor name (PartitionSpec::inputs/outputs): any model,
// marks optional, mixed with markers.
#include <gtest/gtest.h>
#include <mmdeploy/partition/partition.h>

#include "test_models.h"

namespace mmdeploy::partition {
namespace {

using test::CheckModel;
using test::Dims;
using test::Header;
using test::InitializerNames;
using test::InputNames;
using test::MarkNode;
using test::Names;
using test::OpTypes;
using test::OutputNames;
using test::ParseText;

// x -> Conv(w) -> c -> Relu -> r -> Add(y) -> s -> Sigmoid -> out; no marks.
onnx::ModelProto Plain() {
  return ParseText(
      Header() +
      "plain (float[1, 3, 4, 4] x, float[1, 2, 4, 4] y) => "
      "(float[1, 2, 4, 4] out)\n"
      "<float[2, 3, 1, 1] w = {1.0, 2.0, 3.0, 4.0, 5.0, 6.0},\n"
      " float[1, 2, 4, 4] c, float[1, 2, 4, 4] r, float[1, 2, 4, 4] s>\n"
      "{\n"
      "  c = Conv(x, w)\n"
      "  r = Relu(c)\n"
      "  s = Add(r, y)\n"
      "  out = Sigmoid(s)\n"
      "}\n");
}

PartitionSpec ByName(std::vector<std::string> inputs,
                     std::vector<std::string> outputs) {
  PartitionSpec spec;
  spec.save_file = "part.onnx";
  spec.inputs = std::move(inputs);
  spec.outputs = std::move(outputs);
  return spec;
}

TEST(TensorNames, AModelWithoutMarksIsCutAtTensorNames) {
  const MarkedModel model(Plain());
  const auto part = model.Extract(ByName({"x"}, {"r"}));
  EXPECT_EQ(OpTypes(part.graph()), Names({"Conv", "Relu"}));
  EXPECT_EQ(InputNames(part.graph()), Names({"x"}));
  EXPECT_EQ(OutputNames(part.graph()), Names({"r"}));
  EXPECT_EQ(InitializerNames(part.graph()), Names({"w"}));
  EXPECT_EQ(Dims(part.graph().output(0)), Names({"1", "2", "4", "4"}));
  EXPECT_NO_THROW(CheckModel(part));
}

TEST(TensorNames, InputsKeepTheGivenOrder) {
  const MarkedModel model(Plain());
  const auto part = model.Extract(ByName({"y", "r"}, {"out"}));
  EXPECT_EQ(InputNames(part.graph()), Names({"y", "r"}));
  EXPECT_EQ(OpTypes(part.graph()), Names({"Add", "Sigmoid"}));
  EXPECT_NO_THROW(CheckModel(part));
}

TEST(TensorNames, OnlyOutputsMeansTheGraphInputs) {
  const MarkedModel model(Plain());
  const auto part = model.Extract(ByName({}, {"s"}));
  EXPECT_EQ(InputNames(part.graph()), Names({"x", "y"}));
}

TEST(TensorNames, ANameThatIsNoTensorIsAMarkerNotFoundError) {
  const MarkedModel model(Plain());
  EXPECT_THROW_WITH(model.Extract(ByName({"x"}, {"nope"})),
                    TensorNotFoundError, "'nope' is not a tensor",
                    "graph inputs: x, y");
  EXPECT_THROW(model.Extract(ByName({"nope"}, {"r"})), MarkerNotFoundError);
}

TEST(TensorNames, UncoveredAndUnusedInputsAreNamed) {
  const MarkedModel model(Plain());
  EXPECT_THROW_WITH(model.Extract(ByName({"r"}, {"out"})),
                    UncoveredTensorError, "graph input 'y'", "inputs [r]");
  EXPECT_THROW_WITH(model.Extract(ByName({"x", "y"}, {"r"})), PartitionError,
                    "do not depend on input tensor 'y'");
  EXPECT_THROW_WITH(model.Extract(ByName({"w"}, {"c"})), PartitionError,
                    "initializer");
}

TEST(TensorNames, ShapeAndTypeOverridesReinferTheShapes) {
  const MarkedModel model(Plain());
  const auto part = model.Extract(ByName({"c:[n,2,h,w]:float32"}, {"r"}));
  EXPECT_EQ(InputNames(part.graph()), Names({"c"}));
  EXPECT_EQ(Dims(part.graph().input(0)), Names({"n", "2", "h", "w"}));
  EXPECT_EQ(Dims(part.graph().output(0)), Names({"n", "2", "h", "w"}));
  const auto sized = model.Extract(ByName({"c:2x2x3x3:auto"}, {"r"}));
  EXPECT_EQ(Dims(sized.graph().input(0)), Names({"2", "2", "3", "3"}));
  EXPECT_THROW(model.Extract(ByName({"c:2x2:complex"}, {"r"})),
               TensorNotFoundError);
}

TEST(TensorNames, MixWithMarkers) {
  auto marked_model = ParseText(
      Header() +
      "marked (float[1, 3, 4, 4] img) => (float[1, 3, 4, 4] out)\n"
      "<float[1, 3, 4, 4] r>\n"
      "{\n" +
      MarkNode("a", "img", "f", "input", "input", 0, 0, {1, 3, 4, 4}) +
      "  r = Relu(a)\n"
      "  out = Sigmoid(r)\n"
      "}\n");
  const MarkedModel model(std::move(marked_model));
  PartitionSpec spec;
  spec.save_file = "part.onnx";
  spec.start = {"f:input"};
  spec.outputs = {"r"};
  const auto part = model.Extract(spec);
  EXPECT_EQ(InputNames(part.graph()), Names({"input"}));
  EXPECT_EQ(OutputNames(part.graph()), Names({"r"}));
  EXPECT_EQ(OpTypes(part.graph()), Names({"Relu"}));
  EXPECT_NO_THROW(CheckModel(part));
}

TEST(TensorNames, UndeclaredTypesComeFromMarksOrInference) {
  // No value_info: 'r' is typed by the Mark reading it, 's' by inference.
  auto bare = ParseText(
      Header() +
      "bare (float[1, 3, 4, 4] img) => (float[1, 3, 4, 4] out)\n"
      "{\n"
      "  r = Relu(img)\n" +
      MarkNode("m", "r", "f", "output", "r", 0, 0, {1, 3, 4, 4}) +
      "  s = Sigmoid(m)\n"
      "  out = Neg(s)\n"
      "}\n");
  const MarkedModel model(std::move(bare));
  const auto part = model.Extract(ByName({"img"}, {"r"}));
  EXPECT_EQ(Dims(part.graph().output(0)), Names({"1", "3", "4", "4"}));
  EXPECT_NO_THROW(CheckModel(part));
  const auto tail = model.Extract(ByName({"s"}, {"out"}));
  EXPECT_EQ(Dims(tail.graph().input(0)), Names({"1", "3", "4", "4"}));
  EXPECT_NO_THROW(CheckModel(tail));
}

// x -> Split -> (q, k, v); out = (q * k) + v. Cut at x and v, the Split
// stays for q and k; the partition's input v, not the Split, defines v.
onnx::ModelProto Attention() {
  return ParseText(
      Header() +
      "attn (float[3, 2] x) => (float[1, 2] out)\n"
      "{\n"
      "  q, k, v = Split <axis = 0> (x)\n"
      "  qk = Mul(q, k)\n"
      "  out = Add(qk, v)\n"
      "}\n");
}

TEST(TensorNames, AnInputAKeptNodeAlsoProducesKeepsOneDefinition) {
  const MarkedModel model(Attention());
  const auto part = model.Extract(ByName({"x", "v"}, {"out"}));
  EXPECT_EQ(OpTypes(part.graph()), Names({"Split", "Mul", "Add"}));
  EXPECT_EQ(InputNames(part.graph()), Names({"x", "v"}));
  const auto& split = part.graph().node(0);
  ASSERT_EQ(split.output_size(), 3);
  EXPECT_EQ(split.output(0), "q");
  EXPECT_EQ(split.output(1), "k");
  EXPECT_NE(split.output(2), "v");  // what it computes is not read
  EXPECT_EQ(part.graph().node(2).input(1), "v");
  EXPECT_NO_THROW(CheckModel(part));  // SSA: 'v' defined once
}

TEST(TensorNames, AnInputAtAStartMarkOfAKeptNodeKeepsOneDefinition) {
  // The same at a mark on v: the mark's name is the input, and the Split's
  // output that enters the mark is no second definition of it.
  auto marked = ParseText(
      Header() +
      "attn (float[3, 2] x) => (float[1, 2] out)\n"
      "{\n"
      "  q, k, v = Split <axis = 0> (x)\n" +
      MarkNode("vm", "v", "f", "input", "value", 0, 0, {1, 2}) +
      "  qk = Mul(q, k)\n"
      "  out = Add(qk, vm)\n"
      "}\n");
  const MarkedModel model(std::move(marked));
  PartitionSpec spec = ByName({"x"}, {"out"});
  spec.start = {"f:input"};
  const auto part = model.Extract(spec);
  EXPECT_EQ(InputNames(part.graph()), Names({"value", "x"}));
  EXPECT_EQ(OpTypes(part.graph()), Names({"Split", "Mul", "Add"}));
  EXPECT_NE(part.graph().node(0).output(2), "value");
  EXPECT_NO_THROW(CheckModel(part));
}

}  // namespace
}  // namespace mmdeploy::partition
