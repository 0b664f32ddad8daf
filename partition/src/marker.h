// Marker strings: "func:type" or "func[func_id]:type".
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
std::string ShortMarkerString(const std::string& func, int64_t func_id,
                              const std::string& type);

}  // namespace mmdeploy::partition
