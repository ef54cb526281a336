# More builds of the same interpreters (issue 15): Debian's python3.X-nopie
# (its non-PIE build, unpacked beside the default one) and the default build
# with the experimental JIT on (python3.X-jit: PYTHON_JIT=1; in the blocked
# fixture the blocked frame runs JIT code, which the fixture checks with
# sys._jit.is_active()).  Live against the fixture's oracles, and a gcore
# core against the live output.  Drivers in tests/cli/.
if(NOT TARGET py-async-graph OR NOT COMMAND pag_cli_test)
  return()
endif()
foreach(ver ${PAG_PY_VERSIONS})
  foreach(flavour nopie jit)
    foreach(fx basic unicode threads blocked deadlock subinterp)
      pag_cli_test(cli.live.${fx}.${ver}-${flavour} cli 300
                   ${PAG_TESTS_DIR}/cli/live_fixture.py ${fx} ${ver} --flavour ${flavour})
    endforeach()
    foreach(fx basic blocked)
      pag_cli_test(core.gcore.${fx}.${ver}-${flavour} core 400
                   ${PAG_TESTS_DIR}/cli/core_fixture.py ${fx} ${ver} --flavour ${flavour})
    endforeach()
  endforeach()
endforeach()
