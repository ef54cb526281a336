# The lldb plugin on macOS (included by lldb/CMakeLists.txt when APPLE,
# natively or cross-built with cmake/zig-*-macos.cmake).
#
# Why no liblldb is linked: lldb on macOS is Xcode's (LLDB.framework) or
# Homebrew's (liblldb.dylib), and a plugin linked against one of them would
# load a second copy of LLDB into the other.  The SB API is stable, so the
# plugin leaves its SB symbols undefined and lets the loading lldb supply
# them (-undefined dynamic_lookup).  That also makes a cross build need
# nothing but headers.
#
# Headers: LLDB_ROOT/include/lldb/API (Homebrew's llvm, Debian's
# liblldb-16-dev when cross-building).  Without them, Xcode's or the
# Command Line Tools' LLDB.framework: its Headers/ are included as
# <LLDB/SBx.h>, so a shim directory maps lldb/API/X.h and lldb/X.h onto
# <LLDB/X.h>.
if(NOT PAG_LLDB_INCLUDE_DIR AND NOT CMAKE_CROSSCOMPILING)
  execute_process(COMMAND xcode-select -p OUTPUT_VARIABLE _pag_dev
    OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  find_path(PAG_LLDB_FRAMEWORK_DIR LLDB.framework/Headers/SBDebugger.h
    HINTS ${_pag_dev}/../SharedFrameworks ${_pag_dev}/Library/PrivateFrameworks
          /Library/Developer/CommandLineTools/Library/PrivateFrameworks
    NO_DEFAULT_PATH)
  if(PAG_LLDB_FRAMEWORK_DIR)
    set(_pag_shim ${CMAKE_CURRENT_BINARY_DIR}/lldb-framework-include)
    file(GLOB _pag_fw_headers RELATIVE ${PAG_LLDB_FRAMEWORK_DIR}/LLDB.framework/Headers
      ${PAG_LLDB_FRAMEWORK_DIR}/LLDB.framework/Headers/*.h)
    # Both places: LLDB.h and SB*.h are lldb/API/, lldb-*.h are lldb/.
    foreach(h ${_pag_fw_headers})
      file(WRITE ${_pag_shim}/lldb/API/${h} "#include <LLDB/${h}>\n")
      file(WRITE ${_pag_shim}/lldb/${h} "#include <LLDB/${h}>\n")
    endforeach()
    set(PAG_LLDB_INCLUDE_DIR ${_pag_shim} CACHE PATH "" FORCE)
  endif()
endif()
if(PAG_LLDB_FRAMEWORK_DIR AND PAG_LLDB_INCLUDE_DIR MATCHES "lldb-framework-include$")
  add_compile_options(-F${PAG_LLDB_FRAMEWORK_DIR}) # every configure, not just the first
endif()
# Not a library but what stands for one in the messages and the checks.
set(PAG_LLDB_LIBRARY "(none: SB API bound at load time, -undefined dynamic_lookup)")
set(PAG_LLDB_LINK -Wl,-undefined,dynamic_lookup)
