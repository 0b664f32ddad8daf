#include "boundaries.h"

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

}  // namespace

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
      boundaries.push_back(
          {text, position,
           role == BoundaryRole::kStart ? mark.input : mark.output,
           MappedName(name_map, text, mark.name)});
    }
  }
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
  for (size_t i = 0; i < ends->size(); ++i) {
    (*ends)[i].name = output_names[i];
  }
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
