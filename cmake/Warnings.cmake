# mmdeploy_mark_warnings(<target>): the project's warning set, per target.
function(mmdeploy_mark_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic
    -Wno-unused-parameter)
endfunction()
