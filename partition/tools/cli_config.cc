#include "cli_config.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <mmdeploy/partition/config_value.h>
#include <mmdeploy/partition/errors.h>
#include <mmdeploy/partition/spec.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "cli_errors.h"

namespace mmdeploy::partition::cli {
namespace {

namespace fs = std::filesystem;
using google::protobuf::Value;
using Kind = ConfigValue::Kind;

// JSON's words for its types, as messages show them.
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

// JSON as the spec reader takes it. JSON has one number type: a number
// with an integral value in int64 range is an integer.
ConfigValue ToConfigValue(const Value& value) {
  ConfigValue out;
  out.type_name = KindName(value);
  switch (value.kind_case()) {
    case Value::kNumberValue: {
      const double number = value.number_value();
      const bool integral = number >= -9.2e18 && number <= 9.2e18 &&
                            number == static_cast<double>(
                                          static_cast<int64_t>(number));
      out.kind = integral ? Kind::kInt : Kind::kFloat;
      out.integer = integral ? static_cast<int64_t>(number) : 0;
      out.number = number;
      break;
    }
    case Value::kStringValue:
      out.kind = Kind::kString;
      out.text = value.string_value();
      break;
    case Value::kBoolValue:
      out.kind = Kind::kBool;
      out.boolean = value.bool_value();
      break;
    case Value::kListValue:
      out.kind = Kind::kList;
      for (const auto& item : value.list_value().values()) {
        out.items.push_back(ToConfigValue(item));
      }
      break;
    case Value::kStructValue: {
      out.kind = Kind::kMap;
      // protobuf's map has no order; the file's order is lost, so sort the
      // keys to make messages about the first bad key reproducible.
      std::map<std::string, const Value*> fields;
      for (const auto& [key, item] : value.struct_value().fields()) {
        fields[key] = &item;
      }
      for (const auto& [key, item] : fields) {
        ConfigValue name;
        name.kind = Kind::kString;
        name.type_name = "a string";
        name.text = key;
        out.entries.emplace_back(std::move(name), ToConfigValue(*item));
      }
      break;
    }
    default:
      break;  // null
  }
  return out;
}

// The partition list of the file: the root, or its "partition_cfg".
const Value& PartitionList(const Value& root, const std::string& path) {
  if (root.kind_case() != Value::kStructValue) return root;
  const auto& fields = root.struct_value().fields();
  const auto it = fields.find("partition_cfg");
  if (it == fields.end()) {
    Usage(path + ": top level: expected a list of partitions or an object "
                 "with a \"partition_cfg\" list");
  }
  return it->second;
}

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
  // The spec's rules are the library's; a config that breaks one is a usage
  // error naming the file and the place.
  SpecReadOptions options;
  options.source = SpecSource::kConfig;
  options.text_map_keys = true;
  try {
    return ReadPartitionSpecs(ToConfigValue(PartitionList(root, path)),
                              options);
  } catch (const SpecError& e) {
    Usage(path + ": " + e.what());
  }
}

}  // namespace mmdeploy::partition::cli
