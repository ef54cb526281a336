# Issue 18 (defects 6, 8b, 8c, 10): --no-stop against a real aiohttp
# service under load must give a consistent graph (exit 0) or exit 11 in
# every one of 100 reads, never a partial result or garbage.  The aiohttp
# site tree comes from fixtures/fetch-pythons.sh (run by scripts/setup.sh).
# (The damaged-core checks of defect 6 are in tests/hardening/damaged_cores.py,
# the unit tests in tests/unit/test_damage.c.)
if(APPLE)
  return() # Linux processes only, as the hardening area
endif()
foreach(v ${PAG_PY_VERSIONS})
  add_test(NAME hardening.aiohttp_churn.${v}
           COMMAND python3 ${PAG_TESTS_DIR}/hardening/aiohttp_churn.py ${v} ${CMAKE_BINARY_DIR}/py-async-graph 100)
  set_tests_properties(hardening.aiohttp_churn.${v} PROPERTIES LABELS "hardening;cli" TIMEOUT 300
                       ENVIRONMENT "PAG_BUILD_DIR=${CMAKE_BINARY_DIR};PAG_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
endforeach()
