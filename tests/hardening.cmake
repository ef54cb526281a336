# Hardening (lead): the two fuzzers, each built with clang under ASan/UBSan,
# its regression inputs replayed (each must pass), then run for a bounded
# time over a copy of its corpus (tests/fuzz/run_fuzz.sh):
#   fuzz_decoder  the decoder, formatters and options (fuzz_decode.c)
#   fuzz_core     the CLI's core-file reader (fuzz_core.c)
# PAG_FUZZ_SECONDS / PAG_FUZZ_CORE_SECONDS set the times; together with the
# builds the default lane spends about 2 minutes here.
set(PAG_FUZZ_SECONDS 45 CACHE STRING "seconds the decoder fuzz test runs")
set(PAG_FUZZ_CORE_SECONDS 35 CACHE STRING "seconds the core-reader fuzz test runs")
add_test(NAME fuzz_decoder
         COMMAND ${PAG_TESTS_DIR}/fuzz/run_fuzz.sh decode ${PAG_FUZZ_SECONDS})
set_tests_properties(fuzz_decoder PROPERTIES LABELS "fuzz;hardening" TIMEOUT 600
                     FAIL_REGULAR_EXPRESSION "ERROR: AddressSanitizer|runtime error:|ERROR: libFuzzer")
if(TARGET pag_cli_targets)
  add_test(NAME fuzz_core
           COMMAND ${PAG_TESTS_DIR}/fuzz/run_fuzz.sh core ${PAG_FUZZ_CORE_SECONDS})
  set_tests_properties(fuzz_core PROPERTIES LABELS "fuzz;hardening" TIMEOUT 600
                       FAIL_REGULAR_EXPRESSION "ERROR: AddressSanitizer|runtime error:|ERROR: libFuzzer")
endif()

# A sanitizer build of the CLI for the damaged-core tests (ASan + UBSan).
set(PAG_ASAN_DIR ${CMAKE_BINARY_DIR}/asan)
add_test(NAME hardening.asan_build
         COMMAND ${CMAKE_COMMAND} -E env --unset=PYTHONHOME sh -c
                 "${CMAKE_COMMAND} -S ${CMAKE_SOURCE_DIR} -B ${PAG_ASAN_DIR} -DPAG_SANITIZE=ON -DPAG_BUILD_LLDB=OFF -DCMAKE_BUILD_TYPE=Debug >/dev/null && ${CMAKE_COMMAND} --build ${PAG_ASAN_DIR} --target py-async-graph -j2 >/dev/null && echo built")
set_tests_properties(hardening.asan_build PROPERTIES FIXTURES_SETUP asan_cli LABELS "hardening" TIMEOUT 600)
foreach(v ${PAG_PY_VERSIONS})
  add_test(NAME hardening.damaged_cores.${v}
           COMMAND python3 ${PAG_TESTS_DIR}/hardening/damaged_cores.py ${v} ${PAG_ASAN_DIR}/py-async-graph)
  set_tests_properties(hardening.damaged_cores.${v} PROPERTIES FIXTURES_REQUIRED asan_cli
                       LABELS "hardening;core" TIMEOUT 900
                       ENVIRONMENT "PAG_BUILD_DIR=${CMAKE_BINARY_DIR};PAG_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
  add_test(NAME hardening.nostop_churn.${v}
           COMMAND python3 ${PAG_TESTS_DIR}/hardening/nostop_churn.py ${v} ${CMAKE_BINARY_DIR}/py-async-graph 200)
  set_tests_properties(hardening.nostop_churn.${v} PROPERTIES LABELS "hardening;cli" TIMEOUT 900
                       ENVIRONMENT "PAG_BUILD_DIR=${CMAKE_BINARY_DIR};PAG_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
endforeach()
