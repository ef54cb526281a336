# fixtures (foundation): each fixture's oracle is complete and agrees with
# CPython's own remote reader (`python3.X -m asyncio ps/pstree PID`), on the real
# sid interpreters fetched by fixtures/fetch-pythons.sh.  Driver:
# tests/fixtures/check_fixture.py (host Python 3.11, tests/lib/pagtest.py).
find_program(PAG_FIXTURES_PYTHON NAMES python3.11 python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT PAG_FIXTURES_PYTHON)
  find_program(PAG_FIXTURES_PYTHON NAMES python3 REQUIRED)
endif()

set(_pag_fx_env
  "PAG_BUILD_DIR=${CMAKE_BINARY_DIR}"
  "PAG_SOURCE_DIR=${CMAKE_SOURCE_DIR}"
  "PYTHONDONTWRITEBYTECODE=1")

function(pag_fixture_test name labels timeout)
  add_test(NAME ${name} COMMAND ${PAG_FIXTURES_PYTHON} ${ARGN}
           WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties(${name} PROPERTIES LABELS "${labels}" TIMEOUT ${timeout}
    SKIP_RETURN_CODE 77 ENVIRONMENT "${_pag_fx_env}")
endfunction()

# The fetch script is idempotent and offline once cached: re-run it and check
# the interpreters it reports.
# It must report the -dbg wrapper of the newest supported version.
list(GET PAG_PY_VERSIONS -1 _pag_fx_newest)
string(REPLACE "." "\\." _pag_fx_newest "${_pag_fx_newest}")
add_test(NAME fixtures.fetch-pythons
         COMMAND bash ${CMAKE_SOURCE_DIR}/fixtures/fetch-pythons.sh)
set_tests_properties(fixtures.fetch-pythons PROPERTIES LABELS "fixtures" TIMEOUT 600
  PASS_REGULAR_EXPRESSION "python${_pag_fx_newest}-dbg +${_pag_fx_newest}\\.")

set(_pag_fx_check ${PAG_TESTS_DIR}/fixtures/check_fixture.py)
foreach(ver ${PAG_PY_VERSIONS})
  foreach(fx basic unicode threads blocked deadlock subinterp)
    pag_fixture_test(fixtures.${fx}.${ver} fixtures 180 ${_pag_fx_check} ${fx} ${ver})
  endforeach()
  pag_fixture_test(fixtures.demo_service.${ver} fixtures 180 ${_pag_fx_check} demo_service ${ver})
  pag_fixture_test(fixtures.basic.${ver}-dbg fixtures 180 ${_pag_fx_check} basic ${ver} --dbg)
  pag_fixture_test(fixtures.basic.${ver}-shared fixtures 180 ${_pag_fx_check} basic ${ver} --shared)
  pag_fixture_test(fixtures.many.${ver} fixtures 300 ${_pag_fx_check} many ${ver} --tasks 1000)
  pag_fixture_test(fixtures.fanin.${ver} fixtures 300 ${_pag_fx_check} fanin ${ver} --tasks 5002)
endforeach()
# One million tasks: the fixture itself must get there (counts + sample only).
pag_fixture_test(fixtures.many-1m.3.14 "fixtures;slow" 900
                 ${_pag_fx_check} many 3.14 --tasks 1000000 --no-cpython)
# Set-up failures (no network to the mirror, a package sid does not have) end
# in one ERROR line and a non-zero exit; private temporary caches only.
pag_fixture_test(fixtures.setup-errors fixtures 400 ${PAG_TESTS_DIR}/fixtures/setup_errors.py)
