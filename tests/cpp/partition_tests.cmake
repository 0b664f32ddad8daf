# Tests of the partition pass: one executable per unit of partition/src.
# Unit tests reach the internal headers in partition/src.
add_library(mmdeploy_partition_test_support STATIC
  ${CMAKE_CURRENT_SOURCE_DIR}/partition/test_models.cc)
target_include_directories(mmdeploy_partition_test_support PUBLIC
  ${CMAKE_CURRENT_SOURCE_DIR}/partition
  ${PROJECT_SOURCE_DIR}/partition/src)
target_link_libraries(mmdeploy_partition_test_support PUBLIC
  MMDeployMark::partition GTest::gtest)
mmdeploy_mark_warnings(mmdeploy_partition_test_support)

foreach(unit IN ITEMS
    atomic_write
    boundaries
    build_partition
    collect_nodes
    exit_codes
    graph_index
    graph_rewrite
    map_svg
    mark_list
    marked_model
    marker
    model_io
    partition_map
    shape_info
    spec
    strip_marks
    tensor_names)
  mmdeploy_mark_add_test(partition_${unit}_test
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/partition/${unit}_test.cc
    LIBS mmdeploy_partition_test_support)
endforeach()

# mmdeploy-partition's argument checks and exit-code mapping, from the
# objects the executable is linked from.
foreach(unit IN ITEMS cli_args cli_errors)
  mmdeploy_mark_add_test(partition_${unit}_test
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/partition/${unit}_test.cc
    LIBS mmdeploy_partition_cli_objects mmdeploy_partition_test_support)
endforeach()
