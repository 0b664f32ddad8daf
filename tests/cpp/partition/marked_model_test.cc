// End-to-end tests of MarkedModel::Extract / ExtractAll on graphs built from
// ONNX text.
#include <gtest/gtest.h>
#include <mmdeploy/partition/partition.h>

#include "test_models.h"

namespace mmdeploy::partition {
namespace {

using test::CheckModel;
using test::Names;
using test::Dims;
using test::FindValue;
using test::HasMarks;
using test::Header;
using test::InitializerNames;
using test::InputNames;
using test::MarkNode;
using test::Metadata;
using test::OpsetDomains;
using test::OpTypes;
using test::OutputNames;
using test::ParseText;

// img -> [detector_forward:input] -> Conv -> Relu -> [yolo_head:input]
//     -> ReduceMean -> [detector_forward:output] -> dets
onnx::ModelProto Detector() {
  auto model = ParseText(
      Header() +
      "detector (float[1, 3, 8, 8] img) => (float[1, 2] dets)\n"
      "<float[2, 3, 1, 1] w = {1.0, 2.0, 3.0, 4.0, 5.0, 6.0},\n"
      " float[2] unused = {1.0, 2.0},\n"
      " float[1, 2, 8, 8] c, float[1, 2, 8, 8] r>\n"
      "{\n" +
      MarkNode("a", "img", "detector_forward", "input", "input", 0, 0,
               {1, 3, 8, 8}) +
      "  c = Conv(a, w)\n"
      "  r = Relu(c)\n" +
      MarkNode("m", "r", "yolo_head", "input", "pred_maps.0", 0, 0,
               {1, 2, 8, 8}) +
      "  p = ReduceMean <axes = [2, 3], keepdims = 0> (m)\n" +
      MarkNode("dets", "p", "detector_forward", "output", "dets", 0, 0,
               {1, 2}) +
      "}\n");
  test::NameNodes(&model);
  return model;
}

PartitionSpec Spec(std::vector<std::string> start, std::vector<std::string> end,
                   std::string save_file = "part.onnx") {
  PartitionSpec spec;
  spec.save_file = std::move(save_file);
  spec.start = std::move(start);
  spec.end = std::move(end);
  return spec;
}

TEST(MarkedModel, ChainBetweenTwoMarkersKeepsTheNodesBetweenThem) {
  const MarkedModel marked(Detector(), "detector.onnx");
  const auto part = marked.Extract(
      Spec({"detector_forward:input"}, {"yolo_head:input"}, "yolov3.onnx"));
  EXPECT_EQ(OpTypes(part.graph()), Names({"Conv", "Relu"}));
  EXPECT_EQ(InputNames(part.graph()), Names({"input"}));
  EXPECT_EQ(OutputNames(part.graph()), Names({"pred_maps.0"}));
  EXPECT_EQ(InitializerNames(part.graph()), Names({"w"}));
  EXPECT_EQ(part.graph().node(0).input(0), "input");
  EXPECT_EQ(part.graph().node(1).output(0), "pred_maps.0");
  EXPECT_EQ(part.graph().name(), "yolov3");
  EXPECT_FALSE(HasMarks(part.graph()));
  EXPECT_EQ(Dims(part.graph().input(0)), Names({"1", "3", "8", "8"}));
  EXPECT_EQ(Dims(part.graph().output(0)), Names({"1", "2", "8", "8"}));
  EXPECT_NO_THROW(CheckModel(part));
}

TEST(MarkedModel, PartitionsChainIntoTheWholeModel) {
  const MarkedModel marked(Detector());
  const auto head = marked.Extract(
      Spec({"yolo_head:input"}, {"detector_forward:output"}));
  EXPECT_EQ(OpTypes(head.graph()), Names({"ReduceMean"}));
  EXPECT_EQ(InputNames(head.graph()), Names({"pred_maps.0"}));
  EXPECT_EQ(OutputNames(head.graph()), Names({"dets"}));
  EXPECT_TRUE(InitializerNames(head.graph()).empty());
  EXPECT_NO_THROW(CheckModel(head));

  const auto whole = marked.Extract(
      Spec({"detector_forward:input"}, {"detector_forward:output"}));
  EXPECT_EQ(OpTypes(whole.graph()), Names({"Conv", "Relu", "ReduceMean"}));
  EXPECT_EQ(InputNames(whole.graph()), Names({"input"}));
  EXPECT_EQ(OutputNames(whole.graph()), Names({"dets"}));
  EXPECT_NO_THROW(CheckModel(whole));
}

TEST(MarkedModel, ExtractLeavesTheModelUnchanged) {
  const onnx::ModelProto original = Detector();
  const MarkedModel marked(original);
  marked.Extract(Spec({"detector_forward:input"}, {"yolo_head:input"}));
  marked.Extract(Spec({"yolo_head:input"}, {"detector_forward:output"}));
  EXPECT_EQ(marked.model().SerializeAsString(), original.SerializeAsString());
}

TEST(MarkedModel, IntermediatesKeepTheModelsValueInfo) {
  PartitionOptions options;
  options.infer_shapes = false;
  const MarkedModel marked(Detector());
  const auto part = marked.Extract(
      Spec({"detector_forward:input"}, {"yolo_head:input"}), options);
  EXPECT_EQ(test::ValueInfoNames(part.graph()), Names({"c"}));
  EXPECT_EQ(Dims(FindValue(part.graph(), "c")), Names({"1", "2", "8", "8"}));
}

TEST(MarkedModel, RecordsSourceAndMarkersAndKeepsModelFields) {
  onnx::ModelProto model = Detector();
  model.set_producer_version("1.2");
  model.set_model_version(7);
  model.set_doc_string("a detector");
  auto* prop = model.add_metadata_props();
  prop->set_key("author");
  prop->set_value("tests");
  const MarkedModel marked(model, "work/detector.onnx");
  const auto part = marked.Extract(
      Spec({"detector_forward:input"}, {"yolo_head:input"}));
  EXPECT_EQ(part.ir_version(), 8);
  EXPECT_EQ(part.producer_name(), "unit-test");
  EXPECT_EQ(part.producer_version(), "1.2");
  EXPECT_EQ(part.model_version(), 7);
  EXPECT_EQ(part.doc_string(), "a detector");
  EXPECT_EQ(Metadata(part, "author"), "tests");
  EXPECT_EQ(Metadata(part, "mmdeploy_mark.source"), "work/detector.onnx");
  EXPECT_EQ(Metadata(part, "mmdeploy_mark.start"), "detector_forward:input");
  EXPECT_EQ(Metadata(part, "mmdeploy_mark.end"), "yolo_head:input");
}

TEST(MarkedModel, DropsTheMarkDomainButKeepsOtherOpsets) {
  auto model = ParseText(
      "<ir_version: 8, opset_import: [\"\" : 13, \"mmdeploy\" : 1, "
      "\"com.example\" : 1]>\n"
      "g (float[2] x) => (float[2] y) {\n" +
      MarkNode("a", "x", "f", "input", "in") +
      "  b = com.example.Custom (a)\n"
      "  c = Relu(b)\n" +
      MarkNode("y", "c", "f", "output", "out") + "}\n");
  const MarkedModel marked(model);
  const auto part = marked.Extract(Spec({"f:input"}, {"f:output"}));
  EXPECT_EQ(OpsetDomains(part), Names({"", "com.example"}));
  EXPECT_EQ(OpTypes(part.graph()), Names({"Custom", "Relu"}));
}

TEST(MarkedModel, KeepsTheMarkDomainWhileOtherMmdeployOpsRemain) {
  auto model = ParseText(Header() + "g (float[2] x) => (float[2] y) {\n" +
                         MarkNode("a", "x", "f", "input", "in") +
                         "  b = mmdeploy.TRTBatchedNMS (a)\n" +
                         MarkNode("y", "b", "f", "output", "out") + "}\n");
  const auto part =
      MarkedModel(model).Extract(Spec({"f:input"}, {"f:output"}));
  EXPECT_EQ(OpsetDomains(part), Names({"", "mmdeploy"}));
}

TEST(MarkedModel, DiamondKeepsEveryBranchOnce) {
  auto model = ParseText(Header() +
                         "g (float[2, 3] x) => (float[2, 3] y) {\n" +
                         MarkNode("a", "x", "f", "input", "in") +
                         "  b = Relu(a)\n"
                         "  c = Sigmoid(b)\n"
                         "  d = Tanh(b)\n"
                         "  e = Add(c, d)\n" +
                         MarkNode("y", "e", "f", "output", "out") + "}\n");
  const auto part =
      MarkedModel(model).Extract(Spec({"f:input"}, {"f:output"}));
  EXPECT_EQ(OpTypes(part.graph()), Names({"Relu", "Sigmoid", "Tanh", "Add"}));
  EXPECT_EQ(OutputNames(part.graph()), Names({"out"}));
  EXPECT_NO_THROW(CheckModel(part));
}

// Two marked inputs and two marked outputs of one function.
onnx::ModelProto TwoByTwo() {
  return ParseText(Header() +
                   "g (float[2] x0, float[2] x1) => (float[2] y0, float[2] y1)"
                   " {\n" +
                   MarkNode("a0", "x0", "f", "input", "lhs", 0, 0, {2}) +
                   MarkNode("a1", "x1", "f", "input", "rhs", 0, 1, {2}) +
                   "  s = Add(a0, a1)\n"
                   "  d = Sub(a0, a1)\n" +
                   MarkNode("y0", "s", "f", "output", "sum", 0, 0, {2}) +
                   MarkNode("y1", "d", "f", "output", "diff", 0, 1, {2}) +
                   "}\n");
}

TEST(MarkedModel, OneMarkerSelectsEveryMarkOfItsFunction) {
  const auto part =
      MarkedModel(TwoByTwo()).Extract(Spec({"f:input"}, {"f:output"}));
  EXPECT_EQ(InputNames(part.graph()), Names({"lhs", "rhs"}));
  EXPECT_EQ(OutputNames(part.graph()), Names({"sum", "diff"}));
  EXPECT_EQ(OpTypes(part.graph()), Names({"Add", "Sub"}));
  EXPECT_NO_THROW(CheckModel(part));
}

TEST(MarkedModel, OutputNamesRenameTheOutputsInOrder) {
  auto spec = Spec({"f:input"}, {"f:output"});
  spec.output_names = {"plus", "minus"};
  const auto part = MarkedModel(TwoByTwo()).Extract(spec);
  EXPECT_EQ(OutputNames(part.graph()), Names({"plus", "minus"}));
  EXPECT_EQ(part.graph().node(0).output(0), "plus");
  EXPECT_NO_THROW(CheckModel(part));
}

TEST(MarkedModel, OutputNamesCountMismatchListsTheOutputs) {
  auto spec = Spec({"f:input"}, {"f:output"});
  spec.output_names = {"only_one"};
  EXPECT_THROW_WITH(MarkedModel(TwoByTwo()).Extract(spec), PartitionError,
                    "output_names gives 1 names", "'sum'", "'diff'");
}

TEST(MarkedModel, NameMapsOverrideByNameOrByMarkerAndName) {
  auto spec = Spec({"f:input"}, {"f:output"});
  spec.start_name_map = {{"lhs", "left"}, {"f:input:rhs", "right"}};
  spec.end_name_map = {{"f:output:diff", "delta"}};
  const auto part = MarkedModel(TwoByTwo()).Extract(spec);
  EXPECT_EQ(InputNames(part.graph()), Names({"left", "right"}));
  EXPECT_EQ(OutputNames(part.graph()), Names({"sum", "delta"}));
  EXPECT_NO_THROW(CheckModel(part));
}

TEST(MarkedModel, UnusedStartInputsAreDropped) {
  // Only `sum` is wanted and it needs both inputs; `neg` needs only x0.
  auto model = ParseText(Header() +
                         "g (float[2] x0, float[2] x1) => (float[2] y) {\n" +
                         MarkNode("a0", "x0", "f", "input", "lhs", 0, 0) +
                         MarkNode("a1", "x1", "f", "input", "rhs", 0, 1) +
                         "  n = Neg(a0)\n" +
                         MarkNode("y", "n", "g", "output", "neg") + "}\n");
  const auto part =
      MarkedModel(model).Extract(Spec({"f:input"}, {"g:output"}));
  EXPECT_EQ(InputNames(part.graph()), Names({"lhs"}));
  EXPECT_NO_THROW(CheckModel(part));
}

TEST(MarkedModel, KeepsOnlyTheInitializersItUses) {
  auto model = ParseText(
      Header() + "g (float[2] x) => (float[2] y)\n"
      "<float[2] w1 = {1.0, 2.0}, float[2] w2 = {3.0, 4.0},"
      " float[2] w3 = {5.0, 6.0}>\n{\n" +
      MarkNode("a", "x", "f", "input", "in", 0, 0, {2}) +
      "  b = Mul(a, w1)\n" +
      MarkNode("m", "b", "g", "input", "mid", 0, 0, {2}) +
      "  c = Add(m, w2)\n"
      "  d = Mul(c, w1)\n" +
      MarkNode("y", "d", "g", "output", "out") + "}\n");
  const MarkedModel marked(model);
  const auto first = marked.Extract(Spec({"f:input"}, {"g:input"}));
  EXPECT_EQ(InitializerNames(first.graph()), Names({"w1"}));
  const auto second = marked.Extract(Spec({"g:input"}, {"g:output"}));
  EXPECT_EQ(InitializerNames(second.graph()), Names({"w1", "w2"}));
  EXPECT_NO_THROW(CheckModel(first));
  EXPECT_NO_THROW(CheckModel(second));
}

TEST(MarkedModel, ConstantNodesAreAllowedLeaves) {
  auto model = ParseText(Header() + "g (float[2] x) => (float[2] y) {\n" +
                         MarkNode("a", "x", "f", "input", "in") +
                         "  k = Constant <value = float[2] {1.0, 2.0}> ()\n"
                         "  b = Add(a, k)\n" +
                         MarkNode("y", "b", "f", "output", "out") + "}\n");
  const auto part =
      MarkedModel(model).Extract(Spec({"f:input"}, {"f:output"}));
  EXPECT_EQ(OpTypes(part.graph()), Names({"Constant", "Add"}));
  EXPECT_NO_THROW(CheckModel(part));
}

// Flatten through a shape computed from the input: Shape -> Gather ->
// Unsqueeze -> Concat -> Reshape.
onnx::ModelProto ShapeComputing() {
  return ParseText(
      Header() + "g (float[1, 3, 4, 4] x) => (float[1, 48] y)\n"
      "<int64 zero = {0}, int64[1] axes0 = {0}, int64[1] features = {48},"
      " float[1, 3, 4, 4] a2, float[1, 48] flat>\n{\n" +
      MarkNode("a", "x", "f", "input", "input", 0, 0, {1, 3, 4, 4}) +
      "  a2 = Relu(a)\n"
      "  s = Shape(a2)\n"
      "  n = Gather <axis = 0> (s, zero)\n"
      "  n1 = Unsqueeze(n, axes0)\n"
      "  shape = Concat <axis = 0> (n1, features)\n"
      "  flat = Reshape(a2, shape)\n" +
      MarkNode("y", "flat", "f", "output", "output", 0, 0, {1, 48}) +
      "}\n");
}

TEST(MarkedModel, ShapeComputingSubgraphIsIncluded) {
  const auto part =
      MarkedModel(ShapeComputing()).Extract(Spec({"f:input"}, {"f:output"}));
  EXPECT_EQ(OpTypes(part.graph()), Names({"Relu", "Shape", "Gather",
                                          "Unsqueeze", "Concat", "Reshape"}));
  EXPECT_EQ(InitializerNames(part.graph()),
            Names({"zero", "axes0", "features"}));
  EXPECT_NO_THROW(CheckModel(part));
}

TEST(MarkedModel, DynamicAxesNameDimsAndInferenceFollowsThem) {
  auto spec = Spec({"f:input"}, {"f:output"});
  spec.dynamic_axes = {{"input", {{0, "batch"}}}, {"output", {{0, "batch"}}}};
  const auto part = MarkedModel(ShapeComputing()).Extract(spec);
  EXPECT_EQ(Dims(part.graph().input(0)), Names({"batch", "3", "4", "4"}));
  // onnx 1.12 cannot follow the batch dim through Shape -> Gather ->
  // Reshape, so the second dim is unknown rather than the export's value;
  // dynamic_axes names the first.
  EXPECT_EQ(Dims(part.graph().output(0)), Names({"batch", "?"}));
  // The stale static value_info of the intermediates was re-inferred.
  EXPECT_EQ(Dims(FindValue(part.graph(), "a2")),
            Names({"batch", "3", "4", "4"}));
  EXPECT_NO_THROW(CheckModel(part));
}

TEST(MarkedModel, DynamicInputAxisPropagatesToOutputsNotNamedDynamic) {
  auto spec = Spec({"detector_forward:input"}, {"yolo_head:input"});
  spec.dynamic_axes = {{"input", {{0, "batch"}, {2, "height"}, {3, "width"}}}};
  const auto part = MarkedModel(Detector()).Extract(spec);
  EXPECT_EQ(Dims(part.graph().input(0)),
            Names({"batch", "3", "height", "width"}));
  // Conv's inference keeps the batch symbol; the spatial dims become unknown
  // instead of the export's stale 8 x 8.
  const Names output_dims = Dims(part.graph().output(0));
  ASSERT_EQ(output_dims.size(), 4u);
  EXPECT_EQ(output_dims[0], "batch");
  EXPECT_EQ(output_dims[1], "2");
  EXPECT_NE(output_dims[2], "8");
  EXPECT_NE(output_dims[3], "8");
  EXPECT_EQ(Dims(FindValue(part.graph(), "c")), output_dims);
  EXPECT_NO_THROW(CheckModel(part));
}

TEST(MarkedModel, WithoutDynamicAxesStaticDimsAreKept) {
  const auto part = MarkedModel(Detector()).Extract(
      Spec({"detector_forward:input"}, {"yolo_head:input"}));
  EXPECT_EQ(Dims(FindValue(part.graph(), "c")), Names({"1", "2", "8", "8"}));
}

TEST(MarkedModel, DynamicAxesNamingUnknownTensorIsAnError) {
  auto spec = Spec({"detector_forward:input"}, {"yolo_head:input"});
  spec.dynamic_axes = {{"img", {{0, "batch"}}}};
  EXPECT_THROW_WITH(MarkedModel(Detector()).Extract(spec), PartitionError,
                    "'img'", "inputs: input; outputs: pred_maps.0");
}

TEST(MarkedModel, DynamicAxisOutOfRangeIsAnError) {
  auto spec = Spec({"detector_forward:input"}, {"yolo_head:input"});
  spec.dynamic_axes = {{"pred_maps.0", {{4, "w"}}}};
  EXPECT_THROW_WITH(MarkedModel(Detector()).Extract(spec), PartitionError,
                    "axis 4 of output 'pred_maps.0'", "rank 4");
}

// If whose branches read outer-scope tensors, including a mark's output.
onnx::ModelProto Conditional() {
  return ParseText(
      Header() + "g (float[2] x, bool cond) => (float[2] y) {\n" +
      MarkNode("a", "x", "f", "input", "in", 0, 0, {2}) +
      MarkNode("ca", "cond", "f", "input", "cond", 0, 1, {}, 9) +
      "  t = Relu(a)\n"
      "  k = Neg(a)\n"
      "  r = If (ca) <then_branch = then_g () => (float[2] o1) {"
      " o1 = Add(t, a) },"
      " else_branch = else_g () => (float[2] o2) { o2 = Mul(k, k) }>\n" +
      MarkNode("y", "r", "f", "output", "out", 0, 0, {2}) + "}\n");
}

TEST(MarkedModel, IfBranchesReadingOuterTensorsPullInTheirProducers) {
  const auto part =
      MarkedModel(Conditional()).Extract(Spec({"f:input"}, {"f:output"}));
  EXPECT_EQ(OpTypes(part.graph()), Names({"Relu", "Neg", "If"}));
  EXPECT_EQ(InputNames(part.graph()), Names({"in", "cond"}));
  const auto& then_branch = part.graph().node(2).attribute(0).g();
  // The branch read the mark's output; it now reads the renamed input.
  EXPECT_EQ(then_branch.node(0).input(1), "in");
  EXPECT_NO_THROW(CheckModel(part));
}

TEST(MarkedModel, MarkInsideIfBodyIsStrippedFromThePartition) {
  auto model = ParseText(
      Header() + "g (float[2] x, bool cond) => (float[2] y) {\n" +
      MarkNode("a", "x", "f", "input", "in", 0, 0, {2}) +
      "  r = If (cond) <then_branch = then_g () => (float[2] o1) {"
      " t1 = Relu(a)\n" +
      MarkNode("o1", "t1", "inner", "output", "inner_out") +
      " }, else_branch = else_g () => (float[2] o2) { o2 = Neg(a) }>\n" +
      MarkNode("y", "r", "f", "output", "out", 0, 0, {2}) + "}\n");
  PartitionOptions options;
  options.expose_uncovered_inputs = true;  // cond is a plain graph input
  const auto part =
      MarkedModel(model).Extract(Spec({"f:input"}, {"f:output"}), options);
  EXPECT_FALSE(HasMarks(part.graph()));
  EXPECT_EQ(OpsetDomains(part), Names({""}));
  const auto& then_branch = part.graph().node(0).attribute(0).g();
  EXPECT_EQ(OpTypes(then_branch), Names({"Relu"}));
  EXPECT_EQ(then_branch.node(0).output(0), "o1");
  EXPECT_NO_THROW(CheckModel(part));
}

TEST(MarkedModel, MarkInsideIfBodyCannotBeABoundary) {
  auto model = ParseText(
      Header() + "g (float[2] x, bool cond) => (float[2] y) {\n" +
      "  r = If (cond) <then_branch = then_g () => (float[2] o1) {" +
      MarkNode("o1", "x", "inner", "output", "inner_out") +
      " }, else_branch = else_g () => (float[2] o2) { o2 = Neg(x) }>\n" +
      "  y = Relu(r)\n}\n");
  test::NameNodes(&model);
  EXPECT_THROW_WITH(MarkedModel(model).Extract(Spec({}, {"inner:output"})),
                    PartitionError, "'inner:output'", "'inner_out'",
                    "'If_0' (If)");
}

TEST(MarkedModel, LoopBodyReadingOuterTensorsPullsInTheirProducers) {
  auto model = ParseText(
      Header() +
      "g (float[2] x, int64 trips, bool go) => (float[2] y) {\n" +
      MarkNode("a", "x", "f", "input", "in", 0, 0, {2}) +
      "  t = Relu(a)\n"
      "  unrelated = Neg(a)\n"
      "  r = Loop (trips, go, a) <body = step (int64 i, bool c, float[2] v)"
      " => (bool c_out, float[2] v_out) {\n"
      "    c_out = Identity(c)\n"
      "    v_out = Add(v, t)\n"
      "  }>\n" +
      MarkNode("y", "r", "f", "output", "out", 0, 0, {2}) + "}\n");
  PartitionOptions options;
  options.expose_uncovered_inputs = true;  // trips and go are plain inputs
  const auto part =
      MarkedModel(model).Extract(Spec({"f:input"}, {"f:output"}), options);
  EXPECT_EQ(OpTypes(part.graph()), Names({"Relu", "Loop"}));
  EXPECT_EQ(InputNames(part.graph()), Names({"in", "trips", "go"}));
  EXPECT_EQ(part.graph().node(1).input(2), "in");
  EXPECT_NO_THROW(CheckModel(part));
}

// Not a timing test: many marks and many partitions from one index, to
// exercise the lookups that keep the pass linear.
TEST(MarkedModel, ManyMarksManyPartitions) {
  const int stages = 1500;
  std::string body;
  std::string previous = "x";
  for (int i = 0; i < stages; ++i) {
    const std::string id = std::to_string(i);
    body += MarkNode("m" + id, previous, "stage", "input", "s" + id, i, 0,
                     {2});
    body += "  r" + id + " = Relu(m" + id + ")\n";
    previous = "r" + id;
  }
  body += MarkNode("y", previous, "stage", "input", "last", stages, 0, {2});
  const MarkedModel marked(
      ParseText(Header() + "g (float[2] x) => (float[2] y) {\n" + body +
                "}\n"));
  EXPECT_EQ(marked.marks().size(), static_cast<size_t>(stages + 1));
  std::vector<PartitionSpec> specs;
  for (int i = 0; i < stages; ++i) {
    specs.push_back(Spec({"stage[" + std::to_string(i) + "]:input"},
                         {"stage[" + std::to_string(i + 1) + "]:input"}));
  }
  const auto parts = marked.ExtractAll(specs);
  ASSERT_EQ(parts.size(), static_cast<size_t>(stages));
  EXPECT_EQ(OpTypes(parts[700].graph()), Names({"Relu"}));
  EXPECT_EQ(InputNames(parts[700].graph()), Names({"s700"}));
  EXPECT_EQ(OutputNames(parts[700].graph()), Names({"s701"}));
  const auto whole = marked.Extract(
      Spec({"stage:input"}, {"stage[" + std::to_string(stages) + "]:input"}));
  EXPECT_EQ(whole.graph().node_size(), stages);
}

TEST(MarkedModel, MarkerMatchingNothingListsTheModelsMarkers) {
  EXPECT_THROW_WITH(
      MarkedModel(Detector()).Extract(
          Spec({"yolo_head[1]:input"}, {"detector_forward:output"})),
      MarkerNotFoundError,
      "marker 'yolo_head[1]:input' matches no Mark node; "
      "markers in this model: detector_forward:input, yolo_head:input, "
      "detector_forward:output");
}

TEST(MarkedModel, MalformedMarkerInSpecIsMarkerNotFound) {
  EXPECT_THROW(MarkedModel(Detector()).Extract(
                   Spec({"detector_forward"}, {"yolo_head:input"})),
               MarkerNotFoundError);
}

TEST(MarkedModel, UncoveredGraphInputIsNamedWithTheMarkers) {
  // y1 reaches the output without passing a start mark.
  auto model = ParseText(Header() +
                         "g (float[2] x0, float[2] x1) => (float[2] y) {\n" +
                         MarkNode("a", "x0", "f", "input", "in") +
                         "  s = Add(a, x1)\n" +
                         MarkNode("y", "s", "f", "output", "out") + "}\n");
  test::NameNodes(&model);
  EXPECT_THROW_WITH(MarkedModel(model).Extract(Spec({"f:input"}, {"f:output"})),
                    UncoveredTensorError, "graph input 'x1'", "'Add_1' (Add)",
                    "markers in this model: f:input",
                    "expose_uncovered_inputs");
}

TEST(MarkedModel, UncoveredInputsCanBeExposed) {
  auto model = ParseText(Header() +
                         "g (float[2] x0, float[2] x1) => (float[2] y) {\n" +
                         MarkNode("a", "x0", "f", "input", "in") +
                         "  s = Add(a, x1)\n" +
                         MarkNode("y", "s", "f", "output", "out") + "}\n");
  PartitionOptions options;
  options.expose_uncovered_inputs = true;
  const auto part =
      MarkedModel(model).Extract(Spec({"f:input"}, {"f:output"}), options);
  EXPECT_EQ(InputNames(part.graph()), Names({"in", "x1"}));
  EXPECT_EQ(Dims(part.graph().input(1)), Names({"2"}));
  EXPECT_NO_THROW(CheckModel(part));
}

TEST(MarkedModel, EmptyStartMeansTheGraphInputs) {
  const auto part = MarkedModel(Detector()).Extract(
      Spec({}, {"yolo_head:input"}));
  EXPECT_EQ(InputNames(part.graph()), Names({"img"}));
  EXPECT_EQ(OpTypes(part.graph()), Names({"Conv", "Relu"}));
  EXPECT_NO_THROW(CheckModel(part));
}

TEST(MarkedModel, EmptyEndMeansTheGraphOutputs) {
  const auto part = MarkedModel(Detector()).Extract(
      Spec({"yolo_head:input"}, {}));
  EXPECT_EQ(OutputNames(part.graph()), Names({"dets"}));
  EXPECT_EQ(OpTypes(part.graph()), Names({"ReduceMean"}));
  EXPECT_NO_THROW(CheckModel(part));
}

TEST(MarkedModel, StartEqualToEndHasNoNodes) {
  auto model = ParseText(Header() + "g (float[2] x) => (float[2] y) {\n" +
                         MarkNode("a", "x", "f", "input", "in") +
                         MarkNode("b", "a", "f", "output", "out") +
                         "  y = Relu(b)\n}\n");
  EXPECT_THROW_WITH(MarkedModel(model).Extract(Spec({"f:input"}, {"f:output"})),
                    PartitionError, "partition has no nodes", "'out'");
}

TEST(MarkedModel, OutputThatIsAnInputIsAnError) {
  auto model = ParseText(Header() +
                         "g (float[2] x) => (float[2] y, float[2] z) {\n" +
                         MarkNode("a", "x", "f", "input", "in") +
                         MarkNode("z", "a", "g", "output", "passthrough") +
                         "  r = Relu(a)\n" +
                         MarkNode("y", "r", "g", "output", "relu", 0, 1) +
                         "}\n");
  EXPECT_THROW_WITH(MarkedModel(model).Extract(Spec({"f:input"}, {"g:output"})),
                    PartitionError, "'passthrough'", "is the partition input");
}

TEST(MarkedModel, DuplicateBoundaryNamesAreAnError) {
  auto spec = Spec({"f:input"}, {"f:output"});
  spec.end_name_map = {{"sum", "lhs"}};
  EXPECT_THROW_WITH(MarkedModel(TwoByTwo()).Extract(spec), PartitionError,
                    "name 'lhs' is given to both", "Mark 'sum'");
}

TEST(MarkedModel, BoundaryNameClashingWithATensorIsAnError) {
  auto spec = Spec({"detector_forward:input"}, {"yolo_head:input"});
  spec.start_name_map = {{"input", "c"}};  // c is the Conv's output
  EXPECT_THROW_WITH(MarkedModel(Detector()).Extract(spec), PartitionError,
                    "another tensor named 'c'", "Mark 'input'");
}

TEST(MarkedModel, TwoOutputsOfOneTensorGetAnIdentity) {
  auto model = ParseText(Header() +
                         "g (float[2] x) => (float[2] y, float[2] z) {\n" +
                         MarkNode("a", "x", "f", "input", "in") +
                         "  r = Relu(a)\n" +
                         MarkNode("y", "r", "g", "output", "first") +
                         MarkNode("z", "r", "h", "output", "second") + "}\n");
  const auto part =
      MarkedModel(model).Extract(Spec({"f:input"}, {"g:output", "h:output"}));
  EXPECT_EQ(OpTypes(part.graph()), Names({"Relu", "Identity"}));
  EXPECT_EQ(OutputNames(part.graph()), Names({"first", "second"}));
  EXPECT_NO_THROW(CheckModel(part));
}

TEST(MarkedModel, ChainedMarksCollapse) {
  // An output mark feeding the next function's input mark.
  auto model = ParseText(Header() + "g (float[2] x) => (float[2] y) {\n" +
                         MarkNode("a", "x", "f", "input", "in", 0, 0, {2}) +
                         "  r = Relu(a)\n" +
                         MarkNode("ro", "r", "f", "output", "f_out", 0, 0,
                                  {2}) +
                         MarkNode("gi", "ro", "g", "input", "g_in", 0, 0, {2}) +
                         "  n = Neg(gi)\n" +
                         MarkNode("y", "n", "g", "output", "g_out", 0, 0, {2}) +
                         "}\n");
  const MarkedModel marked(model);
  const auto first = marked.Extract(Spec({"f:input"}, {"g:input"}));
  EXPECT_EQ(OpTypes(first.graph()), Names({"Relu"}));
  EXPECT_EQ(OutputNames(first.graph()), Names({"g_in"}));
  const auto second = marked.Extract(Spec({"f:output"}, {"g:output"}));
  EXPECT_EQ(InputNames(second.graph()), Names({"f_out"}));
  EXPECT_EQ(OpTypes(second.graph()), Names({"Neg"}));
  EXPECT_NO_THROW(CheckModel(first));
  EXPECT_NO_THROW(CheckModel(second));
}

TEST(MarkedModel, ExtractAllAddsThePartitionAsContext) {
  const MarkedModel marked(Detector());
  const std::vector<PartitionSpec> specs = {
      Spec({"detector_forward:input"}, {"yolo_head:input"}, "yolov3.onnx"),
      Spec({"yolo_head:input"}, {"nms:output"}, "post.onnx")};
  EXPECT_THROW_WITH(marked.ExtractAll(specs), MarkerNotFoundError,
                    "'nms:output'", "partition 1 (save_file 'post.onnx')");
}

TEST(MarkedModel, ExtractAllReturnsOnePartitionPerSpec) {
  const MarkedModel marked(Detector());
  const auto parts = marked.ExtractAll(
      {Spec({"detector_forward:input"}, {"yolo_head:input"}, "a.onnx"),
       Spec({"yolo_head:input"}, {"detector_forward:output"}, "b.onnx")});
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].graph().name(), "a");
  EXPECT_EQ(parts[1].graph().name(), "b");
}

