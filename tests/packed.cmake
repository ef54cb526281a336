# Compressed cores and cores from a stream (issue 15, part 1): a gcore core
# of a live fixture, compressed by the real zstd/lz4/xz/gzip tools (one frame
# and two), given as --core FILE, piped into --core -, and written into a
# FIFO, gives the plain core's bytes in every format; cut, corrupt and
# disk-full cases give one line each.  Driver: tests/cli/core_packed.py.
if(NOT TARGET py-async-graph OR NOT COMMAND pag_cli_test)
  return()
endif()
foreach(ver ${PAG_PY_VERSIONS})
  pag_cli_test(core.packed.deadlock.${ver} core 600 ${PAG_TESTS_DIR}/cli/core_packed.py deadlock ${ver})
endforeach()
