# --native and --all-threads (issue 14, label "native"): one test per
# fixtures/native_block.py mode and CPython version, each on one fixture
# process read live, from a gcore core and from a kernel core (which ends
# it), by the CLI, gdb and lldb, against gdb's own bt and the fixture's
# in-process records (tests/native/test_native.py says how).  The kernel
# core rewrites the machine-wide core_pattern for a moment: the tests hold
# the core_pattern lock, and so should every other test that does.
find_package(Python3 COMPONENTS Interpreter)
set(_pag_native_py ${Python3_EXECUTABLE})
if(NOT _pag_native_py)
  set(_pag_native_py python3)
endif()
if(NOT PAG_BUILD_LLDB)
  message(STATUS "PAG_BUILD_LLDB is OFF: no native tests (they need all three frontends)")
  return()
endif()

set(_pag_native_env
  "PAG_BUILD_DIR=${CMAKE_BINARY_DIR}"
  "PAG_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
if(PAG_SANITIZE)
  list(APPEND _pag_native_env "PAG_GDB_SANITIZED=1" "PAG_LLDB_SANITIZED=1")
endif()

foreach(ver ${PAG_PY_VERSIONS})
  foreach(mode re sleep lock recv sqlite gil call_later)
    add_test(NAME native.${mode}.${ver}
      COMMAND ${_pag_native_py} ${PAG_TESTS_DIR}/native/test_native.py
              --mode ${mode} --version ${ver}
      WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
    set_tests_properties(native.${mode}.${ver} PROPERTIES LABELS "native"
      SKIP_RETURN_CODE 77 TIMEOUT 300 RESOURCE_LOCK core_pattern
      ENVIRONMENT "${_pag_native_env}")
  endforeach()
endforeach()
