// Declares torch.ops.mmdeploy.mark. The schema is the single source of truth
// for the op's arguments; the kernels live in mark_kernel.cc and
// mark_autograd.cc.
#include <torch/library.h>

TORCH_LIBRARY(mmdeploy, m) {
  // The output aliases the input (Tensor(a) -> Tensor(a)): a mark is an
  // identity, and alias analysis must not treat it as a fresh tensor.
  m.def(
      "mark(Tensor(a) self, str func, int func_id, str type, str name, "
      "int id, str attrs=\"{}\") -> Tensor(a)");
}
