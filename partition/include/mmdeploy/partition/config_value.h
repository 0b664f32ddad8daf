// A value read from a config file or passed by a caller, whatever its format
// (a JSON file, a Python dict): the form the partition spec reader takes, so
// that every format is checked by the same rules (spec.h). An edge (the CLI's
// JSON reader, the Python binding) only translates its own values into this
// one; it decides nothing about what a spec may hold.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace mmdeploy::partition {

struct ConfigValue {
  enum class Kind {
    kNull,    // JSON null, Python None: counts as "not given"
    kBool,
    kInt,
    kFloat,
    kString,
    kList,    // JSON array, Python list or tuple
    kMap,     // JSON object, Python dict
    kOther,   // anything else the format has (Python bytes, set, objects)
  };

  Kind kind = Kind::kNull;
  // The format's own name of the value's type, for messages: "int",
  // "list" (Python), "a number", "a list" (JSON).
  std::string type_name;
  bool boolean = false;  // kBool
  int64_t integer = 0;   // kInt
  double number = 0;     // kFloat
  std::string text;      // kString
  std::vector<ConfigValue> items;  // kList
  // kMap, in the format's order. Keys are values too: a Python dict's keys
  // may be ints (dynamic_axes); a JSON object's are always strings.
  std::vector<std::pair<ConfigValue, ConfigValue>> entries;

  bool is_null() const { return kind == Kind::kNull; }
};

}  // namespace mmdeploy::partition
