# gdb frontend tests (label "gdb"): real gdb 13 on real fixture processes and
# their gcore cores, output compared with the standalone CLI and the fixtures'
# own format_call_graph oracles.  Drivers: tests/gdb/*.py (system python3).
find_program(PAG_GDB_EXECUTABLE gdb)
find_package(Python3 COMPONENTS Interpreter)
set(_pag_gdb_py ${Python3_EXECUTABLE})
if(NOT _pag_gdb_py)
  set(_pag_gdb_py python3)
endif()

set(_pag_gdb_env
  "PAG_BUILD_DIR=${CMAKE_BINARY_DIR}"
  "PAG_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
if(PAG_SANITIZE)
  # An ASan-instrumented libpy-async-graph-core.so cannot be dlopen'ed into
  # an uninstrumented gdb: the drivers skip and say so.
  list(APPEND _pag_gdb_env "PAG_GDB_SANITIZED=1")
endif()

function(pag_gdb_test name timeout)
  add_test(NAME ${name}
    COMMAND ${_pag_gdb_py} ${PAG_TESTS_DIR}/gdb/${ARGN}
    WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties(${name} PROPERTIES LABELS "gdb" SKIP_RETURN_CODE 77
    TIMEOUT ${timeout} ENVIRONMENT "${_pag_gdb_env}")
endfunction()

foreach(ver ${PAG_PY_VERSIONS})
  foreach(fixture basic unicode threads blocked deadlock subinterp)
    foreach(mode live core)
      pag_gdb_test(gdb.${mode}.${fixture}.${ver} 300
        test_formats.py --fixture ${fixture} --version ${ver} --mode ${mode})
    endforeach()
  endforeach()
  # the -dbg builds carry full DWARF: symbols come from gdb's symbol tables
  pag_gdb_test(gdb.live.basic.${ver}-dbg 300
    test_formats.py --fixture basic --version ${ver} --mode live --dbg)
  # libpython3.X.so in a PIE executable (Fedora's, pyenv's --enable-shared)
  foreach(mode live core)
    pag_gdb_test(gdb.${mode}.basic.${ver}-shared 300
      test_formats.py --fixture basic --version ${ver} --mode ${mode} --shared)
  endforeach()
  pag_gdb_test(gdb.commands.${ver} 300 test_commands.py --version ${ver})
  # odd task names (issue 18): the CLI's bytes, --task by repr and ""
  foreach(mode live core)
    pag_gdb_test(gdb.${mode}.oddnames.${ver} 300 test_oddnames.py --version ${ver} --mode ${mode})
  endforeach()
  foreach(mode live core)
    pag_gdb_test(gdb.bt.blocked.${mode}.${ver} 300 test_blocked.py --version ${ver} --mode ${mode})
  endforeach()
  pag_gdb_test(gdb.many.${ver} 900 test_many.py --version ${ver} --tasks 10000)
endforeach()
foreach(case none exe sleep py313)
  pag_gdb_test(gdb.errors.${case} 120 test_errors.py --case ${case})
endforeach()
pag_gdb_test(gdb.install 300 test_install.py)
foreach(mode live core)
  pag_gdb_test(gdb.switch.${mode} 300 test_switch.py --mode ${mode})
endforeach()
# damaged cores (issue 8): one error line, and gdb keeps answering
foreach(ver ${PAG_PY_VERSIONS})
  pag_gdb_test(gdb.corrupt.${ver} 300 test_corrupt.py --version ${ver})
endforeach()
# the ABI the script reads from the generated pag_abi.py agrees with the library
pag_gdb_test(gdb.abi 60 test_abi.py)
# --info: the same lines from the CLI (live, core) and gdb (live, executable only)
foreach(ver ${PAG_PY_VERSIONS})
  pag_gdb_test(gdb.info.${ver} 300 test_info.py --version ${ver})
endforeach()
# --native (issue 14): gdb's own frame walk against gdb's own bt, live, on
# the gcore core, on a kernel core (core_pattern), on damaged cores, and on
# the -dbg build (full DWARF)
foreach(ver ${PAG_PY_VERSIONS})
  foreach(mode live core kernel damaged-stack damaged-regs)
    pag_gdb_test(gdb.native.${mode}.${ver} 300 test_native.py --version ${ver} --mode ${mode})
  endforeach()
  pag_gdb_test(gdb.native.live.${ver}-dbg 300 test_native.py --version ${ver} --mode live --dbg)
endforeach()
