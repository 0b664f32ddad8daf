#include <mmdeploy/partition/errors.h>
#include <mmdeploy/partition/spec.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "marker.h"

namespace mmdeploy::partition {
namespace {

namespace fs = std::filesystem;
using Kind = ConfigValue::Kind;

constexpr char kExampleEntry[] =
    "dict(save_file='part.onnx', start=['detector_forward:input'], "
    "end=['yolo_head:input'])";

// Places in messages: "partition_cfg[1]", ".start", "[0]", "['input']".
std::string Member(const std::string& place, const std::string& key) {
  return place.empty() ? key : place + "." + key;
}
std::string Item(const std::string& place, size_t index) {
  return place + "[" + std::to_string(index) + "]";
}
std::string Named(const std::string& place, const std::string& name) {
  return place + "['" + name + "']";
}

std::string JoinKeys() {
  std::string keys;
  for (const auto& key : PartitionSpecKeys()) {
    keys += (keys.empty() ? "" : ", ") + key;
  }
  return keys;
}

// "int", or "str '0'": short strings are shown, they are often the mistake.
std::string Describe(const ConfigValue& value) {
  if (value.kind == Kind::kString && value.text.size() <= 40) {
    return value.type_name + " '" + value.text + "'";
  }
  return value.type_name;
}

[[noreturn]] void WrongType(const std::string& place,
                            const std::string& expected,
                            const ConfigValue& got) {
  throw SpecTypeError(place, "expected " + expected + ", got " + Describe(got));
}

bool ParseInt(const std::string& text, int64_t* value) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *value);
  return !text.empty() && ec == std::errc() && ptr == end;
}

// save_file of a config entry: a file name ending in .onnx, inside the work
// dir (PathInside checks the same again when writing, where it also sees
// symlinks).
void CheckConfigSaveFile(const std::string& save_file,
                         const std::string& place) {
  const fs::path file(save_file);
  auto fail = [&](const std::string& why) {
    throw SpecError(place, "'" + save_file + "' " + why);
  };
  if (save_file.empty()) {
    fail("is empty; give the file to write the partition to, e.g. "
         "'part.onnx'");
  }
  if (file.extension() != ".onnx") {
    fail("must be a file name ending in .onnx, e.g. 'part.onnx'");
  }
  if (file.is_absolute() || file.has_root_name() || file.has_root_directory()) {
    fail("is an absolute path; give a relative path that stays inside the "
         "work dir");
  }
  for (const auto& part : file) {
    if (part == "..") {
      fail("has a '..' component; give a relative path that stays inside "
           "the work dir");
    }
  }
}

void CheckMarker(const std::string& text, const std::string& place) {
  Marker marker;
  std::string error;
  if (!TryParseMarker(text, &marker, &error)) {
    throw SpecError(place,
                    "'" + text + "' is not a marker: " + error +
                        "; a marker is 'func:type' or 'func[id]:type' with "
                        "type input or output, e.g. 'detector_forward:input' "
                        "or 'multiclass_nms[0]:input'");
  }
}

void CheckNames(const std::vector<std::string>& names, const std::string& key,
                const std::string& place, const std::string& why) {
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i].empty()) {
      throw SpecError(place, Item(key, i) + " is empty; " + why);
    }
  }
}

void CheckDynamicAxes(const DynamicAxes& axes, const std::string& place) {
  if (axes.count("") != 0) {
    throw SpecError(place, "has an empty tensor name as a key; name the "
                           "inputs and outputs by their final names");
  }
}

// Translates one entry or list: types and keys. Values are checked by
// CheckPartitionSpec and, for a config, by the checks above.
class Reader {
 public:
  explicit Reader(const SpecReadOptions& options) : options_(options) {}

  std::vector<PartitionSpec> List(const ConfigValue& list) const {
    const std::string& place = options_.list_name;
    if (list.kind != Kind::kList) {
      WrongType(place, "a list of partitions (dicts)", list);
    }
    const bool config = options_.source == SpecSource::kConfig;
    if (config && list.items.empty()) {
      throw SpecError(place, std::string("is empty; give at least one "
                                         "partition, e.g. [") +
                                 kExampleEntry + "]");
    }
    std::vector<PartitionSpec> specs;
    std::map<std::string, size_t> files;  // normalized save_file -> index
    for (size_t i = 0; i < list.items.size(); ++i) {
      specs.push_back(Entry(list.items[i], Item(place, i)));
      if (!config) continue;
      const std::string file =
          fs::path(specs.back().save_file).lexically_normal().string();
      const auto [it, added] = files.emplace(file, i);
      if (!added) {
        throw SpecError(Member(Item(place, i), "save_file"),
                        "'" + specs.back().save_file +
                            "' is also the save_file of " +
                            Item(place, it->second) +
                            "; give each partition its own file");
      }
    }
    return specs;
  }

