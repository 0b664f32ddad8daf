#include "mark_list.h"

#include <gtest/gtest.h>

#include "test_models.h"

namespace mmdeploy::partition {
namespace {

using test::Header;
using test::MarkNode;
using test::ParseText;

TEST(ListMarks, MainGraphMarksInOrderWithTheirAttributes) {
  const auto model = ParseText(
      Header() + "g (float[1, 3] x) => (float[1, 3] y) {\n" +
      MarkNode("a", "x", "detector_forward", "input", "input", 0, 0, {1, 3}) +
      "  r = Relu(a)\n" +
      MarkNode("y", "r", "yolo_head", "input", "pred_maps.0", 2, 5, {1, 3},
               10) +
      "}\n");
  const auto marks = ListMarks(model);
  ASSERT_EQ(marks.size(), 2u);
  EXPECT_EQ(marks[0].func, "detector_forward");
  EXPECT_EQ(marks[0].type, "input");
  EXPECT_EQ(marks[0].name, "input");
  EXPECT_EQ(marks[0].input, "x");
  EXPECT_EQ(marks[0].output, "a");
  EXPECT_EQ(marks[0].dtype, 1);
  EXPECT_EQ(marks[0].shape, std::vector<int64_t>({1, 3}));
  EXPECT_EQ(marks[1].func, "yolo_head");
  EXPECT_EQ(marks[1].func_id, 2);
  EXPECT_EQ(marks[1].id, 5);
  EXPECT_EQ(marks[1].dtype, 10);
  EXPECT_EQ(marks[1].name, "pred_maps.0");
}

TEST(ListMarks, AbsentAttributesTakeDefaultsAndNameIsFuncTypeId) {
  auto model = ParseText(Header() + "g (float[2] x) => (float[2] y) {\n"
                                    "  y = mmdeploy.Mark <func = \"head\", "
                                    "type = \"output\", id = 3> (x)\n}\n");
  model.mutable_graph()->mutable_node(0)->set_name("mark_node");
  const auto marks = ListMarks(model);
  ASSERT_EQ(marks.size(), 1u);
  EXPECT_EQ(marks[0].name, "head_output_3");
  EXPECT_EQ(marks[0].func_id, 0);
  EXPECT_EQ(marks[0].dtype, 0);
  EXPECT_TRUE(marks[0].shape.empty());
  EXPECT_EQ(marks[0].node_name, "mark_node");
}

TEST(ListMarks, IgnoresMarkOpsOfOtherDomainsAndMarksInBodies) {
  const auto model = ParseText(
      "<ir_version: 8, opset_import: [\"\" : 13, \"mmdeploy\" : 1, "
      "\"other\" : 1]>\n"
      "g (float[2] x, bool c) => (float[2] y) {\n"
      "  a = other.Mark (x)\n"
      "  y = If (c) <then_branch = t () => (float[2] o) {" +
      MarkNode("o", "a", "f", "output", "inner") +
      "}, else_branch = e () => (float[2] p) { p = Identity(a) }>\n}\n");
  EXPECT_TRUE(ListMarks(model).empty());
}

TEST(ReadMarkRecord, MarkWithoutOutputIsMalformed) {
  onnx::NodeProto node;
  node.set_op_type("Mark");
  node.set_domain("mmdeploy");
  node.set_name("broken");
  node.add_input("x");
  EXPECT_TRUE(IsMarkNode(node));
  EXPECT_THROW_WITH(ReadMarkRecord(node), MalformedModelError,
                    "Mark node 'broken' (Mark)", "1 inputs and 0 outputs");
}

TEST(DescribeNode, NamesUnnamedNodes) {
  onnx::NodeProto node;
  node.set_op_type("Conv");
  EXPECT_EQ(DescribeNode(node), "<unnamed> (Conv)");
  node.set_name("conv1");
  EXPECT_EQ(DescribeNode(node), "'conv1' (Conv)");
}

}  // namespace
}  // namespace mmdeploy::partition
