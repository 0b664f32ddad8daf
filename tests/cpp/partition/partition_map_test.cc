// The partition map's model: blocks, boundary edges with names, types and
// marks, drawing order and where each mark sits, for cuts of small marked
// models.
#include <gtest/gtest.h>
#include <mmdeploy/partition/partition.h>
#include <mmdeploy/partition/partition_map.h>

#include <string>
#include <utility>
#include <vector>

#include "test_models.h"

namespace mmdeploy::partition {
namespace {

using test::Header;
using test::MarkNode;
using test::Names;
using test::ParseText;

// x -> [net:input] -> Add(b) -> Relu -> [head:input feat] -> Sigmoid
//   -> [net:output] -> out; batch is a dynamic dim.
onnx::ModelProto Net() {
  auto model = ParseText(
      Header() +
      "net (float[batch, 4] x) => (float[batch, 4] out)\n"
      "<float[4] b = {1.0, 2.0, 3.0, 4.0}>\n"
      "{\n" +
      MarkNode("a", "x", "net", "input", "input", 0, 0, {-1, 4}) +
      "  r = Add(a, b)\n"
      "  r2 = Relu(r)\n" +
      MarkNode("m", "r2", "head", "input", "feat", 0, 0, {-1, 4}) +
      "  s = Sigmoid(m)\n" +
      MarkNode("out", "s", "net", "output", "out", 0, 0, {-1, 4}) + "}\n");
  test::NameNodes(&model);
  return model;
}

// x -> [pre:input] -> Neg -> [mid:input] -> Relu -> [mid:output] -> Sigmoid
//   -> out: cutting "mid" leaves a "not cut" block on both of its sides.
onnx::ModelProto Sandwich() {
  auto model = ParseText(
      Header() +
      "sandwich (float[2] x) => (float[2] out)\n"
      "{\n" +
      MarkNode("a", "x", "pre", "input", "input", 0, 0, {2}) +
      "  n = Neg(a)\n" +
      MarkNode("m", "n", "mid", "input", "mid_in", 0, 0, {2}) +
      "  r = Relu(m)\n" +
      MarkNode("mo", "r", "mid", "output", "mid_out", 0, 0, {2}) +
      "  out = Sigmoid(mo)\n}\n");
  test::NameNodes(&model);
  return model;
}

PartitionSpec Spec(std::string save_file, std::string start, std::string end) {
  PartitionSpec spec;
  spec.save_file = std::move(save_file);
  spec.start = {std::move(start)};
  spec.end = {std::move(end)};
  return spec;
}

// The map of `model` cut at `specs`, each partition labelled by save_file.
PartitionMap MapOf(const onnx::ModelProto& model,
                   const std::vector<PartitionSpec>& specs) {
  const MarkedModel marked(model);
  const std::vector<onnx::ModelProto> parts = marked.ExtractAll(specs);
  std::vector<MapPartition> named;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    named.push_back({specs[i].save_file, &parts[i]});
  }
  return BuildPartitionMap(marked.model(), named, "net.onnx");
}

std::vector<std::string> Titles(const PartitionMap& map) {
  std::vector<std::string> titles;
  for (const Block& block : map.blocks) titles.push_back(block.title);
  return titles;
}

// "src -> dst: name type marks; ..." per edge, for whole-map comparisons.
std::vector<std::string> EdgeTexts(const PartitionMap& map) {
  std::vector<std::string> texts;
  for (const Edge& edge : map.edges) {
    std::string text =
        map.blocks[edge.src].title + " -> " + map.blocks[edge.dst].title + ":";
    for (const TensorLabel& t : edge.tensors) {
      text += " " + t.name + " " + t.TypeText();
      for (const auto& mark : t.marks) text += " <" + mark + ">";
    }
    texts.push_back(text);
  }
  return texts;
}

TEST(PartitionMap, ACutShowsItsPartitionWhatIsLeftAndTheTensorsBetween) {
  const PartitionMap map =
      MapOf(Net(), {Spec("part.onnx", "net:input", "head:input")});
  EXPECT_EQ(map.title, "net.onnx");
  EXPECT_EQ(map.total_nodes, 6);
  EXPECT_EQ(Titles(map),
            Names({"graph inputs", "part.onnx", "not cut", "graph outputs"}));
  ASSERT_EQ(map.Partitions().size(), 1u);
  const Block& part = *map.Partitions()[0];
  EXPECT_EQ(part.nodes, 2);
  EXPECT_EQ(part.param_bytes, 16);  // float[4]
  EXPECT_EQ(part.op_counts,
            (std::vector<std::pair<std::string, int64_t>>{{"Add", 1}, {"Relu", 1}}));
  EXPECT_TRUE(part.unlinked.empty());
  EXPECT_EQ(map.blocks[2].kind, BlockKind::kUncut);
  EXPECT_EQ(map.blocks[2].nodes, 1);
  EXPECT_EQ(map.blocks[2].param_bytes, 0);
  EXPECT_EQ(EdgeTexts(map),
            Names({"graph inputs -> part.onnx: input float32[batch, 4] <net[0]:input>",
                   // The type the export recorded on the mark (-1: unknown).
                   "part.onnx -> not cut: feat float32[?, 4] <head[0]:input>",
                   "not cut -> graph outputs: out float32[batch, 4] <net[0]:output>"}));
  ASSERT_EQ(map.marks.size(), 3u);
  EXPECT_EQ(map.marks[1].marker, "head[0]:input");
  EXPECT_EQ(map.marks[1].name, "feat");
  EXPECT_EQ(map.marks[1].dtype + map.marks[1].shape, "float32[?, 4]");
  EXPECT_EQ(map.marks[0].where, "graph inputs \xe2\x86\x92 part.onnx");
  EXPECT_EQ(map.marks[1].where, "part.onnx \xe2\x86\x92 not cut");
  EXPECT_EQ(map.marks[2].where, "not cut \xe2\x86\x92 graph outputs");
  EXPECT_EQ(map.BoundaryLabels().size(), 3u);
}

TEST(PartitionMap, EveryComputingNodeIsInAPartitionOrNotCut) {
  const PartitionMap whole = MapOf(
      Net(), {Spec("a.onnx", "net:input", "head:input"),
              Spec("b.onnx", "head:input", "net:output")});
  EXPECT_EQ(Titles(whole),
            Names({"graph inputs", "a.onnx", "b.onnx", "graph outputs"}));
  EXPECT_EQ(whole.blocks[1].nodes + whole.blocks[2].nodes, 3);
  EXPECT_EQ(EdgeTexts(whole)[1],
            "a.onnx -> b.onnx: feat float32[?, 4] <head[0]:input>");
}

TEST(PartitionMap, ARenamedGraphOutputShowsBothNames) {
  PartitionSpec head = Spec("head.onnx", "head:input", "net:output");
  head.output_names = {"final"};
  const PartitionMap map = MapOf(Net(), {head});
  EXPECT_EQ(Titles(map),
            Names({"graph inputs", "not cut", "head.onnx", "graph outputs"}));
  EXPECT_EQ(EdgeTexts(map).back(),
            "head.onnx -> graph outputs: final \xe2\x86\x92 out float32[batch, 4] "
            "<net[0]:output>");
  EXPECT_TRUE(map.blocks[2].unlinked.empty());
}

TEST(PartitionMap, ATensorFlowingBackUpIsAnEdgeToAnEarlierBlock) {
  const PartitionMap map =
      MapOf(Sandwich(), {Spec("mid.onnx", "mid:input", "mid:output")});
  // "not cut" runs first: its Neg is the first node that reads data.
  EXPECT_EQ(Titles(map),
            Names({"graph inputs", "not cut", "mid.onnx", "graph outputs"}));
  EXPECT_EQ(EdgeTexts(map),
            // No partition takes the graph input: it keeps its own name.
            Names({"graph inputs -> not cut: x float32[2] <pre[0]:input>",
                   "not cut -> mid.onnx: mid_in float32[2] <mid[0]:input>",
                   "not cut -> graph outputs: out float32[2]",
                   "mid.onnx -> not cut: mid_out float32[2] <mid[0]:output>"}));
  EXPECT_EQ(map.marks[2].where, "mid.onnx \xe2\x86\x92 not cut");
}

TEST(PartitionMap, NoPartitionsLeaveOneNotCutBlock) {
  const PartitionMap map = MapOf(Net(), {});
  EXPECT_EQ(Titles(map), Names({"graph inputs", "not cut", "graph outputs"}));
  EXPECT_EQ(map.blocks[1].nodes, 3);
  EXPECT_EQ(map.blocks[1].param_bytes, 16);
  EXPECT_EQ(map.marks[1].where, "inside not cut");
}

TEST(PartitionMap, HelpersSayCountsAndSizesAsPeopleDo) {
  EXPECT_EQ(CountText(1, "node"), "1 node");
  EXPECT_EQ(CountText(0, "mark"), "0 marks");
  EXPECT_EQ(FormatBytes(0), "0 B");
  EXPECT_EQ(FormatBytes(1023), "1023 B");
  EXPECT_EQ(FormatBytes(1024), "1.0 KiB");
  EXPECT_EQ(FormatBytes(9017753), "8.6 MiB");
  EXPECT_EQ(FormatBytes(int64_t{5} << 40), "5120.0 GiB");
  EXPECT_STREQ(BlockKindName(BlockKind::kUncut), "uncut");
}

}  // namespace
}  // namespace mmdeploy::partition
