// Marker strings: "func:type" or "func[func_id]:type". A backslash makes the
// next character part of the function name, so that any name can be
// selected: "a\,b:input" selects function "a,b" (also "\:", "\[", "\]"
// and "\\").
#pragma once

#include <mmdeploy/partition/partition.h>

#include <cstdint>
#include <string>

namespace mmdeploy::partition {

// Parses `text` into *marker. Returns false and sets *error to the reason
// when the string is malformed; never throws. ParseMarker is the throwing
// public form.
bool TryParseMarker(const std::string& text, Marker* marker,
                    std::string* error);

// How a user writes the marker selecting a mark: "func:type" when func_id is
// 0, else "func[func_id]:type". Used in messages that list markers.
// Function names are escaped (EscapeFuncName).
std::string ShortMarkerString(const std::string& func, int64_t func_id,
                              const std::string& type);

// `func` with a backslash before each ',', ':', '[', ']' and backslash.
std::string EscapeFuncName(const std::string& func);

}  // namespace mmdeploy::partition
