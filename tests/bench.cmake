# Benchmark (issue 7).  Two things live here because tests/ is always built:
#
# - pag-bench-exec (bench/exec_rusage.c), the tiny process bench/run.py runs
#   each measured tool under, so that a tool's peak RSS is its own and not
#   the Python runner's (see the comment in that file);
# - the smoke run: bench/run.py --smoke at 1,000 tasks under 3.14 and 3.15.
#   Every tool of the benchmark table (CLI live and core, gdb live and core,
#   lldb live and core when PAG_BUILD_LLDB is ON -- a missing plugin then
#   fails, it is not skipped -- CPython's get_all_awaited_by() and pstree)
#   must run and count the fixture's tasks.  It never judges time: the full
#   run is `python3 bench/run.py` (bench/RESULTS.md).
add_executable(pag-bench-exec ${CMAKE_SOURCE_DIR}/bench/exec_rusage.c)
set_target_properties(pag-bench-exec PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)

find_package(Python3 COMPONENTS Interpreter)
set(_pag_bench_py ${Python3_EXECUTABLE})
if(NOT _pag_bench_py)
  set(_pag_bench_py python3)
endif()
set(_pag_bench_lldb)
if(NOT PAG_BUILD_LLDB)
  set(_pag_bench_lldb --no-lldb)
endif()
foreach(ver ${PAG_PY_VERSIONS})
  add_test(NAME bench.smoke.${ver}
    COMMAND ${_pag_bench_py} ${CMAKE_SOURCE_DIR}/bench/run.py --smoke --versions ${ver}
            --build ${CMAKE_BINARY_DIR} ${_pag_bench_lldb})
  set_tests_properties(bench.smoke.${ver} PROPERTIES LABELS "bench" TIMEOUT 120)
endforeach()
