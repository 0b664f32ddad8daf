// The partition map's part of mmdeploy_mark._partition (see
// partition_map_bindings.cc), registered by the module's definition.
#pragma once

#include <pybind11/pybind11.h>

namespace mmdeploy_mark_bindings {

// Adds the map's classes and functions to the module `m`.
void RegisterPartitionMap(pybind11::module_& m);

}  // namespace mmdeploy_mark_bindings
