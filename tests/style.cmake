# style: the C and C++ sources are formatted as .clang-format says (clang-format
# 14, Debian 12's; scripts/setup.sh installs it).  Deliberate tables are fenced
# with "// clang-format off/on".  Fix with:
#   clang-format -i $(git ls-files '*.c' '*.h' '*.cpp')
find_program(PAG_CLANG_FORMAT NAMES clang-format-14 clang-format)
file(GLOB_RECURSE _pag_style_src CONFIGURE_DEPENDS
     ${CMAKE_SOURCE_DIR}/common/*.c ${CMAKE_SOURCE_DIR}/common/*.h
     ${CMAKE_SOURCE_DIR}/cli/*.c ${CMAKE_SOURCE_DIR}/cli/*.h
     ${CMAKE_SOURCE_DIR}/os/*.c ${CMAKE_SOURCE_DIR}/os/*.h ${CMAKE_SOURCE_DIR}/gdb/*.c
     ${CMAKE_SOURCE_DIR}/lldb/*.cpp ${CMAKE_SOURCE_DIR}/tests/*.c
     ${CMAKE_SOURCE_DIR}/bench/*.c ${CMAKE_SOURCE_DIR}/fixtures/*.c)
if(PAG_CLANG_FORMAT)
  add_test(NAME style.clang-format
           COMMAND ${PAG_CLANG_FORMAT} --dry-run --Werror --style=file ${_pag_style_src}
           WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
else()
  # Not skipped: a missing formatter is a set-up failure, and says so.
  add_test(NAME style.clang-format
           COMMAND ${CMAKE_COMMAND} -E echo "clang-format not found: run scripts/setup.sh")
  set_tests_properties(style.clang-format PROPERTIES WILL_FAIL TRUE)
endif()
set_tests_properties(style.clang-format PROPERTIES LABELS "style" TIMEOUT 120)

# Thin frontends and short functions (issue 13): code lines of the gdb
# script, the lldb plugin and the CLI's main.c, and no C function in
# common/ or cli/ over 100 lines.
find_package(Python3 COMPONENTS Interpreter)
add_test(NAME style.sizes COMMAND ${Python3_EXECUTABLE} ${PAG_TESTS_DIR}/style/sizes.py
         --source ${CMAKE_SOURCE_DIR})
set_tests_properties(style.sizes PROPERTIES LABELS "style" TIMEOUT 60)
