#include "cli_config.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "cli_args.h"

namespace mmdeploy::partition::cli {
namespace {

namespace fs = std::filesystem;
using google::protobuf::Value;

const char* KindName(const Value& value) {
  switch (value.kind_case()) {
    case Value::kNullValue: return "null";
    case Value::kNumberValue: return "a number";
    case Value::kStringValue: return "a string";
    case Value::kBoolValue: return "a boolean";
    case Value::kStructValue: return "an object";
    case Value::kListValue: return "a list";
    default: return "nothing";
  }
}

// Config content errors are usage errors (exit 2) that name the key path,
// e.g. "partitions.json: [1].start[0]: expected a string, got a number".
struct ConfigReader {
  std::string file;

  [[noreturn]] void Bad(const std::string& where,
                        const std::string& message) const {
    Usage(file + ": " + where + ": " + message);
  }

  std::string String(const Value& value, const std::string& where) const {
    if (value.kind_case() != Value::kStringValue) {
      Bad(where, std::string("expected a string, got ") + KindName(value));
    }
    return value.string_value();
  }

  std::vector<std::string> Strings(const Value& value, const std::string& where,
                                   bool allow_single) const {
    if (allow_single && value.kind_case() == Value::kStringValue) {
      return {value.string_value()};
    }
    if (value.kind_case() != Value::kListValue) {
      Bad(where,
          std::string(allow_single
                          ? "expected a string or a list of strings, got "
                          : "expected a list of strings, got ") +
              KindName(value));
    }
    std::vector<std::string> items;
    for (int i = 0; i < value.list_value().values_size(); ++i) {
      items.push_back(String(value.list_value().values(i),
                             where + "[" + std::to_string(i) + "]"));
    }
    return items;
  }

  std::map<std::string, std::string> NameMap(const Value& value,
                                             const std::string& where) const {
    if (value.kind_case() != Value::kStructValue) {
      Bad(where, std::string("expected an object of strings, got ") +
                     KindName(value));
    }
    std::map<std::string, std::string> names;
    for (const auto& [key, item] : value.struct_value().fields()) {
      names[key] = String(item, where + "." + key);
    }
    return names;
  }

  int64_t Axis(const Value& value, const std::string& where) const {
    double number = value.number_value();
    if (value.kind_case() != Value::kNumberValue ||
        number != static_cast<double>(static_cast<int64_t>(number))) {
      Bad(where, std::string("expected an integer axis, got ") +
                     KindName(value));
    }
    return static_cast<int64_t>(number);
  }

  DynamicAxes Axes(const Value& value, const std::string& where) const {
    if (value.kind_case() != Value::kStructValue) {
      Bad(where, std::string("expected an object {name: {axis: dim}} or "
                             "{name: [axis, ...]}, got ") +
                     KindName(value));
    }
    DynamicAxes axes;
    for (const auto& [name, dims] : value.struct_value().fields()) {
      std::string dims_where = where + "." + name;
      auto& target = axes[name];
      if (dims.kind_case() == Value::kStructValue) {
        for (const auto& [axis_text, dim] : dims.struct_value().fields()) {
          int64_t axis = 0;
          if (!ParseInt(axis_text, &axis)) {
            Bad(dims_where, "axis keys must be integers, got '" + axis_text +
                                "'");
          }
          target[axis] = String(dim, dims_where + "." + axis_text);
        }
      } else if (dims.kind_case() == Value::kListValue) {
        for (int i = 0; i < dims.list_value().values_size(); ++i) {
          int64_t axis = Axis(dims.list_value().values(i),
                              dims_where + "[" + std::to_string(i) + "]");
          target[axis] = "";  // the pass names list-form dims
        }
      } else {
        Bad(dims_where, std::string("expected an object {axis: dim} or a "
                                    "list of axes, got ") +
                            KindName(dims));
      }
    }
    return axes;
  }

