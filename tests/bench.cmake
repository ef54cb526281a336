# Benchmark smoke run (issue 7): bench/run.py --smoke at 1,000 tasks under
# 3.14 and 3.15.  Every tool of the benchmark table (CLI live and core, gdb
# live and core, lldb live and core when the plugin is built, CPython's
# get_all_awaited_by() and pstree) must run and count the fixture's tasks.
# It never judges time: the full run is `python3 bench/run.py` (bench/RESULTS.md).
find_package(Python3 COMPONENTS Interpreter)
set(_pag_bench_py ${Python3_EXECUTABLE})
if(NOT _pag_bench_py)
  set(_pag_bench_py python3)
endif()
set(_pag_bench_lldb)
if(NOT PAG_BUILD_LLDB)
  set(_pag_bench_lldb --no-lldb)
endif()
foreach(ver 3.14 3.15)
  add_test(NAME bench.smoke.${ver}
    COMMAND ${_pag_bench_py} ${CMAKE_SOURCE_DIR}/bench/run.py --smoke --versions ${ver}
            --build ${CMAKE_BINARY_DIR} ${_pag_bench_lldb})
  set_tests_properties(bench.smoke.${ver} PROPERTIES LABELS "bench" TIMEOUT 300)
endforeach()
