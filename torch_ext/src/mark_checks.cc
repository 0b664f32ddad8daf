#include "mark_checks.h"

#include <c10/util/Exception.h>

#include <string>

namespace mmdeploy::detail {

void CheckMarkArguments(c10::string_view func, c10::string_view type,
                        c10::string_view name) {
  TORCH_CHECK(!func.empty(),
              "mark: func must be a non-empty function name, got ''");
  TORCH_CHECK(type == "input" || type == "output",
              "mark: type must be 'input' or 'output', got '",
              std::string(type), "' (func '", std::string(func), "')");
  TORCH_CHECK(!name.empty(), "mark: name must be non-empty (func '",
              std::string(func), "', type '", std::string(type), "')");
}

}  // namespace mmdeploy::detail
