#include "boundaries.h"

#include <algorithm>
#include <cctype>
#include <unordered_map>

#include "mark_list.h"
#include "marker.h"

namespace mmdeploy::partition {
namespace {

std::string ListMarkers(const GraphIndex& index) {
  if (index.markers().empty()) {
    return "the model has no Mark nodes (was it exported with marks "
           "applied?)";
  }
  return "markers in this model: " + JoinNames(index.markers());
}

std::string MappedName(const std::map<std::string, std::string>& name_map,
                       const std::string& marker, const std::string& name) {
  if (const auto it = name_map.find(name); it != name_map.end()) {
    return it->second;
  }
  if (const auto it = name_map.find(marker + ":" + name);
      it != name_map.end()) {
    return it->second;
  }
  return name;
}

// Every key of a start_name_map/end_name_map must name a boundary.
void CheckNameMapKeys(const std::map<std::string, std::string>& name_map,
                      const std::vector<std::string>& mappable,
                      BoundaryRole role) {
  const char* map_name = role == BoundaryRole::kStart ? "start_name_map"
                                                      : "end_name_map";
  // Empty new names are the spec's own error (CheckPartitionSpec).
  for (const auto& entry : name_map) {
    const std::string& key = entry.first;
    if (std::find(mappable.begin(), mappable.end(), key) != mappable.end()) {
      continue;
    }
    std::vector<std::string> names;
    for (size_t i = 0; i < mappable.size(); i += 2) {
      names.push_back("'" + mappable[i] + "'");
    }
    throw PartitionError(
        std::string(map_name) + " key '" + key +
        "' names no boundary of the partition; the " +
        (role == BoundaryRole::kStart ? "inputs" : "outputs") +
        " its markers select are named " +
        (names.empty() ? std::string("nothing") : JoinNames(names)) +
        " (a key is such a name or 'marker:name'): fix or remove the key");
  }
}

std::vector<Boundary> GraphBoundaries(const GraphIndex& index,
                                      BoundaryRole role) {
  std::vector<Boundary> boundaries;
  const auto& graph = index.graph();
  if (role == BoundaryRole::kStart) {
    for (const auto& input : graph.input()) {
      // Inputs with an initializer are constants, not data.
      if (index.Initializer(input.name()) != GraphIndex::kNone) continue;
      boundaries.push_back({"", GraphIndex::kNone, input.name(), input.name()});
    }
  } else {
    for (const auto& output : graph.output()) {
      boundaries.push_back(
          {"", GraphIndex::kNone, output.name(), output.name()});
    }
  }
  return boundaries;
}

// The first `limit` names, then "... (N in all)".
std::string SomeNames(const std::vector<std::string>& names, size_t limit) {
  if (names.size() <= limit) return JoinNames(names);
  std::vector<std::string> some(names.begin(), names.begin() + limit);
  return JoinNames(some) + ", ... (" + std::to_string(names.size()) +
         " in all)";
}

std::string GraphPorts(const GraphIndex& index) {
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  for (const auto& input : index.graph().input()) {
    if (index.Initializer(input.name()) == GraphIndex::kNone) {
      inputs.push_back(input.name());
    }
  }
  for (const auto& output : index.graph().output()) {
    outputs.push_back(output.name());
  }
  return "graph inputs: " + SomeNames(inputs, 8) +
         "; graph outputs: " + SomeNames(outputs, 8);
}

bool TensorExists(const GraphIndex& index, const std::string& name) {
  return index.Producer(name) != GraphIndex::kNone ||
         index.GraphInput(name) != GraphIndex::kNone ||
         index.Initializer(name) != GraphIndex::kNone ||
         index.SparseInitializer(name) != GraphIndex::kNone;
}

std::string Trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  const auto last = text.find_last_not_of(" \t");
  return text.substr(first, last - first + 1);
}

bool ParseElemType(const std::string& text, int32_t* elem_type) {
  static const std::map<std::string, int32_t> kTypes = {
      {"auto", 0},      {"float32", 1},  {"float", 1},    {"uint8", 2},
      {"int8", 3},      {"uint16", 4},   {"int16", 5},    {"int32", 6},
      {"int64", 7},     {"string", 8},   {"bool", 9},     {"float16", 10},
      {"half", 10},     {"float64", 11}, {"double", 11},  {"uint32", 12},
      {"uint64", 13},   {"bfloat16", 16}};
  const auto it = kTypes.find(text);
  if (it == kTypes.end()) return false;
  *elem_type = it->second;
  return true;
}

// "1x3x224x224", "[1,3,h,w]", "(1, 3, ?, ?)", "[]" (a scalar) or "auto".
bool ParseShape(const std::string& text, InputOverride* override) {
  if (text == "auto") return true;
  if (text.empty()) return false;
  std::string body = text;
  char separator = 'x';
  const bool bracketed = (text.front() == '[' && text.back() == ']') ||
                         (text.front() == '(' && text.back() == ')');
  if (bracketed) {
    body = text.substr(1, text.size() - 2);
    separator = ',';
  } else if (text.find_first_of("[](),") != std::string::npos) {
    return false;
  }
  override->has_shape = true;
  if (Trim(body).empty()) return bracketed;  // "[]": a scalar
  size_t begin = 0;
  while (true) {
    const size_t end = body.find(separator, begin);
    std::string dim = Trim(body.substr(begin, end == std::string::npos
                                                  ? std::string::npos
                                                  : end - begin));
    if (dim.empty()) return false;
    if (dim == "?" || dim == "-1") dim.clear();
    const bool digits =
        !dim.empty() && std::all_of(dim.begin(), dim.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c)) != 0;
        });
    if (digits && dim.size() > 18) return false;
    if (!digits && !dim.empty() &&
        std::isdigit(static_cast<unsigned char>(dim.front())) != 0) {
      return false;  // "3a" is neither a size nor a dim name
    }
    override->dims.push_back(dim);
    if (end == std::string::npos) break;
    begin = end + 1;
  }
  return true;
}

