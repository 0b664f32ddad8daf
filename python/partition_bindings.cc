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
#include <mmdeploy/partition/spec.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "partition_map_bindings.h"

namespace py = pybind11;
namespace mp = mmdeploy::partition;

namespace {

// Python values as the partition library reads a spec (spec.h): the
// library owns every rule (keys, types, values, the places its messages
// name); this only says which Python type is which kind of value.
mp::ConfigValue ToConfigValue(py::handle value, int depth = 0) {
  using Kind = mp::ConfigValue::Kind;
  mp::ConfigValue out;
  out.type_name = Py_TYPE(value.ptr())->tp_name;
  // No spec nests deeper than a few levels; deeper values are simply of a
  // type no key accepts (and cannot exhaust the stack).
  constexpr int kMaxDepth = 16;
  PyObject* object = value.ptr();
  if (value.is_none()) return out;
  if (PyBool_Check(object)) {
    out.kind = Kind::kBool;
    out.boolean = object == Py_True;
  } else if (PyFloat_Check(object)) {
    out.kind = Kind::kFloat;
    out.number = PyFloat_AsDouble(object);
  } else if (PyIndex_Check(object)) {  // int, numpy.int64: what has __index__
    PyObject* index = PyNumber_Index(object);
    if (index == nullptr) throw py::error_already_set();
    auto integer = py::reinterpret_steal<py::object>(index);
    int overflow = 0;
    const long long number = PyLong_AsLongLongAndOverflow(index, &overflow);
    if (number == -1 && PyErr_Occurred()) throw py::error_already_set();
    if (overflow == 0) {
      out.kind = Kind::kInt;
      out.integer = number;
    } else {
      out.kind = Kind::kOther;
      out.type_name += " (out of int64 range)";
    }
  } else if (py::isinstance<py::str>(value)) {
    out.kind = Kind::kString;
    out.text = value.cast<std::string>();
  } else if (depth >= kMaxDepth) {
    out.kind = Kind::kOther;
  } else if (py::isinstance<py::list>(value) ||
             py::isinstance<py::tuple>(value)) {
    out.kind = Kind::kList;
    for (py::handle item : value) {
      out.items.push_back(ToConfigValue(item, depth + 1));
    }
  } else if (py::isinstance<py::dict>(value)) {
    out.kind = Kind::kMap;
    for (auto item : py::reinterpret_borrow<py::dict>(value)) {
      out.entries.emplace_back(ToConfigValue(item.first, depth + 1),
                               ToConfigValue(item.second, depth + 1));
    }
  } else {
    out.kind = Kind::kOther;
  }
  return out;
}

}  // namespace

// Functions taking a spec list take it as a ConfigValue: any Python value
// converts, and the library reports what it does not accept.
namespace pybind11::detail {
template <>
struct type_caster<mp::ConfigValue> {
  PYBIND11_TYPE_CASTER(mp::ConfigValue, const_name("object"));
  bool load(handle source, bool /*convert*/) {
    value = ToConfigValue(source);
    return true;
  }
};
}  // namespace pybind11::detail

namespace {

std::vector<mp::PartitionSpec> ReadSpecs(const mp::ConfigValue& specs,
                                         mp::SpecSource source) {
  mp::SpecReadOptions options;
  options.source = source;
  return mp::ReadPartitionSpecs(specs, options);
}

// A spec as a plain dict: save_file, start and end always, the other keys
// when given (pybind11's stl conversions do the containers).
py::dict SpecToPython(const mp::PartitionSpec& spec) {
  py::dict entry;
  entry["save_file"] = spec.save_file;
  entry["start"] = spec.start;
  entry["end"] = spec.end;
  if (!spec.inputs.empty()) entry["inputs"] = spec.inputs;
  if (!spec.outputs.empty()) entry["outputs"] = spec.outputs;
  if (!spec.output_names.empty()) entry["output_names"] = spec.output_names;
  if (!spec.start_name_map.empty()) {
    entry["start_name_map"] = spec.start_name_map;
  }
  if (!spec.end_name_map.empty()) entry["end_name_map"] = spec.end_name_map;
  if (!spec.dynamic_axes.empty()) entry["dynamic_axes"] = spec.dynamic_axes;
  return entry;
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
        std::string(Py_TYPE(value.ptr())->tp_name));
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

// Two targets of one write are refused by WriteModelsAtomically.
void WriteAll(std::vector<std::pair<std::string, onnx::ModelProto>> outputs,
              const std::string& source = "") {
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
  // A spec's own mistake; a wrong type is also a TypeError.
  auto& spec_error = py::register_exception<mp::SpecError>(
      m, "PartitionSpecError", partition_error.ptr());
  py::register_exception<mp::SpecTypeError>(
      m, "PartitionSpecTypeError",
      py::make_tuple(spec_error, py::handle(PyExc_TypeError)));
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
      [](const py::object& model, const mp::ConfigValue& specs,
         bool expose_uncovered_inputs, bool infer_shapes,
         const std::optional<std::string>& source) {
        ModelArg arg = ToModelArg(model);
        auto cpp_specs = ReadSpecs(specs, mp::SpecSource::kArguments);
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
      [](const py::object& model, const mp::ConfigValue& specs,
         const std::string& out_dir, bool expose_uncovered_inputs,
         bool infer_shapes, const std::optional<std::string>& source) {
        ModelArg arg = ToModelArg(model);
        // Into a work dir: a partition_cfg. Without one: a call's paths.
        auto cpp_specs = ReadSpecs(specs, out_dir.empty()
                                              ? mp::SpecSource::kArguments
                                              : mp::SpecSource::kConfig);
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
      "nothing. Returns the paths written, in spec order. With an empty "
      "out_dir each save_file is a path as given.");

  m.def(
      "read_partition_cfg",
      [](const mp::ConfigValue& entries, const std::string& list_name) {
        mp::SpecReadOptions options;
        options.list_name = list_name;
        py::list result;
        for (const auto& spec : mp::ReadPartitionSpecs(entries, options)) {
          result.append(SpecToPython(spec));
        }
        return result;
      },
      py::arg("entries"), py::arg("list_name") = "partition_cfg",
      "Checks a deploy config's partition_cfg list by the partition "
      "library's rules and returns it as new plain dicts (markers and "
      "tensor names as lists; list-form dynamic_axes as {axis: ''}). Raises "
      "PartitionSpecTypeError (a TypeError) or PartitionSpecError naming "
      "the place, e.g. '<list_name>[1].start[0]'.");

  m.def(
      "check_dynamic_axes",
      [](const mp::ConfigValue& value, const std::string& place) {
        mp::ReadDynamicAxes(value, place);
      },
      py::arg("value"), py::arg("place"),
      "Checks a dynamic_axes value ({tensor: {axis: dim_name}} or {tensor: "
      "[axis, ...]}) by the partition library's rules; messages name it "
      "`place`.");

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
