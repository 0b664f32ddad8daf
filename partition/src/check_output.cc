#include <mmdeploy/mark_schema.h>
#include <mmdeploy/partition/check_output.h>
#include <mmdeploy/partition/errors.h>
#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>

#include <exception>

namespace mmdeploy::partition {

namespace {

// True when the model imports an ONNX opset newer than the linked library
// knows (torch 2.x exports opset 18+; Debian's ONNX 1.12 knows up to 17):
// the library cannot judge its nodes (it would reject attributes that came
// with the newer opset), so such a model is not checked here. torch2onnx
// checks what it publishes with the onnx package Python runs as well.
bool UsesNewerOpsets(const onnx::ModelProto& model) {
  const auto& known =
      onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  for (const auto& opset : model.opset_import()) {
    const std::string domain =
        opset.domain() == "ai.onnx" ? std::string() : opset.domain();
    const auto it = known.find(domain);
    if (it != known.end() && opset.version() > it->second.second) return true;
  }
  return false;
}

}  // namespace

void CheckOutputModel(const onnx::ModelProto& model, const std::string& what) {
  if (UsesNewerOpsets(model)) return;
  // A partition has no Mark, but the stripped model of a marked model may
  // keep one inside a function the checker reads: the schema must be there.
  RegisterMarkSchema();
  try {
    // Tensor payloads are references to file ranges here, so the copy is
    // cheap whatever the model's size.
    onnx::ModelProto copy = model;
    // torch 2.x writes IR versions newer than the ONNX library this build
    // links may know (Debian's 1.12 knows IR 8; torch 2.x writes IR 10).
    if (copy.ir_version() > onnx::Version::IR_VERSION) {
      copy.set_ir_version(onnx::Version::IR_VERSION);
    }
    onnx::checker::check_model(copy);
    onnx::ShapeInferenceOptions strict(/*check_type_val=*/true,
                                       /*strict_mode_val=*/1);
    onnx::shape_inference::InferShapes(copy, onnx::OpSchemaRegistry::Instance(),
                                       strict);
  } catch (const std::exception& e) {
    throw InvalidOutputError(
        what + " fails the ONNX checker, so nothing was written: " +
        e.what() +
        "\n  check the input model with onnx.checker.check_model(path, "
        "full_check=True); if it passes, please report this with the model");
  }
}

}  // namespace mmdeploy::partition