TEST(MarkedModel, MalformedGraphIsRejectedWhenIndexed) {
  auto model = ParseText(Header() + "g (float[2] x) => (float[2] y) {\n"
                                    "  y = Relu(x)\n"
                                    "  y = Neg(x)\n}\n");
  EXPECT_THROW_WITH(MarkedModel{model}, MalformedModelError,
                    "tensor 'y' is produced by two nodes");
}

TEST(MarkedModel, ModelWithoutGraphIsMalformed) {
  onnx::ModelProto model;
  model.set_ir_version(8);
  EXPECT_THROW_WITH((MarkedModel{model, "empty.onnx"}), MalformedModelError,
                    "model 'empty.onnx' has no graph");
}

TEST(MarkedModel, UsedSparseInitializersAreKept) {
  auto model = ParseText(Header() + "g (float[2] x) => (float[2] y) {\n" +
                         MarkNode("a", "x", "f", "input", "in", 0, 0, {2}) +
                         "  b = Add(a, sparse_w)\n  c = Add(a, unused_w)\n" +
                         MarkNode("y", "b", "f", "output", "out", 0, 0, {2}) +
                         "}\n");
  for (const char* name : {"sparse_w", "unused_w"}) {
    auto* sparse = model.mutable_graph()->add_sparse_initializer();
    sparse->add_dims(2);
    sparse->mutable_values()->set_name(name);
    sparse->mutable_values()->set_data_type(1);
    sparse->mutable_values()->add_dims(1);
    sparse->mutable_values()->add_float_data(1.0f);
    sparse->mutable_indices()->set_data_type(7);
    sparse->mutable_indices()->add_dims(1);
    sparse->mutable_indices()->add_int64_data(0);
  }
  const auto part =
      MarkedModel(model).Extract(Spec({"f:input"}, {"f:output"}));
  ASSERT_EQ(part.graph().sparse_initializer_size(), 1);
  EXPECT_EQ(part.graph().sparse_initializer(0).values().name(), "sparse_w");
  EXPECT_EQ(part.graph().input_size(), 1);
}

TEST(MarkedModel, MovedModelStillExtracts) {
  MarkedModel first(Detector());
  MarkedModel second = std::move(first);
  EXPECT_EQ(second.marks().size(), 3u);
  EXPECT_NO_THROW(second.Extract(
      Spec({"detector_forward:input"}, {"yolo_head:input"})));
}

}  // namespace
}  // namespace mmdeploy::partition
