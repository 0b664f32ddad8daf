# Finds the torch that a Python interpreter imports and describes it as the
# imported INTERFACE target MMDeployMark::torch. The installed package config
# includes this file too, so a C++ consumer finds torch the same way (an
# imported target is referenced by name in the exported link interfaces).
#
# Why not find_package(Torch): the op plugin must be built against the torch
# the user's Python runs, and PyPI's torch wheels are CUDA builds whose
# TorchConfig.cmake fails on a machine without a CUDA toolkit. The plugin
# needs only torch's headers and its c10/torch_cpu/torch libraries, which
# torch.utils.cpp_extension reports for any torch (Debian's 1.13 as PyPI's 2.x).
#
# Under pip's build isolation the interpreter runs with an overlay that hides
# the environment being installed into; "-I" (isolated mode) ignores that
# overlay's PYTHONPATH, so the query sees the environment's own torch, which
# is the torch the package will run with. Nothing is downloaded.
#
# Sets: MMDEPLOY_MARK_TORCH_VERSION, MMDEPLOY_MARK_TORCH_CXX_STANDARD.

if(NOT Python3_EXECUTABLE)
  if(PYTHON_EXECUTABLE)
    set(Python3_EXECUTABLE "${PYTHON_EXECUTABLE}")
  else()
    find_package(Python3 REQUIRED COMPONENTS Interpreter)
  endif()
endif()

set(_mmdeploy_torch_query [=[
import os, sys
try:
    import torch
    from torch.utils import cpp_extension
except Exception as e:  # report any import failure, not only ImportError
    sys.exit(f"cannot import torch: {e}")
print(torch.__version__)
print(int(torch._C._GLIBCXX_USE_CXX11_ABI))
# Debian's torch lists TH/THC directories it does not ship.
print("|".join(p for p in cpp_extension.include_paths() if os.path.isdir(p)))
print("|".join(p for p in cpp_extension.library_paths() if os.path.isdir(p)))
]=])
execute_process(
  COMMAND "${Python3_EXECUTABLE}" -I -c "${_mmdeploy_torch_query}"
  OUTPUT_VARIABLE _mmdeploy_torch_out
  ERROR_VARIABLE _mmdeploy_torch_err
  RESULT_VARIABLE _mmdeploy_torch_rc
  OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT _mmdeploy_torch_rc EQUAL 0)
  message(FATAL_ERROR
    "MMDeployMark builds its op plugin against the torch of the Python "
    "interpreter ${Python3_EXECUTABLE}, which says: ${_mmdeploy_torch_err}\n"
    "Install torch >= 1.13 into that environment first (pip install torch, "
    "or apt-get install python3-torch libtorch-dev on Debian), or pass "
    "-DPython3_EXECUTABLE=<the python that has torch>.")
endif()
# One value a line; the path lists are joined with "|".
string(REPLACE "\n" ";" _mmdeploy_torch_lines "${_mmdeploy_torch_out}")
list(GET _mmdeploy_torch_lines 0 MMDEPLOY_MARK_TORCH_VERSION)
list(GET _mmdeploy_torch_lines 1 _mmdeploy_torch_abi)
list(GET _mmdeploy_torch_lines 2 _mmdeploy_torch_includes)
list(GET _mmdeploy_torch_lines 3 _mmdeploy_torch_libdirs)
string(REPLACE "|" ";" _mmdeploy_torch_includes "${_mmdeploy_torch_includes}")
string(REPLACE "|" ";" _mmdeploy_torch_libdirs "${_mmdeploy_torch_libdirs}")

set(_mmdeploy_torch_libs)
foreach(_lib c10 torch_cpu torch)
  find_library(_mmdeploy_torch_lib_${_lib} NAMES ${_lib}
    PATHS ${_mmdeploy_torch_libdirs} NO_DEFAULT_PATH)
  if(NOT _mmdeploy_torch_lib_${_lib})
    message(FATAL_ERROR "torch ${MMDEPLOY_MARK_TORCH_VERSION}: lib${_lib}.so "
      "not found in ${_mmdeploy_torch_libdirs}; is the torch installation "
      "complete (Debian also needs libtorch-dev)?")
  endif()
  list(APPEND _mmdeploy_torch_libs "${_mmdeploy_torch_lib_${_lib}}")
endforeach()

# torch 2.x headers need C++20 (c10 uses concepts); older ones compile as
# C++17, the project's standard. Ask the compiler rather than the version.
include(CheckCXXSourceCompiles)
set(CMAKE_REQUIRED_INCLUDES ${_mmdeploy_torch_includes})
set(CMAKE_REQUIRED_DEFINITIONS -D_GLIBCXX_USE_CXX11_ABI=${_mmdeploy_torch_abi})
set(CMAKE_REQUIRED_FLAGS -std=c++17)
set(CMAKE_REQUIRED_QUIET ON)
check_cxx_source_compiles(
  "#include <torch/library.h>\nint main() { return 0; }"
  MMDEPLOY_MARK_TORCH_HEADERS_CXX17)
unset(CMAKE_REQUIRED_INCLUDES)
unset(CMAKE_REQUIRED_DEFINITIONS)
unset(CMAKE_REQUIRED_FLAGS)
unset(CMAKE_REQUIRED_QUIET)
if(MMDEPLOY_MARK_TORCH_HEADERS_CXX17)
  set(MMDEPLOY_MARK_TORCH_CXX_STANDARD 17)
else()
  set(MMDEPLOY_MARK_TORCH_CXX_STANDARD 20)
endif()

if(NOT TARGET MMDeployMark::torch)
  add_library(MMDeployMark::torch INTERFACE IMPORTED GLOBAL)
endif()
set_target_properties(MMDeployMark::torch PROPERTIES
  INTERFACE_INCLUDE_DIRECTORIES "${_mmdeploy_torch_includes}"
  INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${_mmdeploy_torch_includes}"
  INTERFACE_LINK_LIBRARIES "${_mmdeploy_torch_libs}"
  INTERFACE_COMPILE_DEFINITIONS
    "_GLIBCXX_USE_CXX11_ABI=${_mmdeploy_torch_abi}"
  INTERFACE_COMPILE_FEATURES
    "cxx_std_${MMDEPLOY_MARK_TORCH_CXX_STANDARD}")
message(STATUS "MMDeployMark: torch ${MMDEPLOY_MARK_TORCH_VERSION} from "
  "${Python3_EXECUTABLE} (C++${MMDEPLOY_MARK_TORCH_CXX_STANDARD}, "
  "_GLIBCXX_USE_CXX11_ABI=${_mmdeploy_torch_abi})")
