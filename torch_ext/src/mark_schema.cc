#include <mmdeploy/mark_schema.h>
#include <onnx/defs/schema.h>
#include <onnx/defs/shape_inference.h>

#include <stdexcept>
#include <string>

namespace mmdeploy {
namespace {

onnx::OpSchema BuildMarkSchema() {
  using onnx::AttributeProto;
  onnx::OpSchema schema;
  schema.SetName(kMarkOpType)
      .SetDomain(kMarkDomain)
      .SinceVersion(kMarkDomainVersion)
      .SetDoc(
          "Identity that names a point of the model for partitioning. "
          "Carries the mark's identity as attributes.")
      .Input(0, "input", "The marked tensor.", "T")
      .Output(0, "output", "The same tensor.", "T")
      .TypeConstraint("T", onnx::OpSchema::all_tensor_types_with_bfloat(),
                      "Any tensor type.")
      .Attr("dtype", "ONNX element type of the marked tensor.",
            AttributeProto::INT, /*required=*/false)
      .Attr("shape", "Shape of the marked tensor when exported.",
            AttributeProto::INTS, /*required=*/false)
      .Attr("func", "Name of the marked function.", AttributeProto::STRING,
            /*required=*/true)
      .Attr("func_id", "Which call of func (0 for the first).",
            AttributeProto::INT, /*required=*/false)
      .Attr("type", "'input' or 'output' of func.", AttributeProto::STRING,
            /*required=*/true)
      .Attr("name", "Name of the marked tensor.", AttributeProto::STRING,
            /*required=*/false)
      .Attr("id", "Index of the tensor among the call's marks.",
            AttributeProto::INT, /*required=*/false)
      // Users may add their own attributes through @mark(**attrs).
      .AllowUncheckedAttributes()
      .TypeAndShapeInferenceFunction(
          onnx::propagateShapeAndTypeFromFirstInput);
  return schema;
}

void RegisterNow() {
  // In onnx 1.12 a second AddDomainToVersion is caught only by a debug
  // assert, and registering a duplicate schema prints to stderr instead of
  // throwing; so both are checked first.
  auto& domains = onnx::OpSchemaRegistry::DomainToVersionRange::Instance();
  if (domains.Map().count(kMarkDomain) == 0) {
    domains.AddDomainToVersion(kMarkDomain, kMarkDomainVersion,
                               kMarkDomainVersion);
  }
  if (onnx::OpSchemaRegistry::Schema(kMarkOpType, kMarkDomainVersion,
                                     kMarkDomain) == nullptr) {
    auto schema = BuildMarkSchema();
    onnx::OpSchemaRegistry::OpSchemaRegisterOnce registration(schema);
  }
  if (onnx::OpSchemaRegistry::Schema(kMarkOpType, kMarkDomainVersion,
                                     kMarkDomain) == nullptr) {
    throw std::runtime_error(
        std::string("mmdeploy_mark: could not register the ONNX schema of ") +
        kMarkDomain + "::" + kMarkOpType +
        " (see the messages above from ONNX); check that only one libonnx "
        "is loaded in this process");
  }
}

}  // namespace

void RegisterMarkSchema() {
  // Once per process, also when threads race here (a failed attempt throws
  // and leaves the next call to try again).
  static const bool registered = (RegisterNow(), true);
  (void)registered;
}

}  // namespace mmdeploy
