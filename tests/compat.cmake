# compat (label "compat"): the output of this tree is byte-identical to the
# tree before the issue-13 refactor.  tests/compat/baseline.py builds the
# pinned pre-refactor commit (BASELINE_COMMIT there) from `git archive` of
# this repository into ~/.cache/py-async-graph/baseline-<commit>/ (outside
# the build tree, reused once built); tests/compat/compare_builds.py then
# runs the old and the new CLI, gdb script and lldb plugin against the same
# fixture processes and cores and compares stdout bytes, stderr lines and
# exit codes.  No git, no history or a failed baseline build is a failure,
# never a skip.
#
#   PAG_COMPAT_VERSIONS  versions compared (default: PAG_PYTHON_VERSIONS when
#                        the build defines it, else 3.14;3.15)
#   PAG_COMPAT_BASELINE  another baseline commit (default: the pinned one)
if(NOT TARGET py-async-graph)
  return()
endif()
find_program(PAG_COMPAT_PYTHON NAMES python3.11 python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT PAG_COMPAT_PYTHON)
  find_program(PAG_COMPAT_PYTHON NAMES python3 REQUIRED)
endif()
if(NOT DEFINED PAG_COMPAT_VERSIONS)
  if(DEFINED PAG_PYTHON_VERSIONS)
    set(PAG_COMPAT_VERSIONS ${PAG_PYTHON_VERSIONS})
  else()
    set(PAG_COMPAT_VERSIONS 3.14 3.15)
  endif()
endif()

set(_pag_compat_base_args --build-type ${CMAKE_BUILD_TYPE})
set(_pag_compat_args --baseline)
if(PAG_COMPAT_BASELINE)
  list(APPEND _pag_compat_base_args --commit ${PAG_COMPAT_BASELINE})
  set(_pag_compat_args --baseline ${PAG_COMPAT_BASELINE})
endif()
if(NOT PAG_BUILD_LLDB)
  list(APPEND _pag_compat_base_args --no-lldb)
  list(APPEND _pag_compat_args --no-lldb)
endif()
if(PAG_SANITIZE)
  # An ASan-instrumented core cannot be loaded into gdb or lldb; the driver
  # prints that these were left out.
  list(APPEND _pag_compat_args --no-gdb --no-lldb)
endif()
set(_pag_compat_env
  "PAG_BUILD_DIR=${CMAKE_BINARY_DIR}" "PAG_SOURCE_DIR=${CMAKE_SOURCE_DIR}"
  "PYTHONDONTWRITEBYTECODE=1")

# Build (or reuse) the baseline once, before the per-version comparisons.
add_test(NAME compat.baseline
  COMMAND ${PAG_COMPAT_PYTHON} ${PAG_TESTS_DIR}/compat/baseline.py ${_pag_compat_base_args}
  WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
set_tests_properties(compat.baseline PROPERTIES LABELS "compat" TIMEOUT 1200
  FIXTURES_SETUP pag_compat_baseline ENVIRONMENT "${_pag_compat_env}")

foreach(ver ${PAG_COMPAT_VERSIONS})
  add_test(NAME compat.${ver}
    COMMAND ${PAG_COMPAT_PYTHON} ${PAG_TESTS_DIR}/compat/compare_builds.py
            ${_pag_compat_args} --new ${CMAKE_BINARY_DIR} --version ${ver}
    WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties(compat.${ver} PROPERTIES LABELS "compat" TIMEOUT 900
    FIXTURES_REQUIRED pag_compat_baseline ENVIRONMENT "${_pag_compat_env}")
endforeach()
