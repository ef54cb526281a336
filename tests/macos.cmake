# macOS tests (label "macos").
#
# On Linux, what Linux can prove of the macOS path:
#   macos.cross.aarch64 / .x86_64  the core and the lldb plugin cross-built
#       with zig (cmake/zig-*-macos.cmake) in ${CMAKE_BINARY_DIR}/macos/<arch>,
#       each dylib checked: Mach-O of that arch, PluginInitialize exported,
#       undefined symbols only the SB API and libSystem, no Linux-only symbol;
#   macos.universal  the two made one with llvm-lipo, both slices checked;
#   macos.image.<ver>  Mach-O images carrying the Debian build's real tables
#       in __DATA,PyRuntime / __DATA,AsyncioDebug, loaded in lldb-16 as bare
#       targets: the plugin (the Linux build: lldb-16 here loads no Mach-O
#       plugin) finds and validates both, and --info says so;
#   macos.core.<ver>  a fixture's gcore core rewritten as a Mach-O MH_CORE,
#       read by lldb's Mach-O core plugin: every format byte-identical to the
#       CLI on the ELF core.
# zig comes from scripts/setup.sh; without it the tests fail saying so.
#
# On macOS (the CI job, .github/workflows/macos.yml): macos.live.<ver>, the
# native plugin in the native lldb on a Homebrew CPython, live (lldb -p) and
# on its `process save-core` core.
find_package(Python3 COMPONENTS Interpreter)
set(_pag_macos_py ${Python3_EXECUTABLE})
if(NOT _pag_macos_py)
  set(_pag_macos_py python3)
endif()
set(_pag_macos_env "PAG_BUILD_DIR=${CMAKE_BINARY_DIR}" "PAG_SOURCE_DIR=${CMAKE_SOURCE_DIR}")

function(pag_macos_test name timeout)
  add_test(NAME ${name} COMMAND ${_pag_macos_py} ${PAG_TESTS_DIR}/macos/${ARGN}
    WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties(${name} PROPERTIES LABELS "macos" TIMEOUT ${timeout}
    ENVIRONMENT "${_pag_macos_env}" SKIP_RETURN_CODE 77)
endfunction()

if(APPLE)
  foreach(ver ${PAG_PY_VERSIONS})
    pag_macos_test(macos.live.${ver} 600 test_live.py --version ${ver})
  endforeach()
  return()
endif()

# The first cross build of an arch makes zig build libc++ for it (minutes).
foreach(arch aarch64 x86_64)
  pag_macos_test(macos.cross.${arch} 3000 test_cross.py --arch ${arch})
  set_tests_properties(macos.cross.${arch} PROPERTIES FIXTURES_SETUP pag_macos_${arch}
    RESOURCE_LOCK pag_macos_cross)
endforeach()
pag_macos_test(macos.universal 300 test_cross.py --universal)
set_tests_properties(macos.universal PROPERTIES
  FIXTURES_REQUIRED "pag_macos_aarch64;pag_macos_x86_64")

if(NOT PAG_BUILD_LLDB OR NOT TARGET py-async-graph)
  message(STATUS "macos: the image and core tests need the lldb plugin and the CLI")
  return()
endif()
set(_pag_macos_core_tests)
foreach(ver ${PAG_PY_VERSIONS})
  pag_macos_test(macos.image.${ver} 600 test_image.py --version ${ver})
  pag_macos_test(macos.core.${ver} 600 test_core.py --version ${ver})
  list(APPEND _pag_macos_core_tests macos.core.${ver})
endforeach()
# a cycle and a deadlock, on the oldest supported version
list(GET PAG_PY_VERSIONS 0 _pag_v)
pag_macos_test(macos.core.deadlock.${_pag_v} 600 test_core.py --version ${_pag_v} --fixture deadlock)
list(APPEND _pag_macos_core_tests macos.core.deadlock.${_pag_v})
pag_format_labels(${PAG_TESTS_DIR}/macos/test_core.py ${_pag_macos_core_tests})
