# Hardening (lead): the decoder fuzzer, run for a bounded time under ASan/UBSan.
# PAG_FUZZ_SECONDS sets the time (CI: 60).
set(PAG_FUZZ_SECONDS 60 CACHE STRING "seconds the fuzz test runs")
add_test(NAME fuzz_decoder
         COMMAND ${PAG_TESTS_DIR}/fuzz/run_fuzz.sh ${PAG_FUZZ_SECONDS})
set_tests_properties(fuzz_decoder PROPERTIES LABELS "fuzz;hardening" TIMEOUT 600
                     FAIL_REGULAR_EXPRESSION "ERROR: AddressSanitizer|runtime error:|ERROR: libFuzzer")
