# Unit tests (formatter; the lead's decoder tests too): every tests/unit/test_*.c
# is one executable linked to pag_core and one CTest test labelled "unit".
# tests/unit/format_oracle.py compares tree/table/graph output byte for byte
# with CPython's own Lib/asyncio/tools.py and graph.py, run by a real
# interpreter of each supported version (skipped with a reason when none has
# been fetched).
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

# unit_test_versions: the rows of common/src/versions.c are the versions of
# fixtures/python-versions (PAG_PY_VERSIONS, top CMakeLists.txt), in order.
if(TARGET test_versions)
  list(JOIN PAG_PY_VERSIONS "," _pag_unit_versions)
  target_compile_definitions(test_versions PRIVATE
    "PAG_TEST_PY_VERSIONS=\"${_pag_unit_versions}\"")
endif()

if(TARGET test_format_oracle)
  find_program(PAG_HOST_PYTHON3 python3)
  foreach(ver ${PAG_PY_VERSIONS})
    add_test(NAME unit_format_oracle_${ver}
             COMMAND ${PAG_HOST_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/unit/format_oracle.py
                     --version ${ver} --dumper $<TARGET_FILE:test_format_oracle>)
    set_tests_properties(unit_format_oracle_${ver} PROPERTIES LABELS "unit;oracle" TIMEOUT 300
                         SKIP_RETURN_CODE 77)
  endforeach()
endif()