  DynamicAxes Axes(const ConfigValue& value, const std::string& place) const {
    if (value.kind != Kind::kMap) {
      WrongType(place,
                "a dict {tensor: {axis: dim_name}} or {tensor: [axis, ...]}",
                value);
    }
    DynamicAxes axes;
    for (const auto& [key, dims] : value.entries) {
      const std::string name =
          String(key, place, "tensor names (strings) as keys");
      const std::string dims_place = Named(place, name);
      auto& target = axes[name];
      if (dims.kind == Kind::kMap) {
        for (const auto& [axis_key, dim] : dims.entries) {
          const int64_t axis = Axis(axis_key, dims_place, /*is_key=*/true);
          target[axis] = String(dim, Item(dims_place, axis),
                                "a dimension name (string)");
        }
      } else if (dims.kind == Kind::kList) {
        for (size_t i = 0; i < dims.items.size(); ++i) {
          target[Axis(dims.items[i], Item(dims_place, i), false)] = "";
        }
      } else {
        WrongType(dims_place, "a dict {axis: dim_name} or a list of axes",
                  dims);
      }
    }
    return axes;
  }

 private:
  PartitionSpec Entry(const ConfigValue& entry,
                      const std::string& place) const {
    if (entry.kind != Kind::kMap) {
      WrongType(place, std::string("a dict such as ") + kExampleEntry, entry);
    }
    std::map<std::string, const ConfigValue*> given;
    const auto& keys = PartitionSpecKeys();
    for (const auto& [key, value] : entry.entries) {
      const std::string name = String(key, place, "string keys");
      if (std::find(keys.begin(), keys.end(), name) == keys.end()) {
        throw SpecError(place, "unknown key '" + name +
                                   "'; allowed keys: " + JoinKeys());
      }
      if (!value.is_null()) given[name] = &value;
    }
    const bool config = options_.source == SpecSource::kConfig;
    if (config && given.count("save_file") == 0) {
      throw SpecError(place, std::string("missing key 'save_file' (the file "
                                         "to write the partition to), e.g. ") +
                                 kExampleEntry);
    }
    for (const auto& [side, names] :
         {std::pair<const char*, const char*>{"start", "inputs"},
          std::pair<const char*, const char*>{"end", "outputs"}}) {
      if (given.count(side) == 0 && given.count(names) == 0) {
        throw SpecError(place, std::string("missing key '") + side +
                                   "' (markers 'func:type') or '" + names +
                                   "' (tensor names); each partition needs "
                                   "start or inputs and end or outputs, "
                                   "e.g. " +
                                   kExampleEntry);
      }
    }
    auto at = [&](const char* key) -> const ConfigValue* {
      const auto it = given.find(key);
      return it == given.end() ? nullptr : it->second;
    };
    PartitionSpec spec;
    if (const auto* v = at("save_file")) {
      spec.save_file =
          String(*v, Member(place, "save_file"), "a file name (string)");
      if (config) {
        CheckConfigSaveFile(spec.save_file, Member(place, "save_file"));
      }
    }
    if (const auto* v = at("start")) spec.start = Markers(*v, place, "start");
    if (const auto* v = at("end")) spec.end = Markers(*v, place, "end");
    if (const auto* v = at("inputs")) {
      spec.inputs = OneOrMore(*v, Member(place, "inputs"), "a tensor name");
    }
    if (const auto* v = at("outputs")) {
      spec.outputs = OneOrMore(*v, Member(place, "outputs"), "a tensor name");
    }
    if (const auto* v = at("output_names")) {
      const std::string key_place = Member(place, "output_names");
      if (v->kind != Kind::kList) {
        WrongType(key_place, "a list of names (strings), one per output", *v);
      }
      for (size_t i = 0; i < v->items.size(); ++i) {
        spec.output_names.push_back(
            String(v->items[i], Item(key_place, i), "a name (string)"));
      }
    }
    if (const auto* v = at("start_name_map")) {
      spec.start_name_map = NameMap(*v, Member(place, "start_name_map"));
    }
    if (const auto* v = at("end_name_map")) {
      spec.end_name_map = NameMap(*v, Member(place, "end_name_map"));
    }
    if (const auto* v = at("dynamic_axes")) {
      spec.dynamic_axes = Axes(*v, Member(place, "dynamic_axes"));
    }
    CheckPartitionSpec(spec, place);
    return spec;
  }

