# Toolchain: macOS on Intel (x86_64 Mach-O), cross-built with zig.
set(PAG_ZIG_TARGET x86_64-macos)
include(${CMAKE_CURRENT_LIST_DIR}/zig-macos.cmake)
