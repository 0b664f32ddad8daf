#include "graph_index.h"

#include <gtest/gtest.h>

#include "test_models.h"

namespace mmdeploy::partition {
namespace {

using test::Header;
using test::MarkNode;
using test::Names;
using test::ParseText;

// Nodes: 0 Mark(a), 1 Relu(t), 2 Neg(k), 3 If(r), 4 Mark(y)
onnx::ModelProto Conditional() {
  return ParseText(
      Header() + "g (float[2] x, bool cond) => (float[2] y)\n"
      "<float[2] w = {1.0, 2.0}, float[2] t>\n{\n" +
      MarkNode("a", "x", "f", "input", "in") +
      "  t = Relu(a)\n"
      "  k = Neg(a)\n"
      "  r = If (cond) <then_branch = then_g () => (float[2] o1) {"
      " o1 = Add(t, w) },"
      " else_branch = else_g () => (float[2] o2) {"
      " inner = Mul(k, k)\n" +
      MarkNode("o2", "inner", "inner_f", "output", "deep") + " }>\n" +
      MarkNode("y", "r", "f", "output", "out", 2) + "}\n");
}

TEST(GraphIndex, ProducerOfEveryNodeOutput) {
  const auto model = Conditional();
  const GraphIndex index(model.graph());
  EXPECT_EQ(index.Producer("a"), 0);
  EXPECT_EQ(index.Producer("t"), 1);
  EXPECT_EQ(index.Producer("r"), 3);
  EXPECT_EQ(index.Producer("x"), GraphIndex::kNone);
  EXPECT_EQ(index.Producer("w"), GraphIndex::kNone);
}

TEST(GraphIndex, ReadsIncludeWhatBodiesReadFromOuterScope) {
  const auto model = Conditional();
  const GraphIndex index(model.graph());
  EXPECT_EQ(index.Reads(3), Names({"cond", "t", "w", "k"}));
  EXPECT_EQ(index.Reads(1), Names({"a"}));
}

TEST(GraphIndex, ConsumersIncludeNodesWhoseBodiesRead) {
  const auto model = Conditional();
  const GraphIndex index(model.graph());
  EXPECT_EQ(index.Consumers("a"), std::vector<int>({1, 2}));
  EXPECT_EQ(index.Consumers("t"), std::vector<int>({3}));
  EXPECT_EQ(index.Consumers("w"), std::vector<int>({3}));
  EXPECT_TRUE(index.Consumers("y").empty());
}

TEST(GraphIndex, InitializersInputsOutputsAndTypes) {
  const auto model = Conditional();
  const GraphIndex index(model.graph());
  EXPECT_EQ(index.Initializer("w"), 0);
  EXPECT_EQ(index.Initializer("x"), GraphIndex::kNone);
  EXPECT_EQ(index.GraphInput("cond"), 1);
  EXPECT_TRUE(index.IsGraphOutput("y"));
  EXPECT_FALSE(index.IsGraphOutput("r"));
  ASSERT_NE(index.FindType("t"), nullptr);  // from value_info
  EXPECT_EQ(index.FindType("t")->tensor_type().elem_type(), 1);
  EXPECT_NE(index.FindType("x"), nullptr);
  EXPECT_EQ(index.FindType("k"), nullptr);
}

TEST(GraphIndex, MarksInGraphOrderWithMarkers) {
  const auto model = Conditional();
  const GraphIndex index(model.graph());
  ASSERT_EQ(index.marks().size(), 2u);
  EXPECT_EQ(index.marks()[0].name, "in");
  EXPECT_EQ(index.MarkNode(1), 4);
  EXPECT_TRUE(index.IsMark(0));
  EXPECT_FALSE(index.IsMark(1));
  EXPECT_EQ(index.markers(), Names({"f:input", "f[2]:output"}));
  EXPECT_EQ(index.MarksMatching(ParseMarker("f[2]:output")),
            std::vector<int>({1}));
  EXPECT_TRUE(index.MarksMatching(ParseMarker("f:output")).empty());
}

TEST(GraphIndex, MarksInsideBodiesAreIndexedSeparately) {
  const auto model = Conditional();
  const GraphIndex index(model.graph());
  ASSERT_EQ(index.nested_marks().size(), 1u);
  EXPECT_EQ(index.nested_marks()[0].mark.name, "deep");
  EXPECT_EQ(index.nested_marks()[0].parent_node, 3);
  EXPECT_EQ(index.NestedMarksMatching(ParseMarker("inner_f:output")).size(),
            1u);
}

TEST(GraphIndex, OneMarkerSelectsSeveralMarks) {
  const auto model = ParseText(Header() + "g (float[2] x) => (float[2] y) {\n" +
                               MarkNode("a", "x", "f", "input", "p.0", 0, 0) +
                               MarkNode("b", "a", "f", "input", "p.1", 0, 1) +
                               MarkNode("y", "b", "f", "input", "p.2", 0, 2) +
                               "}\n");
  const GraphIndex index(model.graph());
  EXPECT_EQ(index.MarksMatching(ParseMarker("f:input")),
            std::vector<int>({0, 1, 2}));
  EXPECT_EQ(index.markers(), Names({"f:input"}));
}

TEST(GraphIndex, TensorProducedTwiceIsMalformed) {
  auto model = ParseText(Header() + "g (float[2] x) => (float[2] y) {\n"
                                    "  y = Relu(x)\n  y = Neg(x)\n}\n");
  test::NameNodes(&model);
  EXPECT_THROW_WITH(GraphIndex{model.graph()}, MalformedModelError,
                    "tensor 'y'", "'Relu_0' (Relu)", "'Neg_1' (Neg)");
}

TEST(GraphIndex, NodeOutputShadowingAGraphInputIsMalformed) {
  auto model = ParseText(Header() + "g (float[2] x) => (float[2] y) {\n"
                                    "  x = Relu(x)\n  y = Neg(x)\n}\n");
  EXPECT_THROW_WITH(GraphIndex{model.graph()}, MalformedModelError,
                    "tensor 'x'", "graph input or initializer");
}

TEST(GraphIndex, MarkWithTwoInputsIsMalformed) {
  auto model = ParseText(Header() + "g (float[2] x) => (float[2] y) {\n"
                                    "  y = mmdeploy.Mark <func = \"f\", "
                                    "type = \"input\"> (x, x)\n}\n");
  test::NameNodes(&model);
  EXPECT_THROW_WITH(GraphIndex{model.graph()}, MalformedModelError,
                    "'Mark_0' (Mark)", "exactly one");
}

TEST(OuterScopeReads, NestedBodiesAndShadowing) {
  const auto model = ParseText(
      Header() + "g (float[2] x, bool c) => (float[2] y) {\n"
      "  y = If (c) <then_branch = t () => (float[2] o) {\n"
      "    x2 = Relu(x)\n"
      "    o = If (c) <then_branch = tt () => (float[2] p) { p = Add(x2, z) },"
      " else_branch = te () => (float[2] q) { q = Identity(x) }>\n"
      "  }, else_branch = e () => (float[2] x) { x = Neg(v) }>\n}\n");
  const auto& then_branch = model.graph().node(0).attribute(0).g();
  EXPECT_EQ(OuterScopeReads(then_branch, nullptr), Names({"x", "c", "z"}));
  // The else branch defines its own x; only v comes from outside.
  const auto& else_branch = model.graph().node(0).attribute(1).g();
  EXPECT_EQ(OuterScopeReads(else_branch, nullptr), Names({"v"}));
}

}  // namespace
}  // namespace mmdeploy::partition
