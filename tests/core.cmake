# core: py-async-graph --core on real cores (gcore and kernel-written) of
# the fixtures; the live run of the same process is the oracle.  Drivers in
# tests/cli/.  The helper function comes from cli.cmake (included first).
if(NOT TARGET py-async-graph OR NOT COMMAND pag_cli_test)
  return()
endif()

foreach(ver ${PAG_PY_VERSIONS})
  foreach(fx basic unicode threads blocked deadlock subinterp)
    pag_cli_test(core.gcore.${fx}.${ver} core 400 ${PAG_TESTS_DIR}/cli/core_fixture.py ${fx} ${ver})
  endforeach()
  pag_cli_test(core.gcore.basic.${ver}-dbg core 400 ${PAG_TESTS_DIR}/cli/core_fixture.py basic ${ver} --dbg)
  pag_cli_test(core.gcore.basic.${ver}-shared core 400 ${PAG_TESTS_DIR}/cli/core_fixture.py basic ${ver} --shared)
  pag_cli_test(core.kernel.basic.${ver} core 400 ${PAG_TESTS_DIR}/cli/core_kernel.py basic ${ver})
  set_tests_properties(core.kernel.basic.${ver} PROPERTIES RESOURCE_LOCK core_pattern)
  # It changes the machine-wide core_pattern for a moment.
  set_tests_properties(core.kernel.basic.${ver} PROPERTIES RUN_SERIAL TRUE)
endforeach()
foreach(ver ${PAG_PY_VERSIONS})
  pag_cli_test(core.libpath.${ver} core 600 ${PAG_TESTS_DIR}/cli/core_libpath.py ${ver})
endforeach()
pag_cli_test(core.errors core 300 ${PAG_TESTS_DIR}/cli/core_bad.py 3.14)
# --exe of another CPython (a 3.14 core with python3.15 and back) is refused,
# by build-id, by ELF header, and by load layout and size alone.
pag_cli_test(core.wrong_exe core 600 ${PAG_TESTS_DIR}/cli/core_wrong_exe.py)
# A core whose mapped files are all gone: one short line naming the file
# that matters (_PyRuntime's, .AsyncioDebug's) and counting the others.
foreach(ver ${PAG_PY_VERSIONS})
  pag_cli_test(core.missing.${ver} core 600 ${PAG_TESTS_DIR}/cli/core_missing.py ${ver})
endforeach()
# The target layer alone (pag-target-probe): cookie at _PyRuntime, live == core.
if(TARGET pag-target-probe)
  foreach(ver ${PAG_PY_VERSIONS})
    pag_cli_test(core.target_probe.${ver} core 300 ${PAG_TESTS_DIR}/cli/target_probe.py ${ver})
  endforeach()
endif()
# A crafted core listing ~160,000 mapped files (NT_FILE) is read in seconds,
# with the output of the intact core (module table building is linear).
pag_cli_test(core.many_files core 600 ${PAG_TESTS_DIR}/cli/core_many_files.py 3.14)
