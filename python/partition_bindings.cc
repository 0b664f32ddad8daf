// Python bindings of the partition pass (module mmdeploy_mark._partition).
//
// Models cross the boundary as serialized bytes or as file paths, never as
// Python protobuf objects: the Python and C++ protobuf runtimes do not share
// message instances, and the path forms let big models skip a copy through
// Python. The public, documented API is mmdeploy_mark/partition.py.
#include <mmdeploy/partition/errors.h>
#include <mmdeploy/partition/exit_codes.h>
#include <mmdeploy/partition/options.h>
#include <mmdeploy/partition/partition.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "partition_map_bindings.h"

namespace py = pybind11;
namespace mp = mmdeploy::partition;

namespace {

constexpr const char* kSpecKeys[] = {
    "save_file",      "start",        "end",         "output_names",
    "start_name_map", "end_name_map", "dynamic_axes", "inputs",
    "outputs"};

std::string AllowedKeys() {
  std::string keys;
  for (const char* key : kSpecKeys) {
    if (!keys.empty()) keys += ", ";
    keys += key;
  }
  return keys;
}

bool IsSpecKey(const std::string& key) {
  for (const char* allowed : kSpecKeys) {
    if (key == allowed) return true;
  }
  return false;
}

std::string TypeName(py::handle value) { return Py_TYPE(value.ptr())->tp_name; }

// "partition_cfg[1]['start']": where a bad value sits, for messages.
std::string KeyPath(std::size_t index, const std::string& key) {
  return "partition_cfg[" + std::to_string(index) + "]['" + key + "']";
}

bool IsSequence(py::handle value) {
  return py::isinstance<py::list>(value) || py::isinstance<py::tuple>(value);
}

std::string ToStr(py::handle value, const std::string& where) {
  if (!py::isinstance<py::str>(value)) {
    throw py::type_error(where + ": expected str, got " + TypeName(value));
  }
  return value.cast<std::string>();
}

// A marker list accepts one str or a list/tuple of str (mmdeploy's form).
std::vector<std::string> ToMarkers(py::handle value, const std::string& where) {
  if (py::isinstance<py::str>(value)) return {value.cast<std::string>()};
  if (!IsSequence(value)) {
    throw py::type_error(where + ": expected str or list of str, got " +
                         TypeName(value));
  }
  std::vector<std::string> markers;
  std::size_t i = 0;
  for (py::handle item : value) {
    markers.push_back(ToStr(item, where + "[" + std::to_string(i++) + "]"));
  }
  return markers;
}

std::vector<std::string> ToStrList(py::handle value, const std::string& where) {
  if (!IsSequence(value)) {
    throw py::type_error(where + ": expected list of str, got " +
                         TypeName(value));
  }
  std::vector<std::string> items;
  std::size_t i = 0;
  for (py::handle item : value) {
    items.push_back(ToStr(item, where + "[" + std::to_string(i++) + "]"));
  }
  return items;
}

std::map<std::string, std::string> ToNameMap(py::handle value,
                                             const std::string& where) {
  if (!py::isinstance<py::dict>(value)) {
    throw py::type_error(where + ": expected dict of str to str, got " +
                         TypeName(value));
  }
  std::map<std::string, std::string> names;
  for (auto item : py::reinterpret_borrow<py::dict>(value)) {
    std::string key = ToStr(item.first, where + " key");
    names[key] = ToStr(item.second, where + "['" + key + "']");
  }
  return names;
}

int64_t ToAxis(py::handle value, const std::string& where) {
  // Any integer (int, numpy.int64: whatever has __index__), but not bool,
  // an int subclass for which an axis of True is surely a mistake.
  if (!PyIndex_Check(value.ptr()) || PyBool_Check(value.ptr())) {
    throw py::type_error(where + ": expected int axis, got " +
                         TypeName(value));
  }
  PyObject* index = PyNumber_Index(value.ptr());
  if (index == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::int_>(index).cast<int64_t>();
}

// {name: {axis: dim_name}}, or torch.onnx.export's list form {name: [0, 2]}
// (empty dim names: the pass names those dims).
mp::DynamicAxes ToDynamicAxes(py::handle value, const std::string& where) {
  if (!py::isinstance<py::dict>(value)) {
    throw py::type_error(where +
                         ": expected dict {name: {axis: dim_name}} or "
                         "{name: [axis, ...]}, got " +
                         TypeName(value));
  }
  mp::DynamicAxes axes;
  for (auto item : py::reinterpret_borrow<py::dict>(value)) {
    std::string name = ToStr(item.first, where + " key");
    std::string name_where = where + "['" + name + "']";
    auto& dims = axes[name];
    if (py::isinstance<py::dict>(item.second)) {
      for (auto dim : py::reinterpret_borrow<py::dict>(item.second)) {
        int64_t axis = ToAxis(dim.first, name_where + " key");
        dims[axis] = ToStr(dim.second, name_where + "[" +
                                           std::to_string(axis) + "]");
      }
    } else if (IsSequence(item.second)) {
      std::size_t i = 0;
      for (py::handle axis_value : item.second) {
        int64_t axis = ToAxis(axis_value,
                              name_where + "[" + std::to_string(i++) + "]");
        dims[axis] = "";
      }
    } else {
      throw py::type_error(name_where +
                           ": expected dict {axis: dim_name} or list of int, "
                           "got " +
                           TypeName(item.second));
    }
  }
  return axes;
}

// Converts one partition_cfg dict, strictly: an unknown key is a ValueError
// naming it and the allowed keys, a wrong type a TypeError naming the key.
// None stands for "not given" for every optional key.
mp::PartitionSpec ToSpec(py::handle value, std::size_t index,
                         bool need_save_file) {
  const std::string where = "partition_cfg[" + std::to_string(index) + "]";
  if (!py::isinstance<py::dict>(value)) {
    throw py::type_error(where + ": expected dict, got " + TypeName(value));
  }
  auto dict = py::reinterpret_borrow<py::dict>(value);
  for (auto item : dict) {
    if (!py::isinstance<py::str>(item.first)) {
      throw py::type_error(where + ": keys must be str, got " +
                           TypeName(item.first));
    }
    std::string key = item.first.cast<std::string>();
    if (!IsSpecKey(key)) {
      throw py::value_error(where + ": unknown key '" + key +
                            "'; allowed keys: " + AllowedKeys());
    }
  }
  auto given = [&dict](const char* key) {
    return dict.contains(key) && !dict[key].is_none();
  };

  mp::PartitionSpec spec;
  // Each side is given by markers (start/end), by tensor names
  // (inputs/outputs), or both.
  for (const auto& [key, names] :
       {std::pair<const char*, const char*>{"start", "inputs"},
        std::pair<const char*, const char*>{"end", "outputs"}}) {
    if (!dict.contains(key) && !given(names)) {
      throw py::value_error(where + ": missing key '" + key +
                            "' (a marker 'func:type' or a list of them) or '" +
                            names + "' (a list of tensor names)");
    }
  }
  if (dict.contains("start")) {
    spec.start = ToMarkers(dict["start"], KeyPath(index, "start"));
  }
  if (dict.contains("end")) {
    spec.end = ToMarkers(dict["end"], KeyPath(index, "end"));
  }
  if (given("inputs")) {
    spec.inputs = ToMarkers(dict["inputs"], KeyPath(index, "inputs"));
  }
  if (given("outputs")) {
    spec.outputs = ToMarkers(dict["outputs"], KeyPath(index, "outputs"));
  }
  if (given("save_file")) {
    spec.save_file = ToStr(dict["save_file"], KeyPath(index, "save_file"));
  }
  if (need_save_file && spec.save_file.empty()) {
    throw py::value_error(where +
                          ": missing key 'save_file' (the file name to write "
                          "the partition to)");
  }
  if (given("output_names")) {
    spec.output_names =
        ToStrList(dict["output_names"], KeyPath(index, "output_names"));
  }
  if (given("start_name_map")) {
    spec.start_name_map =
        ToNameMap(dict["start_name_map"], KeyPath(index, "start_name_map"));
  }
  if (given("end_name_map")) {
    spec.end_name_map =
        ToNameMap(dict["end_name_map"], KeyPath(index, "end_name_map"));
  }
  if (given("dynamic_axes")) {
    spec.dynamic_axes =
        ToDynamicAxes(dict["dynamic_axes"], KeyPath(index, "dynamic_axes"));
  }
  return spec;
}

std::vector<mp::PartitionSpec> ToSpecs(py::handle value, bool need_save_file) {
  if (!IsSequence(value)) {
    throw py::type_error("partition_cfg: expected list of dict, got " +
                         TypeName(value));
  }
  std::vector<mp::PartitionSpec> specs;
  std::size_t index = 0;
  for (py::handle item : value) {
    specs.push_back(ToSpec(item, index++, need_save_file));
  }
  return specs;
}

mp::PartitionOptions ToOptions(bool expose_uncovered_inputs,
                               bool infer_shapes) {
  mp::PartitionOptions options;
  options.expose_uncovered_inputs = expose_uncovered_inputs;
  options.infer_shapes = infer_shapes;
  return options;
}

py::list MarksToPython(const std::vector<mp::MarkRecord>& marks) {
  py::list result;
  for (const auto& mark : marks) {
    py::dict record;
    record["func"] = mark.func;
    record["func_id"] = mark.func_id;
    record["type"] = mark.type;
    record["name"] = mark.name;
    record["id"] = mark.id;
    record["dtype"] = mark.dtype;
    record["shape"] = mark.shape;
    record["node_name"] = mark.node_name;
    record["input"] = mark.input;
    record["output"] = mark.output;
    result.append(std::move(record));
  }
  return result;
}

// A model argument: serialized bytes, or a file path (str or os.PathLike).
struct ModelArg {
  bool is_path = false;
  std::string data;  // the serialized model or the path
};

ModelArg ToModelArg(py::handle value) {
  ModelArg arg;
  if (py::isinstance<py::bytes>(value)) {
    arg.data = value.cast<std::string>();
    return arg;
  }
  py::object path = py::reinterpret_borrow<py::object>(value);
  if (!py::isinstance<py::str>(value) && py::hasattr(value, "__fspath__")) {
    path = value.attr("__fspath__")();
  }
  if (!py::isinstance<py::str>(path)) {
    throw py::type_error(
        "model: expected serialized model bytes or a path (str or "
        "os.PathLike), got " +
        TypeName(value));
  }
  arg.is_path = true;
  arg.data = path.cast<std::string>();
  return arg;
}

std::string SourceOf(const ModelArg& arg) {
  return arg.is_path ? arg.data : std::string();
}

// Loads or parses the model; frees the serialized copy once parsed.
onnx::ModelProto Load(ModelArg& arg) {
  if (arg.is_path) return mp::LoadModel(arg.data);
  onnx::ModelProto model = mp::ParseModel(arg.data);
  std::string().swap(arg.data);
  return model;
}

std::string Serialize(const onnx::ModelProto& model) {
  return mp::SerializeModel(model);
}

// out_dir / save_file; save_file must stay inside out_dir (no absolute
// path, no '..', no symlinked directory leading out).
// An empty dir (extract_partition's save_file) leaves the path as given.
std::string JoinPath(const std::string& dir, const std::string& file) {
  return dir.empty() ? file : mp::PathInside(dir, file);
}

void WriteAll(std::vector<std::pair<std::string, onnx::ModelProto>> outputs,
              const std::string& source = "") {
  std::set<std::string> seen;
  for (const auto& output : outputs) {
    auto normal = std::filesystem::path(output.first).lexically_normal();
    if (!seen.insert(normal.string()).second) {
      throw mp::PartitionError("two partitions would be written to '" +
                               output.first +
                               "'; give each partition its own save_file");
    }
  }
  // Never write over the input; directories only for a write that succeeds.
  mp::WriteOptions options;
  if (!source.empty()) options.inputs.push_back(source);
  options.create_directories = true;
  mp::WriteModelsAtomically(outputs, options);
}

}  // namespace

PYBIND11_MODULE(_partition, m) {
  m.doc() =
      "C++ partition pass over serialized ONNX models (bytes) and model "
      "files. Use the documented API in mmdeploy_mark.partition.";

  // pybind11 tries translators newest first: register the base before its
  // subclasses so that each C++ type maps to its own Python class.
  auto& partition_error = py::register_exception<mp::PartitionError>(
      m, "PartitionError", PyExc_ValueError);
  auto& marker_error = py::register_exception<mp::MarkerNotFoundError>(
      m, "MarkerNotFoundError", partition_error.ptr());
  py::register_exception<mp::TensorNotFoundError>(m, "TensorNotFoundError",
                                                  marker_error.ptr());
  py::register_exception<mp::UncoveredTensorError>(m, "UncoveredTensorError",
                                                   partition_error.ptr());
  py::register_exception<mp::MalformedModelError>(m, "MalformedModelError",
                                                  partition_error.ptr());

  // The exit codes of every tool (mmdeploy_mark.exit_codes). The table is
  // C++'s so that mmdeploy-partition and the Python tools cannot drift apart.
  py::list exit_codes;
  for (const auto& row : mp::ExitCodeTable()) {
    exit_codes.append(
        py::make_tuple(mp::ToInt(row.code), row.name, row.meaning));
  }
  m.attr("EXIT_CODES") = exit_codes;
  m.def("exit_code_help", &mp::ExitCodeHelp,
        "The exit-code table as help text, as mmdeploy-partition --help "
        "prints it.");

  // The marker grammar is the pass's: Python validates configs with it.
  m.def(
      "canonical_marker",
      [](const std::string& text) { return mp::ParseMarker(text).ToString(); },
      py::arg("marker"),
      "'func:type' or 'func[id]:type' -> 'func[id]:type'; raises "
      "MarkerNotFoundError (a ValueError) naming a malformed marker.");

  m.def(
      "list_marks",
      [](const py::object& model) {
        ModelArg arg = ToModelArg(model);
        std::vector<mp::MarkRecord> marks;
        {
          py::gil_scoped_release release;
          marks = mp::ListMarks(Load(arg));
        }
        return MarksToPython(marks);
      },
      py::arg("model"),
      "Marks of a model (serialized bytes or a path), in graph order, as "
      "dicts with keys func, func_id, type, name, id, dtype, shape, "
      "node_name, input, output.");

  m.def(
      "list_marks_file",
      [](const std::string& path) {
        std::vector<mp::MarkRecord> marks;
        {
          py::gil_scoped_release release;
          marks = mp::ListMarks(mp::LoadModel(path));
        }
        return MarksToPython(marks);
      },
      py::arg("path"), "list_marks() of the model file at path.");

  m.def(
      "strip_marks",
      [](const py::object& model) {
        ModelArg arg = ToModelArg(model);
        std::string bytes;
        {
          py::gil_scoped_release release;
          bytes = Serialize(mp::StripMarks(Load(arg)));
        }
        return py::bytes(bytes);
      },
      py::arg("model"),
      "The model (serialized bytes or a path) without Mark nodes, "
      "serialized: each mark's consumers read the mark's input.");

  m.def(
      "strip_marks_file",
      [](const py::object& model, const std::string& out_path) {
        ModelArg arg = ToModelArg(model);
        py::gil_scoped_release release;
        std::vector<std::pair<std::string, onnx::ModelProto>> outputs;
        outputs.emplace_back(out_path, mp::StripMarks(Load(arg)));
        WriteAll(std::move(outputs), SourceOf(arg));
      },
      py::arg("model"), py::arg("out_path"),
      "Writes the model (a path or serialized bytes) without its Mark nodes "
      "to out_path, through a temporary file.");

  m.def(
      "extract",
      [](const py::object& model, const py::object& specs,
         bool expose_uncovered_inputs, bool infer_shapes,
         const std::optional<std::string>& source) {
        ModelArg arg = ToModelArg(model);
        auto cpp_specs = ToSpecs(specs, /*need_save_file=*/false);
        auto options = ToOptions(expose_uncovered_inputs, infer_shapes);
        std::vector<std::string> blobs;
        {
          py::gil_scoped_release release;
          std::string origin = source ? *source : SourceOf(arg);
          mp::MarkedModel marked(Load(arg), origin);
          for (const auto& part : marked.ExtractAll(cpp_specs, options)) {
            blobs.push_back(Serialize(part));
          }
        }
        py::list result;
        for (const auto& blob : blobs) result.append(py::bytes(blob));
        return result;
      },
      py::arg("model"), py::arg("specs"), py::kw_only(),
      py::arg("expose_uncovered_inputs") = false,
      py::arg("infer_shapes") = true, py::arg("source") = py::none(),
      "Cuts one partition per spec dict (keys save_file, start, end, "
      "inputs, outputs, output_names, start_name_map, end_name_map, "
      "dynamic_axes) from a "
      "model (serialized bytes or a path), parsed and indexed once. Returns "
      "the serialized partitions in spec order. source (default: the path) "
      "is recorded in each partition's metadata.");

  m.def(
      "extract_files",
      [](const py::object& model, const py::object& specs,
         const std::string& out_dir, bool expose_uncovered_inputs,
         bool infer_shapes, const std::optional<std::string>& source) {
        ModelArg arg = ToModelArg(model);
        auto cpp_specs = ToSpecs(specs, /*need_save_file=*/true);
        auto options = ToOptions(expose_uncovered_inputs, infer_shapes);
        std::vector<std::string> paths;
        {
          py::gil_scoped_release release;
          std::string origin = source ? *source : SourceOf(arg);
          mp::MarkedModel marked(Load(arg), origin);
          std::vector<onnx::ModelProto> parts =
              marked.ExtractAll(cpp_specs, options);
          std::vector<std::pair<std::string, onnx::ModelProto>> outputs;
          for (std::size_t i = 0; i < parts.size(); ++i) {
            paths.push_back(JoinPath(out_dir, cpp_specs[i].save_file));
            outputs.emplace_back(paths.back(), std::move(parts[i]));
          }
          WriteAll(std::move(outputs), SourceOf(arg));
        }
        return paths;
      },
      py::arg("model"), py::arg("specs"), py::arg("out_dir"), py::kw_only(),
      py::arg("expose_uncovered_inputs") = false,
      py::arg("infer_shapes") = true, py::arg("source") = py::none(),
      "Cuts every spec from a model (a path or serialized bytes, loaded "
      "once) and writes each partition to out_dir/save_file, all or "
      "nothing. Returns the paths written, in spec order.");

  m.def(
      "write_models",
      [](const std::vector<std::pair<std::string, py::bytes>>& outputs) {
        std::vector<std::pair<std::string, std::string>> blobs;
        for (const auto& output : outputs) {
          blobs.emplace_back(output.first, std::string(output.second));
        }
        py::gil_scoped_release release;
        std::vector<std::pair<std::string, onnx::ModelProto>> models;
        for (auto& blob : blobs) {
          models.emplace_back(blob.first, mp::ParseModel(blob.second));
          std::string().swap(blob.second);
        }
        WriteAll(std::move(models));
      },
      py::arg("outputs"),
      "Writes (path, serialized model) pairs, each to a temporary name "
      "first and renamed into place only after all were written.");

  // The partition map: build, draw and write it (partition_map_bindings.cc).
  mmdeploy_mark_bindings::RegisterPartitionMap(m);
}
