#include "boundaries.h"

#include <gtest/gtest.h>

#include "test_models.h"

namespace mmdeploy::partition {
namespace {

using test::Header;
using test::MarkNode;
using test::Names;
using test::ParseText;

onnx::ModelProto ThreeMaps() {
  return ParseText(Header() + "g (float[2] x) => (float[2] y) {\n" +
                   MarkNode("a", "x", "head", "input", "pred_maps.0", 0, 0) +
                   MarkNode("b", "a", "head", "input", "pred_maps.1", 0, 1) +
                   MarkNode("c", "b", "head", "input", "pred_maps.2", 0, 2) +
                   MarkNode("d", "c", "head", "input", "other", 1, 0) +
                   "  y = Relu(d)\n}\n");
}

Names NamesOf(const std::vector<Boundary>& boundaries) {
  Names names;
  for (const auto& boundary : boundaries) names.push_back(boundary.name);
  return names;
}

TEST(ResolveBoundaries, StartsTakeTheTensorEnteringEachMark) {
  const auto model = ThreeMaps();
  const GraphIndex index(model.graph());
  const auto starts =
      ResolveBoundaries(index, {"head:input"}, BoundaryRole::kStart, {});
  ASSERT_EQ(starts.size(), 3u);
  EXPECT_EQ(NamesOf(starts), 
            Names({"pred_maps.0", "pred_maps.1", "pred_maps.2"}));
  EXPECT_EQ(starts[0].tensor, "x");
  EXPECT_EQ(starts[2].tensor, "b");
  EXPECT_EQ(starts[1].marker, "head:input");
  EXPECT_EQ(starts[1].mark, 1);
}

TEST(ResolveBoundaries, EndsTakeTheTensorLeavingEachMark) {
  const auto model = ThreeMaps();
  const GraphIndex index(model.graph());
  const auto ends =
      ResolveBoundaries(index, {"head[1]:input"}, BoundaryRole::kEnd, {});
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].tensor, "d");
  EXPECT_EQ(ends[0].name, "other");
}

TEST(ResolveBoundaries, NameMapByNameThenByMarkerAndName) {
  const auto model = ThreeMaps();
  const GraphIndex index(model.graph());
  const std::map<std::string, std::string> name_map = {
      {"pred_maps.0", "p0"},
      {"head:input:pred_maps.1", "p1"}};
  const auto starts =
      ResolveBoundaries(index, {"head:input"}, BoundaryRole::kStart, name_map);
  EXPECT_EQ(NamesOf(starts), Names({"p0", "p1", "pred_maps.2"}));
}

TEST(ResolveBoundaries, NameMapKeyMatchingNothingIsAnError) {
  const auto model = ThreeMaps();
  const GraphIndex index(model.graph());
  // The marker as written differs ("head:input" was given).
  const std::map<std::string, std::string> name_map = {
      {"head[0]:input:pred_maps.2", "p2"}};
  EXPECT_THROW_WITH(
      ResolveBoundaries(index, {"head:input"}, BoundaryRole::kStart, name_map),
      PartitionError, "start_name_map key 'head[0]:input:pred_maps.2'",
      "'pred_maps.0', 'pred_maps.1', 'pred_maps.2'");
  // An empty new name is the spec's own error: spec_test.cc.
}

TEST(ResolveBoundaries, NoMarkersMeansGraphInputsOrOutputs) {
  const auto model = ParseText(
      Header() + "g (float[2] x, float[2] w = {1.0, 2.0}) => (float[2] y) {\n"
      "  y = Mul(x, w)\n}\n");
  const GraphIndex index(model.graph());
  const auto starts = ResolveBoundaries(index, {}, BoundaryRole::kStart, {});
  EXPECT_EQ(NamesOf(starts), Names({"x"}));  // w has an initializer
  EXPECT_EQ(starts[0].mark, GraphIndex::kNone);
  const auto ends = ResolveBoundaries(index, {}, BoundaryRole::kEnd, {});
  EXPECT_EQ(NamesOf(ends), Names({"y"}));
}

