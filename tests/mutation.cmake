# The table mutation test (issue 18): every field of _Py_DebugOffsets and of
# the AsyncioDebug table set to hostile values in a real core of each
# supported version, read by the CLI, the ASan+UBSan CLI (hardening.asan_build),
# valgrind, gdb and lldb (tests/hardening/table_mutation.py).  The default lane
# runs every case in the CLIs and a sample in the debuggers; the `slow` lane
# runs every case in gdb and lldb too.
#
# pag-table-fields dumps the decoder's own field lists (common/src/versions.c),
# so the test never keeps a second list.
if(APPLE)
  return() # Linux processes and cores, like every area but macos
endif()
add_executable(pag-table-fields ${CMAKE_CURRENT_LIST_DIR}/hardening/table_fields.c)
target_link_libraries(pag-table-fields PRIVATE pag_core)
target_include_directories(pag-table-fields PRIVATE ${PROJECT_SOURCE_DIR}/common/src)
if(NOT PAG_ASAN_DIR)
  set(PAG_ASAN_DIR ${CMAKE_BINARY_DIR}/asan)
endif()
foreach(v ${PAG_PY_VERSIONS})
  foreach(lane default slow)
    if(lane STREQUAL "default")
      set(_name hardening.table_mutation.${v})
      set(_labels "hardening;core;mutation")
      set(_timeout 900)
    else()
      set(_name table_mutation.slow.${v})
      set(_labels "slow;mutation")
      set(_timeout 14400)
    endif()
    add_test(NAME ${_name}
             COMMAND python3 ${CMAKE_CURRENT_LIST_DIR}/hardening/table_mutation.py
                     --version ${v} --lane ${lane}
                     --cli ${CMAKE_BINARY_DIR}/py-async-graph
                     --asan ${PAG_ASAN_DIR}/py-async-graph
                     --fields $<TARGET_FILE:pag-table-fields>)
    set_tests_properties(${_name} PROPERTIES FIXTURES_REQUIRED asan_cli LABELS "${_labels}"
                         TIMEOUT ${_timeout}
                         ENVIRONMENT "PAG_BUILD_DIR=${CMAKE_BINARY_DIR};PAG_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
  endforeach()
endforeach()