// "name:shape:dtype" -> override; false when `text` has not that form.
bool ParseOverride(const std::string& text, InputOverride* override) {
  const auto type_colon = text.rfind(':');
  if (type_colon == std::string::npos || type_colon == 0) return false;
  const auto shape_colon = text.rfind(':', type_colon - 1);
  if (shape_colon == std::string::npos || shape_colon == 0) return false;
  InputOverride parsed;
  parsed.name = text.substr(0, shape_colon);
  if (!ParseElemType(text.substr(type_colon + 1), &parsed.elem_type) ||
      !ParseShape(text.substr(shape_colon + 1, type_colon - shape_colon - 1),
                  &parsed)) {
    return false;
  }
  *override = std::move(parsed);
  return true;
}

}  // namespace

std::vector<Boundary> ResolveTensorBoundaries(
    const GraphIndex& index, const std::vector<std::string>& texts,
    BoundaryRole role, std::vector<InputOverride>* overrides) {
  std::vector<Boundary> boundaries;
  const char* list = role == BoundaryRole::kStart ? "inputs" : "outputs";
  for (const auto& text : texts) {
    std::string name = text;
    if (!TensorExists(index, text) && role == BoundaryRole::kStart) {
      InputOverride override;
      if (ParseOverride(text, &override)) {
        if (!TensorExists(index, override.name)) {
          throw TensorNotFoundError(
              std::string(list) + " entry '" + text + "' names tensor '" +
              override.name +
              "' (with shape and type), which is not a tensor of the "
              "model's main graph; " +
              GraphPorts(index));
        }
        name = override.name;
        overrides->push_back(std::move(override));
      }
    }
    if (!TensorExists(index, name)) {
      throw TensorNotFoundError(
          std::string(list) + " entry '" + text +
          "' is not a tensor of the model's main graph (tensor names are "
          "node outputs, graph inputs and initializers" +
          std::string(role == BoundaryRole::kStart
                          ? "; to override an input's shape and type write "
                            "'name:shape:dtype', e.g. 'x:1x3x224x224:float32'"
                          : "") +
          "); " + GraphPorts(index));
    }
    if (role == BoundaryRole::kStart &&
        (index.Initializer(name) != GraphIndex::kNone ||
         index.SparseInitializer(name) != GraphIndex::kNone)) {
      throw PartitionError(
          "inputs entry '" + name +
          "' is an initializer (a constant weight), not a value the "
          "partition can take as input: choose a tensor computed by a node, "
          "or a graph input");
    }
    Boundary boundary;
    boundary.tensor = name;
    boundary.name = name;
    boundary.by_name = true;
    boundaries.push_back(std::move(boundary));
  }
  return boundaries;
}

std::string JoinNames(const std::vector<std::string>& names,
                      const std::string& separator) {
  std::string joined;
  for (const auto& name : names) {
    if (!joined.empty()) joined += separator;
    joined += name;
  }
  return joined;
}

std::string DescribeBoundary(const GraphIndex& index, const Boundary& boundary,
                             BoundaryRole role) {
  if (boundary.by_name) {
    return std::string(role == BoundaryRole::kStart ? "input tensor '"
                                                    : "output tensor '") +
           boundary.tensor + "'";
  }
  if (boundary.mark == GraphIndex::kNone) {
    return std::string(role == BoundaryRole::kStart ? "graph input '"
                                                    : "graph output '") +
           boundary.tensor + "'";
  }
  return "Mark '" + index.marks()[boundary.mark].name + "' (marker '" +
         boundary.marker + "')";
}

