# Unit tests (formatter; the lead's decoder tests too): every tests/unit/test_*.c
# is one executable linked to pag_core and one CTest test labelled "unit".
# tests/unit/format_oracle.py compares tree/table/graph output byte for byte
# with CPython's own Lib/asyncio/tools.py and graph.py, run by a real 3.14 /
# 3.15 interpreter (skipped with a reason when none has been fetched).
file(GLOB PAG_UNIT_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/unit/test_*.c)
foreach(src ${PAG_UNIT_SOURCES})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_link_libraries(${name} PRIVATE pag_core)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/common/src)
  add_test(NAME unit_${name} COMMAND ${name})
  set_tests_properties(unit_${name} PROPERTIES LABELS "unit" TIMEOUT 120)
  pag_format_labels(${src} unit_${name})
endforeach()

if(TARGET test_format_oracle)
  find_program(PAG_HOST_PYTHON3 python3)
  foreach(ver 3.14 3.15)
    add_test(NAME unit_format_oracle_${ver}
             COMMAND ${PAG_HOST_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/unit/format_oracle.py
                     --version ${ver} --dumper $<TARGET_FILE:test_format_oracle>)
    set_tests_properties(unit_format_oracle_${ver} PROPERTIES LABELS "unit;oracle" TIMEOUT 300
                         SKIP_RETURN_CODE 77)
  endforeach()
endif()
