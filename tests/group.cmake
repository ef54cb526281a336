# group (issue 16): tree --group, --format summary and --format collapsed on
# real fixture processes and their cores, against the same target's JSON
# snapshot and plain tree (tests/group/check_group.py); gdb and lldb print
# the CLI's bytes for them.  The unit tests on hand-built snapshots are
# tests/unit/test_group.c (label unit).  Label "group".
find_program(PAG_GROUP_PYTHON NAMES python3.11 python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT PAG_GROUP_PYTHON)
  find_program(PAG_GROUP_PYTHON NAMES python3 REQUIRED)
endif()
set(_pag_group_env
  "PAG_BUILD_DIR=${CMAKE_BINARY_DIR}"
  "PAG_SOURCE_DIR=${CMAKE_SOURCE_DIR}"
  "PYTHONDONTWRITEBYTECODE=1")
set(_pag_group_check ${PAG_TESTS_DIR}/group/check_group.py)

function(pag_group_test name timeout)
  add_test(NAME ${name} COMMAND ${PAG_GROUP_PYTHON} ${_pag_group_check} ${ARGN}
           WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties(${name} PROPERTIES LABELS "group" TIMEOUT ${timeout}
    SKIP_RETURN_CODE 77 ENVIRONMENT "${_pag_group_env}")
  pag_format_labels(${_pag_group_check} ${name})
endfunction()

foreach(ver ${PAG_PY_VERSIONS})
  foreach(fx basic unicode threads blocked deadlock subinterp demo_service)
    pag_group_test(group.live.${fx}.${ver} 180 ${fx} ${ver})
  endforeach()
  foreach(fx blocked deadlock demo_service)
    pag_group_test(group.core.${fx}.${ver} 300 ${fx} ${ver} --core)
  endforeach()
  pag_group_test(group.live.many.${ver} 300 many ${ver} -- --tasks 1000)
  pag_group_test(group.live.fanin.${ver} 300 fanin ${ver} -- --tasks 5002)
  pag_group_test(group.debuggers.demo_service.${ver} 600 demo_service ${ver} --debuggers)
endforeach()
# The demo service at 100,000 tasks: the grouped tree under 100 lines.
pag_group_test(group.big.100k.3.14 600 big_service 3.14 --big 100000)

# Browser (tests/browser/check_browser.py): the html page in Debian's
# chromium through puppeteer-core, and the collapsed output in speedscope
# (both installed by scripts/setup.sh).  Labels "group;browser".
set(_pag_browser_check ${PAG_TESTS_DIR}/browser/check_browser.py)
function(pag_browser_test name labels timeout)
  add_test(NAME ${name} COMMAND ${PAG_GROUP_PYTHON} ${_pag_browser_check} ${ARGN}
           WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties(${name} PROPERTIES LABELS "${labels}" TIMEOUT ${timeout}
    ENVIRONMENT "${_pag_group_env}")
  pag_format_labels(${_pag_browser_check} ${name})
endfunction()
foreach(fx deadlock blocked demo_service)
  pag_browser_test(browser.html.${fx}.3.14 "group;browser" 300 explorer ${fx} 3.14)
endforeach()
pag_browser_test(browser.html.demo_service.3.15-core "group;browser" 300 explorer demo_service 3.15 --core)
pag_browser_test(browser.speedscope.demo_service.3.14 "group;browser" 300 speedscope demo_service 3.14)
pag_browser_test(browser.speedscope.deadlock.3.15 "group;browser" 300 speedscope deadlock 3.15)
pag_browser_test(browser.html.big-100k.3.14 "group;browser" 900 big big_service 3.14 --big 100000)
# a timing: alone, not beside the other tests of the same run
set_tests_properties(browser.html.big-100k.3.14 PROPERTIES RUN_SERIAL TRUE)
pag_browser_test(browser.html.big-1m.3.14 "group;browser;slow" 1800 big big_service 3.14 --big 1000000)
