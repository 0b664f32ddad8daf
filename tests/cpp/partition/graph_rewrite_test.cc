#include "graph_rewrite.h"

#include <gtest/gtest.h>
#include <mmdeploy/partition/errors.h>

#include "test_models.h"

namespace mmdeploy::partition {
namespace {

using test::Header;
using test::MarkNode;
using test::Names;
using test::OpsetDomains;
using test::ParseText;

TEST(RenameOuterReads, RenamesReadsAndPassThroughOutputs) {
  auto model = ParseText(
      Header() + "g (float[2] x, bool c) => (float[2] y) {\n"
      "  y = If (c) <then_branch = t () => (float[2] x) { x2 = Relu(x) },"
      " else_branch = e () => (float[2] o) { o = Add(x, x) }>\n}\n");
  auto* else_branch =
      model.mutable_graph()->mutable_node(0)->mutable_attribute(1)->mutable_g();
  RenameOuterReads({{"x", "a"}}, else_branch);
  EXPECT_EQ(else_branch->node(0).input(0), "a");
  EXPECT_EQ(else_branch->node(0).input(1), "a");
  auto* then_branch =
      model.mutable_graph()->mutable_node(0)->mutable_attribute(0)->mutable_g();
  RenameOuterReads({{"x", "a"}}, then_branch);
  // The then branch passes the outer x through as its output.
  EXPECT_EQ(then_branch->output(0).name(), "a");
  EXPECT_EQ(then_branch->node(0).input(0), "a");
}

TEST(RenameOuterReads, NamesDefinedInsideShadowOuterOnes) {
  auto model = ParseText(
      Header() + "g (float[2] x, bool c) => (float[2] y) {\n"
      "  y = If (c) <then_branch = t () => (float[2] o) {"
      " x = Relu(c2)\n o = Add(x, z) },"
      " else_branch = e () => (float[2] p) { p = Identity(z) }>\n}\n");
  auto* body =
      model.mutable_graph()->mutable_node(0)->mutable_attribute(0)->mutable_g();
  RenameOuterReads({{"x", "renamed_x"}, {"z", "renamed_z"}}, body);
  EXPECT_EQ(body->node(1).input(0), "x");  // the body's own x
  EXPECT_EQ(body->node(1).input(1), "renamed_z");
}

TEST(RenameOuterReads, ReachesNestedBodies) {
  auto model = ParseText(
      Header() + "g (float[2] x, bool c) => (float[2] y) {\n"
      "  y = If (c) <then_branch = t () => (float[2] o) {\n"
      "    o = If (c) <then_branch = tt () => (float[2] p) { p = Neg(x) },"
      " else_branch = te () => (float[2] q) { q = Relu(x) }>\n"
      "  }, else_branch = e () => (float[2] r) { r = Identity(x) }>\n}\n");
  auto* body =
      model.mutable_graph()->mutable_node(0)->mutable_attribute(0)->mutable_g();
  RenameOuterReads({{"x", "a"}, {"c", "k"}}, body);
  EXPECT_EQ(body->node(0).input(0), "k");
  EXPECT_EQ(body->node(0).attribute(0).g().node(0).input(0), "a");
  EXPECT_EQ(body->node(0).attribute(1).g().node(0).input(0), "a");
}

TEST(UsesDomain, FindsNodesInBodies) {
  const auto model = ParseText(
      Header() + "g (float[2] x, bool c) => (float[2] y) {\n"
      "  y = If (c) <then_branch = t () => (float[2] o) {" +
      MarkNode("o", "x", "f", "output", "o") +
      "}, else_branch = e () => (float[2] p) { p = Identity(x) }>\n}\n");
  EXPECT_TRUE(UsesDomain(model.graph(), "mmdeploy"));
  EXPECT_FALSE(UsesDomain(model.graph(), "com.example"));
}

TEST(DropUnusedMarkDomain, KeepsItForLocalFunctionsUsingIt) {
  auto model = ParseText(Header() +
                         "g (float[2] x) => (float[2] y) { y = Relu(x) }");
  DropUnusedMarkDomain(&model);
  EXPECT_EQ(OpsetDomains(model), Names({""}));

  auto with_function = ParseText(
      Header() + "g (float[2] x) => (float[2] y) { y = Relu(x) }");
  auto* function = with_function.add_functions();
  function->set_name("marked");
  function->set_domain("local");
  auto* node = function->add_node();
  node->set_op_type("Mark");
  node->set_domain("mmdeploy");
  DropUnusedMarkDomain(&with_function);
  EXPECT_EQ(OpsetDomains(with_function), Names({"", "mmdeploy"}));
}

TEST(StripMarksInGraph, MarkWithTwoOutputsIsMalformed) {
  auto model = ParseText(Header() + "g (float[2] x) => (float[2] y) {\n"
                                    "  y, z = mmdeploy.Mark <func = \"f\", "
                                    "type = \"input\"> (x)\n}\n");
  model.mutable_graph()->mutable_node(0)->set_name("bad");
  EXPECT_THROW_WITH(StripMarksInGraph(model.mutable_graph()),
                    MalformedModelError, "'bad' (Mark)");
}

}  // namespace
}  // namespace mmdeploy::partition