std::vector<Boundary> ResolveBoundaries(
    const GraphIndex& index, const std::vector<std::string>& markers,
    BoundaryRole role, const std::map<std::string, std::string>& name_map) {
  if (markers.empty()) return GraphBoundaries(index, role);
  std::vector<Boundary> boundaries;
  // The keys a name map may use for these boundaries ("name" or
  // "marker:name"); a key matching none of them is an error.
  std::vector<std::string> mappable;
  for (const auto& text : markers) {
    Marker marker;
    std::string error;
    if (!TryParseMarker(text, &marker, &error)) {
      throw MarkerNotFoundError(
          "malformed marker '" + text + "': " + error +
          "; expected 'func:type' or 'func[id]:type' with type input or "
          "output; " +
          ListMarkers(index));
    }
    const auto& nested = index.NestedMarksMatching(marker);
    if (!nested.empty()) {
      const NestedMark& inner = index.nested_marks()[nested.front()];
      throw PartitionError(
          "marker '" + text + "' selects Mark '" + inner.mark.name +
          "' inside a body of node " +
          DescribeNode(index.graph().node(inner.parent_node)) +
          "; a Mark inside an If/Loop/Scan body cannot be a partition "
          "boundary because its tensor exists only while the body runs: "
          "mark a tensor outside the control flow instead");
    }
    const auto& selected = index.MarksMatching(marker);
    if (selected.empty()) {
      throw MarkerNotFoundError("marker '" + text +
                                "' matches no Mark node; " +
                                ListMarkers(index));
    }
    for (const int position : selected) {
      const MarkRecord& mark = index.marks()[position];
      mappable.push_back(mark.name);
      mappable.push_back(text + ":" + mark.name);
      boundaries.push_back(
          {text, position,
           role == BoundaryRole::kStart ? mark.input : mark.output,
           MappedName(name_map, text, mark.name)});
    }
  }
  CheckNameMapKeys(name_map, mappable, role);
  return boundaries;
}

void ApplyOutputNames(const GraphIndex& index,
                      const std::vector<std::string>& output_names,
                      std::vector<Boundary>* ends) {
  if (output_names.empty()) return;
  if (output_names.size() != ends->size()) {
    std::vector<std::string> found;
    for (const auto& end : *ends) {
      found.push_back("'" + end.name + "' from " +
                      DescribeBoundary(index, end, BoundaryRole::kEnd));
    }
    throw PartitionError(
        "output_names gives " + std::to_string(output_names.size()) +
        " names (" + JoinNames(output_names) + ") but the partition has " +
        std::to_string(ends->size()) + " outputs: " + JoinNames(found) +
        "; give exactly one name per output, in this order, or none");
  }
  // Empty names are the spec's own error (CheckPartitionSpec).
  for (size_t i = 0; i < ends->size(); ++i) (*ends)[i].name = output_names[i];
}

void CheckBoundaryNames(const GraphIndex& index,
                        const std::vector<Boundary>& starts,
                        const std::vector<Boundary>& ends) {
  struct Owner {
    const Boundary* boundary;
    BoundaryRole role;
  };
  std::unordered_map<std::string, Owner> by_name;
  std::unordered_map<std::string, const Boundary*> by_tensor;
  auto check = [&](const Boundary& boundary, BoundaryRole role) {
    const auto [it, inserted] =
        by_name.emplace(boundary.name, Owner{&boundary, role});
    if (!inserted) {
      const Owner& first = it->second;
      const bool same_mark = boundary.mark != GraphIndex::kNone &&
                             first.boundary->mark == boundary.mark &&
                             first.role == role;
      if (boundary.by_name && first.boundary->by_name &&
          boundary.tensor == first.boundary->tensor) {
        if (first.role == role) {
          throw PartitionError(
              "tensor '" + boundary.tensor + "' is listed twice in " +
              (role == BoundaryRole::kStart ? "inputs" : "outputs") +
              "; list each tensor once");
        }
        throw PartitionError(
            "tensor '" + boundary.tensor +
            "' is both an input and an output of the partition: nothing is "
            "computed between them; remove it from one of the lists");
      }
      if (same_mark) {
        throw PartitionError(
            DescribeBoundary(index, boundary, role) +
            " is selected twice (also by marker '" + first.boundary->marker +
            "'); list each marker once");
      }
      throw PartitionError(
          "name '" + boundary.name + "' is given to both " +
          DescribeBoundary(index, *first.boundary, first.role) + " and " +
          DescribeBoundary(index, boundary, role) +
          "; partition inputs and outputs need distinct names: rename one "
          "with start_name_map, end_name_map or output_names");
    }
    if (role != BoundaryRole::kStart) return;
    const auto [tensor_it, fresh] =
        by_tensor.emplace(boundary.tensor, &boundary);
    if (!fresh) {
      throw PartitionError(
          DescribeBoundary(index, *tensor_it->second, role) + " and " +
          DescribeBoundary(index, boundary, role) +
          " both start at tensor '" + boundary.tensor +
          "', which can be only one partition input: keep one of the "
          "start markers");
    }
  };
  for (const auto& start : starts) check(start, BoundaryRole::kStart);
  for (const auto& end : ends) check(end, BoundaryRole::kEnd);
}

}  // namespace mmdeploy::partition
