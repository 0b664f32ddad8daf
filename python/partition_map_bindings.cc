// Binds the C++ partition map (mmdeploy/partition/partition_map.h): its
// classes, read-only, and the functions that build, draw and write it.
// mmdeploy_mark.partition_map and .map_svg are thin callers of these.
#include "partition_map_bindings.h"

#include <mmdeploy/partition/partition.h>
#include <mmdeploy/partition/partition_map.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace py = pybind11;
namespace mp = mmdeploy::partition;

namespace mmdeploy_mark_bindings {

void RegisterPartitionMap(py::module_& m) {
  py::class_<mp::TensorLabel>(m, "TensorLabel",
                              "A tensor as the map labels it: name, dtype, "
                              "shape and the marks it passes.")
      .def_readonly("name", &mp::TensorLabel::name)
      .def_readonly("dtype", &mp::TensorLabel::dtype)
      .def_readonly("shape", &mp::TensorLabel::shape)
      .def_property_readonly(
          "marks",
          [](const mp::TensorLabel& t) { return py::tuple(py::cast(t.marks)); })
      .def_property_readonly("type_text", &mp::TensorLabel::TypeText)
      .def("__repr__", [](const mp::TensorLabel& t) {
        return "TensorLabel(" + t.name + " " + t.TypeText() + ")";
      });

  py::class_<mp::Block>(m, "Block",
                        "A block of the map: graph inputs, a partition, "
                        "\"not cut\" or graph outputs.")
      .def_property_readonly(
          "kind", [](const mp::Block& b) { return mp::BlockKindName(b.kind); })
      .def_readonly("title", &mp::Block::title)
      .def_readonly("nodes", &mp::Block::nodes)
      .def_readonly("op_counts", &mp::Block::op_counts)
      .def_readonly("param_bytes", &mp::Block::param_bytes)
      .def_readonly("inputs", &mp::Block::inputs)
      .def_readonly("outputs", &mp::Block::outputs)
      .def_readonly("unlinked", &mp::Block::unlinked)
      .def("__repr__", [](const mp::Block& b) {
        return std::string("Block(") + mp::BlockKindName(b.kind) + ", " +
               b.title + ")";
      });

  py::class_<mp::Edge>(m, "Edge", "Tensors flowing from blocks[src] to "
                                  "blocks[dst].")
      .def_readonly("src", &mp::Edge::src)
      .def_readonly("dst", &mp::Edge::dst)
      .def_readonly("tensors", &mp::Edge::tensors);

  py::class_<mp::MarkRow>(m, "MarkRow", "One Mark node and where it sits.")
      .def_readonly("marker", &mp::MarkRow::marker)
      .def_readonly("name", &mp::MarkRow::name)
      .def_readonly("dtype", &mp::MarkRow::dtype)
      .def_readonly("shape", &mp::MarkRow::shape)
      .def_readonly("where", &mp::MarkRow::where);

  py::class_<mp::PartitionMap>(m, "PartitionMap",
                               "Blocks in drawing order, the edges between "
                               "them and the marks.")
      .def_readonly("title", &mp::PartitionMap::title)
      .def_readonly("total_nodes", &mp::PartitionMap::total_nodes)
      .def_readonly("blocks", &mp::PartitionMap::blocks)
      .def_readonly("edges", &mp::PartitionMap::edges)
      .def_readonly("marks", &mp::PartitionMap::marks)
      .def("partitions",
           [](const mp::PartitionMap& map) {
             std::vector<mp::Block> parts;
             for (const mp::Block* block : map.Partitions()) {
               parts.push_back(*block);
             }
             return parts;
           },
           "The partition blocks, in drawing order.")
      .def("boundary_labels", &mp::PartitionMap::BoundaryLabels,
           "Every tensor label on an edge, in drawing order.");

  m.def(
      "build_partition_map",
      [](const py::bytes& marked,
         const std::vector<std::pair<std::string, py::bytes>>& partitions,
         const std::string& title) {
        std::string marked_bytes = marked;
        std::vector<std::pair<std::string, std::string>> blobs;
        for (const auto& [name, blob] : partitions) {
          blobs.emplace_back(name, std::string(blob));
        }
        py::gil_scoped_release release;
        const onnx::ModelProto model = mp::ParseModel(marked_bytes);
        std::vector<onnx::ModelProto> parts;
        parts.reserve(blobs.size());
        for (const auto& blob : blobs) parts.push_back(mp::ParseModel(blob.second));
        std::vector<mp::MapPartition> named;
        for (std::size_t i = 0; i < parts.size(); ++i) {
          named.push_back({blobs[i].first, &parts[i]});
        }
        return mp::BuildPartitionMap(model, named, title);
      },
      py::arg("marked"), py::arg("partitions"), py::arg("title") = "",
      "The map of a marked model (serialized) cut into (name, serialized "
      "partition) pairs.");

  m.def(
      "load_partition_map",
      [](const std::string& marked_path, const std::vector<std::string>& files,
         const std::optional<std::vector<std::string>>& names) {
        py::gil_scoped_release release;
        return mp::LoadPartitionMap(marked_path, files,
                                    names ? *names : std::vector<std::string>{});
      },
      py::arg("marked_path"), py::arg("partition_files"),
      py::arg("names") = py::none(),
      "build_partition_map from model files; names label the partitions "
      "(default: their file names). Tensor data is not read.");

  m.def("render_map_svg", &mp::RenderMapSvg, py::arg("map"),
        "The map as SVG text (no XML declaration: fit for inline HTML).");
  m.def(
      "write_partition_map",
      [](const mp::PartitionMap& map, const std::string& path,
         const std::vector<std::string>& inputs) {
        mp::WriteOptions options;
        options.inputs = inputs;
        py::gil_scoped_release release;
        mp::WritePartitionMap(map, path, options);
      },
      py::arg("map"), py::arg("path"), py::arg("inputs") = std::vector<std::string>{},
      "Writes the map's SVG file through a temporary, never over a file of "
      "`inputs` or a non-regular file.");
  m.def("format_bytes", &mp::FormatBytes, py::arg("count"),
        "'8.6 MiB': binary units, one decimal from a KiB on.");
  m.def("count_text", &mp::CountText, py::arg("count"), py::arg("noun"),
        "'1 node', '2 nodes'.");
  m.attr("MAP_FONT_PX") = mp::kMapFontPx;
  m.attr("MAP_MAX_LINE_CHARS") = mp::kMapMaxLineChars;
}

}  // namespace mmdeploy_mark_bindings
