// Autograd kernel of mmdeploy::mark. It returns at::alias(self) with autograd
// on, so the result is a real autograd view of the input: gradients pass
// straight through (AliasBackward), and in-place changes to the result bump
// the input's version counter like any other view.
#include <ATen/ATen.h>
#include <torch/library.h>

#include "mark_checks.h"

namespace mmdeploy {
namespace {

at::Tensor mark_autograd(const at::Tensor& self, c10::string_view func,
                         int64_t func_id, c10::string_view type,
                         c10::string_view name, int64_t id,
                         c10::string_view attrs) {
  detail::CheckMarkArguments(func, type, name);
  return at::alias(self);
}

}  // namespace

TORCH_LIBRARY_IMPL(mmdeploy, Autograd, m) {
  m.impl("mark", mark_autograd);
}

}  // namespace mmdeploy
