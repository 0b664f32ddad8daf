// The partition spec's rules (spec.h): reading partition_cfg entries from
// ConfigValues as every edge (CLI JSON, Python) hands them over, and the
// checks every cut runs.
#include <mmdeploy/partition/errors.h>
#include <mmdeploy/partition/partition.h>
#include <mmdeploy/partition/spec.h>

#include <gtest/gtest.h>

#include <utility>

#include "test_models.h"

namespace mmdeploy::partition {
namespace {

using Kind = ConfigValue::Kind;
using test::Header;
using test::MarkNode;
using test::ParseText;

// ConfigValues as the Python binding builds them (Python's type names).
ConfigValue Typed(Kind kind, const char* type_name) {
  ConfigValue value;
  value.kind = kind;
  value.type_name = type_name;
  return value;
}
ConfigValue Null() { return Typed(Kind::kNull, "NoneType"); }
ConfigValue Str(const std::string& text) {
  ConfigValue value = Typed(Kind::kString, "str");
  value.text = text;
  return value;
}
ConfigValue Int(int64_t integer) {
  ConfigValue value = Typed(Kind::kInt, "int");
  value.integer = integer;
  return value;
}
ConfigValue Bool(bool boolean) {
  ConfigValue value = Typed(Kind::kBool, "bool");
  value.boolean = boolean;
  return value;
}
ConfigValue List(std::vector<ConfigValue> items) {
  ConfigValue value = Typed(Kind::kList, "list");
  value.items = std::move(items);
  return value;
}
ConfigValue Map(std::vector<std::pair<ConfigValue, ConfigValue>> entries) {
  ConfigValue value = Typed(Kind::kMap, "dict");
  value.entries = std::move(entries);
  return value;
}
std::pair<ConfigValue, ConfigValue> Key(const std::string& key,
                                        ConfigValue value) {
  return {Str(key), std::move(value)};
}

// A valid config entry: save_file p.onnx, from a:input to b:output.
std::vector<std::pair<ConfigValue, ConfigValue>> Minimal() {
  return {Key("save_file", Str("p.onnx")), Key("start", Str("a:input")),
          Key("end", Str("b:output"))};
}
ConfigValue Entry(std::vector<std::pair<ConfigValue, ConfigValue>> extra = {}) {
  auto entries = Minimal();
  for (auto& [key, value] : extra) {
    bool replaced = false;
    for (auto& entry : entries) {
      if (entry.first.text == key.text) {
        entry.second = value;
        replaced = true;
      }
    }
    if (!replaced) entries.emplace_back(key, value);
  }
  return Map(std::move(entries));
}

std::vector<PartitionSpec> Read(const ConfigValue& list,
                                SpecSource source = SpecSource::kConfig) {
  SpecReadOptions options;
  options.source = source;
  return ReadPartitionSpecs(list, options);
}

TEST(ReadPartitionSpecs, ReadsEveryKey) {
  const auto specs = Read(List({Entry({
      Key("start", List({Str("a:input"), Str("c[1]:input")})),
      Key("inputs", Str("x:1x3:float32")),
      Key("outputs", List({Str("y")})),
      Key("output_names", List({Str("o0"), Str("o1")})),
      Key("start_name_map", Map({Key("a", Str("A"))})),
      Key("end_name_map", Map({Key("b[0]:output:b", Str("B"))})),
      Key("dynamic_axes",
          Map({Key("A", Map({{Int(0), Str("batch")}})),
               Key("o0", List({Int(0), Int(2)}))})),
  })}));
  ASSERT_EQ(specs.size(), 1u);
  const PartitionSpec& spec = specs[0];
  EXPECT_EQ(spec.save_file, "p.onnx");
  EXPECT_EQ(spec.start, test::Names({"a:input", "c[1]:input"}));
  EXPECT_EQ(spec.end, test::Names({"b:output"}));  // one string: a list of one
  EXPECT_EQ(spec.inputs, test::Names({"x:1x3:float32"}));
  EXPECT_EQ(spec.outputs, test::Names({"y"}));
  EXPECT_EQ(spec.output_names, test::Names({"o0", "o1"}));
  EXPECT_EQ(spec.start_name_map.at("a"), "A");
  EXPECT_EQ(spec.end_name_map.at("b[0]:output:b"), "B");
  EXPECT_EQ(spec.dynamic_axes.at("A").at(0), "batch");
  // The list form leaves the names to the pass ("<tensor>_dim_<axis>").
  const std::map<int64_t, std::string> unnamed = {{0, ""}, {2, ""}};
  EXPECT_EQ(spec.dynamic_axes.at("o0"), unnamed);
}

TEST(ReadPartitionSpecs, NullCountsAsAbsent) {
  const auto specs = Read(List({Entry({Key("output_names", Null()),
                                       Key("inputs", Null())})}));
  EXPECT_TRUE(specs[0].output_names.empty());
  EXPECT_TRUE(specs[0].inputs.empty());
  EXPECT_THROW_WITH(Read(List({Entry({Key("end", Null())})})), SpecError,
                    "partition_cfg[0]: missing key 'end'");
}

TEST(ReadPartitionSpecs, UnknownKeyIsNamedWithTheAllowedKeys) {
  EXPECT_THROW_WITH(
      Read(List({Entry({Key("strat", Str("a:input"))})})), SpecError,
      "partition_cfg[0]: unknown key 'strat'; allowed keys: save_file, "
      "start, end, inputs, outputs, output_names, start_name_map, "
      "end_name_map, dynamic_axes");
}

TEST(ReadPartitionSpecs, EachSideNeedsMarkersOrTensorNames) {
  const ConfigValue no_end =
      Map({Key("save_file", Str("p.onnx")), Key("start", Str("a:input"))});
  EXPECT_THROW_WITH(Read(List({no_end})), SpecError,
                    "partition_cfg[0]: missing key 'end' (markers "
                    "'func:type') or 'outputs' (tensor names)",
                    "e.g. dict(save_file='part.onnx'");
  const ConfigValue by_names =
      Map({Key("save_file", Str("p.onnx")), Key("inputs", Str("x")),
           Key("outputs", Str("y"))});
  const auto specs = Read(List({by_names}));
  EXPECT_TRUE(specs[0].start.empty());
  EXPECT_EQ(specs[0].outputs, test::Names({"y"}));
  // An empty marker list is given: the graph's own inputs.
  EXPECT_TRUE(Read(List({Entry({Key("start", List({}))})}))[0].start.empty());
}

TEST(ReadPartitionSpecs, SaveFileIsRequiredOnlyInAConfig) {
  const ConfigValue entry =
      Map({Key("start", Str("a:input")), Key("end", Str("b:output"))});
  EXPECT_THROW_WITH(Read(List({entry})), SpecError,
                    "partition_cfg[0]: missing key 'save_file'");
  EXPECT_EQ(Read(List({entry}), SpecSource::kArguments)[0].save_file, "");
}

TEST(ReadPartitionSpecs, WrongTypesNameThePlaceAndBothTypes) {
  struct Case {
    ConfigValue entry;
    const char* message;
  };
  const Case cases[] = {
      {Entry({Key("start", Int(1))}),
       "partition_cfg[0].start: expected a marker 'func:type' or a list of "
       "them, got int"},
      {Entry({Key("end", List({Str("b:output"), Int(1)}))}),
       "partition_cfg[0].end[1]: expected a marker 'func:type' (string), got "
       "int"},
      {Entry({Key("save_file", Int(1))}),
       "partition_cfg[0].save_file: expected a file name (string), got int"},
      {Entry({Key("output_names", Str("x"))}),
       "partition_cfg[0].output_names: expected a list of names (strings), "
       "one per output, got str 'x'"},
      {Entry({Key("start_name_map", List({Str("a")}))}),
       "partition_cfg[0].start_name_map: expected a dict from mark names to "
       "new names, got list"},
      {Entry({Key("end_name_map", Map({Key("a", Int(1))}))}),
       "partition_cfg[0].end_name_map['a']: expected a new name (string), "
       "got int"},
      {Entry({Key("dynamic_axes", List({Int(1)}))}),
       "partition_cfg[0].dynamic_axes: expected a dict {tensor: {axis: "
       "dim_name}} or {tensor: [axis, ...]}, got list"},
      {Entry({Key("dynamic_axes", Map({Key("x", Str("batch"))}))}),
       "partition_cfg[0].dynamic_axes['x']: expected a dict {axis: dim_name} "
       "or a list of axes, got str 'batch'"},
      {Entry({Key("dynamic_axes", Map({Key("x", Map({Key("0", Str("b"))}))}))}),
       "partition_cfg[0].dynamic_axes['x']: expected integer axes as keys, "
       "got str '0'"},
      {Entry({Key("dynamic_axes", Map({Key("x", List({Bool(true)}))}))}),
       "partition_cfg[0].dynamic_axes['x'][0]: expected an integer axis, got "
       "bool"},
      {Str("p.onnx"),
       "partition_cfg[0]: expected a dict such as dict(save_file="},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.message);
    EXPECT_THROW_WITH(Read(List({c.entry})), SpecTypeError, c.message);
  }
  EXPECT_THROW_WITH(Read(Str("x")), SpecTypeError,
                    "partition_cfg: expected a list of partitions (dicts), "
                    "got str 'x'");
}

TEST(ReadPartitionSpecs, TextMapKeysAreAxesOnlyWhereTheFormatHasNoOther) {
  const ConfigValue list = List({Entry(
      {Key("dynamic_axes", Map({Key("x", Map({Key("2", Str("h"))}))}))})});
  SpecReadOptions json;
  json.text_map_keys = true;
  EXPECT_EQ(ReadPartitionSpecs(list, json)[0].dynamic_axes.at("x").at(2), "h");
  EXPECT_THROW(ReadPartitionSpecs(list), SpecTypeError);
  // A list item is a value, never a key: "2" stays a string.
  const ConfigValue listed = List({Entry(
      {Key("dynamic_axes", Map({Key("x", List({Str("2")}))}))})});
  EXPECT_THROW(ReadPartitionSpecs(listed, json), SpecTypeError);
}

TEST(ReadPartitionSpecs, ConfigSaveFileStaysInTheWorkDirAndEndsInOnnx) {
  const std::pair<const char*, const char*> cases[] = {
      {"p.txt", "'p.txt' must be a file name ending in .onnx"},
      {".onnx", "'.onnx' must be a file name ending in .onnx"},
      {"", "'' is empty"},
      {"/abs/p.onnx", "'/abs/p.onnx' is an absolute path; give a relative "
                      "path that stays inside the work dir"},
      {"sub/../../p.onnx", "has a '..' component"},
  };
  for (const auto& [file, message] : cases) {
    SCOPED_TRACE(file);
    EXPECT_THROW_WITH(Read(List({Entry({Key("save_file", Str(file))})})),
                      SpecError, "partition_cfg[0].save_file: ", message);
  }
  // A call's save_file is a path as given.
  EXPECT_EQ(Read(List({Entry({Key("save_file", Str("/tmp/out.model"))})}),
                 SpecSource::kArguments)[0]
                .save_file,
            "/tmp/out.model");
  EXPECT_EQ(Read(List({Entry({Key("save_file", Str("sub/p.onnx"))})}))[0]
                .save_file,
            "sub/p.onnx");
}

TEST(ReadPartitionSpecs, ConfigMarkersAreCheckedBeforeAnyModel) {
  EXPECT_THROW_WITH(
      Read(List({Entry({Key("start", List({Str("a:input"), Str("b:in")}))})})),
      SpecError, "partition_cfg[0].start[1]: 'b:in' is not a marker: type "
                 "must be 'input' or 'output', got 'in'",
      "e.g. 'detector_forward:input'");
  EXPECT_THROW_WITH(Read(List({Entry({Key("end", Str("nocolon"))})})),
                    SpecError, "partition_cfg[0].end: 'nocolon'");
  // A call's markers are checked while cutting, against the model.
  EXPECT_EQ(Read(List({Entry({Key("end", Str("b:in"))})}),
                 SpecSource::kArguments)[0]
                .end,
            test::Names({"b:in"}));
}

TEST(ReadPartitionSpecs, ConfigListIsNotEmptyAndNamesEachFileOnce) {
  EXPECT_THROW_WITH(Read(List({})), SpecError,
                    "partition_cfg: is empty; give at least one partition");
  EXPECT_TRUE(Read(List({}), SpecSource::kArguments).empty());
  EXPECT_THROW_WITH(
      Read(List({Entry(), Entry({Key("save_file", Str("./p.onnx"))})})),
      SpecError,
      "partition_cfg[1].save_file: './p.onnx' is also the save_file of "
      "partition_cfg[0]; give each partition its own file");
  // Calls may name one graph twice: nothing is written under save_file.
  EXPECT_EQ(Read(List({Entry(), Entry()}), SpecSource::kArguments).size(), 2u);
}

TEST(ReadPartitionSpecs, ListNameNamesThePlaces) {
  SpecReadOptions options;
  options.list_name = "partition_config.partition_cfg";
  EXPECT_THROW_WITH(
      ReadPartitionSpecs(List({Entry(), Entry({Key("start", Int(3))})}),
                         options),
      SpecTypeError, "partition_config.partition_cfg[1].start: expected");
}

TEST(ReadPartitionSpecs, EntryValuesPassTheSpecChecks) {
  EXPECT_THROW_WITH(
      Read(List({Entry({Key("output_names", List({Str("a"), Str("")}))})})),
      SpecError, "partition_cfg[0]: output_names[1] is empty");
}

TEST(ReadDynamicAxes, ReadsOneValueUnderItsOwnName) {
  const DynamicAxes axes = ReadDynamicAxes(
      Map({Key("input", List({Int(0), Int(3)}))}), "onnx_config.dynamic_axes");
  EXPECT_EQ(axes.at("input").size(), 2u);
  EXPECT_THROW_WITH(
      ReadDynamicAxes(Map({Key("input", Map({{Int(0), Int(1)}}))}),
                      "onnx_config.dynamic_axes"),
      SpecTypeError,
      "onnx_config.dynamic_axes['input'][0]: expected a dimension name "
      "(string), got int");
  EXPECT_THROW_WITH(
      ReadDynamicAxes(Map({Key("", List({Int(0)}))}),
                      "onnx_config.dynamic_axes"),
      SpecError, "onnx_config.dynamic_axes: has an empty tensor name");
}

TEST(CheckPartitionSpec, NamesMustBeNonEmptyAndOutputNamesDistinct) {
  PartitionSpec spec;
  spec.output_names = {"a", ""};
  EXPECT_THROW_WITH(CheckPartitionSpec(spec), SpecError,
                    "output_names[1] is empty; an ONNX graph output needs a "
                    "name");
  spec.output_names = {"a", "b", "a"};
  EXPECT_THROW_WITH(CheckPartitionSpec(spec, "partition_cfg[2]"), SpecError,
                    "partition_cfg[2]: output_names names 'a' twice");
  spec.output_names = {"a", "b"};
  CheckPartitionSpec(spec);
  spec.end_name_map = {{"pred_maps.0", ""}};
  EXPECT_THROW_WITH(CheckPartitionSpec(spec), SpecError,
                    "end_name_map maps 'pred_maps.0' to an empty name");
  spec.end_name_map.clear();
  spec.inputs = {"x", ""};
  EXPECT_THROW_WITH(CheckPartitionSpec(spec), SpecError, "inputs[1] is empty");
  spec.inputs.clear();
  spec.dynamic_axes[""][0] = "batch";
  EXPECT_THROW_WITH(CheckPartitionSpec(spec), SpecError,
                    "dynamic_axes: has an empty tensor name");
}

TEST(CheckPartitionSpec, EveryCutRunsIt) {
  const MarkedModel model(ParseText(
      Header() +
      "net (float[2] x) => (float[2] y)\n"
      "{\n" +
      MarkNode("a", "x", "net", "input", "x") + "  r = Relu(a)\n" +
      MarkNode("y", "r", "net", "output", "y") + "}\n"));
  PartitionSpec spec;
  spec.start = {"net:input"};
  spec.end = {"net:output"};
  EXPECT_EQ(model.Extract(spec).graph().output(0).name(), "y");
  spec.output_names = {""};
  EXPECT_THROW_WITH(model.Extract(spec), SpecError, "output_names[0] is empty");
  spec.output_names.clear();
  spec.start_name_map = {{"x", ""}};
  EXPECT_THROW_WITH(model.ExtractAll({spec}), SpecError,
                    "start_name_map maps 'x' to an empty name",
                    "partition 0");
}

}  // namespace
}  // namespace mmdeploy::partition
