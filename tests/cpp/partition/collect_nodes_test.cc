#include "collect_nodes.h"

#include <gtest/gtest.h>

#include "test_models.h"

namespace mmdeploy::partition {
namespace {

using test::Header;
using test::MarkNode;
using test::ParseText;

using Indices = std::vector<int>;

TEST(CollectNodes, ChainStopsAtTheInputs) {
  // 0 Relu, 1 Neg, 2 Exp
  const auto model = ParseText(Header() + "g (float[2] x) => (float[2] y) {\n"
                                          "  a = Relu(x)\n  b = Neg(a)\n"
                                          "  y = Exp(b)\n}\n");
  const GraphIndex index(model.graph());
  const auto collection = CollectNodes(index, {"y"}, {"a"});
  EXPECT_EQ(collection.nodes, Indices({1, 2}));
  EXPECT_EQ(collection.used_inputs.count("a"), 1u);
  EXPECT_TRUE(collection.uncovered.empty());
}

TEST(CollectNodes, DiamondNodesAppearOnceInGraphOrder) {
  // 0 Relu, 1 Sigmoid, 2 Tanh, 3 Add
  const auto model = ParseText(
      Header() + "g (float[2] x) => (float[2] y) {\n"
                 "  b = Relu(x)\n  c = Sigmoid(b)\n"
                 "  d = Tanh(b)\n  y = Add(c, d)\n}\n");
  const GraphIndex index(model.graph());
  EXPECT_EQ(CollectNodes(index, {"y"}, {"x"}).nodes, Indices({0, 1, 2, 3}));
}

TEST(CollectNodes, SeveralOutputsShareTheirAncestors) {
  const auto model = ParseText(
      Header() + "g (float[2] x) => (float[2] y, float[2] z) {\n"
      "  a = Relu(x)\n  u = Neg(x)\n  y = Exp(a)\n  z = Log(a)\n}\n");
  const GraphIndex index(model.graph());
  EXPECT_EQ(CollectNodes(index, {"z", "y"}, {"x"}).nodes,
            Indices({0, 2, 3}));
}

TEST(CollectNodes, InitializersAndConstantsAreLeaves) {
  const auto model = ParseText(
      Header() + "g (float[2] x) => (float[2] y)\n"
      "<float[2] w0 = {1.0, 2.0}, float[2] w1 = {3.0, 4.0}, "
      "float[2] w2 = {5.0, 6.0}>\n{\n"
      "  k = Constant <value = float[2] {1.0, 1.0}> ()\n"
      "  a = Mul(x, w2)\n  b = Add(a, k)\n  y = Mul(b, w0)\n}\n");
  const GraphIndex index(model.graph());
  const auto collection = CollectNodes(index, {"y"}, {"x"});
  EXPECT_EQ(collection.nodes, Indices({0, 1, 2, 3}));
  EXPECT_EQ(collection.initializers, Indices({0, 2}));  // sorted, w1 unused
  EXPECT_TRUE(collection.uncovered.empty());
}

TEST(CollectNodes, GraphInputWithInitializerIsAConstant) {
  const auto model = ParseText(
      Header() + "g (float[2] x, float[2] w = {1.0, 2.0}) => (float[2] y) {\n"
      "  y = Mul(x, w)\n}\n");
  const GraphIndex index(model.graph());
  const auto collection = CollectNodes(index, {"y"}, {"x"});
  EXPECT_EQ(collection.initializers, Indices({0}));
  EXPECT_TRUE(collection.uncovered.empty());
}

TEST(CollectNodes, UncoveredGraphInputsComeFirstThenOtherTensors) {
  const auto model = ParseText(
      Header() + "g (float[2] x, float[2] p, float[2] q) => (float[2] y) {\n"
      "  a = Add(x, ghost)\n  b = Add(a, q)\n  y = Add(b, p)\n}\n");
  const GraphIndex index(model.graph());
  const auto collection = CollectNodes(index, {"y"}, {"x"});
  ASSERT_EQ(collection.uncovered.size(), 3u);
  EXPECT_EQ(collection.uncovered[0].name, "p");  // graph input order
  EXPECT_TRUE(collection.uncovered[0].graph_input);
  EXPECT_EQ(collection.uncovered[0].reader, 2);
  EXPECT_EQ(collection.uncovered[1].name, "q");
  EXPECT_EQ(collection.uncovered[2].name, "ghost");
  EXPECT_FALSE(collection.uncovered[2].graph_input);
  EXPECT_EQ(collection.uncovered[2].reader, 0);
}

TEST(CollectNodes, OuterScopeReadsOfBodiesAreDependencies) {
  // 0 Relu, 1 Neg, 2 Exp (unrelated), 3 If reading t and k from its bodies
  const auto model = ParseText(
      Header() + "g (float[2] x, bool c) => (float[2] y) {\n"
      "  t = Relu(x)\n  k = Neg(x)\n  u = Exp(x)\n"
      "  y = If (c) <then_branch = a () => (float[2] o) { o = Identity(t) },"
      " else_branch = b () => (float[2] p) { p = Identity(k) }>\n}\n");
  const GraphIndex index(model.graph());
  const auto collection = CollectNodes(index, {"y"}, {"x", "c"});
  EXPECT_EQ(collection.nodes, Indices({0, 1, 3}));
  EXPECT_EQ(collection.used_inputs.size(), 2u);
}

TEST(CollectNodes, InputsNotReachedAreNotUsed) {
  const auto model = ParseText(
      Header() + "g (float[2] x, float[2] z) => (float[2] y) {\n" +
      MarkNode("a", "x", "f", "input", "in") + "  y = Relu(a)\n}\n");
  const GraphIndex index(model.graph());
  const auto collection = CollectNodes(index, {"y"}, {"x", "z"});
  EXPECT_EQ(collection.nodes, Indices({0, 1}));  // the Mark is collected too
  EXPECT_EQ(collection.used_inputs.count("z"), 0u);
}

TEST(CollectNodes, LongChainDoesNotOverflowTheStack) {
  std::string body;
  std::string previous = "x";
  const int length = 20000;
  for (int i = 0; i < length; ++i) {
    const std::string next = "t" + std::to_string(i);
    body += "  " + next + " = Relu(" + previous + ")\n";
    previous = next;
  }
  body += "  y = Relu(" + previous + ")\n";
  const auto model =
      ParseText(Header() + "g (float[2] x) => (float[2] y) {\n" + body + "}\n");
  const GraphIndex index(model.graph());
  EXPECT_EQ(CollectNodes(index, {"y"}, {"x"}).nodes.size(),
            static_cast<size_t>(length + 1));
}

}  // namespace
}  // namespace mmdeploy::partition
