# Compressed cores and cores from a stream (issue 15, part 1): a gcore core
# of a live fixture, compressed by the real zstd/lz4/xz/gzip tools (one frame
# and two), given as --core FILE, piped into --core -, and written into a
# FIFO, gives the plain core's bytes in every format; cut, corrupt and
# disk-full cases give one line each; a kernel core whose compressed stream
# is cut short gives a partial graph where its front allows.  Driver:
# tests/cli/core_packed.py.
if(NOT TARGET py-async-graph OR NOT COMMAND pag_cli_test)
  return()
endif()
foreach(ver ${PAG_PY_VERSIONS})
  pag_cli_test(core.packed.deadlock.${ver} core 600 ${PAG_TESTS_DIR}/cli/core_packed.py deadlock ${ver})
  # A cut stream (a kernel core cut at 50 % and 90 % of its compressed size)
  # gives exit 12, one line, and a graph that is part of the whole core's.
  pag_cli_test(core.packed.cut.deadlock.${ver} core 600 ${PAG_TESTS_DIR}/cli/core_packed.py cut deadlock ${ver})
  set_tests_properties(core.packed.cut.deadlock.${ver} PROPERTIES RESOURCE_LOCK core_pattern)
endforeach()
# The bench of compressed cores (bench/packed.py) at 10,000 tasks: every tool
# runs and counts the fixture's tasks; it never judges time (the full run,
# 1,000,000 tasks, is in bench/RESULTS.md).
find_package(Python3 COMPONENTS Interpreter)
add_test(NAME bench.packed.smoke
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/bench/packed.py --smoke --build ${CMAKE_BINARY_DIR})
set_tests_properties(bench.packed.smoke PROPERTIES LABELS "bench" TIMEOUT 300
                     ENVIRONMENT "PAG_BUILD_DIR=${CMAKE_BINARY_DIR};PAG_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
