#include <gtest/gtest.h>
#include <mmdeploy/mark_schema.h>
#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

namespace {

onnx::ModelProto MarkedModel(bool with_extra_attribute) {
  onnx::ModelProto model;
  model.set_ir_version(7);
  auto* onnx_opset = model.add_opset_import();
  onnx_opset->set_domain("");
  onnx_opset->set_version(11);
  auto* mark_opset = model.add_opset_import();
  mark_opset->set_domain(mmdeploy::kMarkDomain);
  mark_opset->set_version(mmdeploy::kMarkDomainVersion);
  auto* graph = model.mutable_graph();
  graph->set_name("g");
  auto* input = graph->add_input();
  input->set_name("x");
  auto* tensor_type = input->mutable_type()->mutable_tensor_type();
  tensor_type->set_elem_type(onnx::TensorProto::FLOAT);
  tensor_type->mutable_shape()->add_dim()->set_dim_param("batch");
  tensor_type->mutable_shape()->add_dim()->set_dim_value(3);
  auto* node = graph->add_node();
  node->set_op_type(mmdeploy::kMarkOpType);
  node->set_domain(mmdeploy::kMarkDomain);
  node->add_input("x");
  node->add_output("y");
  auto add_string = [&](const char* name, const char* value) {
    auto* a = node->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s(value);
  };
  add_string("func", "f");
  add_string("type", "input");
  add_string("name", "x");
  if (with_extra_attribute) {
    auto* a = node->add_attribute();
    a->set_name("user_level");
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(3);
  }
  auto* output = graph->add_output();
  output->set_name("y");
  *output->mutable_type() = input->type();
  return model;
}

TEST(MarkSchema, RegistrationIsIdempotent) {
  mmdeploy::RegisterMarkSchema();
  mmdeploy::RegisterMarkSchema();
  const auto* schema =
      onnx::OpSchemaRegistry::Schema("Mark", 1, mmdeploy::kMarkDomain);
  ASSERT_NE(schema, nullptr);
  EXPECT_EQ(schema->domain(), "mmdeploy");
  const auto& domains =
      onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  ASSERT_EQ(domains.count("mmdeploy"), 1u);
  EXPECT_EQ(domains.at("mmdeploy"), std::make_pair(1, 1));
}

TEST(MarkSchema, ShapeInferencePropagatesTypeAndShapeThroughTheMark) {
  mmdeploy::RegisterMarkSchema();
  auto model = MarkedModel(false);
  model.mutable_graph()->mutable_output(0)->clear_type();
  onnx::shape_inference::InferShapes(model);
  const auto& out = model.graph().output(0).type().tensor_type();
  ASSERT_EQ(out.shape().dim_size(), 2);
  EXPECT_EQ(out.shape().dim(0).dim_param(), "batch");
  EXPECT_EQ(out.shape().dim(1).dim_value(), 3);
  EXPECT_EQ(out.elem_type(), onnx::TensorProto::FLOAT);
}

TEST(MarkSchema, FullCheckAcceptsExtraUserAttributes) {
  mmdeploy::RegisterMarkSchema();
  auto model = MarkedModel(true);
  EXPECT_NO_THROW(onnx::checker::check_model(model));
}

TEST(MarkSchema, CheckerRejectsAMarkWithoutFunc) {
  mmdeploy::RegisterMarkSchema();
  auto model = MarkedModel(false);
  auto* attrs = model.mutable_graph()->mutable_node(0)->mutable_attribute();
  attrs->erase(attrs->begin());  // "func"
  EXPECT_THROW(onnx::checker::check_model(model),
               onnx::checker::ValidationError);
}

}  // namespace
