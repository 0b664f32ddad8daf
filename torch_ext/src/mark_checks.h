// Argument checks shared by the mark kernels.
#pragma once

#include <c10/util/string_view.h>

namespace mmdeploy::detail {

// Throws c10::Error (RuntimeError in Python) naming the bad value and the
// allowed ones.
void CheckMarkArguments(c10::string_view func, c10::string_view type,
                        c10::string_view name);

}  // namespace mmdeploy::detail
