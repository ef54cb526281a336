# lldb frontend tests (label "lldb"): real lldb-16 with the SB API plugin on
# real fixture processes and their gcore cores, output compared with the
# standalone CLI and the fixtures' own format_call_graph oracles.  Drivers:
# tests/lldb/*.py (system python3).  One lldb session per fixture and mode.
# A missing lldb-16 fails the tests (never a silent skip).
find_package(Python3 COMPONENTS Interpreter)
set(_pag_lldb_py ${Python3_EXECUTABLE})
if(NOT _pag_lldb_py)
  set(_pag_lldb_py python3)
endif()

if(NOT PAG_BUILD_LLDB)
  message(STATUS "PAG_BUILD_LLDB is OFF: no lldb tests")
  return()
endif()

set(_pag_lldb_env
  "PAG_BUILD_DIR=${CMAKE_BINARY_DIR}"
  "PAG_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
if(PAG_SANITIZE)
  # An ASan-instrumented plugin cannot be loaded into an uninstrumented
  # lldb: the drivers print why and exit 77 (a visible skip).
  list(APPEND _pag_lldb_env "PAG_LLDB_SANITIZED=1")
endif()

function(pag_lldb_test name timeout)
  add_test(NAME ${name}
    COMMAND ${_pag_lldb_py} ${PAG_TESTS_DIR}/lldb/${ARGN}
    WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties(${name} PROPERTIES LABELS "lldb"
    TIMEOUT ${timeout} ENVIRONMENT "${_pag_lldb_env}")
  if(PAG_SANITIZE)
    set_tests_properties(${name} PROPERTIES SKIP_RETURN_CODE 77)
  endif()
endfunction()

foreach(ver ${PAG_PY_VERSIONS})
  foreach(fixture basic unicode threads blocked deadlock subinterp)
    foreach(mode live core)
      pag_lldb_test(lldb.${mode}.${fixture}.${ver} 300
        test_formats.py --fixture ${fixture} --version ${ver} --mode ${mode})
    endforeach()
  endforeach()
endforeach()

# odd task names (issue 18): the CLI's bytes, --task by bytes, repr and ""
foreach(ver ${PAG_PY_VERSIONS})
  foreach(mode live core)
    pag_lldb_test(lldb.${mode}.oddnames.${ver} 300 test_oddnames.py --version ${ver} --mode ${mode})
  endforeach()
endforeach()

# libpython3.X.so in a PIE executable (Fedora's, pyenv's --enable-shared)
foreach(ver ${PAG_PY_VERSIONS})
  foreach(mode live core)
    pag_lldb_test(lldb.${mode}.basic.${ver}-shared 300
      test_formats.py --fixture basic --version ${ver} --mode ${mode} --shared)
  endforeach()
endforeach()

# Live reads normally go to the process directly (see lldb/plugin.cpp); this
# one runs every format through lldb's own reads instead.
foreach(ver ${PAG_PY_VERSIONS})
  pag_lldb_test(lldb.live.deadlock.${ver}.lldb-reads 300
    test_formats.py --fixture deadlock --version ${ver} --mode live)
  set_tests_properties(lldb.live.deadlock.${ver}.lldb-reads PROPERTIES
    ENVIRONMENT "${_pag_lldb_env};PAG_LLDB_NO_DIRECT=1")
endforeach()

foreach(ver ${PAG_PY_VERSIONS})
  pag_lldb_test(lldb.commands.${ver} 300 test_commands.py --version ${ver})
endforeach()
foreach(case none exe sleep py313)
  pag_lldb_test(lldb.errors.${case} 120 test_errors.py --case ${case})
endforeach()
# damaged cores (issue 8): one error line, and lldb keeps answering
foreach(ver ${PAG_PY_VERSIONS})
  pag_lldb_test(lldb.corrupt.${ver} 300 test_corrupt.py --version ${ver})
endforeach()
# py-async-bt without TASK: the task running on the selected thread
foreach(ver ${PAG_PY_VERSIONS})
  foreach(mode live core)
    pag_lldb_test(lldb.bt.blocked.${mode}.${ver} 300 test_blocked.py --version ${ver} --mode ${mode})
  endforeach()
endforeach()
pag_lldb_test(lldb.install 300 test_install.py)
# The build says clearly when the SB API is missing: a scratch configure with
# LLDB_ROOT pointing at an empty prefix must stop with the message that names
# the package, the LLDB_ROOT option and PAG_BUILD_LLDB=OFF.
set(_pag_lldb_noapi ${CMAKE_BINARY_DIR}/lldb-noapi-check)
add_test(NAME lldb.cmake.no-sb-api
  COMMAND ${CMAKE_COMMAND} -E env --unset=PYTHONHOME sh -c
          "rm -rf '${_pag_lldb_noapi}' && mkdir -p '${_pag_lldb_noapi}/empty' && if ${CMAKE_COMMAND} -S '${CMAKE_SOURCE_DIR}' -B '${_pag_lldb_noapi}/build' -DPAG_BUILD_LLDB=ON -DLLDB_ROOT='${_pag_lldb_noapi}/empty' >'${_pag_lldb_noapi}/log' 2>&1; then echo CONFIGURED-WITHOUT-SB-API; else tr -s '\\n ' '  ' <'${_pag_lldb_noapi}/log'; fi")
set_tests_properties(lldb.cmake.no-sb-api PROPERTIES LABELS "lldb" TIMEOUT 300
  PASS_REGULAR_EXPRESSION "LLDB SB API was not found under LLDB_ROOT=[^ ]*/empty .*Install Debian's liblldb-16-dev, point -DLLDB_ROOT=.*-DPAG_BUILD_LLDB=OFF"
  FAIL_REGULAR_EXPRESSION "CONFIGURED-WITHOUT-SB-API")
# --native (issue 14): lldb's own unwinder against lldb's own backtrace, live,
# on the gcore core, on a kernel core (core_pattern), on damaged cores, and
# on the -dbg build (full DWARF)
foreach(ver ${PAG_PY_VERSIONS})
  foreach(mode live core kernel damaged-stack damaged-regs)
    pag_lldb_test(lldb.native.${mode}.${ver} 300 test_native.py --version ${ver} --mode ${mode})
  endforeach()
  pag_lldb_test(lldb.native.live.${ver}-dbg 300 test_native.py --version ${ver} --mode live --dbg)
endforeach()
