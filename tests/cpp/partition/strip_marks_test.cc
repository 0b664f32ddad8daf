#include <gtest/gtest.h>
#include <mmdeploy/partition/partition.h>

#include "test_models.h"

namespace mmdeploy::partition {
namespace {

using test::CheckModel;
using test::HasMarks;
using test::Header;
using test::InputNames;
using test::MarkNode;
using test::Names;
using test::OpsetDomains;
using test::OpTypes;
using test::OutputNames;
using test::ParseText;

TEST(StripMarks, ConsumersReadTheMarksInput) {
  const auto model = ParseText(Header() + "g (float[2] x) => (float[2] y) {\n" +
                               MarkNode("a", "x", "f", "input", "in") +
                               "  r = Relu(a)\n"
                               "  y = Neg(r)\n}\n");
  const auto stripped = StripMarks(model);
  EXPECT_EQ(OpTypes(stripped.graph()), Names({"Relu", "Neg"}));
  EXPECT_EQ(stripped.graph().node(0).input(0), "x");
  EXPECT_EQ(OpsetDomains(stripped), Names({""}));
  EXPECT_NO_THROW(CheckModel(stripped));
}

TEST(StripMarks, GraphOutputProducedByAMarkKeepsItsName) {
  const auto model = ParseText(Header() +
                               "g (float[2] x) => (float[2] dets) {\n" +
                               MarkNode("a", "x", "f", "input", "in") +
                               "  r = Relu(a)\n" +
                               MarkNode("dets", "r", "f", "output", "dets") +
                               "}\n");
  const auto stripped = StripMarks(model);
  EXPECT_EQ(OpTypes(stripped.graph()), Names({"Relu"}));
  EXPECT_EQ(stripped.graph().node(0).output(0), "dets");
  EXPECT_EQ(OutputNames(stripped.graph()), Names({"dets"}));
  EXPECT_NO_THROW(CheckModel(stripped));
}

TEST(StripMarks, ReaderOfTheRenamedTensorFollowsIt) {
  // r is renamed to the output name; Neg, which read r, reads it too.
  const auto model = ParseText(
      Header() + "g (float[2] x) => (float[2] out, float[2] n) {\n"
      "  r = Relu(x)\n" +
      MarkNode("out", "r", "f", "output", "out") + "  n = Neg(r)\n}\n");
  const auto stripped = StripMarks(model);
  EXPECT_EQ(stripped.graph().node(0).output(0), "out");
  EXPECT_EQ(stripped.graph().node(1).input(0), "out");
  EXPECT_NO_THROW(CheckModel(stripped));
}

TEST(StripMarks, MarkFromGraphInputToGraphOutputBecomesIdentity) {
  const auto model = ParseText(Header() + "g (float[2] x) => (float[2] y) {\n" +
                               MarkNode("y", "x", "f", "input", "in") + "}\n");
  const auto stripped = StripMarks(model);
  EXPECT_EQ(OpTypes(stripped.graph()), Names({"Identity"}));
  EXPECT_EQ(stripped.graph().node(0).input(0), "x");
  EXPECT_EQ(stripped.graph().node(0).output(0), "y");
  EXPECT_EQ(stripped.graph().node(0).attribute_size(), 0);
  EXPECT_EQ(InputNames(stripped.graph()), Names({"x"}));
  EXPECT_NO_THROW(CheckModel(stripped));
}

TEST(StripMarks, MarkBetweenTwoGraphOutputsBecomesIdentity) {
  const auto model = ParseText(
      Header() + "g (float[2] x) => (float[2] r, float[2] y) {\n"
      "  r = Relu(x)\n" +
      MarkNode("y", "r", "f", "output", "out") + "}\n");
  const auto stripped = StripMarks(model);
  EXPECT_EQ(OpTypes(stripped.graph()), Names({"Relu", "Identity"}));
  EXPECT_EQ(OutputNames(stripped.graph()), Names({"r", "y"}));
  EXPECT_NO_THROW(CheckModel(stripped));
}

TEST(StripMarks, TwoOutputMarksOnOneTensor) {
  const auto model = ParseText(
      Header() + "g (float[2] x) => (float[2] y, float[2] z) {\n"
      "  r = Relu(x)\n" +
      MarkNode("y", "r", "f", "output", "a") +
      MarkNode("z", "r", "g", "output", "b") + "}\n");
  const auto stripped = StripMarks(model);
  EXPECT_EQ(OpTypes(stripped.graph()), Names({"Relu", "Identity"}));
  EXPECT_EQ(stripped.graph().node(0).output(0), "y");
  EXPECT_EQ(stripped.graph().node(1).input(0), "y");
  EXPECT_EQ(stripped.graph().node(1).output(0), "z");
  EXPECT_NO_THROW(CheckModel(stripped));
}

TEST(StripMarks, ChainedMarksCollapse) {
  const auto model = ParseText(Header() + "g (float[2] x) => (float[2] y) {\n" +
                               "  r = Relu(x)\n" +
                               MarkNode("a", "r", "f", "output", "o") +
                               MarkNode("y", "a", "g", "input", "i") + "}\n");
  const auto stripped = StripMarks(model);
  EXPECT_EQ(OpTypes(stripped.graph()), Names({"Relu"}));
  EXPECT_EQ(stripped.graph().node(0).output(0), "y");
  EXPECT_NO_THROW(CheckModel(stripped));
}

TEST(StripMarks, MarksInsideIfBodiesAndOuterReadsOfMarks) {
  const auto model = ParseText(
      Header() + "g (float[2] x, bool c) => (float[2] y) {\n" +
      MarkNode("a", "x", "f", "input", "in") +
      "  y = If (c) <then_branch = t () => (float[2] o) {\n"
      "    r = Relu(a)\n" +
      MarkNode("o", "r", "inner", "output", "o") +
      "  }, else_branch = e () => (float[2] p) {\n" +
      MarkNode("p", "a", "inner", "output", "p") + "  }>\n}\n");
  const auto stripped = StripMarks(model);
  EXPECT_FALSE(HasMarks(stripped.graph()));
  const auto& then_branch = stripped.graph().node(0).attribute(0).g();
  EXPECT_EQ(OpTypes(then_branch), Names({"Relu"}));
  EXPECT_EQ(then_branch.node(0).input(0), "x");
  EXPECT_EQ(then_branch.node(0).output(0), "o");
  // The else branch passes an outer tensor through: Identity keeps `p`.
  const auto& else_branch = stripped.graph().node(0).attribute(1).g();
  EXPECT_EQ(OpTypes(else_branch), Names({"Identity"}));
  EXPECT_EQ(else_branch.node(0).input(0), "x");
  EXPECT_EQ(OpsetDomains(stripped), Names({""}));
  EXPECT_NO_THROW(CheckModel(stripped));
}

TEST(StripMarks, ValueInfoOfRemovedMarkOutputsIsDropped) {
  const auto model = ParseText(Header() +
                               "g (float[2] x) => (float[2] y)\n"
                               "<float[2] a, float[2] r>\n{\n" +
                               MarkNode("a", "x", "f", "input", "in") +
                               "  r = Relu(a)\n  y = Neg(r)\n}\n");
  const auto stripped = StripMarks(model);
  EXPECT_EQ(test::ValueInfoNames(stripped.graph()), Names({"r"}));
  EXPECT_NO_THROW(CheckModel(stripped));
}

TEST(StripMarks, KeepsTheMarkDomainWhenOtherOpsUseIt) {
  const auto model = ParseText(Header() + "g (float[2] x) => (float[2] y) {\n" +
                               MarkNode("a", "x", "f", "input", "in") +
                               "  y = mmdeploy.TRTBatchedNMS (a)\n}\n");
  EXPECT_EQ(OpsetDomains(StripMarks(model)), Names({"", "mmdeploy"}));
}

TEST(StripMarks, LeavesTheCallersModelUnchanged) {
  const auto model = ParseText(Header() + "g (float[2] x) => (float[2] y) {\n" +
                               MarkNode("a", "x", "f", "input", "in") +
                               "  y = Relu(a)\n}\n");
  const std::string before = model.SerializeAsString();
  StripMarks(model);
  EXPECT_EQ(model.SerializeAsString(), before);
}

TEST(StripMarks, ModelWithoutMarksIsReturnedAsIs) {
  const auto model = ParseText(
      "<ir_version: 8, opset_import: [\"\" : 13]>\n"
      "g (float[2] x) => (float[2] y) { y = Relu(x) }");
  EXPECT_EQ(StripMarks(model).SerializeAsString(), model.SerializeAsString());
}

}  // namespace
}  // namespace mmdeploy::partition
