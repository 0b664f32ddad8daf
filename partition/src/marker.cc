#include "marker.h"

#include <algorithm>
#include <cctype>

namespace mmdeploy::partition {

bool TryParseMarker(const std::string& text, Marker* marker,
                    std::string* error) {
  // The type follows the last ':'; a ':' left in the function part is then
  // reported as an invalid character below.
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) {
    *error = "no ':' between the function name and the type";
    return false;
  }
  std::string func = text.substr(0, colon);
  const std::string type = text.substr(colon + 1);
  if (type != "input" && type != "output") {
    *error = "type must be 'input' or 'output', got '" + type + "'";
    return false;
  }
  int64_t func_id = 0;
  const auto open = func.find('[');
  if (open != std::string::npos) {
    if (func.back() != ']') {
      *error = "'[' must be closed by ']' right before ':'";
      return false;
    }
    const std::string digits = func.substr(open + 1, func.size() - open - 2);
    const bool all_digits =
        !digits.empty() &&
        std::all_of(digits.begin(), digits.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c)) != 0;
        });
    // 18 digits always fit in int64_t.
    if (!all_digits || digits.size() > 18) {
      *error = "func_id must be a non-negative integer, got '" + digits + "'";
      return false;
    }
    func_id = std::stoll(digits);
    func.resize(open);
  }
  if (func.empty()) {
    *error = "the function name is empty";
    return false;
  }
  if (func.find_first_of(":[]") != std::string::npos) {
    *error = "the function name '" + func + "' contains ':', '[' or ']'";
    return false;
  }
  marker->func = func;
  marker->func_id = func_id;
  marker->type = type;
  return true;
}

std::string ShortMarkerString(const std::string& func, int64_t func_id,
                              const std::string& type) {
  if (func_id == 0) return func + ":" + type;
  return func + "[" + std::to_string(func_id) + "]:" + type;
}

std::string Marker::ToString() const {
  return func + "[" + std::to_string(func_id) + "]:" + type;
}

Marker ParseMarker(const std::string& text) {
  Marker marker;
  std::string error;
  if (!TryParseMarker(text, &marker, &error)) {
    throw MarkerNotFoundError(
        "malformed marker '" + text + "': " + error +
        "; expected 'func:type' or 'func[id]:type' with type input or output");
  }
  return marker;
}

}  // namespace mmdeploy::partition
