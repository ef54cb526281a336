# cli: the standalone py-async-graph against real fixture processes of
# CPython 3.14/3.15 (drivers in tests/cli/, Python 3.11, using tests/lib/pagtest.py).
# Oracles: the fixture's own asyncio.format_call_graph() and python -m asyncio ps/pstree.
if(NOT TARGET py-async-graph)
  return()
endif()
find_program(PAG_HOST_PYTHON NAMES python3.11 python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT PAG_HOST_PYTHON)
  find_program(PAG_HOST_PYTHON NAMES python3 REQUIRED)
endif()

function(pag_cli_test name labels timeout)
  add_test(NAME ${name} COMMAND ${PAG_HOST_PYTHON} ${ARGN}
           WORKING_DIRECTORY ${PAG_TESTS_DIR}/cli)
  set_tests_properties(${name} PROPERTIES LABELS "${labels}" TIMEOUT ${timeout}
    SKIP_RETURN_CODE 77
    ENVIRONMENT "PAG_BUILD_DIR=${CMAKE_BINARY_DIR};PAG_SOURCE_DIR=${CMAKE_SOURCE_DIR};PYTHONDONTWRITEBYTECODE=1")
endfunction()

foreach(ver ${PAG_PY_VERSIONS})
  foreach(fx basic unicode threads blocked deadlock subinterp)
    pag_cli_test(cli.live.${fx}.${ver} cli 300 ${PAG_TESTS_DIR}/cli/live_fixture.py ${fx} ${ver})
  endforeach()
  pag_cli_test(cli.live.basic.${ver}-dbg cli 300 ${PAG_TESTS_DIR}/cli/live_fixture.py basic ${ver} --dbg)
  pag_cli_test(cli.live.basic.${ver}-shared cli 300 ${PAG_TESTS_DIR}/cli/live_fixture.py basic ${ver} --shared)
  # Odd task names (issue 18): lone surrogates, control characters, "",
  # CPython's own ps/pstree code as the oracle; the core variant is a core test.
  pag_cli_test(cli.live.oddnames.${ver} cli 300 ${PAG_TESTS_DIR}/cli/oddnames.py ${ver})
  pag_cli_test(core.gcore.oddnames.${ver} core 400 ${PAG_TESTS_DIR}/cli/oddnames.py ${ver} --core)
  pag_cli_test(cli.live.fanin.${ver} cli 300 ${PAG_TESTS_DIR}/cli/live_fixture.py fanin ${ver} --tasks 20002)
  pag_cli_test(cli.live.many.${ver} "cli;slow" 1500
               ${PAG_TESTS_DIR}/cli/live_fixture.py many ${ver} --tasks 200000)
endforeach()
pag_cli_test(cli.errors cli 300 ${PAG_TESTS_DIR}/cli/errors.py 3.14)
# Ctrl-Z (SIGTSTP) inside the read window of a 200,000-task target leaves
# the target running while the CLI is stopped (the signal is held back).
pag_cli_test(cli.tstp cli 600 ${PAG_TESTS_DIR}/cli/live_tstp.py 3.14 200000)
# The process-memory provider alone (os/procmem.c, shared with lldb): a
# child's memory read and readv, batching, ESRCH, and the /proc/PID/mem
# fallback under a seccomp filter that refuses process_vm_readv.
if(TARGET pag_procmem)
  add_executable(test_procmem ${PAG_TESTS_DIR}/cli/test_procmem.c)
  target_link_libraries(test_procmem PRIVATE pag_procmem)
  add_test(NAME cli.procmem COMMAND test_procmem)
  set_tests_properties(cli.procmem PROPERTIES LABELS "cli" TIMEOUT 60 SKIP_RETURN_CODE 77)
endif()
# The ptrace-refused lines for every Yama ptrace_scope (0-3, absent,
# garbage): this kernel has no Yama, so only a unit test can reach them.
add_executable(test_eperm ${PAG_TESTS_DIR}/cli/test_eperm.c)
target_link_libraries(test_eperm PRIVATE pag_cli_targets)
add_test(NAME cli.eperm COMMAND test_eperm)
set_tests_properties(cli.eperm PROPERTIES LABELS "cli;unit" TIMEOUT 60)
# The core reader on the hand-made cores of tests/fuzz/regressions/core/:
# wrapping program headers and NT_FILE counts, devices named in NT_FILE
# (never opened), 5,000 missing directories.
pag_cli_test(core.crafted core 300 ${PAG_TESTS_DIR}/cli/core_crafted.py)
# The native unwinder (issue 14, --native): the accessor's records, printed
# by test_native_accessor, against gdb's own backtrace of the same threads, live,
# on gcore cores and on kernel cores, and on a module without CFI and a
# damaged core (both under a timeout).
add_executable(test_native_accessor ${PAG_TESTS_DIR}/cli/test_native_accessor.c)
target_link_libraries(test_native_accessor PRIVATE pag_cli_targets)
set_target_properties(test_native_accessor PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
foreach(ver ${PAG_PY_VERSIONS})
  pag_cli_test(cli.native.blocked.${ver} cli 600 ${PAG_TESTS_DIR}/cli/native_blocked.py ${ver})
  foreach(fl dbg shared nopie)
    pag_cli_test(cli.native.blocked.${ver}-${fl} cli 600
                 ${PAG_TESTS_DIR}/cli/native_blocked.py ${ver} ${fl})
  endforeach()
  pag_cli_test(cli.native.nocfi.${ver} cli 300 ${PAG_TESTS_DIR}/cli/native_nocfi.py ${ver})
  pag_cli_test(core.native.damaged.${ver} core 300 ${PAG_TESTS_DIR}/cli/native_damaged.py ${ver})
  pag_cli_test(core.native.kernel.${ver} core 600 ${PAG_TESTS_DIR}/cli/native_kernel.py ${ver})
  pag_cli_test(core.native.moved.${ver} core 300 ${PAG_TESTS_DIR}/cli/native_moved.py ${ver})
endforeach()
# Separate debug files by build-id (libc6-dbg) against gdb's lines; skips
# without them.
pag_cli_test(cli.native.debuginfo cli 300 ${PAG_TESTS_DIR}/cli/native_debuginfo.py)
# /proc/sys/kernel/core_pattern is one file for the whole machine: the
# kernel-core tests that set it must not overlap.
foreach(ver ${PAG_PY_VERSIONS})
  set_tests_properties(core.native.kernel.${ver} PROPERTIES RESOURCE_LOCK core_pattern)
endforeach()
