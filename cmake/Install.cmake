include(CMakePackageConfigHelpers)

install(EXPORT MMDeployMarkTargets
  NAMESPACE MMDeployMark::
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/MMDeployMark)

configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/MMDeployMarkConfig.cmake.in
  ${PROJECT_BINARY_DIR}/MMDeployMarkConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/MMDeployMark)
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/MMDeployMarkConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/MMDeployMarkConfig.cmake
  ${PROJECT_BINARY_DIR}/MMDeployMarkConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/MMDeployMark)
