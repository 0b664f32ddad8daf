// Device-independent kernel of mmdeploy::mark. CompositeExplicitAutograd
// (not Implicit) keeps the op whole under tracing: an implicit kernel would be
// decomposed and the trace would record aten::alias instead of the mark.
#include <ATen/ATen.h>
#include <torch/library.h>

#include "mark_checks.h"

namespace mmdeploy {
namespace {

at::Tensor mark_composite(const at::Tensor& self, c10::string_view func,
                          int64_t func_id, c10::string_view type,
                          c10::string_view name, int64_t id,
                          c10::string_view attrs) {
  detail::CheckMarkArguments(func, type, name);
  return at::alias(self);
}

}  // namespace

TORCH_LIBRARY_IMPL(mmdeploy, CompositeExplicitAutograd, m) {
  m.impl("mark", mark_composite);
}

}  // namespace mmdeploy
