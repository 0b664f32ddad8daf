mmdeploy_mark_add_test(mark_op_test
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/torch_ext/mark_op_test.cc
  LIBS MMDeployMark::mark_ops)
mmdeploy_mark_add_test(mark_schema_test
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/torch_ext/mark_schema_test.cc
  LIBS MMDeployMark::mark_schema)
mmdeploy_mark_add_test(torchscript_marks_test
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/torch_ext/torchscript_marks_test.cc
  LIBS MMDeployMark::mark_ops)

# Builds a separate CMake project against the installed package
# (setup.sh installs into ${CMAKE_INSTALL_PREFIX} before the tests run).
add_test(NAME cmake_consumer_builds_against_installed_package
  COMMAND ${CMAKE_CTEST_COMMAND}
    --build-and-test
      ${PROJECT_SOURCE_DIR}/tests/cmake_consumer
      ${CMAKE_CURRENT_BINARY_DIR}/cmake_consumer
    --build-generator ${CMAKE_GENERATOR}
    --build-options -DCMAKE_PREFIX_PATH=${CMAKE_INSTALL_PREFIX}
                    -DCMAKE_BUILD_TYPE=Release
    --test-command mark_consumer)
