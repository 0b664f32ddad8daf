// Marks inside TorchScript modules (traced or scripted).
#pragma once

#include <mmdeploy/mark.h>
#include <torch/script.h>

#include <string>
#include <vector>

namespace mmdeploy {

// A mark found in a TorchScript graph: its identity and where it was found.
struct ScriptMark {
  MarkInfo info;
  std::string method;  // qualified name of the method holding the node
};

// Returns every mmdeploy::mark node reachable from the module's methods and
// its submodules' methods (nested blocks included), in graph order.
// Throws c10::Error if a mark's identity is not a constant (e.g. a func_id
// computed at run time in a scripted function).
std::vector<ScriptMark> ListMarks(const torch::jit::Module& module);

// Removes every mmdeploy::mark node from the module's methods and its
// submodules' methods, rewiring each node's users to its input:
//   before:  %y = mmdeploy::mark(%x, "f", 0, "input", "x", 0, "{}")
//            %z = aten::relu(%y)
//   after:   %z = aten::relu(%x)
// Mutates `module` in place; the result runs and saves without the plugin.
// Returns the number of nodes removed.
int64_t StripMarks(torch::jit::Module& module);

}  // namespace mmdeploy
