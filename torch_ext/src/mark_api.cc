#include <ATen/core/dispatch/Dispatcher.h>
#include <mmdeploy/mark.h>

namespace mmdeploy {

at::Tensor mark(const at::Tensor& x, const MarkInfo& info) {
  // Looked up once; the typed handle is immutable afterwards.
  static const auto op =
      c10::Dispatcher::singleton()
          .findSchemaOrThrow("mmdeploy::mark", "")
          .typed<at::Tensor(const at::Tensor&, c10::string_view, int64_t,
                            c10::string_view, c10::string_view, int64_t,
                            c10::string_view)>();
  return op.call(x, info.func, info.func_id, info.type, info.name, info.id,
                 info.attrs);
}

}  // namespace mmdeploy