  PartitionSpec Spec(const Value& value, int index) const {
    static const std::vector<std::string> kKeys = {
        "save_file",      "start",        "end",         "output_names",
        "start_name_map", "end_name_map", "dynamic_axes", "inputs",
        "outputs"};
    std::string where = "[" + std::to_string(index) + "]";
    if (value.kind_case() != Value::kStructValue) {
      Bad(where, std::string("expected an object, got ") + KindName(value));
    }
    const auto& fields = value.struct_value().fields();
    for (const auto& field : fields) {
      if (std::find(kKeys.begin(), kKeys.end(), field.first) == kKeys.end()) {
        Bad(where, "unknown key '" + field.first +
                       "'; allowed keys: " + JoinStrings(kKeys));
      }
    }
    auto given = [&fields](const std::string& key) -> const Value* {
      auto it = fields.find(key);
      if (it == fields.end() || it->second.kind_case() == Value::kNullValue) {
        return nullptr;
      }
      return &it->second;
    };
    PartitionSpec spec;
    if (!given("save_file")) Bad(where, "missing key 'save_file'");
    // Each side by markers (start/end), tensor names (inputs/outputs), or
    // both.
    for (const auto& [key, names] :
         {std::pair<const char*, const char*>{"start", "inputs"},
          std::pair<const char*, const char*>{"end", "outputs"}}) {
      if (!given(key) && !given(names)) {
        Bad(where, std::string("missing key '") + key + "' (markers) or '" +
                       names + "' (tensor names)");
      }
    }
    spec.save_file = String(*given("save_file"), where + ".save_file");
    if (spec.save_file.empty()) Bad(where + ".save_file", "empty file name");
    if (const Value* v = given("start")) {
      spec.start = Strings(*v, where + ".start", true);
    }
    if (const Value* v = given("end")) {
      spec.end = Strings(*v, where + ".end", true);
    }
    if (const Value* v = given("inputs")) {
      spec.inputs = Strings(*v, where + ".inputs", true);
    }
    if (const Value* v = given("outputs")) {
      spec.outputs = Strings(*v, where + ".outputs", true);
    }
    if (const Value* v = given("output_names")) {
      spec.output_names = Strings(*v, where + ".output_names", false);
    }
    if (const Value* v = given("start_name_map")) {
      spec.start_name_map = NameMap(*v, where + ".start_name_map");
    }
    if (const Value* v = given("end_name_map")) {
      spec.end_name_map = NameMap(*v, where + ".end_name_map");
    }
    if (const Value* v = given("dynamic_axes")) {
      spec.dynamic_axes = Axes(*v, where + ".dynamic_axes");
    }
    return spec;
  }

  std::vector<PartitionSpec> Specs(const Value& root) const {
    const Value* list = &root;
    if (root.kind_case() == Value::kStructValue) {
      auto it = root.struct_value().fields().find("partition_cfg");
      if (it == root.struct_value().fields().end()) {
        Bad("top level", "expected a list of partitions or an object with a "
                         "\"partition_cfg\" list");
      }
      list = &it->second;
    }
    if (list->kind_case() != Value::kListValue) {
      Bad("partition_cfg", std::string("expected a list of partitions, got ") +
                               KindName(*list));
    }
    if (list->list_value().values_size() == 0) {
      Bad("partition_cfg", "the list of partitions is empty");
    }
    std::vector<PartitionSpec> specs;
    for (int i = 0; i < list->list_value().values_size(); ++i) {
      specs.push_back(Spec(list->list_value().values(i), i));
    }
    return specs;
  }
};

}  // namespace

std::vector<PartitionSpec> ReadConfig(const std::string& path) {
  std::error_code error;
  if (!fs::is_regular_file(path, error)) {
    Fail(ExitCode::kInput, "config file '" + path + "' does not exist" +
                              (fs::exists(path, error) ? " or is not a file"
                                                       : ""));
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) Fail(ExitCode::kInput, "cannot read config file '" + path + "'");
  Value root;
  auto status = google::protobuf::util::JsonStringToMessage(text.str(), &root);
  if (!status.ok()) {
    Fail(ExitCode::kInput, "config file '" + path +
                              "' is not valid JSON: " + status.ToString());
  }
  return ConfigReader{path}.Specs(root);
}

}  // namespace mmdeploy::partition::cli
