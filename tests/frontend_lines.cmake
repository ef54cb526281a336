# Frontend lines (issue 18, defect 7): each damaged core -- truncated, link
# map or NT_FILE damaged, a PT_LOAD hole, no threads -- gives the same error
# line and status in the CLI, gdb and lldb.  Driver:
# tests/hardening/frontend_lines.py (makes the cores at test time).  It runs
# all three frontends, so it needs the lldb plugin; Linux cores only.
if(APPLE OR NOT PAG_BUILD_LLDB)
  return()
endif()
find_package(Python3 COMPONENTS Interpreter)
foreach(v ${PAG_PY_VERSIONS})
  add_test(NAME hardening.frontend_lines.${v}
           COMMAND ${Python3_EXECUTABLE} ${PAG_TESTS_DIR}/hardening/frontend_lines.py ${v}
           WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties(hardening.frontend_lines.${v} PROPERTIES
                       LABELS "hardening;core;frontends" TIMEOUT 1200 SKIP_RETURN_CODE 77
                       ENVIRONMENT "PAG_BUILD_DIR=${CMAKE_BINARY_DIR};PAG_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
endforeach()
