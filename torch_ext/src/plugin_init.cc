// Registers the ONNX schema of mmdeploy::Mark when the plugin is loaded
// (torch.ops.load_library or linking), so torch's exporter, onnx.checker and
// onnx.shape_inference all know the op. Errors cannot propagate out of a
// static initializer; the Python loader checks the schema and reports.
#include <mmdeploy/mark_schema.h>

#include <exception>
#include <iostream>

namespace {

bool RegisterOnLoad() noexcept {
  try {
    mmdeploy::RegisterMarkSchema();
    return true;
  } catch (const std::exception& e) {
    std::cerr << e.what() << std::endl;
    return false;
  }
}

const bool kSchemaRegisteredOnLoad = RegisterOnLoad();

}  // namespace
