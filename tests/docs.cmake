# docs and install (issue 9): the docs agree with the program, the man page
# renders, `cmake --install` gives working entry points, and README command 1
# (the demo) shows the deadlock and the blocked loop.  Drivers: tests/docs/*.py
# (host Python 3.11, tests/lib/pagtest.py).  Label "docs".
find_program(PAG_DOCS_PYTHON NAMES python3.11 python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT PAG_DOCS_PYTHON)
  find_program(PAG_DOCS_PYTHON NAMES python3 REQUIRED)
endif()
if(PAG_BUILD_LLDB)
  set(_pag_docs_lldb ON)
else()
  set(_pag_docs_lldb OFF)
endif()

set(_pag_docs_env
  "PAG_BUILD_DIR=${CMAKE_BINARY_DIR}"
  "PAG_SOURCE_DIR=${CMAKE_SOURCE_DIR}"
  "PYTHONDONTWRITEBYTECODE=1")

function(pag_docs_test name timeout)
  add_test(NAME ${name} COMMAND ${PAG_DOCS_PYTHON} ${ARGN}
           WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties(${name} PROPERTIES LABELS "docs" TIMEOUT ${timeout}
    SKIP_RETURN_CODE 77 ENVIRONMENT "${_pag_docs_env}")
endfunction()

set(_pag_docs ${PAG_TESTS_DIR}/docs)
# (a) every --help option (CLI and debuggers) in the man page and the guide
pag_docs_test(docs.options 120 ${_pag_docs}/options_documented.py)
# (b) man -l renders without warnings
pag_docs_test(docs.man 120 ${_pag_docs}/man_renders.py)
# (d) --version, README versions and set-up commands
pag_docs_test(docs.version 120 ${_pag_docs}/version.py ${PROJECT_VERSION})
# (c) cmake --install into a temporary prefix, each entry point on a live fixture
pag_docs_test(docs.install 600 ${_pag_docs}/install.py --lldb ${_pag_docs_lldb})
# README command 1, bounded
pag_docs_test(docs.demo 900 ${_pag_docs}/demo.py --lldb ${_pag_docs_lldb})
# every row of the format table has a test labelled format-<name>
pag_docs_test(docs.formats-tested 120 ${_pag_docs}/formats_tested.py)
