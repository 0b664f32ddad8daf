mmdeploy_mark_add_test(mark_op_test
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/torch_ext/mark_op_test.cc
  LIBS MMDeployMark::mark_ops)
mmdeploy_mark_add_test(mark_schema_test
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/torch_ext/mark_schema_test.cc
  LIBS MMDeployMark::mark_schema)
mmdeploy_mark_add_test(torchscript_marks_test
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/torch_ext/torchscript_marks_test.cc
  LIBS MMDeployMark::mark_ops)
