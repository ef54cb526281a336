# Cross-build the macOS part of py-async-graph (the core and the lldb
# plugin) on Linux with zig, which carries the macOS libc headers and
# libSystem stubs, so no Apple SDK is needed.  Not used directly: take
# zig-aarch64-macos.cmake or zig-x86_64-macos.cmake, which set
# PAG_ZIG_TARGET and include this file.
#
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/zig-aarch64-macos.cmake
#
# zig: $PAG_ZIG, else the one scripts/setup.sh installs
# (~/.cache/py-async-graph/zig-0.11.0/zig, or under $PAG_CACHE).  Archives
# are made with LLVM's llvm-ar/llvm-ranlib (Debian's llvm), which write the
# BSD format for Mach-O members.  This file is read again for every
# try_compile, so it only uses the environment and its own directory.
if(NOT PAG_ZIG_TARGET)
  message(FATAL_ERROR "include zig-aarch64-macos.cmake or zig-x86_64-macos.cmake, not zig-macos.cmake")
endif()

set(CMAKE_SYSTEM_NAME Darwin)
if(PAG_ZIG_TARGET MATCHES "^aarch64")
  set(CMAKE_SYSTEM_PROCESSOR arm64)
else()
  set(CMAKE_SYSTEM_PROCESSOR x86_64)
endif()

if(DEFINED ENV{PAG_ZIG} AND NOT "$ENV{PAG_ZIG}" STREQUAL "")
  set(_pag_zig "$ENV{PAG_ZIG}")
elseif(DEFINED ENV{PAG_CACHE} AND NOT "$ENV{PAG_CACHE}" STREQUAL "")
  set(_pag_zig "$ENV{PAG_CACHE}/zig-0.11.0/zig")
else()
  set(_pag_zig "$ENV{HOME}/.cache/py-async-graph/zig-0.11.0/zig")
endif()
if(NOT EXISTS "${_pag_zig}")
  message(FATAL_ERROR "zig not found at ${_pag_zig}: run scripts/setup.sh (it installs zig "
    "into the cache) or set PAG_ZIG to a zig 0.11 binary")
endif()

# A compiler given as a list: the program and its mandatory arguments.
set(CMAKE_C_COMPILER "${_pag_zig}" cc -target ${PAG_ZIG_TARGET})
set(CMAKE_CXX_COMPILER "${_pag_zig}" c++ -target ${PAG_ZIG_TARGET})
# CMake's compiler ABI probe links with -Wl,-v, which zig refuses, so the
# probe fails (harmlessly) and what it would find is stated here: both
# targets are LP64.
set(CMAKE_SIZEOF_VOID_P 8)
find_program(CMAKE_AR NAMES llvm-ar-16 llvm-ar-14 llvm-ar REQUIRED)
find_program(CMAKE_RANLIB NAMES llvm-ranlib-16 llvm-ranlib-14 llvm-ranlib REQUIRED)
# No Xcode here: no SDK to look for, no install_name_tool to run.
set(CMAKE_OSX_SYSROOT "" CACHE PATH "" FORCE)
set(CMAKE_OSX_DEPLOYMENT_TARGET "" CACHE STRING "" FORCE)