  std::string String(const ConfigValue& value, const std::string& place,
                     const std::string& expected) const {
    if (value.kind != Kind::kString) WrongType(place, expected, value);
    return value.text;
  }

  // One string, or a list of them.
  std::vector<std::string> OneOrMore(const ConfigValue& value,
                                     const std::string& place,
                                     const std::string& one) const {
    if (value.kind == Kind::kString) return {value.text};
    if (value.kind != Kind::kList) {
      WrongType(place, one + " or a list of them", value);
    }
    std::vector<std::string> texts;
    for (size_t i = 0; i < value.items.size(); ++i) {
      texts.push_back(
          String(value.items[i], Item(place, i), one + " (string)"));
    }
    return texts;
  }

  // A config's markers are checked now, before any model is read; a call's
  // when cutting, whose message lists the model's markers.
  std::vector<std::string> Markers(const ConfigValue& value,
                                   const std::string& place,
                                   const char* key) const {
    const std::string key_place = Member(place, key);
    std::vector<std::string> markers =
        OneOrMore(value, key_place, "a marker 'func:type'");
    if (options_.source == SpecSource::kConfig) {
      const bool one = value.kind == Kind::kString;
      for (size_t i = 0; i < markers.size(); ++i) {
        CheckMarker(markers[i], one ? key_place : Item(key_place, i));
      }
    }
    return markers;
  }

  std::map<std::string, std::string> NameMap(const ConfigValue& value,
                                             const std::string& place) const {
    if (value.kind != Kind::kMap) {
      WrongType(place, "a dict from mark names to new names", value);
    }
    std::map<std::string, std::string> names;
    for (const auto& [key, name] : value.entries) {
      const std::string from =
          String(key, place, "mark names (strings) as keys");
      names[from] = String(name, Named(place, from), "a new name (string)");
    }
    return names;
  }

  int64_t Axis(const ConfigValue& value, const std::string& place,
               bool is_key) const {
    int64_t axis = 0;
    if (value.kind == Kind::kInt) return value.integer;
    if (is_key && options_.text_map_keys && value.kind == Kind::kString &&
        ParseInt(value.text, &axis)) {
      return axis;
    }
    WrongType(place, is_key ? "integer axes as keys" : "an integer axis",
              value);
  }

  SpecReadOptions options_;
};

}  // namespace

const std::vector<std::string>& PartitionSpecKeys() {
  static const std::vector<std::string> kKeys = {
      "save_file",      "start",        "end",          "inputs",  "outputs",
      "output_names",   "start_name_map", "end_name_map", "dynamic_axes"};
  return kKeys;
}

std::vector<PartitionSpec> ReadPartitionSpecs(const ConfigValue& list,
                                              const SpecReadOptions& options) {
  return Reader(options).List(list);
}

DynamicAxes ReadDynamicAxes(const ConfigValue& value, const std::string& place,
                            bool text_map_keys) {
  SpecReadOptions options;
  options.text_map_keys = text_map_keys;
  DynamicAxes axes = Reader(options).Axes(value, place);
  CheckDynamicAxes(axes, place);
  return axes;
}

void CheckPartitionSpec(const PartitionSpec& spec, const std::string& place) {
  CheckNames(spec.output_names, "output_names", place,
             "an ONNX graph output needs a name: give a non-empty name, or "
             "no output_names at all to keep the marks' names");
  std::set<std::string> seen;
  for (const auto& name : spec.output_names) {
    if (!seen.insert(name).second) {
      throw SpecError(place, "output_names names '" + name +
                                 "' twice; give each output its own name");
    }
  }
  for (const auto* map : {&spec.start_name_map, &spec.end_name_map}) {
    const char* key =
        map == &spec.start_name_map ? "start_name_map" : "end_name_map";
    for (const auto& [from, to] : *map) {
      if (to.empty()) {
        throw SpecError(place, std::string(key) + " maps '" + from +
                                   "' to an empty name; an ONNX tensor needs "
                                   "a name: give a non-empty one");
      }
    }
  }
  CheckNames(spec.inputs, "inputs", place,
             "give the name of a tensor of the model");
  CheckNames(spec.outputs, "outputs", place,
             "give the name of a tensor of the model");
  CheckDynamicAxes(spec.dynamic_axes, Member(place, "dynamic_axes"));
}

}  // namespace mmdeploy::partition
