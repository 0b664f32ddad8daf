#include "cli_print.h"

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <iomanip>
#include <iostream>
#include <set>
#include <string>
#include <vector>

namespace mmdeploy::partition::cli {
namespace {

std::string DtypeName(int64_t dtype) {
  std::string name;
  if (onnx::TensorProto_DataType_IsValid(static_cast<int>(dtype))) {
    name = onnx::TensorProto_DataType_Name(
        static_cast<onnx::TensorProto_DataType>(dtype));
  }
  if (name.empty() || dtype == 0) return "dtype(" + std::to_string(dtype) + ")";
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (name == "float") return "float32";
  if (name == "double") return "float64";
  return name;
}

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

// "float32[batch, 3, 224, 224]"; "?" for an unknown dim.
std::string TypeText(const onnx::TypeProto& type) {
  if (!type.has_tensor_type()) return "(non-tensor)";
  const auto& tensor = type.tensor_type();
  std::string text = DtypeName(tensor.elem_type());
  if (!tensor.has_shape()) return text + "[?]";
  text += "[";
  for (int i = 0; i < tensor.shape().dim_size(); ++i) {
    const auto& dim = tensor.shape().dim(i);
    if (i) text += ", ";
    if (dim.has_dim_value()) {
      text += std::to_string(dim.dim_value());
    } else if (dim.has_dim_param() && !dim.dim_param().empty()) {
      text += dim.dim_param();
    } else {
      text += "?";
    }
  }
  return text + "]";
}

std::string CanonicalMarker(const std::string& func, int64_t func_id,
                            const std::string& type) {
  // Marker::ToString escapes ',', ':', '[', ']' and '\\' of the name, so
  // that what is listed can be given back to --start/--end.
  return Marker{func, func_id, type}.ToString();
}

}  // namespace

void PrintMarks(const std::string& model_path,
                const std::vector<MarkRecord>& marks) {
  if (marks.empty()) {
    std::cout << model_path << ": no Mark nodes\n";
    return;
  }
  std::vector<std::vector<std::string>> rows = {
      {"marker", "name", "id", "dtype", "shape"}};
  std::vector<std::string> markers;
  std::set<std::string> seen;
  for (const auto& mark : marks) {
    std::string marker = CanonicalMarker(mark.func, mark.func_id, mark.type);
    rows.push_back({marker, mark.name, std::to_string(mark.id),
                    DtypeName(mark.dtype), ShapeText(mark.shape)});
    if (seen.insert(marker).second) markers.push_back(marker);
  }
  std::vector<std::size_t> widths(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size(); ++c) {
      widths[c] = std::max(widths[c], row[c].size());
    }
  }
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      std::string cell = row[c];
      if (c + 1 < row.size()) cell.resize(widths[c] + 2, ' ');
      line += cell;
    }
    std::cout << line << "\n";
  }
  std::cout << "\n" << marks.size() << " marks, " << markers.size()
            << " markers:";
  for (const auto& marker : markers) std::cout << " " << marker;
  std::cout << "\n";
}

void PrintIo(const onnx::ModelProto& model) {
  const auto& graph = model.graph();
  std::set<std::string> initializers;
  for (const auto& init : graph.initializer()) initializers.insert(init.name());
  std::size_t width = 0;
  for (const auto& v : graph.input()) width = std::max(width, v.name().size());
  for (const auto& v : graph.output()) width = std::max(width, v.name().size());
  for (const auto& v : graph.input()) {
    if (initializers.count(v.name())) continue;
    std::cout << "  input   " << std::left << std::setw(int(width) + 2)
              << v.name() << TypeText(v.type()) << "\n";
  }
  for (const auto& v : graph.output()) {
    std::cout << "  output  " << std::left << std::setw(int(width) + 2)
              << v.name() << TypeText(v.type()) << "\n";
  }
  std::cout << "  nodes   " << graph.node_size() << ", initializers "
            << graph.initializer_size() << "\n";
}

}  // namespace mmdeploy::partition::cli
