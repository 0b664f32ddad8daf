// The partition map's SVG: every boundary label and block title drawn,
// model strings escaped, a size that depends on blocks and boundaries and
// never on the node count; and the UTF-8 text it is made of.
#include <gtest/gtest.h>
#include <mmdeploy/partition/partition.h>
#include <mmdeploy/partition/partition_map.h>

#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "test_models.h"
#include "utf8_text.h"

namespace mmdeploy::partition {
namespace {

using test::Contains;

// `stages` marked stages of `relus` Relu nodes each: x -> [s0:input] ->
// Relu... -> [s0:output] -> [s1:input] -> ... -> out.
onnx::ModelProto Chain(int stages, int relus) {
  std::string body;
  std::string at = "x";
  for (int s = 0; s < stages; ++s) {
    const std::string stage = "s" + std::to_string(s);
    body += test::MarkNode(stage + "_in", at, stage, "input", stage + "_input");
    at = stage + "_in";
    for (int r = 0; r < relus; ++r) {
      const std::string out = stage + "_r" + std::to_string(r);
      body += "  " + out + " = Relu(" + at + ")\n";
      at = out;
    }
    body += test::MarkNode(stage + "_out", at, stage, "output", stage + "_output");
    at = stage + "_out";
  }
  body += "  out = Identity(" + at + ")\n";
  auto model = test::ParseText(test::Header() +
                               "chain (float[batch, 16] x) => (float[batch, 16] out)\n{\n" +
                               body + "}\n");
  test::NameNodes(&model);
  return model;
}

PartitionMap MapOf(const onnx::ModelProto& model,
                   const std::vector<PartitionSpec>& specs) {
  const MarkedModel marked(model);
  const auto parts = marked.ExtractAll(specs);
  std::vector<MapPartition> named;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    named.push_back({specs[i].save_file, &parts[i]});
  }
  return BuildPartitionMap(marked.model(), named, "chain.onnx");
}

std::vector<PartitionSpec> StageSpecs(int count) {
  std::vector<PartitionSpec> specs;
  for (int s = 0; s < count; ++s) {
    PartitionSpec spec;
    spec.save_file = "stage" + std::to_string(s) + ".onnx";
    spec.start = {"s" + std::to_string(s) + ":input"};
    spec.end = {"s" + std::to_string(s) + ":output"};
    specs.push_back(spec);
  }
  return specs;
}

int Attribute(const std::string& svg, const std::string& name) {
  std::smatch match;
  const std::regex pattern("<svg [^>]*\\b" + name + "=\"([0-9]+)\"");
  EXPECT_TRUE(std::regex_search(svg, match, pattern)) << name;
  return match.empty() ? -1 : std::stoi(match[1]);
}

TEST(MapSvg, EveryBlockAndBoundaryLabelIsDrawn) {
  const PartitionMap map = MapOf(Chain(4, 3), StageSpecs(3));
  const std::string svg = RenderMapSvg(map);
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  for (const Block& block : map.blocks) {
    EXPECT_TRUE(Contains(svg, "font-weight=\"bold\">" + block.title + "</text>"));
  }
  const auto labels = map.BoundaryLabels();
  EXPECT_EQ(labels.size(), 5u);  // input, 2 between stages, to "not cut", out
  for (const TensorLabel& label : labels) {
    EXPECT_TRUE(Contains(svg, "<tspan font-weight=\"bold\">" + label.name));
    EXPECT_TRUE(Contains(svg, label.TypeText()));
    for (const auto& mark : label.marks) EXPECT_TRUE(Contains(svg, mark));
  }
  EXPECT_TRUE(Contains(svg, "font-size=\"" + std::to_string(kMapFontPx) + "\""));
  EXPECT_TRUE(Contains(svg, "3 nodes \xc2\xb7 0 B parameters"));
  EXPECT_EQ(svg.find("scale("), std::string::npos);
  EXPECT_EQ(MapSvgFile(map), "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + svg);
}

TEST(MapSvg, SizeDependsOnPartitionsNotNodes) {
  const std::string small = RenderMapSvg(MapOf(Chain(4, 10), StageSpecs(3)));
  const std::string large = RenderMapSvg(MapOf(Chain(4, 2000), StageSpecs(3)));
  EXPECT_EQ(Attribute(small, "width"), Attribute(large, "width"));
  EXPECT_EQ(Attribute(small, "height"), Attribute(large, "height"));
  EXPECT_LE(Attribute(large, "width"), 1000);
  EXPECT_LE(Attribute(large, "height"), 1000);
  EXPECT_LT(large.size(), 20000u);
  EXPECT_TRUE(Contains(large, "2000 nodes"));
}

TEST(MapSvg, ModelStringsAreEscapedAndLongLinesCut) {
  PartitionMap map;
  map.title = "m";
  Block block;
  block.kind = BlockKind::kPartition;
  block.title = "<b onclick=x>&'\x01.onnx";
  map.blocks.push_back(block);
  Block outputs;
  outputs.kind = BlockKind::kOutputs;
  outputs.title = "graph outputs";
  map.blocks.push_back(outputs);
  const std::string long_name(150, 'n');
  map.edges.push_back({0, 1, {{"</text><script>", "float32", "[1]", {"f\"<b>[0]:output"}},
                              {long_name, "float32", "[1]", {}}}});
  const std::string svg = RenderMapSvg(map);
  EXPECT_EQ(svg.find("<b"), std::string::npos);
  EXPECT_EQ(svg.find("<script"), std::string::npos);
  EXPECT_TRUE(Contains(svg, "&lt;b onclick=x&gt;&amp;&#39;\xef\xbf\xbd.onnx"));
  EXPECT_TRUE(Contains(svg, "&lt;/text&gt;&lt;script&gt;"));
  EXPECT_TRUE(Contains(svg, "f&quot;&lt;b&gt;[0]:output"));
  // 99 characters and "…", the line's text in its tooltip.
  EXPECT_TRUE(Contains(svg, "<title>" + std::string(99, 'n') + "\xe2\x80\xa6"));
  EXPECT_EQ(svg.find(std::string(100, 'n') + "\xe2\x80\xa6"), std::string::npos);
}

TEST(Utf8Text, InvalidBytesBecomeReplacementCharacters) {
  EXPECT_EQ(DecodeUtf8("a\xff" "b"), U"a\ufffdb");
  EXPECT_EQ(DecodeUtf8("\xc0\xaf"), U"\ufffd\ufffd");      // overlong '/'
  EXPECT_EQ(DecodeUtf8("\xed\xa0\x80").size(), 3u);        // a surrogate
  EXPECT_EQ(DecodeUtf8("\xe2\x86\x92"), U"\u2192");
  const std::string text = "n\xc3\xa4me \xf0\x9f\x98\x80";
  EXPECT_EQ(DecodeUtf8(text).size(), 6u);
  EXPECT_EQ(EncodeUtf8(DecodeUtf8(text)), text);
  EXPECT_EQ(EscapeXml(U"a\u0001\t<&>\"'"), "a\xef\xbf\xbd\t&lt;&amp;&gt;&quot;&#39;");
}

}  // namespace
}  // namespace mmdeploy::partition