TEST(ResolveBoundaries, UnknownMarkerListsTheModelsMarkers) {
  const auto model = ThreeMaps();
  const GraphIndex index(model.graph());
  EXPECT_THROW_WITH(
      ResolveBoundaries(index, {"head[2]:input"}, BoundaryRole::kStart, {}),
      MarkerNotFoundError, "marker 'head[2]:input' matches no Mark node",
      "markers in this model: head:input, head[1]:input");
}

TEST(ResolveBoundaries, ModelWithoutMarksSaysSo) {
  const auto model =
      ParseText(Header() + "g (float[2] x) => (float[2] y) { y = Relu(x) }");
  const GraphIndex index(model.graph());
  EXPECT_THROW_WITH(
      ResolveBoundaries(index, {"f:input"}, BoundaryRole::kStart, {}),
      MarkerNotFoundError, "'f:input'", "the model has no Mark nodes");
}

TEST(ResolveBoundaries, MalformedMarkerIsNamed) {
  const auto model = ThreeMaps();
  const GraphIndex index(model.graph());
  EXPECT_THROW_WITH(
      ResolveBoundaries(index, {"head:inputs"}, BoundaryRole::kEnd, {}),
      MarkerNotFoundError, "malformed marker 'head:inputs'",
      "markers in this model: head:input");
}

TEST(ApplyOutputNames, RenamesInOrderOrRejectsACountMismatch) {
  const auto model = ThreeMaps();
  const GraphIndex index(model.graph());
  auto ends = ResolveBoundaries(index, {"head:input"}, BoundaryRole::kEnd, {});
  ApplyOutputNames(index, {}, &ends);
  EXPECT_EQ(NamesOf(ends), 
            Names({"pred_maps.0", "pred_maps.1", "pred_maps.2"}));
  ApplyOutputNames(index, {"a", "b", "c"}, &ends);
  EXPECT_EQ(NamesOf(ends), Names({"a", "b", "c"}));
  EXPECT_THROW_WITH(ApplyOutputNames(index, {"a", "b"}, &ends), PartitionError,
                    "output_names gives 2 names (a, b)", "has 3 outputs",
                    "Mark 'pred_maps.2' (marker 'head:input')");
}

TEST(CheckBoundaryNames, SameMarkSelectedTwice) {
  const auto model = ThreeMaps();
  const GraphIndex index(model.graph());
  const auto starts = ResolveBoundaries(
      index, {"head[1]:input", "head[1]:input"}, BoundaryRole::kStart, {});
  EXPECT_THROW_WITH(CheckBoundaryNames(index, starts, {}), PartitionError,
                    "Mark 'other'", "selected twice");
}

TEST(CheckBoundaryNames, TwoBoundariesWithOneName) {
  const auto model = ThreeMaps();
  const GraphIndex index(model.graph());
  const auto starts =
      ResolveBoundaries(index, {"head:input"}, BoundaryRole::kStart, {});
  const auto ends =
      ResolveBoundaries(index, {"head[1]:input"}, BoundaryRole::kEnd,
                        {{"other", "pred_maps.1"}});
  EXPECT_THROW_WITH(CheckBoundaryNames(index, starts, ends), PartitionError,
                    "name 'pred_maps.1' is given to both",
                    "Mark 'other' (marker 'head[1]:input')");
}

TEST(CheckBoundaryNames, TwoStartsOnOneTensor) {
  const auto model = ParseText(
      Header() + "g (float[2] x) => (float[2] y, float[2] z) {\n" +
      MarkNode("y", "x", "f", "input", "first") +
      MarkNode("z", "x", "g", "input", "second") + "}\n");
  const GraphIndex index(model.graph());
  const auto starts = ResolveBoundaries(index, {"f:input", "g:input"},
                                        BoundaryRole::kStart, {});
  EXPECT_THROW_WITH(CheckBoundaryNames(index, starts, {}), PartitionError,
                    "Mark 'first'", "Mark 'second'", "tensor 'x'");
}

}  // namespace
}  // namespace mmdeploy::partition
