#include "build_partition.h"

#include <gtest/gtest.h>

#include "test_models.h"

namespace mmdeploy::partition {
namespace {

using test::Header;
using test::InputNames;
using test::MarkNode;
using test::Metadata;
using test::Names;
using test::OpTypes;
using test::ParseText;

// Runs the steps before BuildPartition the way MarkedModel::Extract does.
onnx::ModelProto Build(const onnx::ModelProto& model,
                       const PartitionSpec& spec,
                       const std::string& source = "") {
  const GraphIndex index(model.graph());
  const auto starts = ResolveBoundaries(index, spec.start, BoundaryRole::kStart,
                                        spec.start_name_map);
  auto ends = ResolveBoundaries(index, spec.end, BoundaryRole::kEnd,
                                spec.end_name_map);
  ApplyOutputNames(index, spec.output_names, &ends);
  std::vector<std::string> outputs;
  for (const auto& end : ends) outputs.push_back(end.tensor);
  std::unordered_set<std::string> inputs;
  for (const auto& start : starts) inputs.insert(start.tensor);
  const auto collection = CollectNodes(index, outputs, inputs);
  return BuildPartition(model, index, starts, ends, collection, spec, source);
}

PartitionSpec Spec(std::vector<std::string> start,
                   std::vector<std::string> end) {
  PartitionSpec spec;
  spec.start = std::move(start);
  spec.end = std::move(end);
  return spec;
}

TEST(BuildPartition, GraphNameComesFromTheSaveFile) {
  const auto model = ParseText(
      Header() + "g (float[2] x) => (float[2] y) {\n" +
      MarkNode("a", "x", "f", "input", "in") + "  r = Relu(a)\n" +
      MarkNode("y", "r", "f", "output", "out") + "}\n");
  auto spec = Spec({"f:input"}, {"f:output"});
  spec.save_file = "work/dir/backbone.onnx";
  EXPECT_EQ(Build(model, spec).graph().name(), "backbone");
  spec.save_file.clear();
  EXPECT_EQ(Build(model, spec).graph().name(), "partition");
}

TEST(BuildPartition, OurMetadataReplacesStaleEntries) {
  auto model = ParseText(Header() + "g (float[2] x) => (float[2] y) {\n" +
                         MarkNode("a", "x", "f", "input", "in") +
                         "  r = Relu(a)\n" +
                         MarkNode("y", "r", "f", "output", "out") + "}\n");
  auto* stale = model.add_metadata_props();
  stale->set_key(kMetadataStart);
  stale->set_value("from an earlier cut");
  const auto part = Build(model, Spec({"f:input"}, {"f:output"}), "m.onnx");
  EXPECT_EQ(Metadata(part, kMetadataStart), "f:input");
  EXPECT_EQ(Metadata(part, kMetadataSource), "m.onnx");
  int starts = 0;
  for (const auto& prop : part.metadata_props()) {
    starts += prop.key() == kMetadataStart;
  }
  EXPECT_EQ(starts, 1);
}

TEST(BuildPartition, SourceIsOmittedWhenUnknown) {
  const auto model = ParseText(
      Header() + "g (float[2] x) => (float[2] y) {\n" +
      MarkNode("a", "x", "f", "input", "in") + "  r = Relu(a)\n" +
      MarkNode("y", "r", "f", "output", "out") + "}\n");
  EXPECT_EQ(Metadata(Build(model, Spec({"f:input"}, {"f:output"})),
                     kMetadataSource),
            "<absent>");
}

TEST(BuildPartition, OldIrVersionsListInitializersAsInputs) {
  const auto model = ParseText(
      "<ir_version: 3, opset_import: [\"\" : 9, \"mmdeploy\" : 1]>\n"
      "g (float[2] x, float[2] w = {1.0, 2.0}) => (float[2] y) {\n" +
      MarkNode("a", "x", "f", "input", "in", 0, 0, {2}) +
      "  r = Mul(a, w)\n" +
      MarkNode("y", "r", "f", "output", "out", 0, 0, {2}) + "}\n");
  const auto part = Build(model, Spec({"f:input"}, {"f:output"}));
  EXPECT_EQ(InputNames(part.graph()), Names({"in", "w"}));
  EXPECT_NO_THROW(test::CheckModel(part));
}

TEST(BuildPartition, BodyDefiningABoundaryNameIsAClash) {
  // Renaming x to "inner" would make the branch read its own tensor.
  const auto model = ParseText(
      Header() + "g (float[2] x, bool c) => (float[2] y) {\n" +
      MarkNode("a", "x", "f", "input", "inner") +
      "  r = If (c) <then_branch = t () => (float[2] o) {"
      " inner = Relu(a)\n o = Add(inner, a) },"
      " else_branch = e () => (float[2] p) { p = Identity(a) }>\n" +
      MarkNode("y", "r", "f", "output", "out") + "}\n");
  auto spec = Spec({"f:input"}, {"f:output"});
  EXPECT_THROW_WITH(Build(model, spec), PartitionError,
                    "cannot name Mark 'inner' (marker 'f:input') 'inner'",
                    "another tensor named 'inner'");
}

onnx::ModelProto ConstantOutput() {
  return ParseText(Header() +
                   "g (float[2] x) => (float[2] y, float[2] z)\n"
                   "<float[2] w = {1.0, 2.0}>\n{\n" +
                   MarkNode("a", "x", "f", "input", "in", 0, 0, {2}) +
                   "  r = Mul(a, w)\n" +
                   MarkNode("y", "r", "f", "output", "out", 0, 0, {2}) +
                   MarkNode("z", "w", "g", "output", "weights", 0, 0, {2}) +
                   "}\n");
}

TEST(BuildPartition, OnlyConstantOutputsHaveNoNodes) {
  EXPECT_THROW_WITH(Build(ConstantOutput(), Spec({"f:input"}, {"g:output"})),
                    PartitionError, "partition has no nodes",
                    "end markers [g:output]");
}

TEST(BuildPartition, ConstantOutputBesideComputedOnesIsRenamed) {
  const auto part =
      Build(ConstantOutput(), Spec({"f:input"}, {"f:output", "g:output"}));
  EXPECT_EQ(OpTypes(part.graph()), Names({"Mul"}));
  EXPECT_EQ(test::InitializerNames(part.graph()), Names({"weights"}));
  EXPECT_EQ(part.graph().node(0).input(1), "weights");
  EXPECT_EQ(test::OutputNames(part.graph()), Names({"out", "weights"}));
  EXPECT_NO_THROW(test::CheckModel(part));
}

}  // namespace
}  // namespace mmdeploy::partition
