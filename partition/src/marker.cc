#include "marker.h"

#include <algorithm>
#include <cctype>
#include <vector>

namespace mmdeploy::partition {

namespace {

// The characters a marker gives meaning to; a backslash before one of them
// (or before a backslash) makes it part of the function name.
constexpr char kSpecial[] = "\\,:[]";

}  // namespace

bool TryParseMarker(const std::string& text, Marker* marker,
                    std::string* error) {
  // Undo the escapes first, remembering which characters were escaped.
  std::string chars;
  std::vector<bool> escaped;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\') {
      if (i + 1 == text.size()) {
        *error = "a '\\' ends the marker; write '\\\\' for a backslash";
        return false;
      }
      chars.push_back(text[++i]);
      escaped.push_back(true);
    } else {
      chars.push_back(text[i]);
      escaped.push_back(false);
    }
  }
  auto find_last = [&](char c, size_t before) -> size_t {
    for (size_t i = before; i-- > 0;) {
      if (chars[i] == c && !escaped[i]) return i;
    }
    return std::string::npos;
  };
  // The type follows the last ':'; a ':' left in the function part is then
  // reported as an invalid character below.
  const size_t colon = find_last(':', chars.size());
  if (colon == std::string::npos) {
    *error = "no ':' between the function name and the type";
    return false;
  }
  const std::string type = chars.substr(colon + 1);
  if (type != "input" && type != "output") {
    *error = "type must be 'input' or 'output', got '" + type + "'";
    return false;
  }
  size_t func_end = colon;
  int64_t func_id = 0;
  const size_t open = find_last('[', colon);
  if (open != std::string::npos) {
    if (colon == 0 || chars[colon - 1] != ']' || escaped[colon - 1]) {
      *error =
          "'[' must be closed by ']' right before ':' (write '\\[' for a "
          "'[' of a function's name)";
      return false;
    }
    const std::string digits = chars.substr(open + 1, colon - open - 2);
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
    func_end = open;
  }
  const std::string func = chars.substr(0, func_end);
  if (func.empty()) {
    *error = "the function name is empty";
    return false;
  }
  for (size_t i = 0; i < func_end; ++i) {
    if (!escaped[i] && (chars[i] == ':' || chars[i] == '[' ||
                        chars[i] == ']')) {
      *error = "the function name '" + func +
               "' contains ':', '[' or ']'; write '\\:', '\\[' or '\\]' "
               "for those characters of a function's name";
      return false;
    }
  }
  marker->func = func;
  marker->func_id = func_id;
  marker->type = type;
  return true;
}

std::string EscapeFuncName(const std::string& func) {
  std::string escaped;
  for (const char c : func) {
    if (std::char_traits<char>::find(kSpecial, sizeof(kSpecial) - 1, c)) {
      escaped.push_back('\\');
    }
    escaped.push_back(c);
  }
  return escaped;
}

std::string ShortMarkerString(const std::string& func, int64_t func_id,
                              const std::string& type) {
  if (func_id == 0) return EscapeFuncName(func) + ":" + type;
  return EscapeFuncName(func) + "[" + std::to_string(func_id) + "]:" + type;
}

std::string Marker::ToString() const {
  return EscapeFuncName(func) + "[" + std::to_string(func_id) + "]:" + type;
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
