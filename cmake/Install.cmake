# The CMake package MMDeployMark: find_package(MMDeployMark) gives
# MMDeployMark::mark_ops, ::mark_schema and ::partition.
include(CMakePackageConfigHelpers)

set(MMDEPLOY_MARK_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/MMDeployMark)
install(EXPORT MMDeployMarkTargets
  NAMESPACE MMDeployMark::
  DESTINATION ${MMDEPLOY_MARK_CMAKE_DIR})

# The config finds torch as the build did, through a Python interpreter; it
# defaults to the one the package was built with.
set(MMDEPLOY_MARK_BUILT_WITH_PYTHON "${Python3_EXECUTABLE}")
configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/MMDeployMarkConfig.cmake.in
  ${PROJECT_BINARY_DIR}/MMDeployMarkConfig.cmake
  INSTALL_DESTINATION ${MMDEPLOY_MARK_CMAKE_DIR})
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/MMDeployMarkConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/MMDeployMarkConfig.cmake
  ${PROJECT_BINARY_DIR}/MMDeployMarkConfigVersion.cmake
  ${PROJECT_SOURCE_DIR}/cmake/TorchFromPython.cmake
  DESTINATION ${MMDEPLOY_MARK_CMAKE_DIR})
